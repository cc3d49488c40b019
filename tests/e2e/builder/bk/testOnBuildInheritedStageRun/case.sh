# go: dockerfile_onbuild_test.go testOnBuildInheritedStageRun
# ONBUILD of a stage runs in a later stage built FROM it (same Dockerfile).
bk_df_raw <<'DF'
FROM @BASE@ AS base
ONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo
FROM base AS mid
RUN cp /out/foo /out/bar
FROM scratch
COPY --from=mid /out/bar /
DF
bk_local_ok "build"
check_eq "bar" "11" "$(cat "$W/out/bar" 2>&1)"
