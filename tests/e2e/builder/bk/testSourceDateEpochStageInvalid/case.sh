# go: dockerfile_source_date_epoch_test.go testSourceDateEpochStageInvalid
# A SOURCE_DATE_EPOCH stage with a COPY is not source-only: the build fails.
bk_df <<'DF'
ARG SOURCE_DATE_EPOCH=mysource
FROM scratch AS mysource
COPY Dockerfile /Dockerfile
FROM scratch
DF
bk_fails "build" "SOURCE_DATE_EPOCH stage does not meet source-only requirements" -o "type=oci,dest=$W/out.tar"
