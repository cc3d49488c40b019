# go: dockerfile_multistage_test.go testMultiStageCaseInsensitive
# Stage names in AS, --from and --target are case-insensitive.
bk_df_raw <<'DF'
FROM scratch AS STAge0
COPY foo bar
FROM scratch AS staGE1
COPY --from=staGE0 bar baz
FROM scratch
COPY --from=stage1 baz bax
DF
printf foo-contents | bk_file foo 0600
bk_local_ok "--target Stage1" --target Stage1
check_contains "baz" "foo-contents" "$(cat "$W/out/baz" 2>&1)"
