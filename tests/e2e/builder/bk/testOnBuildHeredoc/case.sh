# go: dockerfile_heredoc_test.go testOnBuildHeredoc
# ONBUILD RUN <<EOF in a pushed base image runs in the child build.
base=$CBUILD_REGISTRY/buildkit/testonbuildheredoc:base
bk_df_raw <<'DF'
FROM @BASE@
ONBUILD RUN <<EOF
echo "hello world" >> /dest
EOF
DF
bk_push "push the base with ONBUILD RUN <<EOF" "$base"
bk_df_raw <<DF
FROM $base AS base
FROM scratch
COPY --from=base /dest /dest
DF
bk_local_ok "child build"
bk_out_is dest 'hello world\n'
