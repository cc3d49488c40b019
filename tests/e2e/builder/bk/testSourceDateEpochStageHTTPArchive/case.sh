# go: dockerfile_source_date_epoch_test.go testSourceDateEpochStageHTTPArchive
# `ARG SOURCE_DATE_EPOCH=mysource` names a source-only stage (FROM scratch, one ADD of a tar
# over HTTP without Last-Modified): the archive's newest file is the epoch of the build, which
# the target's RUN sees, rewrite-timestamp=true writes and the config takes.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/src.tar" foo 1700000402 bar
bk_http_start "$W/srv"
bk_dfr <<DF
ARG SOURCE_DATE_EPOCH=mysource
FROM scratch AS mysource
ADD $BK_URL/src.tar /
FROM @BASE@
ARG SOURCE_DATE_EPOCH
RUN echo -n "\$SOURCE_DATE_EPOCH" >/epoch
DF
bk_ok "build" -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "last layer's rewritten-timestamp" 1700000402 "$(sde_annotation)"
check_eq "/epoch in the last layer" 1700000402 "$(sde_layer_file epoch)"
check_eq "created" 1700000402 "$(sde_created)"
