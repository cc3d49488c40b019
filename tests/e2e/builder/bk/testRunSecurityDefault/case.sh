# go: dockerfile_runsecurity_test.go testRunSecurityDefault
# A RUN without --security has Docker's default capability set, also with the entitlement
# granted.
bk_df_raw <<'DF'
FROM @BASE@
RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:@T@00000000a80425fb" ]
DF
bk_ok "granted" --allow security.insecure
bk_ok "not granted"
