# go: dockerfile_namedcontext_test.go testSourcePolicyWithNamedContext
# A source policy CONVERT rule turns the image the named context `replace` points at
# (docker-image://docker.io/library/alpine:latest) into local://test, the local named context
# "test": COPY --from=replace copies from that directory. Then what else the policy does: DENY
# with BuildKit's message, a tag pinned to the registry's digest, a WILDCARD rule with $1, an
# ADD URL converted and pinned with http.checksum, the cache following a converted source, and
# a malformed policy file.
bk_df <<DF
FROM scratch AS replace

FROM scratch
COPY --from=replace /foo /
DF
mkdir -p "$W/replace"
printf foo >"$W/replace/foo"
cat >"$W/policy.json" <<'JSON'
{"rules": [{"action": "CONVERT",
            "selector": {"identifier": "docker-image://docker.io/library/alpine:latest"},
            "updates": {"identifier": "local://test"}}]}
JSON
EXPERIMENTAL_BUILDKIT_SOURCE_POLICY=$W/policy.json bk_local_ok "CONVERT to local://test (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY)" \
  --build-context replace=docker-image://docker.io/library/alpine:latest --build-context "test=$W/replace"
bk_out_is foo 'foo'
bk_fails "local://NAME without that named context" \
  "source policy converts docker-image://docker.io/library/alpine:latest to local://test: no local named context test" \
  --source-policy-file "$W/policy.json" --build-context replace=docker-image://docker.io/library/alpine:latest

# DENY: the last matching ALLOW/DENY decides
cat >"$W/deny.json" <<JSON
{"rules": [{"action": "ALLOW", "selector": {"identifier": "docker-image://*"}},
           {"action": "DENY", "selector": {"identifier": "docker-image://$BASE", "matchType": "EXACT"}}]}
JSON
bk_df <<DF
FROM $BASE
COPY f /f
DF
printf f | bk_file f
bk_fails "DENY" "source \"docker-image://$BASE\" denied by policy" --source-policy-file "$W/deny.json"
cat >"$W/allow.json" <<JSON
{"rules": [{"action": "DENY", "selector": {"identifier": "docker-image://$BASE", "matchType": "EXACT"}},
           {"action": "ALLOW", "selector": {"identifier": "docker-image://$CBUILD_REGISTRY/*"}}]}
JSON
bk_local_ok "ALLOW after DENY allows" --source-policy-file "$W/allow.json"

# CONVERT a tag to the local registry's digest of busybox
accept='application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
digest=$(curl -fsSI -H "Accept: $accept" "http://$CBUILD_REGISTRY/v2/busybox/manifests/latest" |
  tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
check "the registry's busybox digest ($digest)" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$digest"
pin() {
  cat >"$W/pin.json" <<JSON
{"rules": [{"action": "CONVERT", "selector": {"identifier": "docker-image://$BASE"},
            "updates": {"identifier": "docker-image://$BASE@$1"}}]}
JSON
}
pin "$digest"
bk_local_ok "CONVERT to a pinned digest" --source-policy-file "$W/pin.json"
check_contains "the pinned reference is resolved" "load metadata for $BASE@$digest" "$(cat "$T/last.log")"
check "the image is busybox" test -x "$W/out/bin/busybox"
pin sha256:0000000000000000000000000000000000000000000000000000000000000000
bk_fails "a wrong pinned digest is pulled, and fails" \
  "$BASE@sha256:0000000000000000000000000000000000000000000000000000000000000000" \
  --source-policy-file "$W/pin.json"

# WILDCARD: Docker Hub's library images from the local registry (there is no internet here)
cat >"$W/mirror.json" <<JSON
{"rules": [{"action": "CONVERT",
            "selector": {"identifier": "docker-image://docker.io/library/*:latest", "matchType": "WILDCARD"},
            "updates": {"identifier": "docker-image://$CBUILD_REGISTRY/\$1:latest"}}]}
JSON
printf 'FROM busybox\nCOPY f /f\n' | bk_dfr
bk_local_ok "WILDCARD with \$1" --source-policy-file "$W/mirror.json"
check "FROM busybox came from the local registry" test -x "$W/out/bin/busybox"
bk_out_is f 'f'
bk_local_ok "WILDCARD, with provenance" --source-policy-file "$W/mirror.json" --provenance=mode=min
mat=$(jq -r '(.predicate.materials // .predicate.buildDefinition.resolvedDependencies)[].uri' "$W/out/provenance.json" 2>&1)
check_contains "provenance names the converted image" "pkg:docker/$CBUILD_REGISTRY/busybox@latest" "$mat"
check "not the Dockerfile's" test "$(grep -c 'docker.io/library' <<<"$mat")" = 0

# ADD <url>: converted to another URL and pinned with http.checksum; the cache key follows
mkdir -p "$W/www"
printf one >"$W/www/one"
printf two >"$W/www/two"
bk_http_start "$W/www"
printf 'FROM scratch\nADD %s /got\n' "$BK_URL/one" | bk_dfr
bk_local_ok "ADD without a policy"
bk_out_is got 'one'
sum=$(printf two | sha256sum | cut -d' ' -f1)
cat >"$W/http.json" <<JSON
{"rules": [{"action": "CONVERT", "selector": {"identifier": "$BK_URL/one"},
            "updates": {"identifier": "$BK_URL/two", "attrs": {"http.checksum": "sha256:$sum"}}}]}
JSON
bk_local_ok "ADD converted to another URL with http.checksum" --source-policy-file "$W/http.json"
bk_out_is got 'two'
sed -i "s/$sum/$(printf other | sha256sum | cut -d' ' -f1)/" "$W/http.json"
bk_fails "http.checksum is checked" "digest mismatch for $BK_URL/two" --source-policy-file "$W/http.json"
# a named HTTP context (http.filename=context, its own attr) converted to an image
printf '{"rules": [{"action": "CONVERT", "selector": {"identifier": "%s"}, "updates": {"identifier": "docker-image://%s"}}]}' \
  "$BK_URL/one" "$BASE" >"$W/named-http.json"
printf 'FROM base\nCOPY f /f\n' | bk_dfr
bk_local_ok "a named HTTP context converted to an image" --source-policy-file "$W/named-http.json" \
  --build-context "base=$BK_URL/one"
check "it is the image" test -x "$W/out/bin/busybox"
sed -i 's|"updates": {|"updates": {"attrs": {"http.perm": "0644"}, |' "$W/named-http.json"
bk_fails "an attr cbuild does not apply is refused" \
  "source policy converts $BK_URL/one to docker-image://$BASE: cbuild does not apply attr http.perm=0644" \
  --source-policy-file "$W/named-http.json" --build-context "base=$BK_URL/one"

# ADD <git>: git://HOST/PATH#REF converted to another tag, pinned with git.checksum (git.fullurl,
# the remote, stays the one the Dockerfile names)
kill "$BK_HTTP_PID" 2>/dev/null; wait "$BK_HTTP_PID" 2>/dev/null
G=$W/git
bk_git_init "$G"
for t in v0.0.1 v0.0.2; do
  echo "foo of $t" >"$G/foo"
  git -C "$G" add foo && git -C "$G" commit -qm "$t" && git -C "$G" tag "$t"
done
git -C "$G" update-server-info
bk_http_start "$G"
host=${BK_URL#http://}
printf 'FROM scratch\nADD %s /repo\n' "$BK_URL/.git#v0.0.1" | bk_dfr
gitpol() {
  cat >"$W/git.json" <<JSON
{"rules": [{"action": "CONVERT", "selector": {"identifier": "git://$host/.git#v0.0.1"},
            "updates": {"identifier": "git://$host/.git#v0.0.2", "attrs": {"git.checksum": "$1"}}}]}
JSON
}
gitpol "$(git -C "$G" rev-parse v0.0.2)"
bk_local_ok "ADD git converted to another tag with git.checksum" --source-policy-file "$W/git.json"
bk_out_is repo/foo 'foo of v0.0.2\n'
gitpol "$(git -C "$G" rev-parse v0.0.1)"
bk_fails "git.checksum is checked" "expected checksum to match $(git -C "$G" rev-parse v0.0.1)" \
  --source-policy-file "$W/git.json"

# the build context is local://context: DENY fails a build that reads it
printf '{"rules": [{"action": "DENY", "selector": {"identifier": "local://context"}}]}' >"$W/noctx.json"
printf 'FROM scratch\nCOPY f /f\n' | bk_dfr
bk_fails "DENY local://context" 'source "local://context" denied by policy' --source-policy-file "$W/noctx.json"

# a malformed policy file, an unknown action: errors naming the file
printf '{"rules": [' >"$W/bad.json"
bk_fails "malformed policy file" "failed to parse source policy $W/bad.json" --source-policy-file "$W/bad.json"
printf '{"rules": [{"action": "BLOCK", "selector": {"identifier": "x"}}]}' >"$W/bad2.json"
bk_fails "unknown action" "source policy $W/bad2.json: rule 1: invalid action \"BLOCK\"" --source-policy-file "$W/bad2.json"
bk_fails "missing policy file" "failed to read source policy $W/none.json" --source-policy-file "$W/none.json"
