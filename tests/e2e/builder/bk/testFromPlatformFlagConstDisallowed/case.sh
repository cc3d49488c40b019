# go: dockerfile_check_test.go testFromPlatformFlagConstDisallowed
printf '\nFROM --platform=linux/amd64 scratch\n' | bk_dfr
bk_lint "constant platform" <<'W'
FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value "linux/amd64" (line 2)
W
# a stage named after the platform's architecture or OS is the intended use
printf '\nFROM --platform=linux/amd64 scratch AS build_amd64\n' | bk_dfr
bk_lint "arch in the stage name" </dev/null
printf '\nFROM --platform=linux/amd64 scratch AS linux\n' | bk_dfr
bk_lint "os as the stage name" </dev/null
