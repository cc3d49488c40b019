# go: dockerfile_mount_test.go testCacheMountParallel
# Two stages with nested cache mounts (/foo/bar and /foo/bar/baz) run side by side, uncached.
bk_df_raw <<'DF'
FROM @BASE@ AS b1
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 1
FROM @BASE@ AS b2
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 2
FROM scratch
COPY --from=b1 /etc/passwd p1
COPY --from=b2 /etc/passwd p2
DF
for i in 1 2 3; do bk_local_ok "--no-cache build $i" --no-cache; done
