# go: dockerfile_image_test.go testOCILayoutMultiname
# An OCI layout output with two names lists the manifest twice, one annotation pair per name;
# the tar variant has the same index.
bk_df_raw <<'DF'
FROM scratch
COPY <<EOF /foo
hello
EOF
DF
bk_ok "oci dir output" -o "type=oci,dest=$W/oci,tar=false,\"name=org/repo:tag1,org/repo:tag2\""
validate_idx() {
  local idx=$1 what=$2
  check_eq "$what: 2 manifests" 2 "$(jq '.manifests | length' <<<"$idx")"
  check_eq "$what: same digest, platform, media type and size" 1 \
    "$(jq '[.manifests[] | [.digest, .platform, .mediaType, .size]] | unique | length' <<<"$idx")"
  check_eq "$what: containerd names" "docker.io/org/repo:tag1 docker.io/org/repo:tag2" \
    "$(jq -r '[.manifests[].annotations["io.containerd.image.name"]] | join(" ")' <<<"$idx")"
  check_eq "$what: ref names" "tag1 tag2" \
    "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(" ")' <<<"$idx")"
}
validate_idx "$(cat "$W/oci/index.json" 2>&1)" dir
bk_ok "oci tar output" -o "type=oci,dest=$W/oci.tar,\"name=org/repo:tag1,org/repo:tag2\""
validate_idx "$(tar -xOf "$W/oci.tar" index.json 2>&1)" tar
