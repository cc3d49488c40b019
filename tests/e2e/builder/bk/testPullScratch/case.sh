# go: dockerfile_image_test.go testPullScratch
# An image FROM scratch with no layers can be pulled, built on, and mounted.
bk_df_raw <<'DF'
FROM scratch
LABEL foo=bar
DF
bk_push "scratch + LABEL, pushed" "$CBUILD_REGISTRY/moby/testpullscratch:latest"
bk_df_raw <<'DF'
FROM @REG@/moby/testpullscratch:latest
LABEL bar=baz
COPY foo .
DF
printf foo-contents | bk_file foo 0600
bk_ok "FROM the pulled scratch image"
cfg=$(bk_config)
check_eq "rootfs type" layers "$(jq -r .rootfs.type <<<"$cfg")"
check_eq "one diff_id" 1 "$(jq '.rootfs.diff_ids | length' <<<"$cfg")"
check_eq "labels foo and bar" '{"bar":"baz","foo":"bar"}' "$(jq -cS .config.Labels <<<"$cfg")"
bk_df_raw <<'DF'
FROM @BASE@ AS run
RUN --mount=from=@REG@/moby/testpullscratch:latest,target=/empty,rw sh -c "echo -n foo0 > /empty/foo" && cp /empty/foo /foo
FROM scratch
COPY --from=run /foo /
DF
bk_local_ok "the empty image as a rw mount"
check_eq "foo" "foo0" "$(cat "$W/out/foo" 2>&1)"
