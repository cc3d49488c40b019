# go: dockerfile_mount_test.go testCacheMountDefaultID
# A cache mount without id= is keyed by its target.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=cache,target=/mycache touch /mycache/foo
RUN --mount=type=cache,target=/mycache2 [ ! -f /mycache2/foo ]
RUN --mount=type=cache,target=/mycache [ -f /mycache/foo ]
DF
bk_ok "same target shares, another target does not"
