# go: dockerfile_heredoc_test.go testRunFakeHeredoc
# SHELL decides who runs a RUN heredoc's body: here awk, whose program the body is.
bk_df_raw <<'DF'
FROM @BASE@ AS build
SHELL ["/usr/bin/awk"]
RUN <<EOF
BEGIN {
@T@print "foo" > "/dest"
}
EOF
FROM scratch
COPY --from=build /dest /dest
DF
bk_local_ok "build"
bk_out_is dest 'foo\n'
