# go: dockerfile_mount_test.go testMountArg
# ARG expands in --mount type=.
bk_df_raw <<'DF'
FROM @BASE@
ARG MNT_TYPE=cache
RUN --mount=type=$MNT_TYPE,target=/mycache2 touch /mycache2/foo
RUN --mount=type=cache,target=/mycache2 [ -f /mycache2/foo ]
DF
bk_ok "type=\$MNT_TYPE is cache"
