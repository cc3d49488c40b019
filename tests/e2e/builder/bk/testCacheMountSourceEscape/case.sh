# go: dockerfile_mount_test.go testCacheMountSourceEscape
# A cache mount's source= that resolves through a symlink out of the cache is refused.
bk_df_raw <<'DF'
FROM @BASE@ AS init
RUN --mount=type=cache,id=sourceescape,target=/cache mkdir -p /cache/sel && echo benign > /cache/sel/benign.txt
FROM init AS link
RUN --mount=type=cache,id=sourceescape,target=/cache rm -rf /cache/sel && ln -s /etc /cache/sel
FROM link AS victim
RUN --mount=type=cache,id=sourceescape,source=sel,target=/victim cat /victim/hostname
FROM scratch
COPY --from=victim /etc/hostname /hostname
DF
bk_fails "source=sel (a symlink to /etc) is refused" "mount source cache/sel leaves the image" --no-cache
