# go: dockerfile_core_test.go testDockerfileCheckHostname
# --build-arg BUILDKIT_SANDBOX_HOSTNAME=foo is the RUN's hostname: /etc/hosts, $HOSTNAME, hostname.
bk_dfr <<'DF'
FROM @BASE@
RUN cat /etc/hosts | grep foo
RUN echo $HOSTNAME | grep foo
	RUN echo $(hostname) | grep foo
DF
bk_ok "arg: BUILDKIT_SANDBOX_HOSTNAME=foo" --build-arg BUILDKIT_SANDBOX_HOSTNAME=foo
