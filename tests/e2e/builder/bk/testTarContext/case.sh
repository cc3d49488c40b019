# go: dockerfile_export_test.go testTarContext
# A build context sent as a tar (Dockerfile inside) builds.
bk_df <<'DF'
FROM scratch
COPY foo /
DF
printf contents >"$W/ctx/foo"
tar -C "$W/ctx" -cf "$W/ctx.tar" Dockerfile foo
if "$CBUILD" build --progress=plain -t "$TAG" -o "type=local,dest=$W/out" - <"$W/ctx.tar" >"$T/last.out" 2>"$T/last.log"; then
  ok "build from a tar on stdin"
else
  not_ok "build from a tar on stdin"; diag "$(tail -20 "$T/last.log")"
fi
bk_out_is foo contents
