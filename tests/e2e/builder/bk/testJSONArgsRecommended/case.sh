# go: dockerfile_check_test.go testJSONArgsRecommended
# Shell-form CMD/ENTRYPOINT warn unless the stage (or its base stage) set a SHELL.
for k in CMD ENTRYPOINT; do
  printf '\nFROM scratch\n%s myprogram\n' "$k" | bk_dfr
  bk_lint "$k shell form" <<<"JSONArgsRecommended: JSON arguments recommended for $k to prevent unintended behavior related to OS signals (line 3)"
  printf '\nFROM scratch\nSHELL ["/bin/othershell"]\n%s myprogram\n' "$k" | bk_dfr
  bk_lint "$k after SHELL" </dev/null
  printf '\nFROM scratch AS base\nSHELL ["/bin/othershell"]\n\nFROM base\n%s myprogram\n' "$k" | bk_dfr
  bk_lint "$k after the base stage's SHELL" </dev/null
done
