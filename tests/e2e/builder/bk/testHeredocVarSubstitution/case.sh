# go: dockerfile_heredoc_test.go testHeredocVarSubstitution
# ARGs expand in unquoted COPY heredocs only; in RUN heredocs the shell sees (and may shadow) them.
bk_df_raw <<'DF'
FROM @BASE@ as build
ARG name=world
COPY <<EOF /dest/c1
Hello ${name}!
EOF
COPY <<'EOF' /dest/c2
Hello ${name}!
EOF
COPY <<"EOF" /dest/c3
Hello ${name}!
EOF
COPY <<EOF /dest/q1
Hello '${name}'!
EOF
COPY <<EOF /dest/q2
Hello "${name}"!
EOF
COPY <<'EOF' /dest/qsingle1
Hello '${name}'!
EOF
COPY <<'EOF' /dest/qsingle2
Hello "${name}"!
EOF
COPY <<"EOF" /dest/qdouble1
Hello '${name}'!
EOF
COPY <<"EOF" /dest/qdouble2
Hello "${name}"!
EOF
RUN <<EOF
greeting="Hello"
echo "${greeting} ${name}!" > /dest/r1
EOF
RUN <<EOF
name="new world"
echo "Hello ${name}!" > /dest/r2
EOF
FROM scratch
COPY --from=build /dest /
DF
bk_local_ok "build"
bk_out_is c1 'Hello world!\n'
bk_out_is c2 'Hello ${name}!\n'
bk_out_is c3 'Hello ${name}!\n'
bk_out_is q1 "Hello 'world'!\n"
bk_out_is q2 'Hello "world"!\n'
bk_out_is qsingle1 "Hello '\${name}'!\n"
bk_out_is qsingle2 'Hello "${name}"!\n'
bk_out_is qdouble1 "Hello '\${name}'!\n"
bk_out_is qdouble2 'Hello "${name}"!\n'
bk_out_is r1 'Hello world!\n'
bk_out_is r2 'Hello new world!\n'
