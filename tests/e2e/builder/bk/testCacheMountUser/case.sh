# go: dockerfile_mount_test.go testCacheMountUser
# uid, gid and mode of a fresh cache mount's root.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=cache,target=/mycache,uid=1001,gid=1002,mode=0751 [ "$(stat -c "%u %g %f" /mycache)" == "1001 1002 41e9" ]
DF
bk_ok "/mycache is 1001:1002 0751"
