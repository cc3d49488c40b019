# Helpers of the provenance and sbom cases (sourced by their case.sh): read what was pushed
# to $CBUILD_REGISTRY with skopeo and the registry API, as BuildKit's testutil.ReadImages.
# bk_index REF: the index JSON (skopeo inspect --raw)
bk_index() { skopeo inspect --raw --tls-verify=false "docker://$1"; }
# bk_att_manifest REPO DIGEST: the attestation manifest
bk_att_manifest() { curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/$1/manifests/$2"; }
# bk_att_layer REPO INDEXJSON N [K]: layer K (default 0) of the Nth manifest of the index
bk_att_layer() {
  local m; m=$(bk_att_manifest "$1" "$(jq -r ".manifests[$3].digest" <<<"$2")")
  curl -sf "http://$CBUILD_REGISTRY/v2/$1/blobs/$(jq -r ".layers[${4:-0}].digest" <<<"$m")"
}
# bk_find INDEXJSON PLATFORM: index of the entry for os/arch ("unknown/unknown" for attestations)
bk_find() { jq -r --arg p "$2" '[.manifests[] | (.platform.os + "/" + .platform.architecture)] | index($p)' <<<"$1"; }
