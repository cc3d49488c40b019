# go: dockerfile_multistage_test.go testEmptyStages
# A Dockerfile without FROM fails.
printf 'ARG foo=bar' | bk_df_raw
bk_fails "only ARG" "dockerfile contains no stages to build"
