# go: dockerfile_provenance_test.go testDuplicateLayersProvenance
# a diamond (a and b from base): the base step's layer list appears once.
. "$BK/attest-lib.sh"
bk_df <<DF
FROM $BASE AS base

FROM base AS a
RUN date +%s > /a.txt

FROM base AS b
COPY --from=a /a.txt /
RUN date +%s > /b.txt
DF
ref=$CBUILD_REGISTRY/buildkit/testwithprovenance:dup
bk_push "build" "$ref" --attest type=provenance,mode=max
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
p=$(bk_att_layer buildkit/testwithprovenance "$ix" "$(bk_find "$ix" unknown/unknown)" | jq .predicate)
check_eq "step0:0 has one layer chain" 1 "$(jq '.runDetails.metadata.buildkit_metadata.layers["step0:0"] | length' <<<"$p")"
