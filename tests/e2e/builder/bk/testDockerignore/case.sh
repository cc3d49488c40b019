# go: dockerfile_dockerignore_test.go testDockerignore
# .dockerignore patterns with an exception; Dockerfile and .dockerignore can be ignored too.
bk_dfr <<'DF'
FROM scratch
COPY . .
DF
printf '\nba*\nDockerfile\n!bay\n.dockerignore\n' | bk_file .dockerignore 0600
for f in foo bar baz bay; do printf "$f-contents" | bk_file $f 0600; done
bk_local_ok "build"
check_eq "foo copied" foo-contents "$(cat "$W/out/foo" 2>&1)"
check "no .dockerignore" test ! -e "$W/out/.dockerignore"
check "no Dockerfile" test ! -e "$W/out/Dockerfile"
check "no bar" test ! -e "$W/out/bar"
check "no baz" test ! -e "$W/out/baz"
check_eq "bay (excepted) copied" bay-contents "$(cat "$W/out/bay" 2>&1)"
