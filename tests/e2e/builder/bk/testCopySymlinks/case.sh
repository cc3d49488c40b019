# go: dockerfile_copy_test.go testCopySymlinks
# Symlinks named as sources (directly or by a glob) are followed to their final target.
bk_dfr <<'DF'
FROM scratch
COPY foo /
COPY sub/l* alllinks/
DF
printf bar-contents | bk_file bar 0600
ln -s bar "$W/ctx/foo"
mkdir -m 0700 "$W/ctx/sub"
printf lfile-contents | bk_file sub/lfile 0600
ln -s subfile "$W/ctx/sub/l0"
printf subfile-contents | bk_file sub/subfile 0600
ln -s second "$W/ctx/sub/l1"
ln -s baz "$W/ctx/sub/second"
printf baz-contents | bk_file sub/baz 0600
bk_local_ok "build"
check_eq "foo -> bar" bar-contents "$(cat "$W/out/foo" 2>&1)"
check_eq "alllinks/l0 -> subfile" subfile-contents "$(cat "$W/out/alllinks/l0" 2>&1)"
check_eq "alllinks/lfile" lfile-contents "$(cat "$W/out/alllinks/lfile" 2>&1)"
check_eq "alllinks/l1 -> second -> baz" baz-contents "$(cat "$W/out/alllinks/l1" 2>&1)"
