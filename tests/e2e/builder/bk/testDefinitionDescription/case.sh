# go: dockerfile_check_test.go testDefinitionDescription
# InvalidDefinitionDescription (experimental: enabled by `# check=experimental=…`): a comment
# right above an ARG or FROM must start with its name; a blank line or an empty comment in
# between, or another instruction, is no description.
bk_dfr <<'DF'
# check=skip=all;experimental=InvalidDefinitionDescription
# foo this is the foo
ARG foo=bar

# base this is the base image
FROM scratch AS base

# version this is the version number
ARG version=latest

# baz this is the baz
ARG foo=baz bar=qux baz=quux
#
ARG bit=bat

# comment for something other than ARG or FROM
COPY Dockerfile .
DF
bk_lint "descriptions that name their ARG or stage" </dev/null
bk_dfr <<'DF'
# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# definitely a bad comment
ARG foo=baz bar=qux baz=quux
DF
bk_lint "comments that do not" <<'W'
InvalidDefinitionDescription: Comment for ARG should follow the format: `# foo <description>` (line 3)
InvalidDefinitionDescription: Comment for FROM should follow the format: `# base <description>` (line 5)
InvalidDefinitionDescription: Comment for ARG should follow the format: `# version <description>` (line 7)
InvalidDefinitionDescription: Comment for ARG should follow the format: `# <arg_key> <description>` (line 9)
W
