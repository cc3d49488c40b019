# go: dockerfile_copy_test.go testCopyOverrideFiles
# Copying the same directory and file twice, then a directory over them, overwrites cleanly.
bk_dfr <<'DF'
FROM scratch AS base
COPY sub sub
COPY sub sub
COPY files/foo.go dest/foo.go
COPY files/foo.go dest/foo.go
COPY files dest
DF
mkdir -p -m 0700 "$W/ctx/sub/dir1/dir2" "$W/ctx/files"
printf foo-contents | bk_file sub/dir1/dir2/foo 0600
printf foo.go-contents | bk_file files/foo.go 0600
bk_local_ok "build"
check_eq "sub/dir1/dir2/foo" foo-contents "$(cat "$W/out/sub/dir1/dir2/foo" 2>&1)"
check_eq "dest/foo.go" foo.go-contents "$(cat "$W/out/dest/foo.go" 2>&1)"
