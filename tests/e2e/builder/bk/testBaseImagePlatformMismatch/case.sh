# go: dockerfile_check_test.go testBaseImagePlatformMismatch
# InvalidBaseImagePlatform: a base image pushed for linux/arm64 only, built FROM for linux/amd64.
printf '\nFROM scratch\nCOPY foo /foo\n' | bk_dfr
printf test | bk_file foo
target=$CBUILD_REGISTRY/buildkit/testbaseimageplatform:latest
bk_push "push an image for linux/arm64" "$target" --platform linux/arm64
printf '\nFROM %s\nENV foo=bar\n\t' "$target" | bk_dfr
bk_lint "FROM it for linux/amd64" --platform linux/amd64 <<W
InvalidBaseImagePlatform: Base image $target was pulled with platform "linux/arm64", expected "linux/amd64" for current build (line 2)
W
