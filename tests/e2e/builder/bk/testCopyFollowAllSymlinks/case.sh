# go: dockerfile_copy_test.go testCopyFollowAllSymlinks
# A symlink in the context pointing up out of its directory (foo/sub -> ../bar) is followed
# when named as a source; the directory copy keeps it as a link.
bk_dfr <<'DF'
FROM scratch
COPY foo /
COPY foo/sub bar
DF
printf bar-contents | bk_file bar 0600
mkdir -m 0700 "$W/ctx/foo"
ln -s ../bar "$W/ctx/foo/sub"
bk_ok "COPY foo / then COPY foo/sub bar"
