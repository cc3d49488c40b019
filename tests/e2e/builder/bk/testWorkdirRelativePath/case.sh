# go: dockerfile_check_test.go testWorkdirRelativePath
bk_dfr <<'DF'

FROM scratch
WORKDIR work/
DF
bk_lint "relative" <<'W'
WorkdirRelativePath: Relative workdir "work/" can have unexpected results if the base image changes (line 3)
W
bk_dfr <<'DF'

FROM scratch AS a
WORKDIR /abs
FROM a AS b
WORKDIR below/
DF
bk_lint "relative after an absolute one in the base stage" </dev/null
bk_dfr <<'DF'

FROM scratch
# check=skip=WorkdirRelativePath
WORKDIR work/
DF
bk_lint "skipped" </dev/null
