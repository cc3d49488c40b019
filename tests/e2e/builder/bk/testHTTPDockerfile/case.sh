# go: dockerfile_git_http_test.go testHTTPDockerfile
# A URL that is a Dockerfile (not a tarball) is the Dockerfile, with no context; any -f name works.
mkdir -p "$W/www"
printf 'FROM %s\nRUN echo -n "foo-contents" > /foo\nFROM scratch\nCOPY --from=0 /foo /foo\n' "$BASE" >"$W/www/df"
bk_http_start "$W/www"
rm -rf "$W/out"
if "$CBUILD" build --progress=plain -f mydockerfile -o "type=local,dest=$W/out" "$BK_URL/df" >"$T/last.out" 2>"$T/last.log"; then
  ok "a Dockerfile URL"
else
  not_ok "a Dockerfile URL"; diag "$(tail -20 "$T/last.log")"
fi
check_eq "foo from its RUN" foo-contents "$(cat "$W/out/foo" 2>&1)"
