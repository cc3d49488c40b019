# go: dockerfile_runnetwork_test.go testRunNoNetwork
# --network=none has no eth0; the next default RUN has one.
bk_df_raw <<'DF'
FROM @BASE@
RUN --network=none ! ip link show eth0
RUN ip link show eth0
DF
bk_ok "no eth0 with --network=none, eth0 without"
