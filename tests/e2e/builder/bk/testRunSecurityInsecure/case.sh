# go: dockerfile_runsecurity_test.go testRunSecurityInsecure
# RUN --security=insecure with `--allow security.insecure` has every capability in its bounding
# set, the next RUN Docker's default set; without the entitlement the build fails with
# BuildKit's error.
bk_df_raw <<'DF'
FROM @BASE@
RUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "3fffffffff" ]
RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:@T@00000000a80425fb" ]
DF
bk_ok "granted: all capabilities, then the default set" --allow security.insecure
bk_fails "denied" "security.insecure is not allowed"
