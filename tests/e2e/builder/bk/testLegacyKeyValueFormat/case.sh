# go: dockerfile_check_test.go testLegacyKeyValueFormat
bk_dfr <<'DF'

FROM scratch
ENV mykey value
LABEL lkey value
DF
bk_lint "legacy" <<'W'
LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 3)
LegacyKeyValueFormat: "LABEL key=value" should be used instead of legacy "LABEL key value" format (line 4)
W
bk_dfr <<'DF'

FROM scratch
ENV mykey=value
LABEL lkey=value
DF
bk_lint "key=value" </dev/null
# in a stage the target does not need: only the lint request sees it
bk_dfr <<'DF'
FROM scratch AS a
FROM a AS b
ENV mykey value
LABEL lkey value
FROM a AS c
DF
bk_check "unreachable stage (check)" <<'W'
LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 3)
LegacyKeyValueFormat: "LABEL key=value" should be used instead of legacy "LABEL key value" format (line 4)
W
bk_warns "unreachable stage (build)" </dev/null
bk_dfr <<'DF'

FROM scratch
# check=skip=LegacyKeyValueFormat
ENV mykey value
# check=skip=LegacyKeyValueFormat
LABEL lkey value
DF
bk_lint "skipped" </dev/null
