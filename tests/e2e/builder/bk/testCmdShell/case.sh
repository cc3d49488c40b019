# go: dockerfile_cmd_test.go testCmdShell
# ENTRYPOINT in shell form uses the stage's SHELL and clears the base image's CMD.
bk_df_raw <<'DF'
FROM scratch
CMD ["test"]
DF
bk_push "base with CMD [\"test\"]" "$CBUILD_REGISTRY/moby/cmdoverridetest:latest"
bk_df_raw <<'DF'
FROM @REG@/moby/cmdoverridetest:latest
SHELL ["ls"]
ENTRYPOINT my entrypoint
DF
bk_ok "child build"
cfg=$(bk_config)
check_eq "Cmd is null" "null" "$(jq -c .config.Cmd <<<"$cfg")"
check_eq "Entrypoint is [ls, my entrypoint]" '["ls","my entrypoint"]' "$(jq -c .config.Entrypoint <<<"$cfg")"
