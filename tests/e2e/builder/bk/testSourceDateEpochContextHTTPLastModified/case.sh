# go: dockerfile_source_date_epoch_test.go testSourceDateEpochContextHTTPLastModified
# SOURCE_DATE_EPOCH=context with a tar context over HTTP: its Last-Modified (not the archive's
# newest file) is the image's created time.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/context.tar" Dockerfile 1699996602 $'FROM scratch\nCOPY foo /\n' foo 1700000202 bar
echo 1700000201 >"$W/srv/context.tar.lastmod"
bk_http_start "$W/srv"
if "$CBUILD" build --progress=plain --build-arg SOURCE_DATE_EPOCH=context -o "type=oci,dest=$W/out.tar" \
  "$BK_URL/context.tar" >"$T/last.out" 2>"$T/last.log"; then ok "build the HTTP context"
else not_ok "build the HTTP context"; diag "$(tail -20 "$T/last.log")"; fi
sde_oci "$W/out.tar"
check_eq "created is Last-Modified" 1700000201 "$(sde_created)"
