# go: dockerfile_onbuild_test.go testOnBuildCleared
# ONBUILD triggers run once, in the direct child, and are not inherited by the grandchild.
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo
DF
bk_push "base with ONBUILD, pushed" "$CBUILD_REGISTRY/buildkit/testonbuild:base"
bk_df_raw <<'DF'
	FROM @REG@/buildkit/testonbuild:base
DF
bk_push "child (runs the trigger), pushed" "$CBUILD_REGISTRY/buildkit/testonbuild:child"
bk_df_raw <<'DF'
	FROM @REG@/buildkit/testonbuild:child AS base
	FROM scratch
	COPY --from=base /out /
DF
bk_local_ok "grandchild"
check_eq "foo was appended once" "11" "$(cat "$W/out/foo" 2>&1)"
