# go: dockerfile_source_date_epoch_test.go testSourceDateEpochNamedContextHTTPLastModified
# `ARG SOURCE_DATE_EPOCH=mysource` names a named context (--build-context mysource=URL of a tar
# served with Last-Modified): Last-Modified, not the archive's newest file, is the epoch that
# rewrite-timestamp=true writes and the config takes.
. "$BK/sde-lib.sh"
mkdir -p "$W/srv"
bk_tar "$W/srv/src.tar" foo 1700004201 bar
echo 1700000601 >"$W/srv/src.tar.lastmod"
bk_http_start "$W/srv"
bk_df <<'DF'
ARG SOURCE_DATE_EPOCH=mysource
FROM scratch
COPY Dockerfile .
DF
bk_ok "build" --build-context "mysource=$BK_URL/src.tar" -o "type=oci,dest=$W/out.tar,rewrite-timestamp=true"
sde_oci "$W/out.tar"
check_eq "one layer" 1 "$(sde_layers)"
check_eq "rewritten-timestamp is Last-Modified" 1700000601 "$(sde_annotation 0)"
check_eq "created" 1700000601 "$(sde_created)"
