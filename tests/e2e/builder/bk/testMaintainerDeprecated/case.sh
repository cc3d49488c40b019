# go: dockerfile_check_test.go testMaintainerDeprecated
bk_dfr <<'DF'

FROM scratch
MAINTAINER someone@example.com
DF
bk_lint "MAINTAINER" <<'W'
MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 3)
W
bk_dfr <<'DF'

FROM scratch
LABEL org.opencontainers.image.authors="someone@example.com"
DF
bk_lint "LABEL instead" </dev/null
# a "# check=skip=RULE" comment right above an instruction silences it there
for x in 'JSONArgsRecommended|CMD myprogram' 'JSONArgsRecommended|ENTRYPOINT myprogram' \
  'MaintainerDeprecated|MAINTAINER someone@example.com'; do
  printf '\nFROM scratch\n# check=skip=%s\n%s\n' "${x%%|*}" "${x#*|}" | bk_dfr
  bk_lint "skipped above ${x#*|}" </dev/null
done
