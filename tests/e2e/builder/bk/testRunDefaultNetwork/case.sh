# go: dockerfile_runnetwork_test.go testRunDefaultNetwork
# The default network gives RUN an eth0.
bk_df_raw <<'DF'
FROM @BASE@
RUN ip link show eth0
DF
bk_ok "eth0 exists"
