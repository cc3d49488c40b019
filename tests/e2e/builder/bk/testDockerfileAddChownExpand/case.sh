# go: dockerfile_add_test.go testDockerfileAddChownExpand
# ADD --chown expands ENV and ARG values.
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@
COPY busybox-extra/ /
ARG group
ENV owner 1000
ADD --chown=${owner}:${group} foo /
RUN [ "$(stat -c "%u %G" /foo)" == "1000 nobody" ]
DF
printf foo-contents | bk_file foo 0600
bk_ok "ADD --chown=\${owner}:\${group} gives 1000 nobody" --build-arg group=nobody
