# go: dockerfile_args_test.go testMultiArgs
# Several ARGs on one line, global ones referring to each other, re-declared in the stage.
bk_df <<DF
ARG a1="foo bar" a2=box
ARG a3="\$a2-foo"
FROM $CBUILD_REGISTRY/busy\$a2 AS build
ARG a3 a4="123 456" a1
RUN echo -n "\$a1:\$a3:\$a4" > /out
FROM scratch
COPY --from=build /out .
DF
bk_local_ok "build"
check_eq "/out is a1:a3:a4" "foo bar:box-foo:123 456" "$(cat "$W/out/out" 2>&1)"
