# go: dockerfile_source_date_epoch_test.go testSourceDateEpochDockerfileDefault
# `ARG SOURCE_DATE_EPOCH=N` before FROM is the build's epoch without any --build-arg: with
# rewrite-timestamp=true the one layer is rewritten to it (buildkit/rewritten-timestamp).
. "$BK/sde-lib.sh"
tm=$(date -u -d '2015-10-21 07:28:00' +%s)
bk_df <<DF
ARG SOURCE_DATE_EPOCH=$tm
FROM scratch
COPY Dockerfile .
DF
bk_ok "build" -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "rewritten-timestamp" "$tm" "$(sde_annotation 0)"
