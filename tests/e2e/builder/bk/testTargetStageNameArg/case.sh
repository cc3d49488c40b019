# go: dockerfile_args_test.go testTargetStageNameArg
# TARGETSTAGE is the target stage's name ("default" for an unnamed last stage), only after ARG.
bk_df <<DF
FROM $BASE AS base
WORKDIR /out
RUN echo -n "value:\$TARGETSTAGE" > /out/first
ARG TARGETSTAGE
RUN echo -n "value:\$TARGETSTAGE" > /out/second

FROM scratch AS foo
COPY --from=base /out/ /

FROM scratch
COPY --from=base /out/ /
DF
bk_local_ok "build" --target foo
check_eq "--target foo: first is empty before ARG" "value:" "$(cat "$W/out/first" 2>&1)"
check_eq "--target foo: second is value:foo" "value:foo" "$(cat "$W/out/second" 2>&1)"
bk_local_ok "build"
check_eq "unnamed last stage: first" "value:" "$(cat "$W/out/first" 2>&1)"
check_eq "unnamed last stage: second is value:default" "value:default" "$(cat "$W/out/second" 2>&1)"
cat >>"$W/ctx/Dockerfile" <<DF

FROM scratch AS final
COPY --from=base /out/ /
DF
bk_local_ok "build"
check_eq "named last stage: first" "value:" "$(cat "$W/out/first" 2>&1)"
check_eq "named last stage: second is value:final" "value:final" "$(cat "$W/out/second" 2>&1)"
