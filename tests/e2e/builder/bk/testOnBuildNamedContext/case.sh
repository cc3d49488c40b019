# go: dockerfile_onbuild_test.go testOnBuildNamedContext
# An image from an OCI layout used through a named context runs its ONBUILD triggers, which may
# name a stage of the Dockerfile that uses it (COPY --from=otherstage).
bk_df <<DF
FROM $BASE
ONBUILD COPY --from=otherstage /testfile /out/foo
DF
bk_ok "OCI tar output" -o "type=oci,dest=$W/one.tar"
mkdir -p "$W/oci" && tar -xf "$W/one.tar" -C "$W/oci"
check_eq "one manifest" 1 "$(jq '.manifests | length' "$W/oci/index.json" 2>&1)"
dgst=$(jq -r '.manifests[0].digest' "$W/oci/index.json" 2>&1)
bk_df <<DF
FROM $BASE AS otherstage
RUN echo -n "hello" > /testfile
FROM base AS inputstage
FROM scratch
COPY --from=inputstage /out/foo /bar
DF
bk_local_ok "build" --build-context "base=oci-layout://$W/oci@$dgst"
bk_out_is bar hello
