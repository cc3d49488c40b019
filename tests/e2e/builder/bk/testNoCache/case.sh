# go: dockerfile_cache_test.go testNoCache
# --no-cache runs both random RUNs again; --no-cache-filter s1 runs only s1's (s0's is the
# previous build's).
bk_dfr <<'DF'
FROM @BASE@ AS s0
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique
FROM @BASE@ AS s1
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2
FROM scratch
COPY --from=s0 unique /
COPY --from=s1 unique2 /
DF
bk_local_ok "first build"
u1=$(cat "$W/out/unique") v1=$(cat "$W/out/unique2")
bk_local_ok "--no-cache" --no-cache
u2=$(cat "$W/out/unique") v2=$(cat "$W/out/unique2")
check "s0 ran again" test "$u1" != "$u2"
check "s1 ran again" test "$v1" != "$v2"
bk_local_ok "--no-cache-filter s1" --no-cache-filter s1
check_eq "s0 is the --no-cache build's" "$u2" "$(cat "$W/out/unique")"
check "s1 ran again" test "$v1" != "$(cat "$W/out/unique2")"
