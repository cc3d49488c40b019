# go: dockerfile_heredoc_test.go testRunComplexHeredoc
# Heredocs piped into commands across a line continuation, and heredocs on fds 3 and 4.
bk_df_raw <<'DF'
FROM @BASE@ AS build
WORKDIR /dest
RUN cat <<EOF1 | tr '[:upper:]' '[:lower:]' > ./out1; \
@T@cat <<EOF2 | tr '[:lower:]' '[:upper:]' > ./out2
hello WORLD
EOF1
HELLO world
EOF2
RUN <<EOF 3<<IN1 4<<IN2 awk -f -
BEGIN {
@T@while ((getline line < "/proc/self/fd/3") > 0)
@T@@T@print tolower(line) > "./fd3"
@T@while ((getline line < "/proc/self/fd/4") > 0)
@T@@T@print toupper(line) > "./fd4"
}
EOF
hello WORLD
IN1
HELLO world
IN2
FROM scratch
COPY --from=build /dest /
DF
bk_local_ok "build"
bk_out_is out1 'hello world\n'
bk_out_is out2 'HELLO WORLD\n'
bk_out_is fd3 'hello world\n'
bk_out_is fd4 'HELLO WORLD\n'
