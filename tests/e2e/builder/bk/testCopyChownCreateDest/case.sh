# go: dockerfile_copy_test.go testCopyChownCreateDest
# --chown with names (and ENV/ARG expansion) owns the created destination directory.
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@
COPY busybox-extra/ /
ARG group
ENV owner user01
RUN adduser -D user && adduser -D user01
COPY --chown=user:user . /dest
COPY --chown=${owner}:${group} . /dest01
RUN [ "$(stat -c "%U %G" /dest)" == "user user" ] && [ "$(stat -c "%U %G" /dest01)" == "user01 user" ]
DF
bk_ok "--chown=user:user and --chown=\${owner}:\${group} own /dest, /dest01" --build-arg group=user
