# go: dockerfile_provenance_test.go testMultiPlatformProvenance
# linux/amd64,linux/arm64 with mode=max: 4 manifests; each platform's attestation is v1 with the
# base image of that platform and the build-arg and label args.
. "$BK/attest-lib.sh"
bk_df <<DF
FROM $BASE
ARG TARGETARCH
RUN echo "ok-\$TARGETARCH" > /foo
DF
ref=$CBUILD_REGISTRY/buildkit/testmultiprovenance:latest
bk_push "build" "$ref" --attest type=provenance,mode=max --build-arg FOO=bar --label lbl=abc --platform linux/amd64,linux/arm64
ix=$(bk_index "$ref")
check_eq "four manifests" 4 "$(jq '.manifests | length' <<<"$ix")"
for p in linux/amd64 linux/arm64; do
  i=$(bk_find "$ix" "$p")
  img=$(jq -r ".manifests[$i].digest" <<<"$ix")
  skopeo copy -q --src-tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testmultiprovenance@$img" "oci:$W/oci:${p#*/}" >/dev/null 2>&1
  umoci unpack --image "$W/oci:${p#*/}" "$W/un-${p#*/}" >/dev/null 2>&1
  check_eq "$p: /foo" "ok-${p#*/}" "$(cat "$W/un-${p#*/}/rootfs/foo" 2>&1)"
  a=$(jq -r --arg d "$img" '[.manifests[] | .annotations["vnd.docker.reference.digest"]] | index($d)' <<<"$ix")
  check_eq "$p: its attestation manifest" attestation-manifest "$(jq -r ".manifests[$a].annotations[\"vnd.docker.reference.type\"]" <<<"$ix")"
  st=$(bk_att_layer buildkit/testmultiprovenance "$ix" "$a")
  check_eq "$p: statement and predicate types" "https://in-toto.io/Statement/v1 https://slsa.dev/provenance/v1" "$(jq -r '"\(._type) \(.predicateType)"' <<<"$st")"
  p2=$(jq .predicate <<<"$st")
  check_eq "$p: buildType, builder id, configSource uri" "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md  null" \
    "$(jq -r '"\(.buildDefinition.buildType) \(.runDetails.builder.id) \(.buildDefinition.externalParameters.configSource.uri)"' <<<"$p2")"
  esc=${p/\//%2F}
  check_eq "$p: one dependency, the base for $p" "pkg:docker/$CBUILD_REGISTRY/busybox@latest?platform=$esc" "$(jq -r '[.buildDefinition.resolvedDependencies[].uri] | join(" ")' <<<"$p2")"
  check_eq "$p: args" '{"build-arg:FOO":"bar","label:lbl":"abc"}' "$(jq -cS .buildDefinition.externalParameters.request.args <<<"$p2")"
done
