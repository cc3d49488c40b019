#!/bin/bash
# cbuild imagetools create (buildx imagetools create): per-platform images pushed to a registry
# merged into one index, judged with skopeo (the index as stored, and `copy --all` verifying
# every digest), plus sources in another repository, bare digests, --dry-run, --append,
# --annotation and the errors buildx gives.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3 sha256sum
R=$CBUILD_REGISTRY/e2e

C=$(ctx it <<'EOF'
FROM scratch
COPY hello.txt /hello.txt
EOF
)
echo hello-imagetools >"$C/hello.txt"
# another repository's image with layers of its own, so copying it has blobs to move
D=$(ctx it-other <<'EOF'
FROM scratch
COPY other.txt /other.txt
EOF
)
echo other-repository >"$D/other.txt"
raw() { skopeo inspect --tls-verify=false --raw "docker://$1" 2>/dev/null; }
digest_of() { raw "$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }
# the index's "platform digest" lines, sorted
entries() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("mediaType","")); [print(m["platform"]["os"]+"/"+m["platform"]["architecture"], m["digest"]) for m in sorted(j["manifests"], key=lambda m: m["platform"]["architecture"])]'; }
# fails_with DESC MESSAGE CMD...: an error exit below 128 whose output names MESSAGE
fails_with() {
  local desc=$1 msg=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then not_ok "$desc (unexpectedly succeeded)"; diag "$out"
  elif ! failed_cleanly $rc "$out"; then not_ok "$desc (crashed: exit $rc)"; diag "$out"
  else check_contains "$desc" "$msg" "$out"; fi
}

ok_all=1
for p in amd64 arm64; do
  build "$C" "$R/app:$p" --platform "linux/$p" -o "type=image,name=$R/app:$p,push=true" || ok_all=0
done
build "$D" "$R/other:arm64" --platform linux/arm64 \
  -o "type=image,name=$R/other:arm64,push=true" || ok_all=0
if [ $ok_all = 1 ]; then ok "three single-platform images pushed"; else
  not_ok "three single-platform images pushed"; diag "$(tail -20 "$T/last.log")"; exit 0; fi
A=$(digest_of "$R/app:amd64")
B=$(digest_of "$R/app:arm64")
O=$(digest_of "$R/other:arm64")
OL=$(raw "$R/other:arm64" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
MT=$(raw "$R/app:amd64" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("mediaType",""))')
IMT=application/vnd.oci.image.index.v1+json
[ "$MT" = application/vnd.docker.distribution.manifest.v2+json ] && IMT=application/vnd.docker.distribution.manifest.list.v2+json

# two digests of one repository into a new tag
if "$CBUILD" imagetools create -t "$R/app:1" "$R/app@$A" "$R/app@$B" >"$T/c1.out" 2>"$T/c1.err"; then
  ok "create -t app:1 app@A app@B"
else
  not_ok "create -t app:1 app@A app@B"; diag "$(cat "$T/c1.err")"
fi
check_eq "app:1 is an index of both platforms with the sources' digests" \
  "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $B" "$(raw "$R/app:1" | entries)"
check "skopeo copy --all of app:1 verifies every digest" skopeo copy -q --all --src-tls-verify=false \
  "docker://$R/app:1" "oci:$T/oci1:x"
check_contains "the index push is reported" "pushing sha256:" "$(cat "$T/c1.err")"

# a source in another repository: its manifest and blobs are copied into app's repository
if "$CBUILD" imagetools create -t "$R/app:2" "$R/app@$A" "$R/other:arm64" 2>"$T/c2.err"; then
  ok "create -t app:2 with a source in another repository"
else
  not_ok "create -t app:2 with a source in another repository"; diag "$(cat "$T/c2.err")"
fi
check_contains "... reported as a copy" "copying $O from $R/other:arm64 to $R/app:2" "$(cat "$T/c2.err")"
check_eq "app:2 lists both" "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $O" "$(raw "$R/app:2" | entries)"
check "the other repository's manifest now lives in app's (by digest)" skopeo inspect --tls-verify=false --raw \
  "docker://$R/app@$O"
check "... and its layer blob too" curl -fsI "http://$CBUILD_REGISTRY/v2/e2e/app/blobs/$OL"
check "skopeo copy --all of app:2 (blobs reachable in app's repository)" skopeo copy -q --all \
  --src-tls-verify=false "docker://$R/app:2" "oci:$T/oci2:x"

# a source on another registry: no mount possible, its blobs are fetched and uploaded
P2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG2=127.0.0.1:$P2
mkdir -p "$T/reg2"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
  "$T/reg2/data" "$REG2" >"$T/reg2/config.yml"
docker-registry serve "$T/reg2/config.yml" >"$T/reg2/log" 2>&1 &
REG2_PID=$!
trap 'kill "$REG2_PID" 2>/dev/null; wait "$REG2_PID" 2>/dev/null; _builder_done' EXIT
for _ in $(seq 50); do curl -fsS "http://$REG2/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
if skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$R/other:arm64" \
    "docker://$REG2/far/other:arm64" >"$T/reg2/copy.log" 2>&1; then
  "$CBUILD" imagetools create -t "$R/far:1" "$R/app@$A" "$REG2/far/other:arm64" 2>"$T/c6.err" \
    || diag "$(cat "$T/c6.err")"
  check_eq "a source on another registry is copied over" "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $O" \
    "$(raw "$R/far:1" | entries)"
  check "... with every blob (skopeo copy --all)" skopeo copy -q --all --src-tls-verify=false "docker://$R/far:1" \
    "oci:$T/oci6:x"
else
  not_ok "a second registry for the cross-registry source"; diag "$(cat "$T/reg2/copy.log" "$T/reg2/log")"
fi

# bare digests take the one repository named (the tag's)
"$CBUILD" imagetools create -t "$R/app:3" "$A" "$B" 2>"$T/c3.err" || diag "$(cat "$T/c3.err")"
check_eq "bare digest sources resolve in the tag's repository" "$(raw "$R/app:1" | entries)" \
  "$(raw "$R/app:3" | entries)"

# --dry-run: the index on stdout, nothing pushed
out=$("$CBUILD" imagetools create --dry-run -t "$R/app:dry" --annotation index:org.example.k=v \
  --annotation 'manifest-descriptor[linux/arm64]:org.example.m=arm' "$R/app@$A" "$R/app@$B" 2>&1)
check_eq "--dry-run prints the index" "application/vnd.oci.image.index.v1+json"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $B" \
  "$(entries <<<"$out")"
check_eq "... with the index annotation and the arm64 descriptor's" "v arm None" "$(python3 -c 'import json,sys
j=json.loads(sys.argv[1]); m={x["platform"]["architecture"]: x.get("annotations",{}) for x in j["manifests"]}
print(j["annotations"]["org.example.k"], m["arm64"]["org.example.m"], m["amd64"].get("org.example.m"))' "$out" 2>&1)"
if raw "$R/app:dry" >/dev/null; then not_ok "--dry-run pushed nothing"; else ok "--dry-run pushed nothing"; fi
out=$("$CBUILD" imagetools create --dry-run "$R/app@$A" 2>&1)
check_eq "--dry-run of one manifest makes an index of it (--prefer-index)" "$IMT"$'\n'"linux/amd64 $A" \
  "$(entries <<<"$out")"
out=$("$CBUILD" imagetools create --dry-run --prefer-index=false "$R/app@$A" 2>&1)
check_eq "--prefer-index=false: the manifest as it is" "$(raw "$R/app:amd64")" "$out"
echo "{\"digest\":\"$B\"}" >"$T/desc.json"
out=$("$CBUILD" imagetools create --dry-run -t "$R/app:x" -f "$T/desc.json" "$R/app@$A" 2>&1)
check_eq "-f reads a descriptor (file sources first)" "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $B" \
  "$(entries <<<"$out")"
out=$("$CBUILD" imagetools create --dry-run "$R/app:1" "$R/app@$A" 2>&1)
check_eq "an index source gives its manifests, duplicates once" "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $B" \
  "$(entries <<<"$out")"

# --append: the first tag's manifests stay
"$CBUILD" imagetools create -t "$R/app:4" "$R/app@$A" 2>"$T/c4.err" || diag "$(cat "$T/c4.err")"
"$CBUILD" imagetools create --append -t "$R/app:4" "$R/app@$B" 2>"$T/c4.err" || diag "$(cat "$T/c4.err")"
check_eq "--append adds to the first tag's manifests" "$IMT"$'\n'"linux/amd64 $A"$'\n'"linux/arm64 $B" \
  "$(raw "$R/app:4" | entries)"

fails_with "no sources: refused" "no sources specified" "$CBUILD" imagetools create -t "$R/app:5"
fails_with "no tag: refused" "can't push with no tags specified, please set --tag or --dry-run" \
  "$CBUILD" imagetools create "$R/app@$A"
fails_with "an unknown source: refused, naming it" "$R/app:nope: not found" \
  "$CBUILD" imagetools create -t "$R/app:5" "$R/app@$A" "$R/app:nope"
fails_with "a bare digest with two repositories: refused" \
  "multiple repositories specified, cannot infer repository for \"$B\"" \
  "$CBUILD" imagetools create -t "$R/app:5" "$R/other:arm64" "$B"
fails_with "a malformed digest source: refused" \
  'failed to parse source "sha256:abc", valid sources are digests, references and descriptors: invalid checksum digest format' \
  "$CBUILD" imagetools create -t "$R/app:5" sha256:abc
fails_with "a bad annotation type: refused" '"manifest" annotations are not supported yet' \
  "$CBUILD" imagetools create --dry-run --annotation manifest:k=v "$R/app@$A" "$R/app@$B"
if raw "$R/app:5" >/dev/null; then not_ok "failed creates pushed no index"; else ok "failed creates pushed no index"; fi
