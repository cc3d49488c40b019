# go: dockerfile_provenance_test.go testProvenanceExportLocalMultiPlatform
# two platforms to -o type=local: DEST/linux_amd64 and DEST/linux_arm64 each with foo and provenance.json.
bk_df <<DF
FROM $BASE AS base
COPY <<EOF /out/foo
ok
EOF

FROM scratch
COPY --from=base /out /
DF
bk_local_ok "build" --attest type=provenance,mode=max --platform linux/amd64,linux/arm64
for p in linux_amd64 linux_arm64; do
  bk_out_is "$p/foo" 'ok\n'
  check "$p/provenance.json is a v1 provenance statement" jq -e '.predicateType == "https://slsa.dev/provenance/v1" and .predicate.buildDefinition' "$W/out/$p/provenance.json"
done
