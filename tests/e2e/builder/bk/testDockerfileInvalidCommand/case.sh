# go: dockerfile_cmd_test.go testDockerfileInvalidCommand
# A failing RUN names the shell command and says it did not complete successfully.
bk_df_raw <<'DF'
	FROM @BASE@
	RUN invalidcmd
DF
bk_fails "RUN invalidcmd fails" "/bin/sh -c invalidcmd"
check_contains "... did not complete successfully" "did not complete successfully" "$(cat "$T/last.log")"
