# go: dockerfile_workdir_test.go testWorkdirExists
# WORKDIR on an existing directory keeps its owner.
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@
COPY busybox-extra/ /
RUN adduser -D user && mkdir /mydir && chown user:user /mydir
WORKDIR /mydir
RUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]
DF
bk_ok "/mydir stays user user"
