# go: dockerfile_args_test.go testQuotedMetaArgs
# Quoted global ARG values expand in FROM and in stage ARG defaults.
bk_df <<DF
ARG a1="box"
ARG a2="\$a1-foo"
FROM $CBUILD_REGISTRY/busy\$a1 AS build
ARG a2
ARG a3="bar-\$a2"
RUN echo -n \$a3 > /out
FROM scratch
COPY --from=build /out .
DF
bk_local_ok "build"
check_eq "/out is bar-box-foo" "bar-box-foo" "$(cat "$W/out/out" 2>&1)"
