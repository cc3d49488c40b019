# go: dockerfile_source_date_epoch_test.go testSourceDateEpochWithoutExporter
# --build-arg SOURCE_DATE_EPOCH with the OCI exporter's own epoch unset (source-date-epoch=):
# the Dockerfile frontend still writes the image's created time and every history entry's.
. "$BK/sde-lib.sh"
bk_df <<'DF'
FROM scratch
ENTRYPOINT foo bar
COPY Dockerfile .
DF
bk_ok "build" --build-arg SOURCE_DATE_EPOCH=1700000001 -o "type=oci,dest=$W/out.tar,source-date-epoch="
sde_oci "$W/out.tar"
check_eq "created" 1700000001 "$(sde_created)"
check_eq "every history entry's created" "1700000001 1700000001" \
  "$(jq -r '.history[].created' <<<"$SDE_C" | while read -r t; do date -u -d "$t" +%s; done | xargs)"
