# go: dockerfile_check_test.go testDuplicateStageName
bk_dfr <<'DF'

FROM scratch AS twice
FROM scratch AS twice
DF
bk_lint "duplicate" <<'W'
DuplicateStageName: Duplicate stage name "twice", stage names should be unique (line 3)
W
bk_dfr <<'DF'

FROM scratch AS once1
FROM scratch AS once2
DF
bk_lint "unique" </dev/null
