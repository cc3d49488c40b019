# go: dockerfile_args_test.go testGlobalArgErrors
# ${FOO:?msg} in a global ARG default fails with BuildKit's text unless FOO is given.
bk_df <<DF
ARG FOO=\${FOO:?"custom error"}
FROM $BASE
DF
bk_fails "unset FOO fails with the ?-message" "FOO: custom error"
bk_ok "--build-arg FOO=bar builds" --build-arg FOO=bar
