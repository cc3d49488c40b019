# go: dockerfile_provenance_test.go testNilProvenance
# mode=max on a result with no layers (FROM scratch, ENV), to the image, local and tar exporters,
# one platform and two: every build succeeds.
bk_df <<'DF'
FROM scratch
ENV FOO=bar
DF
for plat in single multi; do
  pf=(); [ $plat = multi ] && pf=(--platform linux/amd64,linux/arm64)
  bk_ok "image/$plat" --attest type=provenance,mode=max "${pf[@]}"
  rm -rf "$W/out"; bk_ok "local/$plat" --attest type=provenance,mode=max -o "type=local,dest=$W/out" "${pf[@]}"
  bk_ok "tar/$plat" --attest type=provenance,mode=max -o "type=tar,dest=$W/out.tar" "${pf[@]}"
done
