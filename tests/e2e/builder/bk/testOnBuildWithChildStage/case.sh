# go: dockerfile_onbuild_test.go testOnBuildWithChildStage
# The base image's triggers run in the stage built FROM it, not again in a stage FROM that stage.
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun
DF
bk_push "base with ONBUILD, pushed" "$CBUILD_REGISTRY/buildkit/testonbuildstage:base"
bk_df_raw <<'DF'
FROM @REG@/buildkit/testonbuildstage:base AS base
RUN [ -f /out/didrun ] && touch /step1
RUN rm /out/didrun
RUN [ ! -f /out/didrun ] && touch /step2
FROM base AS child
RUN [ ! -f /out/didrun ] && touch /step3
FROM scratch
COPY --from=child /step* /
DF
bk_local_ok "child stages"
for f in step1 step2 step3; do check "$f exists" test -f "$W/out/$f"; done
