# go: dockerfile_mount_test.go testMountTmpfs
# A tmpfs mount's contents do not reach the layer.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=target=/mytmp,type=tmpfs touch /mytmp/foo
RUN [ ! -f /mytmp/foo ]
DF
bk_ok "/mytmp/foo is gone in the next step"
