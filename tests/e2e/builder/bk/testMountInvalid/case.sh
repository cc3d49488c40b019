# go: dockerfile_mount_test.go testMountInvalid
# Misspelt flags, keys and mount types fail with BuildKit's text and its suggestion.
bk_df_raw <<'DF'
FROM scratch
RUN --mont=target=/mytmp,type=tmpfs /bin/true
DF
bk_fails "--mont" "unknown flag: --mont"
check_contains "--mont: suggestion" "did you mean mount?" "$(cat "$T/last.log")"
bk_df_raw <<'DF'
FROM scratch
RUN --mount=typ=tmpfs /bin/true
DF
bk_fails "typ=" "unexpected key 'typ'"
check_contains "typ=: suggestion" "did you mean type?" "$(cat "$T/last.log")"
bk_df_raw <<'DF'
FROM scratch
RUN --mount=type=tmp /bin/true
DF
bk_fails "type=tmp" 'unsupported mount type "tmp"'
check_contains "type=tmp: suggestion" "did you mean tmpfs?" "$(cat "$T/last.log")"
