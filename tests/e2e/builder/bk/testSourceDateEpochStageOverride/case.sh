# go: dockerfile_source_date_epoch_test.go testSourceDateEpochStageOverride
# --build-arg SOURCE_DATE_EPOCH wins over a default naming a source stage.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/src.tar" foo 1700000501 bar
bk_http_start "$W/srv"
bk_dfr <<DF
ARG SOURCE_DATE_EPOCH=mysource
FROM scratch AS mysource
ADD $BK_URL/src.tar /
FROM scratch
COPY Dockerfile .
DF
bk_ok "build" --build-arg SOURCE_DATE_EPOCH=1700000502 -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "rewritten-timestamp is the build arg's" 1700000502 "$(sde_annotation 0)"
