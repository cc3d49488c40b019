# go: dockerfile_secrets_test.go testSecretRequiredWithoutValue
# A required secret the build was not given fails with BuildKit's text.
bk_df_raw <<'DF'
FROM @BASE@ 
		RUN --mount=type=secret,required,id=mysecret foo
DF
bk_fails "missing required secret" "secret mysecret: not found"
