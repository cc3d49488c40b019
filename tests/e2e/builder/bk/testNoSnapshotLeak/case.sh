# go: dockerfile_core_test.go testNoSnapshotLeak
# A rebuild of the same Dockerfile adds nothing to the store.
bk_dfr <<'DF'
FROM scratch
COPY foo /
DF
printf contents | bk_file foo 0600
store_files() { find "$CBUILD_ROOT" -type f ! -name '*.lock' ! -name '*.log' | grep -v '/tmp/' | sort; }
bk_ok "first build"
s1=$(store_files)
bk_ok "second build"
s2=$(store_files)
check_eq "same store entries after the rebuild" "$(wc -l <<<"$s1")" "$(wc -l <<<"$s2")"
[ "$s1" = "$s2" ] || diag "$(diff <(echo "$s1") <(echo "$s2"))"
