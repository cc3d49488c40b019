# go: dockerfile_mount_test.go testMountFromError
# --mount from= does not expand variables.
bk_df_raw <<'DF'
FROM @BASE@ as test
RUN touch /tmp/test
FROM @BASE@
ENV ttt=test
RUN --mount=from=$ttt,type=cache,target=/tmp ls
DF
bk_fails "from=\$ttt is refused" "'from' doesn't support variable expansion, define alias stage instead"
