# go: dockerfile_resources_test.go testShmSize
# --shm-size sets the size of the RUN's /dev/shm.
bk_df <<DF
FROM $BASE AS base
RUN mount | grep /dev/shm > /shmsize
FROM scratch
COPY --from=base /shmsize /
DF
bk_local_ok "build" --shm-size 134217728
check_contains "/dev/shm is 128 MiB" "size=131072k" "$(cat "$W/out/shmsize" 2>&1)"
