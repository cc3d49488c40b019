# go: dockerfile_namedcontext_test.go testNamedImageContextScratch
# --build-context busybox=docker-image://scratch: `FROM busybox` starts from an empty image.
bk_df <<'DF'
FROM busybox AS build
COPY <<EOF /out
hello world!
EOF
DF
bk_local_ok "build" --build-context busybox=docker-image://scratch
check_eq "only out in the result" "out" "$(ls -A "$W/out" 2>&1)"
bk_out_is out 'hello world!\n'
