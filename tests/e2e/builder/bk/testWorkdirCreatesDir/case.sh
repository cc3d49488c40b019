# go: dockerfile_workdir_test.go testWorkdirCreatesDir
# WORKDIR creates the directory even in a scratch image.
bk_dfr <<'DF'
FROM scratch
WORKDIR /foo
WORKDIR /
DF
bk_local_ok "build"
check "/foo is a directory" test -d "$W/out/foo" -a ! -L "$W/out/foo"
