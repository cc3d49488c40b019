#!/bin/bash
# The image exporter's BuildKit options (-o type=image|registry,KEY=V): push-by-digest, insecure,
# store=false, the annotation.* keys, the bool options and their errors, judged by skopeo and
# the metadata file. FROM scratch + COPY: no VM.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need jq
R=$CBUILD_REGISTRY
C=$(ctx exp <<EOF
FROM scratch
COPY hello.txt /hello.txt
EOF
)
echo hello-exporter >"$C/hello.txt"
sk() { skopeo inspect --tls-verify=false "$@"; }

# push-by-digest: the registry has NAME@DIGEST only, the metadata still names it
if "$CBUILD" build --progress=plain --metadata-file "$T/md.json" \
    -o "type=image,name=$R/e2e/bydigest:v1,push=true,push-by-digest=true" "$C" >"$T/last.out" 2>"$T/last.log"; then
  ok "push-by-digest=true builds and pushes"; else not_ok "push-by-digest=true builds and pushes"; diag "$(tail -20 "$T/last.log")"; fi
D=$(jq -r '."containerimage.digest"' "$T/md.json" 2>/dev/null)
check_contains "push-by-digest: --metadata-file has containerimage.digest" "sha256:" "$D"
check_eq "push-by-digest: --metadata-file has image.name" "$R/e2e/bydigest:v1" "$(jq -r '."image.name"' "$T/md.json" 2>/dev/null)"
check_fails "push-by-digest: no tag in the registry" sk --raw "docker://$R/e2e/bydigest:v1"
check "push-by-digest: the manifest is there by digest" sk --raw "docker://$R/e2e/bydigest@$D"
check_eq "push-by-digest: the registry lists no tag" "" \
  "$(curl -s "http://$R/v2/e2e/bydigest/tags/list" | jq -r '(.tags // []) | join(",")')"

# push-by-digest of a multi-platform index: the index by digest, no tag
if "$CBUILD" build --progress=plain --platform linux/amd64,linux/arm64 --metadata-file "$T/md2.json" \
    -o "type=image,name=$R/e2e/bydigest-ix:v1,push=true,push-by-digest=true" "$C" >"$T/last.out" 2>"$T/last.log"; then
  ok "push-by-digest=true of two platforms"; else not_ok "push-by-digest=true of two platforms"; diag "$(tail -20 "$T/last.log")"; fi
D2=$(jq -r '."containerimage.digest"' "$T/md2.json" 2>/dev/null)
check_fails "push-by-digest, index: no tag in the registry" sk --raw "docker://$R/e2e/bydigest-ix:v1"
check_eq "push-by-digest, index: the index is there by digest" 2 \
  "$(sk --raw "docker://$R/e2e/bydigest-ix@$D2" | jq '.manifests | length')"

# store=false: pushed, but not named in the local store
if "$CBUILD" build --progress=plain -o "type=registry,name=$R/e2e/unstored:v1,store=false" "$C" \
    >"$T/last.out" 2>"$T/last.log"; then
  ok "store=false builds and pushes"; else not_ok "store=false builds and pushes"; diag "$(tail -20 "$T/last.log")"; fi
check "store=false: the registry has the tag" sk --raw "docker://$R/e2e/unstored:v1"
check_fails "store=false: cbuild images does not list the name" grep -q "e2e/unstored" <("$CBUILD" images 2>&1)
check_fails "store=false: the store has no such tag" skopeo inspect --raw "oci:$CBUILD_ROOT:$R/e2e/unstored:v1"

# insecure / registry.insecure: accepted, the push goes over plain HTTP
for k in insecure registry.insecure; do
  check "$k=true pushes over HTTP" build "$C" "$R/e2e/insecure:$k" -o "type=image,push=true,$k=true"
  check "$k=true: the registry has the tag" sk --raw "docker://$R/e2e/insecure:$k"
done
# a non-loopback plain-HTTP registry (only loopback is insecure by default): insecure=true reaches it
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
trap 'stop_registry P; _builder_done' EXIT
IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
if [ -z "$IP" ]; then
  skip "no non-loopback IPv4 address for the insecure=true registry check"
elif start_registry P plain "$IP"; then
  PREG=$IP:$P_PORT
  check_fails "without insecure=true a plain-HTTP non-loopback registry is refused" \
    build "$C" "$PREG/e2e/plain:1" -o "type=image,push=true"
  check "insecure=true pushes to a plain-HTTP non-loopback registry" \
    build "$C" "$PREG/e2e/plain:1" -o "type=image,push=true,insecure=true"
  check "insecure=true: the registry has the tag (skopeo)" sk --raw "docker://$PREG/e2e/plain:1"
else
  not_ok "a plain registry on $IP"
fi

# the exporter's annotation keys: the same parser as --annotation
check "annotation.* and annotation-manifest[linux/amd64].* are accepted" build "$C" "$R/e2e/annot:1" --push \
  -o "type=image,annotation.org.example.a=one,annotation-manifest.org.example.b=two,annotation-manifest[linux/amd64].org.example.c=three"
A=$(sk --raw "docker://$R/e2e/annot:1" | jq -c '.annotations')
check_contains "annotation.KEY: in the manifest" '"org.example.a":"one"' "$A"
check_contains "annotation-manifest.KEY: in the manifest" '"org.example.b":"two"' "$A"
check_contains "annotation-manifest[linux/amd64].KEY: in the manifest" '"org.example.c":"three"' "$A"
check_fails "annotation-index on a single-platform image is refused" build "$C" x -o "type=image,annotation-index.k=v"
check_contains "... with --annotation's message" "index annotations not supported for single platform export" "$(cat "$T/last.log")"
check_fails "annotation-manifest[linux/arm64] on a linux/amd64 image is refused" build "$C" x \
  -o "type=image,annotation-manifest[linux/arm64].k=v"
check_contains "... naming the platform" "no platform linux/arm64 found in source" "$(cat "$T/last.log")"

# accepted bools; their bad values get BuildKit's message
check "unpack, attestation-inline, force-inline-attestations, prefer-nondist-layers, oci-artifact are accepted" build "$C" exp:ok \
  -o "type=image,unpack=true,attestation-inline=true,force-inline-attestations=true,prefer-nondist-layers=true,oci-artifact=false"
for k in push push-by-digest insecure registry.insecure store unpack attestation-inline force-inline-attestations prefer-nondist-layers oci-artifact; do
  check_fails "$k=maybe is refused" build "$C" x -o "type=image,$k=maybe"
  check_contains "... non-bool value specified for $k" \
    "non-bool value specified for $k: strconv.ParseBool: parsing \"maybe\": invalid syntax" "$(cat "$T/last.log")"
done
check_fails "oci-artifact=true with oci-mediatypes=false is refused" build "$C" x \
  -o "type=image,oci-artifact=true,oci-mediatypes=false"
check_contains "... with BuildKit's message" 'exporter option "oci-artifact=true" conflicts with "oci-mediatypes=false"' \
  "$(cat "$T/last.log")"
# oci-artifact=true: the attestation manifest is an OCI artifact whose subject is the image manifest
check "oci-artifact=true with provenance builds and pushes" build "$C" "$R/e2e/artifact:1" --push \
  -o "type=image,oci-artifact=true" --attest type=provenance,mode=min
IX=$(sk --raw "docker://$R/e2e/artifact:1")
IMG=$(jq -r '.manifests[] | select(.platform.os != "unknown") | .digest' <<<"$IX")
ATT=$(jq -r '.manifests[] | select(.annotations."vnd.docker.reference.type" == "attestation-manifest") | .digest' <<<"$IX")
AM=$(sk --raw "docker://$R/e2e/artifact@$ATT")
check_eq "oci-artifact: artifactType" "application/vnd.docker.attestation.manifest.v1+json" "$(jq -r .artifactType <<<"$AM")"
check_eq "oci-artifact: the empty config" \
  "application/vnd.oci.empty.v1+json sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a 2" \
  "$(jq -r '"\(.config.mediaType) \(.config.digest) \(.config.size)"' <<<"$AM")"
check_eq "oci-artifact: the subject is the image manifest" "$IMG" "$(jq -r .subject.digest <<<"$AM")"
check_eq "oci-artifact: the subject's size is the manifest's" \
  "$(sk --raw "docker://$R/e2e/artifact@$IMG" | wc -c)" "$(jq -r .subject.size <<<"$AM")"
check_eq "oci-artifact: the statement is its layer" "application/vnd.in-toto+json" "$(jq -r '.layers[0].mediaType' <<<"$AM")"
check "oci-artifact: the registry serves the empty config blob" \
  curl -sf -o /dev/null "http://$R/v2/e2e/artifact/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
check "oci-artifact=false (the default) keeps the image-shaped attestation manifest" build "$C" "$R/e2e/artifact:2" \
  --push -o "type=image,oci-artifact=false" --attest type=provenance,mode=min
IX2=$(sk --raw "docker://$R/e2e/artifact:2")
ATT2=$(jq -r '.manifests[] | select(.annotations."vnd.docker.reference.type" == "attestation-manifest") | .digest' <<<"$IX2")
check_eq "oci-artifact=false: no artifactType, no subject" "null null" \
  "$(sk --raw "docker://$R/e2e/artifact@$ATT2" | jq -r '"\(.artifactType) \(.subject)"')"
for k in name-canonical=true dangling-name-prefix=dangling danging-name-empty-only=true; do
  check_fails "$k is refused" build "$C" x -o "type=image,$k"
  check_contains "... saying the store names by tag only" "names images by tag only" "$(cat "$T/last.log")"
done
