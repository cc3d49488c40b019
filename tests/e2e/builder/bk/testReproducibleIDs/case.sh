# go: dockerfile_cache_test.go testReproducibleIDs
# The same Dockerfile built twice under two names (the second from the cache): one manifest.
bk_dfr <<'DF'
FROM @BASE@
ENV foo=bar
COPY foo /
RUN echo bar > bar
DF
printf foo-contents | bk_file foo
bk_ok "build example.com/moby/dockerfileids:test" -t example.com/moby/dockerfileids:test --metadata-file "$W/m1.json"
bk_ok "build example.com/moby/dockerfileids2:test" -t example.com/moby/dockerfileids2:test --metadata-file "$W/m2.json"
d1=$(jq -r '."containerimage.digest"' "$W/m1.json" 2>&1)
check_eq "the same image manifest" "$d1" "$(jq -r '."containerimage.digest"' "$W/m2.json" 2>&1)"
check "... a digest" grep -q '^sha256:' <<<"$d1"
