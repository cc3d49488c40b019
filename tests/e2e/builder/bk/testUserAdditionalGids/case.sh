# go: dockerfile_core_test.go testUserAdditionalGids
# The primary gid is in the supplementary list; a uid without a passwd entry gets gid 0
# (CVE-2023-25173, as containerd).
bk_busybox_extra
bk_dfr <<'DF'
FROM @BASE@
COPY busybox-extra/ /
SHELL ["/bin/sh", "-euxc"]
RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root),10(wheel)" ]
USER 1234
RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]
USER 1234:1234
RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]
USER daemon
RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]
DF
bk_ok "id output for root, 1234, 1234:1234, daemon"
