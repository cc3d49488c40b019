# go: dockerfile_resources_test.go testLinuxResources
# --memory is the RUN's cgroup memory.max, as the RUN sees it in /sys/fs/cgroup.
bk_df <<DF
FROM $BASE AS base
RUN mkdir /out && cat /sys/fs/cgroup/memory.max > /out/memory
FROM scratch
COPY --from=base /out /
DF
bk_local_ok "build" --memory 67108864
check_eq "memory.max" 67108864 "$(cat "$W/out/memory" 2>&1)"
