# go: dockerfile_copy_test.go testCopyChown
# --chown by name, uid:group name, and ENV/ARG-expanded values.
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@ AS base
COPY busybox-extra/ /
ENV owner 1000
RUN mkdir -m 0777 /out
COPY --chown=daemon foo /
COPY --chown=1000:nobody bar /baz
ARG group
COPY --chown=${owner}:${group} foo /foobis
RUN stat -c "%U %G" /foo > /out/fooowner && stat -c "%u %G" /baz/sub > /out/subowner \
 && stat -c "%u %G" /foobis > /out/foobisowner
FROM scratch
COPY --from=base /out /
DF
printf foo-contents | bk_file foo 0600
mkdir -m 0700 "$W/ctx/bar"
: | bk_file bar/sub 0600
bk_local_ok "build" --build-arg group=nobody
check_eq "--chown=daemon" "daemon daemon" "$(cat "$W/out/fooowner" 2>&1)"
check_eq "--chown=1000:nobody" "1000 nobody" "$(cat "$W/out/subowner" 2>&1)"
check_eq "--chown=\${owner}:\${group}" "1000 nobody" "$(cat "$W/out/foobisowner" 2>&1)"
