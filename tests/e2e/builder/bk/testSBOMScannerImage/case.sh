# go: dockerfile_sbom_test.go testSBOMScannerImage
# --attest type=sbom,generator=IMAGE on FROM scratch + COPY: an index of the image and one
# attestation manifest with one SPDX statement.
. "$BK/attest-lib.sh"
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
data
EOF
DF
ref=$CBUILD_REGISTRY/buildkit/testsbomscannertarget:latest
bk_push "build" "$ref" --attest "type=sbom,generator=$CBUILD_REGISTRY/buildkit/testsbomscanner:latest"
check_contains "the generator is named in a warning" "generator=$CBUILD_REGISTRY/buildkit/testsbomscanner:latest" "$(cat "$T/last.log")"
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
skopeo copy -q --src-tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testsbomscannertarget@$(jq -r ".manifests[$i].digest" <<<"$ix")" "oci:$W/oci:img" >/dev/null 2>&1
umoci unpack --image "$W/oci:img" "$W/un" >/dev/null 2>&1
check_eq "/foo of the image" data "$(cat "$W/un/rootfs/foo" 2>&1)"
check_eq "one attestation layer" 1 "$(bk_att_manifest buildkit/testsbomscannertarget "$(jq -r ".manifests[$a].digest" <<<"$ix")" | jq '.layers | length')"
st=$(bk_att_layer buildkit/testsbomscannertarget "$ix" "$a")
check_eq "in-toto v1, SPDX predicate" "https://in-toto.io/Statement/v1 https://spdx.dev/Document" "$(jq -r '"\(._type) \(.predicateType)"' <<<"$st")"
check_eq "the SPDX document lists /foo" "./foo" "$(jq -r '.predicate.files[].fileName' <<<"$st")"
