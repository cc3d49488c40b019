# go: dockerfile_image_test.go testMultiNilRefsOCIExporter
# `FROM scratch` alone (no layers, no files) for linux/arm64,linux/amd64 into an OCI archive:
# index.json names one index, which lists both platforms' manifests.
bk_df <<'DF'
FROM scratch
DF
bk_ok "OCI archive of two empty platforms" --platform linux/arm64,linux/amd64 -o "type=oci,dest=$W/out.tar"
mkdir -p "$W/oci" && tar -xf "$W/out.tar" -C "$W/oci"
check_eq "index.json: one manifest" 1 "$(jq '.manifests | length' "$W/oci/index.json" 2>&1)"
d=$(jq -r '.manifests[0].digest' "$W/oci/index.json")
check_eq "... an index of two manifests" 2 "$(jq '.manifests | length' "$W/oci/blobs/sha256/${d#sha256:}" 2>&1)"
