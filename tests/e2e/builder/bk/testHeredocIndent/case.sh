# go: dockerfile_heredoc_test.go testHeredocIndent
# <<EOF keeps leading tabs, <<-EOF strips them: COPY, RUN scripts, shebang scripts, stdin.
bk_df_raw <<'DF'
FROM @BASE@ AS build
COPY <<EOF /dest/foo-copy
@T@foo
EOF
COPY <<-EOF /dest/bar-copy
@T@bar
EOF
RUN <<EOF
echo "
@T@foo" > /dest/foo-run
EOF
RUN <<-EOF
echo "
@T@bar" > /dest/bar-run
EOF
RUN <<EOF
#!/bin/sh
echo "
@T@foo" > /dest/foo2-run
EOF
RUN <<-EOF
#!/bin/sh
echo "
@T@bar" > /dest/bar2-run
EOF
RUN <<EOF sh > /dest/foo3-run
echo "
@T@foo"
EOF
RUN <<-EOF sh > /dest/bar3-run
echo "
@T@bar"
EOF
FROM scratch
COPY --from=build /dest /
DF
bk_local_ok "build"
bk_out_is foo-copy '\tfoo\n'
bk_out_is foo-run '\n\tfoo\n'
bk_out_is foo2-run '\n\tfoo\n'
bk_out_is foo3-run '\n\tfoo\n'
bk_out_is bar-copy 'bar\n'
bk_out_is bar-run '\nbar\n'
bk_out_is bar2-run '\nbar\n'
bk_out_is bar3-run '\nbar\n'
