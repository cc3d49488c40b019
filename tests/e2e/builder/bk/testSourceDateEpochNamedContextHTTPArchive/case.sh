# go: dockerfile_source_date_epoch_test.go testSourceDateEpochNamedContextHTTPArchive
# `ARG SOURCE_DATE_EPOCH=mysource` names a named context, a tar over HTTP without
# Last-Modified: its newest file is the epoch, which RUN sees, rewrite-timestamp=true writes
# on the last layer and the config takes.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/src.tar" foo 1700000602 bar
bk_http_start "$W/srv"
bk_dfr <<'DF'
ARG SOURCE_DATE_EPOCH=mysource
FROM @BASE@
ARG SOURCE_DATE_EPOCH
RUN echo -n "$SOURCE_DATE_EPOCH" >/epoch
DF
bk_ok "build" --build-context "mysource=$BK_URL/src.tar" -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "last layer's rewritten-timestamp" 1700000602 "$(sde_annotation)"
check_eq "/epoch in the last layer" 1700000602 "$(sde_layer_file epoch)"
check_eq "created" 1700000602 "$(sde_created)"
