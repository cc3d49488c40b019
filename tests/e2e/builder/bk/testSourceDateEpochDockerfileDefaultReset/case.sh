# go: dockerfile_source_date_epoch_test.go testSourceDateEpochDockerfileDefaultReset
# The Dockerfile's SOURCE_DATE_EPOCH default with the exporter's epoch unset
# (source-date-epoch=): rewrite-timestamp=true rewrites nothing.
. "$BK/sde-lib.sh"
tm=$(date -u -d '2015-10-21 07:28:00' +%s)
bk_df <<DF
ARG SOURCE_DATE_EPOCH=$tm
FROM scratch
COPY Dockerfile .
DF
bk_ok "build" -o "type=oci,dest=$W/out.tar,source-date-epoch=,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "no rewritten-timestamp" "" "$(sde_annotation 0)"
