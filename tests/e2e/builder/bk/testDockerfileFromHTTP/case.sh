# go: dockerfile_git_http_test.go testDockerfileFromHTTP
# A tarball URL as the build context, its Dockerfile named by -f inside it.
mkdir -p "$W/tar" "$W/www"
printf 'FROM scratch\nCOPY foo bar\n' >"$W/tar/mydockerfile"
printf foo-contents >"$W/tar/foo"
chmod 0600 "$W/tar/mydockerfile" "$W/tar/foo"
tar -C "$W/tar" -cf "$W/www/myurl" mydockerfile foo
bk_http_start "$W/www"
rm -rf "$W/out"
if "$CBUILD" build --progress=plain -f mydockerfile -o "type=local,dest=$W/out" "$BK_URL/myurl" >"$T/last.out" 2>"$T/last.log"; then
  ok "a tarball context"
else
  not_ok "a tarball context"; diag "$(tail -20 "$T/last.log")"
fi
check_eq "bar from the tarball's foo" foo-contents "$(cat "$W/out/bar" 2>&1)"
