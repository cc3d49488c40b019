# go: dockerfile_sbom_test.go testSBOMScannerArgs
# BUILDKIT_SBOM_SCAN_CONTEXT / BUILDKIT_SBOM_SCAN_STAGE: the scanner gets the context and the
# marked stages the target reaches under $BUILDKIT_SCAN_SOURCE_EXTRAS and writes one statement
# for each (name "extra") beside the core one.
. "$BK/attest-lib.sh"
bk_df_raw <<'DF'
FROM @BASE@
COPY <<-"EOF" /scan.sh
@T@set -e
@T@cat <<BUNDLE > $BUILDKIT_SCAN_DESTINATION/spdx.json
@T@{
@T@  "_type": "https://in-toto.io/Statement/v1",
@T@  "predicateType": "https://spdx.dev/Document",
@T@  "predicate": {"name": "core"}
@T@}
@T@BUNDLE
@T@if [ "${BUILDKIT_SCAN_SOURCE_EXTRAS}" ]; then
@T@@T@for src in "${BUILDKIT_SCAN_SOURCE_EXTRAS}"/*; do
@T@@T@@T@cat <<BUNDLE > $BUILDKIT_SCAN_DESTINATION/$(basename $src).spdx.json
@T@@T@@T@{
@T@@T@@T@  "_type": "https://in-toto.io/Statement/v1",
@T@@T@@T@  "predicateType": "https://spdx.dev/Document",
@T@@T@@T@  "predicate": {"name": "extra"}
@T@@T@@T@}
@T@@T@@T@BUNDLE
@T@@T@done
@T@fi
EOF
CMD sh /scan.sh
DF
scanner=$CBUILD_REGISTRY/buildkit/testsbomscannerargs:latest
bk_push "the scanner image" "$scanner"

# REPO's index has two images (the image, its attestation manifest)
two_images() { check_eq "$1: two images" 2 "$(bk_index "$CBUILD_REGISTRY/$1:latest" | jq '.manifests | length')"; }
# the layers of the attestation manifest of REPO's index: "name name …" of their predicates
att_names() {
  local ix a m
  ix=$(bk_index "$CBUILD_REGISTRY/$1:latest")
  a=$(bk_find "$ix" unknown/unknown)
  m=$(bk_att_manifest "$1" "$(jq -r ".manifests[$a].digest" <<<"$ix")")
  for d in $(jq -r '.layers[].digest' <<<"$m"); do
    curl -sf "http://$CBUILD_REGISTRY/v2/$1/blobs/$d" | jq -r .predicate.name
  done | tr '\n' ' ' | sed 's/ $//'
}

# the scan ARGs as build-args the Dockerfile doesn't declare: no extras
bk_df <<'DF'
FROM scratch as base
COPY <<EOF /foo
data
EOF
FROM base
DF
bk_push "build without declared scan ARGs" "$CBUILD_REGISTRY/buildkit/testsbomscannerargstarget1:latest" \
  --attest "type=sbom,generator=$scanner" --build-arg BUILDKIT_SBOM_SCAN_CONTEXT=true --build-arg BUILDKIT_SBOM_SCAN_STAGE=true
two_images buildkit/testsbomscannerargstarget1
check_eq "one layer: the core" core "$(att_names buildkit/testsbomscannerargstarget1)"

# declared: the context, stages file and base (the target's own stage is the core; base2
# fails but the target doesn't need it, so it is neither built nor scanned)
bk_df <<'DF'
ARG BUILDKIT_SBOM_SCAN_CONTEXT=true

FROM scratch as file
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY <<EOF /file
data
EOF

FROM scratch as base
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY --from=file /file /foo

FROM scratch as base2
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY --from=file /file /bar
RUN non-existent-command-would-fail

FROM base
ARG BUILDKIT_SBOM_SCAN_STAGE=true
DF
bk_push "build with scan ARGs" "$CBUILD_REGISTRY/buildkit/testsbomscannertarget2:latest" --attest "type=sbom,generator=$scanner"
two_images buildkit/testsbomscannertarget2
names=$(att_names buildkit/testsbomscannertarget2)
check_eq "four layers: one core, three extras" "core extra extra extra" "$(tr ' ' '\n' <<<"$names" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "base2 was not built" "" "$(grep -F 'non-existent-command-would-fail' "$T/last.log")"

# the build-args turn them off
bk_push "build with the scan ARGs false" "$CBUILD_REGISTRY/buildkit/testsbomscannertarget3:latest" \
  --attest "type=sbom,generator=$scanner" --build-arg BUILDKIT_SBOM_SCAN_STAGE=false --build-arg BUILDKIT_SBOM_SCAN_CONTEXT=false
two_images buildkit/testsbomscannertarget3
check_eq "one layer: the core" core "$(att_names buildkit/testsbomscannertarget3)"
