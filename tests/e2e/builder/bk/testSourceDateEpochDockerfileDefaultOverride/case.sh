# go: dockerfile_source_date_epoch_test.go testSourceDateEpochDockerfileDefaultOverride
# --build-arg SOURCE_DATE_EPOCH wins over the Dockerfile's `ARG SOURCE_DATE_EPOCH=` default.
. "$BK/sde-lib.sh"
bk_df <<'DF'
ARG SOURCE_DATE_EPOCH=1700000001
FROM scratch
COPY Dockerfile .
DF
bk_ok "build" --build-arg SOURCE_DATE_EPOCH=1700000002 -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "rewritten-timestamp is the build arg's" 1700000002 "$(sde_annotation 0)"
