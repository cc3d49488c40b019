# go: dockerfile_copy_test.go testCopyWildcardCache
# A wildcard COPY's cache key covers the matched files only: changing a file copied later
# keeps the RUN before it cached; changing a matched file runs it again.
bk_dfr <<'DF'
FROM @BASE@ AS base
COPY foo* files/
RUN cat /dev/urandom | head -c 100 | sha256sum > unique
COPY bar files/
FROM scratch
COPY --from=base unique /
DF
printf foo1-data | bk_file foo1 0600
printf foo2-data | bk_file foo2 0600
printf bar-data | bk_file bar 0600
bk_local_ok "build"
u1=$(cat "$W/out/unique" 2>&1)
check "first build writes unique" test -s "$W/out/unique"
printf bar-data-mod >"$W/ctx/bar"
bk_local_ok "build"
check_eq "bar changed: the RUN stays cached (same unique)" "$u1" "$(cat "$W/out/unique" 2>&1)"
printf foo2-data-mod >"$W/ctx/foo2"
bk_local_ok "build"
u3=$(cat "$W/out/unique" 2>&1)
if [ -n "$u3" ] && [ "$u3" != "$u1" ]; then ok "foo2 changed: the RUN runs again (new unique)"
else not_ok "foo2 changed: the RUN runs again (new unique)"; diag "unique: $u1 then $u3"; fi
