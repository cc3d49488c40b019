# go: dockerfile_copy_test.go testCopyWildcards
# Globs at any path element, directory sources with /, /. or none, and . as a source.
bk_dfr <<'DF'
FROM scratch AS base
COPY *.go /gofiles/
COPY f*.go foo2.go
COPY sub/* /subdest/
COPY sub/*/dir2/foo /subdest2/
COPY sub/*/dir2/foo /subdest3/bar
COPY . all/
COPY sub/dir1/ subdest4
COPY sub/dir1/. subdest5
COPY sub/dir1 subdest6
DF
printf foo-contents | bk_file foo.go 0600
printf bar-contents | bk_file bar.go 0600
mkdir -p -m 0700 "$W/ctx/sub/dir1/dir2"
printf foo-contents | bk_file sub/dir1/dir2/foo 0600
bk_local_ok "build"
for f in gofiles/foo.go foo2.go subdest/dir2/foo subdest2/foo subdest3/bar all/foo.go \
  subdest4/dir2/foo subdest5/dir2/foo subdest6/dir2/foo; do
  check_eq "$f" foo-contents "$(cat "$W/out/$f" 2>&1)"
done
check_eq gofiles/bar.go bar-contents "$(cat "$W/out/gofiles/bar.go" 2>&1)"
