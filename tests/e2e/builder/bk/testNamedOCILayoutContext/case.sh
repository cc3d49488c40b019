# go: dockerfile_namedcontext_test.go testNamedOCILayoutContext
# --build-context NAME=oci-layout://PATH@DIGEST: an image from an OCI layout on disk replaces the
# stage `base` (its files) and the image `foo` (its files and ENV).
bk_df <<DF
FROM $BASE
WORKDIR /test
RUN sh -c "echo -n first > out"
RUN sh -c "echo -n second > out2"
ENV foo=bar
DF
bk_ok "OCI layout output" -o "type=oci,dest=$W/oci,tar=false"
dgst=$(jq -r '.manifests[0].digest' "$W/oci/index.json" 2>&1)
bk_df <<'DF'
FROM busybox AS base
RUN cat /etc/alpine-release > out
FROM foo AS imported
RUN echo -n $foo > outfoo
FROM scratch
COPY --from=base /test/o* /
COPY --from=imported /test/outfoo /
DF
bk_local_ok "build from the layout" --build-context "base=oci-layout://$W/oci@$dgst" \
  --build-context "foo=oci-layout://$W/oci@$dgst"
bk_out_is out first
bk_out_is out2 second
bk_out_is outfoo bar
