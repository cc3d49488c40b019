# go: dockerfile_core_test.go testDockerfileCheckHostname
# --build-arg BUILDKIT_SANDBOX_HOSTNAME=foo is the RUN's hostname: /etc/hosts, $HOSTNAME, hostname.
# NOTES: BuildKit's "hostname" frontend option (subtests "meta", and "meta and arg" where the
# arg wins) has no cbuild flag (docker build has none either); the "arg" subtest is ported.
bk_dfr <<'DF'
FROM @BASE@
RUN cat /etc/hosts | grep foo
RUN echo $HOSTNAME | grep foo
	RUN echo $(hostname) | grep foo
DF
bk_ok "arg: BUILDKIT_SANDBOX_HOSTNAME=foo" --build-arg BUILDKIT_SANDBOX_HOSTNAME=foo
