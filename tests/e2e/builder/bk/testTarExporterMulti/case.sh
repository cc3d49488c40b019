# go: dockerfile_export_test.go testTarExporterMulti
# -o type=tar of one platform holds its files at the root; of several, one folder per platform
# (os_arch), each with its own stage's files.
bk_df <<'DF'
FROM scratch AS stage-linux
COPY foo forlinux
FROM scratch AS stage-darwin
COPY bar fordarwin
FROM stage-$TARGETOS
DF
printf data >"$W/ctx/foo"
printf data2 >"$W/ctx/bar"
bk_ok "tar output" -o "type=tar,dest=$W/one.tar"
check_eq "forlinux" data "$(tar -xOf "$W/one.tar" forlinux 2>&1)"
bk_ok "multi-platform tar output" --platform linux/amd64,darwin/amd64 -o "type=tar,dest=$W/multi.tar"
check_eq "linux_amd64/forlinux" data "$(tar -xOf "$W/multi.tar" linux_amd64/forlinux 2>&1)"
check_eq "darwin_amd64/fordarwin" data2 "$(tar -xOf "$W/multi.tar" darwin_amd64/fordarwin 2>&1)"
