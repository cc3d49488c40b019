# go: dockerfile_onbuild_test.go testOnBuildInheritedStageWithFrom
# A stage's ONBUILD COPY --from=another stage runs in the stage built FROM it.
bk_df_raw <<'DF'
FROM @BASE@ AS src
RUN mkdir -p /in && echo -n 12 > /in/file
FROM @BASE@ AS base
ONBUILD COPY --from=src /in/file /out/foo
FROM base AS mid
RUN cp /out/foo /out/bar
FROM scratch
COPY --from=mid /out/bar /
DF
bk_local_ok "build"
check_eq "bar" "12" "$(cat "$W/out/bar" 2>&1)"
