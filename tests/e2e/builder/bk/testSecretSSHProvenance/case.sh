# go: dockerfile_provenance_test.go testSecretSSHProvenance
# mode=max lists the Dockerfile's secret mounts (not required: optional) in request.secrets.
. "$BK/attest-lib.sh"
bk_df <<DF
FROM $BASE
RUN --mount=type=secret,id=mysecret --mount=type=secret,id=othersecret echo "ok" > /foo
DF
ref=$CBUILD_REGISTRY/buildkit/testsecretprovenance:latest
bk_push "build" "$ref" --attest type=provenance,mode=max
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
st=$(bk_att_layer buildkit/testsecretprovenance "$ix" "$(bk_find "$ix" unknown/unknown)")
check_eq "secrets: both, optional" '[{"id":"mysecret","optional":true},{"id":"othersecret","optional":true}]' \
  "$(jq -c .predicate.buildDefinition.externalParameters.request.secrets <<<"$st")"
