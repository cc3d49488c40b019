# go: dockerfile_parents_test.go testCopyParents
# COPY --parents keeps the source's directories under the destination (with globs too).
bk_dfr <<'DF'
FROM scratch
COPY --parents foo1/foo2/bar /
WORKDIR /test
COPY --parents foo1/foo2/ba* .
DF
mkdir -p -m 0700 "$W/ctx/foo1/foo2"
printf testing | bk_file foo1/foo2/bar 0600
printf testing2 | bk_file foo1/foo2/baz 0600
bk_local_ok "build"
check_eq "foo1/foo2/bar" testing "$(cat "$W/out/foo1/foo2/bar" 2>&1)"
check_eq "test/foo1/foo2/bar" testing "$(cat "$W/out/test/foo1/foo2/bar" 2>&1)"
check_eq "test/foo1/foo2/baz" testing2 "$(cat "$W/out/test/foo1/foo2/baz" 2>&1)"
