# go: dockerfile_secrets_test.go testSecretFileParams
# A secret mounted with mode/uid/gid at a target; nothing of it is left in the layer.
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=secret,required=false,mode=741,uid=100,gid=102,target=/mysecret [ "$(stat -c "%u %g %f" /mysecret)" = "100 102 81e1" ]
RUN [ ! -f /mysecret ] # check no stub left behind
DF
printf pw >"$W/mysecret"
bk_ok "/mysecret is 100:102 0741, and gone afterwards" --secret "id=mysecret,src=$W/mysecret"
