# go: dockerfile_history_test.go testHistoryError
# A failed build's error names the missing source and points into the Dockerfile.
bk_df_raw <<'DF'
FROM scratch
COPY notexist /foo
DF
bk_fails "COPY notexist fails naming /notexist" "/notexist"
check_contains "the error points to the Dockerfile line" "Dockerfile:2" "$(cat "$T/last.log")"
check_contains "... and shows it" ">>> COPY notexist /foo" "$(cat "$T/last.log")"
