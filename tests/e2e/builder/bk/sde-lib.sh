# Helpers of the SOURCE_DATE_EPOCH cases (dockerfile_source_date_epoch_test.go), sourced by their
# case.sh: read the OCI archive a build wrote, as readOCIManifest/readOCIImage/readOCILayerMap.
# sde_oci TAR: unpacks TAR into $W/oci; $SDE_M is its manifest, $SDE_C its image config
sde_oci() {
  rm -rf "$W/oci" && mkdir -p "$W/oci" && tar -xf "$1" -C "$W/oci" || { SDE_M='{}' SDE_C='{}'; return 1; }
  local m; m=$(jq -r '.manifests[0].digest' "$W/oci/index.json")
  SDE_M=$(cat "$W/oci/blobs/sha256/${m#sha256:}")
  SDE_C=$(cat "$W/oci/blobs/sha256/$(jq -r '.config.digest' <<<"$SDE_M" | cut -d: -f2)")
}
# sde_annotation [N]: buildkit/rewritten-timestamp of layer N (default the last), "" when none
sde_annotation() { jq -r ".layers[${1:--1}].annotations[\"buildkit/rewritten-timestamp\"] // \"\"" <<<"$SDE_M"; }
# sde_layers: the manifest's number of layers
sde_layers() { jq '.layers | length' <<<"$SDE_M"; }
# sde_created: the image config's created time in seconds since the epoch
sde_created() { date -u -d "$(jq -r .created <<<"$SDE_C")" +%s; }
# sde_layer_file FILE [N]: FILE's contents in layer N (default the last)
sde_layer_file() {
  tar -xzOf "$W/oci/blobs/sha256/$(jq -r ".layers[${2:--1}].digest" <<<"$SDE_M" | cut -d: -f2)" "$1" 2>&1
}
