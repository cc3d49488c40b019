# go: dockerfile_runnetwork_test.go testRunGlobalNetwork
# A build-wide host network (BuildKit's force-network-mode=host, cbuild --network host) applies
# to every RUN but one with --network=none; it needs the network.host entitlement.
bk_echo_server
bk_df_raw <<DF
FROM $BASE
RUN nc -w 5 10.0.2.2 $ECHO_PORT | grep foo
RUN --network=none ! nc -z -w 5 10.0.2.2 $ECHO_PORT
DF
bk_ok "--network host: RUN reaches the server, --network=none does not" --network host --allow network.host
bk_fails "without --allow network.host" "network.host is not allowed" --network host
kill "$ECHO_PID" 2>/dev/null
