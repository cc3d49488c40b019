# go: dockerfile_cmd_test.go testDockerfileInvalidInstruction
# An unknown instruction fails with BuildKit's text and suggestion.
bk_df_raw <<'DF'
FROM scratch
FNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]
DF
bk_fails "FNTRYPOINT" "unknown instruction: FNTRYPOINT"
check_contains "suggestion" "did you mean ENTRYPOINT?" "$(cat "$T/last.log")"
