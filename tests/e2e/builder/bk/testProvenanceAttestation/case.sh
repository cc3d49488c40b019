# go: dockerfile_provenance_test.go testProvenanceAttestation
# --provenance for each SLSA version ("", v1, v0.2) and mode ("", min, max), pushed: an index of
# the image and its attestation manifest; the statement's predicate as the Go test checks it.
. "$BK/attest-lib.sh"
bk_df <<DF
FROM $BASE
RUN echo "ok" > /foo
DF
for v in "" v1 v0.2; do
  for mode in "" min max; do
    args=() name=prov
    [ -z "$v" ] || { args+=("version=$v"); name=$name-$v; }
    [ -z "$mode" ] || { args+=("mode=$mode"); name=$name-$mode; }
    spec=$(IFS=,; echo "${args[*]}")
    ref=$CBUILD_REGISTRY/buildkit/testwithprovenance:${name//./}
    _tap_prefix="testProvenanceAttestation/${v:-default}-${mode:-default}: "
    bk_push "build" "$ref" --attest "type=provenance${spec:+,$spec}" --build-arg FOO=bar --label lbl=abc
    ix=$(bk_index "$ref")
    check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
    i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
    img=$(jq -r ".manifests[$i].digest" <<<"$ix")
    skopeo copy -q --src-tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testwithprovenance@$img" "oci:$W/oci:img" >/dev/null 2>&1
    umoci unpack --image "$W/oci:img" "$W/un-$name" >/dev/null 2>&1
    check_eq "/foo of the image" ok "$(cat "$W/un-$name/rootfs/foo" 2>&1)"
    check_eq "reference digest" "$img" "$(jq -r ".manifests[$a].annotations[\"vnd.docker.reference.digest\"]" <<<"$ix")"
    check_eq "reference type" attestation-manifest "$(jq -r ".manifests[$a].annotations[\"vnd.docker.reference.type\"]" <<<"$ix")"
    st=$(bk_att_layer buildkit/testwithprovenance "$ix" "$a")
    check_eq "statement type" "https://in-toto.io/Statement/v1" "$(jq -r ._type <<<"$st")"
    p=$(jq .predicate <<<"$st")
    max=$([ "$mode" = min ] && echo false || echo true)
    exp_base="pkg:docker/$CBUILD_REGISTRY/busybox@latest?platform=linux%2Famd64"
    if [ "$v" != v0.2 ]; then
      check_eq "predicate type" "https://slsa.dev/provenance/v1" "$(jq -r .predicateType <<<"$st")"
      check_eq "buildType, builder id, configSource uri" \
        "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md  null" \
        "$(jq -r '"\(.buildDefinition.buildType) \(.runDetails.builder.id) \(.buildDefinition.externalParameters.configSource.uri)"' <<<"$p")"
      req=$(jq .buildDefinition.externalParameters.request <<<"$p")
      comp=$(jq .runDetails.metadata.buildkit_completeness.request <<<"$p")
      deps=$(jq -r '[.buildDefinition.resolvedDependencies[] | "\(.uri) \(.digest.sha256 | length)"] | join(",")' <<<"$p")
      path=$(jq -r .buildDefinition.externalParameters.configSource.path <<<"$p")
      md=$(jq .runDetails.metadata <<<"$p")
      check "invocationId, startedOn < finishedOn" jq -e '.invocationId != "" and .startedOn < .finishedOn' <<<"$md"
      check_eq "builderPlatform" linux/amd64 "$(jq -r .buildDefinition.internalParameters.builderPlatform <<<"$p")"
      check_eq "resolvedDependencies incomplete, not reproducible, not hermetic" "false null null" \
        "$(jq -r '"\(.buildkit_completeness.resolvedDependencies) \(.buildkit_reproducible) \(.buildkit_hermetic)"' <<<"$md")"
      bkm=$(jq .buildkit_metadata <<<"$md")
      defs=$(jq '.buildDefinition.internalParameters.buildConfig.llbDefinition | length' <<<"$p")
    else
      check_eq "predicate type" "https://slsa.dev/provenance/v0.2" "$(jq -r .predicateType <<<"$st")"
      check_eq "buildType, builder id, configSource uri" "https://mobyproject.org/buildkit@v1  null" \
        "$(jq -r '"\(.buildType) \(.builder.id) \(.invocation.configSource.uri)"' <<<"$p")"
      req=$(jq .invocation.parameters <<<"$p")
      comp=$(jq .metadata.completeness.parameters <<<"$p")
      deps=$(jq -r '[.materials[] | "\(.uri) \(.digest.sha256 | length)"] | join(",")' <<<"$p")
      path=$(jq -r .invocation.configSource.entryPoint <<<"$p")
      md=$(jq .metadata <<<"$p")
      check "buildInvocationID, buildStartedOn < buildFinishedOn" jq -e '.buildInvocationID != "" and .buildStartedOn < .buildFinishedOn' <<<"$md"
      check_eq "environment platform, completeness environment" "linux/amd64 true" \
        "$(jq -r '"\(.invocation.environment.platform) \(.metadata.completeness.environment)"' <<<"$p")"
      check_eq "materials incomplete, not reproducible, not hermetic" "false false null" \
        "$(jq -r '"\(.completeness.materials) \(.reproducible) \(.["https://mobyproject.org/buildkit@v1#hermetic"])"' <<<"$md")"
      bkm=$(jq '.["https://mobyproject.org/buildkit@v1#metadata"]' <<<"$md")
      defs=$(jq '.buildConfig.llbDefinition | length' <<<"$p")
    fi
    check_eq "frontend" dockerfile.v0 "$(jq -r .frontend <<<"$req")"
    check_eq "configSource path" Dockerfile "$path"
    check_eq "locals" "context dockerfile" "$(jq -r '[.locals[].name] | join(" ")' <<<"$req")"
    check_eq "the base image, with a digest" "$exp_base 64" "$deps"
    if [ "$max" = true ]; then
      check_eq "args (max)" '{"build-arg:FOO":"bar","label:lbl":"abc"}' "$(jq -cS .args <<<"$req")"
      check_eq "completeness request (max)" true "$comp"
      check_eq "layers, source, definitions (max)" "2 Dockerfile 3" "$(jq -r '"\(.layers | length) \(.source.infos[0].filename)"' <<<"$bkm") $defs"
      check_eq "source data is the Dockerfile (max)" "$(cat "$W/ctx/Dockerfile")" "$(jq -r .source.infos[0].data <<<"$bkm" | base64 -d)"
    else
      check_eq "args (min)" null "$(jq -c .args <<<"$req")"
      check_eq "completeness request (min)" false "$comp"
      check_eq "no layers, source, definitions (min)" "0 null 0" "$(jq -r '"\(.layers | length) \(.source)"' <<<"$bkm") $defs"
    fi
  done
done
_tap_prefix=
