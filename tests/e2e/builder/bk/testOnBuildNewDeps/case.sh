# go: dockerfile_onbuild_test.go testOnBuildNewDeps
# Triggers bring new dependencies: an image (COPY --from=IMAGE) and a stage of the child's
# Dockerfile (RUN --mount=from=inputstage), also through a base that is itself such a child.
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD COPY --from=@BASE@ /etc/passwd /out/alpine-release2
DF
bk_push "base: ONBUILD COPY --from=image, pushed" "$CBUILD_REGISTRY/buildkit/testonbuilddeps:base"
bk_df_raw <<'DF'
	FROM @REG@/buildkit/testonbuilddeps:base AS base
	RUN cat /out/alpine-release2 > /out/alpine-release3
	FROM scratch
	COPY --from=base /out /
DF
bk_local_ok "child"
check "alpine-release3 has more than 5 bytes" test "$(wc -c <"$W/out/alpine-release3")" -gt 5
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD RUN --mount=type=bind,target=/in,from=inputstage mkdir /out && cat /in/foo > /out/bar && cat /in/out/alpine-release2 > /out/bar2
DF
bk_push "base2: ONBUILD RUN --mount=from=inputstage, pushed" "$CBUILD_REGISTRY/buildkit/testonbuilddeps:base2"
bk_df_raw <<'DF'
	FROM @REG@/buildkit/testonbuilddeps:base AS inputstage
	RUN cat /out/alpine-release2 > /out/alpine-release4
	RUN echo -n foo > /foo
	FROM @REG@/buildkit/testonbuilddeps:base2 AS base
	RUN echo -n bar3 > /out/bar3
	FROM scratch
	COPY --from=base /out /
DF
bk_local_ok "nested"
check_eq "bar" "foo" "$(cat "$W/out/bar" 2>&1)"
check "bar2 has more than 5 bytes" test "$(wc -c <"$W/out/bar2")" -gt 5
check_eq "bar3" "bar3" "$(cat "$W/out/bar3" 2>&1)"
