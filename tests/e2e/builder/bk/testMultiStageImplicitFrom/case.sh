# go: dockerfile_multistage_test.go testMultiStageImplicitFrom
# COPY --from=IMAGE pulls the image; a stage named like an image masks it.
bk_df_raw <<'DF'
FROM scratch
COPY --from=@BASE@ /etc/passwd test
DF
bk_local_ok "COPY --from=<busybox image>"
check_contains "test is busybox's /etc/passwd" "root" "$(cat "$W/out/test" 2>&1)"
bk_df_raw <<'DF'
FROM @BASE@ AS golang
RUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go
FROM scratch
COPY --from=golang /usr/bin/go go
DF
bk_local_ok "COPY --from=golang (a stage, not the image)"
check_contains "go is the stage's file" "foo" "$(cat "$W/out/go" 2>&1)"
