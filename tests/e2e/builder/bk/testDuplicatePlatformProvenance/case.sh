# go: dockerfile_provenance_test.go testDuplicatePlatformProvenance
# the same platform twice (moby/buildkit#3562) with mode=max builds.
bk_df <<DF
FROM $BASE AS base-linux
FROM nanoserver AS base-windows
FROM base-\$TARGETOS
DF
bk_ok "linux/amd64,linux/amd64" --attest type=provenance,mode=max --platform linux/amd64,linux/amd64
