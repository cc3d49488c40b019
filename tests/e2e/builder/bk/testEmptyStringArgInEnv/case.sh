# go: dockerfile_args_test.go testEmptyStringArgInEnv
# `ARG BAR=` is in RUN's environment (empty); `ARG FOO` without a value is not.
bk_df <<DF
FROM $BASE AS build
ARG FOO
ARG BAR=
RUN env > env.txt

FROM scratch
COPY --from=build env.txt .
DF
bk_local_ok "build"
env_txt=$(cat "$W/out/env.txt" 2>&1)
check_contains "BAR= is set" "BAR=" "$env_txt"
if grep -q '^FOO=' <<<"$env_txt"; then not_ok "FOO is not set"; diag "$env_txt"; else ok "FOO is not set"; fi
