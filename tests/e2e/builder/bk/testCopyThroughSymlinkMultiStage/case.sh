# go: dockerfile_copy_test.go testCopyThroughSymlinkMultiStage
# COPY --from follows absolute and relative symlinks in the source stage's path.
bk_dfr <<'DF'
FROM @BASE@ AS build
RUN mkdir -p /out/sub && ln -s /out/sub /sub && ln -s out/sub /sub2 && echo -n "data" > /sub/foo
FROM scratch
COPY --from=build /sub/foo .
COPY --from=build /sub2/foo bar
DF
bk_local_ok "build"
check_eq "/sub/foo through the absolute link" data "$(cat "$W/out/foo" 2>&1)"
check_eq "/sub2/foo through the relative link" data "$(cat "$W/out/bar" 2>&1)"
