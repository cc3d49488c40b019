# go: dockerfile_namedcontext_test.go testNamedOCILayoutContextExport
# An image from an OCI layout as `FROM nonexistent`, exported again as an OCI tar, keeps its
# config (WorkingDir, Env).
bk_df <<'DF'
FROM scratch
WORKDIR /test
ENV foo=bar
DF
bk_ok "OCI tar output" -o "type=oci,dest=$W/one.tar"
mkdir -p "$W/oci" && tar -xf "$W/one.tar" -C "$W/oci"
check_eq "one manifest" 1 "$(jq '.manifests | length' "$W/oci/index.json" 2>&1)"
dgst=$(jq -r '.manifests[0].digest' "$W/oci/index.json" 2>&1)
bk_df <<'DF'
FROM nonexistent AS base
DF
bk_ok "build from the layout" --build-context "nonexistent=oci-layout://$W/oci@$dgst" -o "type=oci,dest=$W/two.tar"
mkdir -p "$W/two" && tar -xf "$W/two.tar" -C "$W/two"
check_eq "one manifest" 1 "$(jq '.manifests | length' "$W/two/index.json" 2>&1)"
m=$(jq -r '.manifests[0].digest' "$W/two/index.json" | sed 's|:|/|')
c=$(jq -r '.config.digest' "$W/two/blobs/$m" | sed 's|:|/|')
check_eq "WorkingDir" /test "$(jq -r '.config.WorkingDir' "$W/two/blobs/$c" 2>&1)"
check_eq "Env has foo=bar" true "$(jq '.config.Env | index("foo=bar") != null' "$W/two/blobs/$c" 2>&1)"
