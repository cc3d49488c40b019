# go: dockerfile_resources_test.go testUlimit
# --ulimit sets the RUN's resource limits: busybox's ulimit -n shows nofile's soft limit.
bk_df <<DF
FROM $BASE AS base
RUN ulimit -n > /ulimit
FROM scratch
COPY --from=base /ulimit /
DF
bk_local_ok "build" --ulimit nofile=1062:1062
check_eq "ulimit -n in the RUN" 1062 "$(cat "$W/out/ulimit" 2>&1)"
