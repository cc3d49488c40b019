# go: dockerfile_core_test.go testContextChangeDirToFile
# A context path that was a directory in the previous build and is a file now is copied as a file.
bk_dfr <<'DF'
FROM scratch
COPY foo /
DF
mkdir -m 0700 "$W/ctx/foo"
printf contents | bk_file foo/bar 0600
bk_ok "foo a directory"
rm -rf "$W/ctx/foo"
printf contents2 | bk_file foo 0600
bk_local_ok "foo a file now"
check_eq "/foo is the new file" contents2 "$(cat "$W/out/foo" 2>&1)"
