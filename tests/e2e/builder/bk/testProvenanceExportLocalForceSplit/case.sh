# go: dockerfile_provenance_test.go testProvenanceExportLocalForceSplit
# -o type=local,platform-split=true of one platform: its files and provenance.json in
# DEST/linux_amd64/.
bk_dfr <<'DF'
FROM @BASE@ AS base
COPY <<EOF /out/foo
ok
EOF

FROM scratch
COPY --from=base /out /
DF
bk_ok "build" --attest type=provenance,mode=max -o "type=local,dest=$W/out,platform-split=true"
bk_out_is linux_amd64/foo 'ok\n'
check "linux_amd64/provenance.json is a JSON statement" jq -e '.predicate' "$W/out/linux_amd64/provenance.json"
check "nothing at the top but the platform" test "$(ls -A "$W/out")" = linux_amd64
