# go: dockerfile_runnetwork_test.go testRunHostNetwork
# RUN --network=host reaches the host's loopback (with the network.host entitlement); the
# default network does not; without the entitlement the build fails with BuildKit's text.
bk_echo_server
bk_df_raw <<DF
FROM $BASE
RUN --network=host nc -w 5 10.0.2.2 $ECHO_PORT | grep foo
RUN ! nc -w 5 10.0.2.2 $ECHO_PORT | grep foo
DF
bk_ok "host network reaches the server, the default one does not" --allow network.host
bk_fails "without --allow network.host" "network.host is not allowed"
kill "$ECHO_PID" 2>/dev/null
