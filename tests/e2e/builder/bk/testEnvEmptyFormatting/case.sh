# go: dockerfile_args_test.go testEnvEmptyFormatting
# An ENV value with a literal %s survives unformatted.
bk_df <<DF
FROM $BASE AS build
ENV myenv foo%sbar
RUN [ "\$myenv" = 'foo%sbar' ]
DF
bk_local_ok "RUN sees myenv=foo%sbar"
