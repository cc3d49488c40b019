# go: dockerfile_provenance_test.go testProvenanceExportLocal
# -o type=local with mode=max: the output's files and provenance.json, a v1 statement.
bk_df <<DF
FROM $BASE AS base
COPY <<EOF /out/foo
ok
EOF

FROM scratch
COPY --from=base /out /
DF
bk_local_ok "build" --attest type=provenance,mode=max
bk_out_is foo 'ok\n'
check "provenance.json is a v1 provenance statement" jq -e '.predicateType == "https://slsa.dev/provenance/v1" and .predicate.buildDefinition' "$W/out/provenance.json"
