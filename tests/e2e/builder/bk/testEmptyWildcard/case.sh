# go: dockerfile_copy_test.go testEmptyWildcard
# A wildcard that matches nothing beside a real source is not an error.
bk_dfr <<'DF'
FROM scratch
COPY foo nomatch* /
DF
printf contents0 | bk_file foo 0600
bk_local_ok "build"
check_eq "foo copied, nomatch* ignored" contents0 "$(cat "$W/out/foo" 2>&1)"
