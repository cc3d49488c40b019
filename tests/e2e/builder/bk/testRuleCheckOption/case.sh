# go: dockerfile_check_test.go testRuleCheckOption
# The check= directive: skip=all / skip=RULES / error=true, and BUILDKIT_DOCKERFILE_CHECK, which
# replaces the directive.
for cfg in 'skip=all' 'skip=all;error=true' 'skip=ConsistentInstructionCasing,FromAsCasing' \
  'skip=ConsistentInstructionCasing,FromAsCasing;error=true'; do
  printf '#check=%s\nFROM scratch as stage1\ncopy Dockerfile /df\n' "$cfg" | bk_df
  bk_lint "$cfg" </dev/null
done
printf '#check=skip=ConsistentInstructionCasing\nFROM scratch as stage1\ncopy Dockerfile /df\n' | bk_df
bk_lint "skip one rule" <<'W'
FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)
W
"$CBUILD" build --check "$W/ctx" >"$T/check.txt" 2>&1; rc=$?
check_eq "--check exits 1 on warnings" 1 "$rc"
check_contains "--check text" "Check complete, 1 warning has been found!" "$(cat "$T/check.txt")"
printf '#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as stage1\ncopy Dockerfile /df\n' | bk_df
BK_CHECK_ERR="lint violation found for rules: FromAsCasing" BK_BUILD_ERR="lint violation found for rules: FromAsCasing" \
  bk_check "error=true" <<'W'
FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)
W
bk_fails "error=true fails the build" "lint violation found for rules: FromAsCasing"
printf '#check=skip=all\nFROM scratch as stage1\ncopy Dockerfile /df\n' | bk_df
BK_CHECK_ERR="lint violation found for rules: FromAsCasing" \
  bk_check "build-arg replaces the directive" --build-arg "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true" <<'W'
FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)
W
bk_fails "build-arg error=true fails the build" "lint violation found for rules: FromAsCasing" \
  --build-arg "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true"
printf '#check=error=true\nFROM scratch as stage1\ncopy Dockerfile /df\n' | bk_df
bk_lint "build-arg skip=all over error=true" --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all </dev/null
