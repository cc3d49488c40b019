# go: dockerfile_copy_test.go testCopyVarSubstitution
# COPY sources expand ENV variables.
bk_dfr <<'DF'
FROM scratch AS base
ENV FOO bar
COPY $FOO baz
DF
printf bar-contents | bk_file bar 0600
bk_local_ok "build"
check_eq "COPY \$FOO baz copies bar" bar-contents "$(cat "$W/out/baz" 2>&1)"
