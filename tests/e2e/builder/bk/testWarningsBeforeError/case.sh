# go: dockerfile_check_test.go testWarningsBeforeError
# The lint warnings of the lines before a parse error are reported with it.
bk_dfr <<'DF'

FROM scratch AS BadStageName
MAINTAINER me@example.org
BADCMD
DF
BK_CHECK_ERR="dockerfile parse error on line 4: unknown instruction: BADCMD" \
  BK_BUILD_ERR="unknown instruction: BADCMD" bk_lint "warnings, then the error" <<'W'
StageNameCasing: Stage name 'BadStageName' should be lowercase (line 2)
MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 3)
W
