# go: dockerfile_cache_test.go testCacheMountModeNoCache
# A cache mount with mode=0773 (moby/buildkit#5305): under --no-cache the mount starts empty
# (one file after the RUN); without it the next build sees that file too.
bk_dfr <<'DF'
FROM @BASE@ AS base
ARG FOO=abc
RUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls -l /cache | wc -l > /out

FROM scratch
COPY --from=base /out /
DF
bk_local_ok "first build"
bk_out_is out '2\n'
bk_local_ok "--no-cache, FOO=def" --no-cache --build-arg FOO=def
bk_out_is out '2\n'
bk_local_ok "with the cache, FOO=ghi" --build-arg FOO=ghi
bk_out_is out '3\n'
