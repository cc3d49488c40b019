# go: dockerfile_core_test.go testDockerfileLowercase
# A context with only "dockerfile" (lower case) builds.
printf 'FROM scratch\n' >"$W/ctx/dockerfile"
bk_ok "lower-case dockerfile found"
