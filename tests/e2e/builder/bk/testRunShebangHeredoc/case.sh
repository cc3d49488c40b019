# go: dockerfile_heredoc_test.go testRunShebangHeredoc
# A RUN heredoc starting with #! runs under that interpreter; <<- strips the tabs first.
bk_df_raw <<'DF'
FROM @BASE@ AS build
WORKDIR /dest
RUN <<EOF
#!/usr/bin/awk -f
BEGIN {
@T@print "hello" >> "./out1"
@T@print "world" >> "./out1"
}
EOF
RUN <<-EOF
@T@#!/usr/bin/awk -f
@T@BEGIN {
@T@@T@print "hello" >> "./out2"
@T@@T@print "world" >> "./out2"
@T@}
EOF
FROM scratch
COPY --from=build /dest /
DF
bk_local_ok "build"
bk_out_is out1 'hello\nworld\n'
bk_out_is out2 'hello\nworld\n'
