# go: dockerfile_cmd_test.go testInvalidJSONCommands
# JSON followed by text is not exec form: RUN runs it through the shell (and fails naming the
# text); ENTRYPOINT keeps it as a shell-form string.
bk_df_raw <<'DF'
FROM @BASE@
RUN ["echo", "hello"]this is invalid
DF
bk_fails "RUN [..]text fails" "this is invalid"
bk_df_raw <<'DF'
FROM @BASE@
ENTRYPOINT []random string
DF
bk_push "ENTRYPOINT []random string, pushed" "$CBUILD_REGISTRY/buildkit/testexportdf:multi"
cfg=$(skopeo inspect --config --raw --tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testexportdf:multi" 2>&1)
check_eq "Entrypoint is /bin/sh -c '[]random string'" '["/bin/sh","-c","[]random string"]' "$(jq -c .config.Entrypoint <<<"$cfg" 2>&1)"
