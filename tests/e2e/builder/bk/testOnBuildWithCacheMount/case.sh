# go: dockerfile_onbuild_test.go testOnBuildWithCacheMount
# A trigger's cache mount is the child's cache mount of the same target.
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> /cache/foo && echo -n 11 >> /bar
DF
bk_push "base with ONBUILD RUN --mount=type=cache, pushed" "$CBUILD_REGISTRY/buildkit/testonbuild:base"
bk_df_raw <<'DF'
FROM @REG@/buildkit/testonbuild:base
RUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] && [ "$(cat /bar)" = "11" ]
DF
bk_ok "the child's RUN sees the trigger's cache file and layer"
