# go: dockerfile_check_test.go testStageName
# StageNameCasing and FromAsCasing.
bk_dfr <<'DF'

# warning: stage name should be lowercase
#
FROM scratch AS MixedCase

# warning: 'as' should match the 'FROM' casing
#
FROM scratch as stage2

FROM scratch AS stage3
DF
bk_lint "upper FROM" <<'W'
StageNameCasing: Stage name 'MixedCase' should be lowercase (line 4)
FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 8)
W
bk_dfr <<'DF'

# warning: 'AS' should match the 'from' casing
#
from scratch AS one

from scratch as two
DF
bk_lint "lower from" <<'W'
FromAsCasing: 'AS' and 'from' keywords' casing do not match (line 4)
W
