# go: dockerfile_mount_test.go testMountTmpfsSize
# size= of a tmpfs mount reaches the kernel.
bk_df_raw <<'DF'
FROM @BASE@ AS base
RUN --mount=type=tmpfs,target=/dev/shm,size=128m mount | grep /dev/shm > /tmpfssize
FROM scratch
COPY --from=base /tmpfssize /
DF
bk_local_ok "build"
check_contains "mounted with size=131072k" "size=131072k" "$(cat "$W/out/tmpfssize" 2>&1)"
