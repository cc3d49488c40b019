# go: dockerfile_runsecurity_test.go testRunSecuritySandbox
# RUN --security=sandbox has Docker's default capability set.
bk_df_raw <<'DF'
FROM @BASE@
RUN --security=sandbox [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:@T@00000000a80425fb" ]
DF
bk_ok "build"
