# go: dockerfile_secrets_test.go testSecretAsEnviron
# env= without target= exposes the secret only as a variable (it overrides ENV), and the step's
# name in the progress masks the variable's value.
bk_df_raw <<'DF'
FROM @BASE@
ENV SECRET_ENV=foo
RUN --mount=type=secret,id=mysecret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ ! -f /run/secrets/mysecret ] || false
DF
printf pw >"$W/mysecret"
bk_ok "SECRET_ENV is pw and no file is mounted" --secret "id=mysecret,src=$W/mysecret"
name=$(grep -E '^#[0-9]+ \[' "$T/last.log" | grep -F /run/secrets/mysecret | head -1)
check_contains "the step name masks the value" '[ "****" == "pw" ] && ' "$name"
