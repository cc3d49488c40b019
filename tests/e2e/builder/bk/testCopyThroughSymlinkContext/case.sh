# go: dockerfile_copy_test.go testCopyThroughSymlinkContext
# A source path through a symlinked directory of the context is followed.
bk_dfr <<'DF'
FROM scratch
COPY link/foo .
DF
mkdir -m 0700 "$W/ctx/sub"
printf contents | bk_file sub/foo 0600
ln -s sub "$W/ctx/link"
bk_local_ok "build"
check_eq "link/foo read through the link" contents "$(cat "$W/out/foo" 2>&1)"
