# go: dockerfile_provenance_test.go testCommandSourceMapping
# mode=max source mapping: step IDs unique, every mapped step defined, only the context source
# unmapped, one location per step, single-line ranges, every Dockerfile line covered.
. "$BK/attest-lib.sh"
printf 'FROM %s\nRUN echo "hello" > foo\nWORKDIR /tmp\nCOPY foo foo2\nCOPY --link foo foo3\nADD bar bar' "$BASE" | bk_dfr
printf data | bk_file foo 0600
printf data2 | bk_file bar 0600
ref=$CBUILD_REGISTRY/buildkit/testsourcemappingprov:latest
bk_push "build" "$ref" --attest type=provenance,mode=max
ix=$(bk_index "$ref")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
p=$(bk_att_layer buildkit/testsourcemappingprov "$ix" "$(bk_find "$ix" unknown/unknown)" | jq .predicate)
def=$(jq .buildDefinition.internalParameters.buildConfig.llbDefinition <<<"$p")
src=$(jq .runDetails.metadata.buildkit_metadata.source <<<"$p")
check_eq "step IDs are unique" "$(jq length <<<"$def")" "$(jq '[.[].id] | unique | length' <<<"$def")"
check_eq "every mapped step is defined" "" \
  "$(jq -r --argjson d "$def" '.locations | keys[] | select(. as $k | ($d | map(.id) | index($k)) == null)' <<<"$src")"
check_eq "only local://context is unmapped" "local://context" \
  "$(jq -r --argjson s "$src" '.[] | select(.op.Op.source and (($s.locations[.id].locations // []) | length) == 0) | .op.Op.source.identifier' <<<"$def")"
check_eq "one location per step" "" "$(jq -r '.locations | to_entries[] | select((.value.locations | length) != 1) | .key' <<<"$src")"
check_eq "ranges are single lines" "" "$(jq -r '.locations[].locations[].ranges[] | select(.start.line != .end.line) | .start.line' <<<"$src")"
n=$(($(grep -c '' "$W/ctx/Dockerfile")))
check_eq "every line is covered" "$(seq -s' ' 1 "$n")" \
  "$(jq -r '[.locations[].locations[].ranges[].start.line] | unique | map(tostring) | join(" ")' <<<"$src")"
