# go: dockerfile_check_test.go testReservedStageName
bk_dfr <<'DF'

FROM scratch AS scratch
FROM scratch AS context
DF
bk_lint "reserved names" <<'W'
ReservedStageName: Stage name should not use the same name as reserved stage "scratch" (line 2)
ReservedStageName: Stage name should not use the same name as reserved stage "context" (line 3)
W
bk_dfr <<'DF'

FROM scratch
FROM scratch AS other
DF
bk_lint "scratch as base only" </dev/null
