# go: dockerfile_cmd_test.go testIgnoreEntrypoint
# RUN ignores the image's ENTRYPOINT.
bk_df_raw <<'DF'
FROM @BASE@
ENTRYPOINT ["/nosuchcmd"]
RUN ["ls"]
DF
bk_ok "RUN [\"ls\"] runs despite ENTRYPOINT /nosuchcmd"
