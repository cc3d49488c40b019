# go: dockerfile_mount_test.go testMountContext
# RUN --mount=target=P (type bind, no from) mounts the build context at P.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=target=/context [ "$(cat /context/testfile)" == "contents0" ]
DF
printf contents0 | bk_file testfile 0600
bk_ok "the context is mounted at /context"
