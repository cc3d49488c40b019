# go: dockerfile_check_test.go testAllTargetUnmarshal
# --call=check lints every stage ($foo and $bar undefined); a build warns only for the stages
# of its target (the last: $bar).
bk_dfr <<'DF'

FROM scratch AS first
COPY $foo .

FROM scratch AS second
COPY $bar .
DF
bk_check "check: every stage" <<'W'
UndefinedVar: Usage of undefined variable '$foo' (line 3)
UndefinedVar: Usage of undefined variable '$bar' (line 6)
W
bk_warns "build: the target's stages" <<'W'
UndefinedVar: Usage of undefined variable '$bar' (line 6)
W
