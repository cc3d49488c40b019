# go: dockerfile_workdir_test.go testWorkdirUser
# WORKDIR creates its directory owned by the current USER.
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@
COPY busybox-extra/ /
RUN adduser -D user
USER user
WORKDIR /mydir
RUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]
DF
bk_ok "/mydir owned by user user"
