# go: dockerfile_provenance_test.go testProvenanceExportLocalMultiPlatformNoSplit
# -o type=local,platform-split=false of linux/amd64 and linux/arm64: both platforms' files in
# DEST itself, each platform's provenance as provenance.linux_<arch>.json.
bk_dfr <<'DF'
FROM @BASE@ AS base
ARG TARGETARCH
COPY <<EOF /out/foo_${TARGETARCH}
ok
EOF

FROM scratch
COPY --from=base /out /
DF
bk_ok "build" --attest type=provenance,mode=max --platform linux/amd64,linux/arm64 \
  -o "type=local,dest=$W/out,platform-split=false"
for a in amd64 arm64; do
  bk_out_is "foo_$a" 'ok\n'
  check "provenance.linux_$a.json is a JSON statement" jq -e '.predicate' "$W/out/provenance.linux_$a.json"
done
