# go: dockerfile_source_date_epoch_test.go testSourceDateEpochContextHTTPArchive
# SOURCE_DATE_EPOCH=context with a tar context served without Last-Modified: the archive's newest
# file gives the epoch, which RUN sees as $SOURCE_DATE_EPOCH, rewrite-timestamp=true writes on
# the last layer and the config takes as its created time.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/context.tar" Dockerfile 1699996702 \
  "$(printf 'FROM %s\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n' "$BASE")" foo 1700000302 bar
bk_http_start "$W/srv"
if "$CBUILD" build --progress=plain --build-arg SOURCE_DATE_EPOCH=context \
  -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true" "$BK_URL/context.tar" >"$T/last.out" 2>"$T/last.log"; then
  ok "build the HTTP context"
else not_ok "build the HTTP context"; diag "$(tail -20 "$T/last.log")"; fi
sde_oci "$W/out.tar"
check_eq "last layer's rewritten-timestamp" 1700000302 "$(sde_annotation)"
check_eq "/epoch in the last layer" 1700000302 "$(sde_layer_file epoch)"
check_eq "created" 1700000302 "$(sde_created)"
