# go: dockerfile_mount_test.go testMountMetaArg
# A global ARG re-declared in the stage expands in --mount target=.
bk_df_raw <<'DF'
ARG META_PATH=/tmp/meta
FROM @BASE@
ARG META_PATH
RUN --mount=type=cache,id=mycache,target=/tmp/meta touch /tmp/meta/foo
RUN --mount=type=cache,id=mycache,target=$META_PATH [ -f /tmp/meta/foo ]
DF
bk_ok "target=\$META_PATH is /tmp/meta"
