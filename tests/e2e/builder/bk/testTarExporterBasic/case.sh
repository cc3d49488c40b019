# go: dockerfile_export_test.go testTarExporterBasic
# -o type=tar writes the result's files as a tar.
bk_df <<'DF'
FROM scratch
COPY foo foo
DF
printf data >"$W/ctx/foo"
bk_ok "tar output" -o "type=tar,dest=$W/out.tar"
check_eq "foo in the tar" data "$(tar -xOf "$W/out.tar" foo 2>&1)"
