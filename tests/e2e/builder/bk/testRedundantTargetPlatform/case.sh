# go: dockerfile_check_test.go testRedundantTargetPlatform
for v in '$TARGETPLATFORM' '${TARGETPLATFORM}'; do
  printf '\nFROM --platform=%s scratch\n' "$v" | bk_dfr
  bk_lint "$v" <<<"RedundantTargetPlatform: Setting platform to predefined $v in FROM is redundant as this is the default behavior (line 2)"
done
printf '\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n' | bk_dfr
bk_lint "skipped" </dev/null
