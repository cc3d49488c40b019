# go: dockerfile_client_test.go testGatewayBuiltinSyntaxSourceDockerfileV0
# A Dockerfile with a `# syntax=` directive is built by the built-in frontend (BuildKit's gateway
# with source=dockerfile.v0 does not fetch the syntax image).
bk_df <<DF
# syntax=docker/dockerfile-upstream:master
FROM $BASE AS build
RUN echo -n ok > /out
FROM scratch
COPY --from=build /out /out
DF
bk_local_ok "build"
bk_out_is out ok
