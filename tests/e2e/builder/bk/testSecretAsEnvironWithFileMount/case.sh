# go: dockerfile_secrets_test.go testSecretAsEnvironWithFileMount
# env= and target= together: the secret is both a variable and a file.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ -f /run/secrets/secret ] || false
DF
printf pw >"$W/mysecret"
bk_ok "SECRET_ENV is pw and /run/secrets/secret exists" --secret "id=mysecret,src=$W/mysecret"
