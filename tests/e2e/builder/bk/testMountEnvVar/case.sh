# go: dockerfile_mount_test.go testMountEnvVar
# ENV expands in --mount target=.
bk_df_raw <<'DF'
FROM @BASE@
ENV SOME_PATH=/mycache
RUN --mount=type=cache,target=/mycache touch /mycache/foo
RUN --mount=type=cache,target=$SOME_PATH [ -f $SOME_PATH/foo ]
DF
bk_ok "target=\$SOME_PATH is /mycache"
