# go: dockerfile_args_test.go testArgDefaultExpansion
# ${FOO:?msg} in a stage ARG default fails unless FOO is set, or BAR's default is overridden.
bk_df <<DF
FROM scratch
ARG FOO
ARG BAR=\${FOO:?"foo missing"}
DF
bk_fails "unset FOO fails with the ?-message" "FOO: foo missing"
bk_ok "--build-arg FOO=123 builds" --build-arg FOO=123
bk_ok "--build-arg BAR=123 builds (the default is not expanded)" --build-arg BAR=123
