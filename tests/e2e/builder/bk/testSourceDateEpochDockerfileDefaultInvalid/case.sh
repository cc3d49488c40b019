# go: dockerfile_source_date_epoch_test.go testSourceDateEpochDockerfileDefaultInvalid
# A default that is no number, no "context", no named context and no stage fails the build.
bk_df <<'DF'
ARG SOURCE_DATE_EPOCH=not-a-timestamp
FROM scratch
COPY Dockerfile .
DF
bk_fails "build" "invalid SOURCE_DATE_EPOCH: not-a-timestamp" -o "type=oci,dest=$W/out.tar"
