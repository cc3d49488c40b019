# go: dockerfile_source_date_epoch_test.go testSourceDateEpochContextLocalUnset
# SOURCE_DATE_EPOCH=context with a local context: no epoch, so rewrite-timestamp=true
# rewrites nothing.
. "$BK/sde-lib.sh"
bk_df <<'DF'
FROM scratch
COPY Dockerfile /
DF
bk_ok "build" --build-arg SOURCE_DATE_EPOCH=context -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "no rewritten-timestamp" "" "$(sde_annotation 0)"
