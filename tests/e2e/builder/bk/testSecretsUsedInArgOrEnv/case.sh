# go: dockerfile_check_test.go testSecretsUsedInArgOrEnv
# SecretsUsedInArgOrEnv: ARG/ENV names holding a secret-like word (secret, password, token,
# auth, apikey, key…) but not *_FILE, public keys or "AUTH_MODULE"; `# check=skip=` above one.
bk_dfr <<'DF'
# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
DF
bk_lint "secret-like names" <<'W'
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "SECRET_PASSPHRASE") (line 4)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "SUPER_Secret") (line 5)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "password") (line 6)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "secret") (line 6)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "auth") (line 7)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "super_duper_secret_token") (line 7)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "apikey") (line 8)
SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV "git_key") (line 9)
W
