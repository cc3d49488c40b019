# go: dockerfile_sbom_test.go testSBOMScannerImage
# --attest type=sbom,generator=IMAGE on FROM scratch + COPY: the scanner image (busybox with a
# /scan.sh writing one statement, built and pushed first) runs over the result; what it wrote is
# the one layer of the attestation manifest.
. "$BK/attest-lib.sh"
bk_df_raw <<'DF'
FROM @BASE@
COPY <<-"EOF" /scan.sh
@T@set -e
@T@cat <<BUNDLE > $BUILDKIT_SCAN_DESTINATION/spdx.json
@T@{
@T@  "_type": "https://in-toto.io/Statement/v1",
@T@  "predicateType": "https://spdx.dev/Document",
@T@  "predicate": {"name": "sbom-scan"}
@T@}
@T@BUNDLE
EOF
CMD sh /scan.sh
DF
scanner=$CBUILD_REGISTRY/buildkit/testsbomscanner:latest
bk_push "the scanner image" "$scanner"
"$CBUILD" rmi "$scanner" >/dev/null 2>&1 # the build pulls it from the registry, as BuildKit resolves it
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
DF
ref=$CBUILD_REGISTRY/buildkit/testsbomscannertarget:latest
bk_push "build" "$ref" --attest "type=sbom,generator=$scanner"
check_contains "the scanner's vertex" "[linux/amd64] generating sbom using $scanner" "$(cat "$T/last.log")"
check_eq "no warning about the generator" "" "$(grep -i 'warning.*generator' "$T/last.log")"
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
skopeo copy -q --src-tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testsbomscannertarget@$(jq -r ".manifests[$i].digest" <<<"$ix")" "oci:$W/oci:img" >/dev/null 2>&1
umoci unpack --image "$W/oci:img" "$W/un" >/dev/null 2>&1
check_eq "/foo of the image" data "$(cat "$W/un/rootfs/foo" 2>&1)"
check_eq "one attestation layer" 1 "$(bk_att_manifest buildkit/testsbomscannertarget "$(jq -r ".manifests[$a].digest" <<<"$ix")" | jq '.layers | length')"
st=$(bk_att_layer buildkit/testsbomscannertarget "$ix" "$a")
check_eq "in-toto v1, SPDX predicate" "https://in-toto.io/Statement/v1 https://spdx.dev/Document" "$(jq -r '"\(._type) \(.predicateType)"' <<<"$st")"
check_eq "the scanner's predicate" sbom-scan "$(jq -r '.predicate.name' <<<"$st")"
check_eq "the statement's subject is the image" "$(jq -r ".manifests[$i].digest" <<<"$ix")" "sha256:$(jq -r '.subject[0].digest.sha256' <<<"$st")"

# cbuild's own checks: the scan is cached by content (--no-cache runs it again); a failing
# scanner fails the build naming it and its exit; a scanner that writes nothing leaves an
# attestation manifest of no layers
bk_push "build again" "$ref" --attest "type=sbom,generator=$scanner"
check_eq "the scan is cached" CACHED "$(step_state "generating sbom using")"
bk_push "build again with --no-cache" "$ref" --attest "type=sbom,generator=$scanner" --no-cache
check_eq "--no-cache scans again" DONE "$(step_state "generating sbom using")"
# BuildKit's frontend attaches the scanner's statements, its solver the provenance after them
bk_push "build with provenance too" "$ref" --attest "type=sbom,generator=$scanner" --provenance=mode=min
ix=$(bk_index "$ref") a=$(bk_find "$(bk_index "$ref")" unknown/unknown)
check_eq "the scanner's statement, then the provenance" "https://spdx.dev/Document https://slsa.dev/provenance/v1" \
  "$(bk_att_manifest buildkit/testsbomscannertarget "$(jq -r ".manifests[$a].digest" <<<"$ix")" | jq -r '[.layers[].annotations["in-toto.io/predicate-type"]] | join(" ")')"
bk_df_raw <<'DF'
FROM @BASE@
CMD ["sh", "-c", "echo scanning failed >&2; exit 3"]
DF
bad=$CBUILD_REGISTRY/buildkit/testsbomscannerbad:latest
bk_push "a failing scanner image" "$bad"
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
DF
bk_fails "a scanner exiting 3 fails the build" "generating sbom using $bad: process \"sh -c echo scanning failed >&2; exit 3\" did not complete successfully: exit code: 3" --attest "type=sbom,generator=$bad"
check_contains "its output is shown" "scanning failed" "$(cat "$T/last.log")"
bk_df_raw <<'DF'
FROM @BASE@
CMD ["true"]
DF
quiet=$CBUILD_REGISTRY/buildkit/testsbomscannerquiet:latest
bk_push "a scanner image writing nothing" "$quiet"
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
DF
ref=$CBUILD_REGISTRY/buildkit/testsbomscannerquiettarget:latest
bk_push "a scanner writing nothing" "$ref" --attest "type=sbom,generator=$quiet"
ix=$(bk_index "$ref")
a=$(bk_find "$ix" unknown/unknown)
check_eq "still two images" 2 "$(jq '.manifests | length' <<<"$ix")"
check_eq "an attestation manifest of no layers" 0 "$(bk_att_manifest buildkit/testsbomscannerquiettarget "$(jq -r ".manifests[$a].digest" <<<"$ix")" | jq '.layers | length')"
# what the scanner writes must be statements of the SPDX predicate type (BuildKit's unbundle)
for bad in 'mkdir $BUILDKIT_SCAN_DESTINATION/sub|/run/out/sub is not a regular file' \
  'echo "{\"predicateType\": \"x\"}" > $BUILDKIT_SCAN_DESTINATION/a.json|/run/out/a.json: bundle entry x does not match required predicate type https://spdx.dev/Document' \
  'echo "{" > $BUILDKIT_SCAN_DESTINATION/b.json|/run/out/b.json: cannot decode in-toto statement'; do
  printf 'FROM %s\nCMD ["sh", "-c", %s]\n' "$BASE" "$(jq -Rn --arg c "${bad%%|*}" '$c')" >"$W/ctx/Dockerfile"
  bk_push "a scanner image writing: ${bad%%|*}" "$CBUILD_REGISTRY/buildkit/testsbomscannerwrong:latest"
  bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
DF
  bk_fails "... fails the build" "${bad#*|}" --attest "type=sbom,generator=$CBUILD_REGISTRY/buildkit/testsbomscannerwrong:latest"
done
bk_df <<'DF'
FROM scratch
COPY <<EOF /x
x
EOF
DF
nocmd=$CBUILD_REGISTRY/buildkit/testsbomscannernocmd:latest
bk_push "a scanner image without a command" "$nocmd"
bk_fails "a scanner without a command fails the build" "scanner $nocmd does not have cmd" --attest "type=sbom,generator=$nocmd"
check_eq "... before the stages run (BuildKit checks it first)" "" "$(grep -E 'generating sbom|COPY' "$T/last.log")"

# the core statement (sbom.*) of an SPDX document: each file without a comment gets the layer
# that holds it ("layerID: <digest>", BuildKit's supplementSBOM), and the exporter as a creator
bk_df_raw <<'DF'
FROM @BASE@
COPY <<-"EOF" /scan.sh
@T@cat <<BUNDLE > $BUILDKIT_SCAN_DESTINATION/sbom.spdx.json
@T@{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://spdx.dev/Document",
@T@ "predicate": {"spdxVersion": "SPDX-2.3", "name": "core", "root": "$(ls -A $BUILDKIT_SCAN_SOURCE | tr '\n' ' ')", "creationInfo": {"creators": ["Tool: scan.sh"]},
@T@  "files": [{"fileName": "./foo"}, {"fileName": "bar", "comment": "mine"}, {"fileName": "./gone"}]}}
@T@BUNDLE
EOF
CMD sh /scan.sh
DF
spdx=$CBUILD_REGISTRY/buildkit/testsbomscannerspdx:latest
bk_push "a scanner image writing an SPDX document" "$spdx"
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
COPY <<EOF /bar
data
EOF
DF
ref=$CBUILD_REGISTRY/buildkit/testsbomscannerspdxtarget:latest
bk_push "build scanned by it" "$ref" --attest "type=sbom,generator=$spdx"
ix=$(bk_index "$ref")
i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
layer0=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/buildkit/testsbomscannerspdxtarget/manifests/$(jq -r ".manifests[$i].digest" <<<"$ix")" | jq -r '.layers[0].digest')
st=$(bk_att_layer buildkit/testsbomscannerspdxtarget "$ix" "$a")
check_eq "/foo's layer" "layerID: $layer0" "$(jq -r '.predicate.files[0].comment' <<<"$st")"
check_eq "a scanner's comment is kept" mine "$(jq -r '.predicate.files[1].comment' <<<"$st")"
check_eq "a file in no layer gets none" null "$(jq -r '.predicate.files[2].comment' <<<"$st")"
check_eq "the scanned root holds the image's files alone (no lost+found)" "bar foo " "$(jq -r '.predicate.root' <<<"$st")"
check_eq "creators" "Tool: scan.sh,Tool: cbuild" "$(jq -r '.predicate.creationInfo.creators | join(",")' <<<"$st")"

# the scan ARGs are no environment of a RUN (dockerfile2llb's nonEnvArgs)
bk_df <<DF
FROM $BASE
ARG BUILDKIT_SBOM_SCAN_STAGE=true
ARG OTHER=1
RUN env > /env
DF
bk_local_ok "a RUN in a stage with the scan ARG"
check_eq "RUN sees OTHER, not BUILDKIT_SBOM_SCAN_STAGE" "OTHER=1" "$(grep -E '^(OTHER|BUILDKIT_SBOM)' "$W/out/env")"
