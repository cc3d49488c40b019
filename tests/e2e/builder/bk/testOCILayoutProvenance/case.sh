# go: dockerfile_provenance_test.go testOCILayoutProvenance
# An image built into an OCI layout directory is the named context `foo`
# (--build-context foo=oci-layout://DIR@DIGEST) of a second build with mode=max provenance,
# pushed: its layers are foo's then its own, and its one material is foo as a pkg:oci purl
# pinned to the layout's manifest digest.
. "$BK/attest-lib.sh"
bk_df <<'DF'
FROM scratch
COPY <<EOF /foo
foo
EOF
DF
bk_ok "build into an OCI layout" -o "type=oci,dest=$W/ocidir,tar=false"
check_eq "the layout's index.json: one manifest" 1 "$(jq '.manifests | length' "$W/ocidir/index.json" 2>&1)"
dgst=$(jq -r '.manifests[0].digest' "$W/ocidir/index.json")
bk_df <<'DF'
FROM foo
COPY <<EOF /bar
bar
EOF
DF
ref=$CBUILD_REGISTRY/buildkit/clientprovenance:ocilayout
bk_push "build FROM the layout, provenance mode=max" "$ref" --build-context "foo=oci-layout://$W/ocidir@$dgst" \
  --attest type=provenance,mode=max
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$CBUILD_REGISTRY/v2/buildkit/clientprovenance/manifests/$(jq -r ".manifests[$i].digest" <<<"$ix")")
layer() { curl -sf "http://$CBUILD_REGISTRY/v2/buildkit/clientprovenance/blobs/$(jq -r ".layers[$1].digest" <<<"$m")" | tar -xzO "$2" 2>&1; }
check_eq "layer 0: foo" foo "$(layer 0 foo)"
check_eq "layer 1: bar" bar "$(layer 1 bar)"
p=$(bk_att_layer buildkit/clientprovenance "$ix" "$a" | jq .predicate)
deps=$(jq -c .buildDefinition.resolvedDependencies <<<"$p")
check_eq "one dependency" 1 "$(jq length <<<"$deps")"
check_eq "... naming /foo, a pkg:oci purl" "pkg:oci true" "$(jq -r '.[0].uri | "\(split("/")[0]) \(contains("/foo"))"' <<<"$deps")"
check_eq "... pinned to the layout's digest" "${dgst#sha256:}" "$(jq -r '.[0].digest.sha256' <<<"$deps")"
