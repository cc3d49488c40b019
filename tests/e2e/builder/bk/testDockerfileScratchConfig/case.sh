# go: dockerfile_image_test.go testDockerfileScratchConfig
# FROM scratch gets os, architecture, a WorkingDir, a default PATH, and one history entry.
bk_df_raw <<'DF'
FROM scratch
ENV foo=bar
DF
bk_ok "build"
cfg=$(bk_config)
check "os is set" test -n "$(jq -r '.os // empty' <<<"$cfg")"
check "architecture is set" test -n "$(jq -r '.architecture // empty' <<<"$cfg")"
check "WorkingDir is set" test -n "$(jq -r '.config.WorkingDir // empty' <<<"$cfg")"
check_eq "rootfs type" layers "$(jq -r .rootfs.type <<<"$cfg")"
check_eq "no diff_ids" 0 "$(jq '.rootfs.diff_ids | length' <<<"$cfg")"
check_eq "one history entry" 1 "$(jq '.history | length' <<<"$cfg")"
check_contains "history: ENV foo=bar" "ENV foo=bar" "$(jq -r '.history[0].created_by' <<<"$cfg")"
check_eq "history: empty layer" true "$(jq -r '.history[0].empty_layer' <<<"$cfg")"
check_contains "Env has foo=bar" '"foo=bar"' "$(jq -c .config.Env <<<"$cfg")"
check_contains "Env has PATH" '"PATH=' "$(jq -c .config.Env <<<"$cfg")"
