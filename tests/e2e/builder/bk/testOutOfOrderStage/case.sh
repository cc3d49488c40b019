# go: dockerfile_multistage_test.go testOutOfOrderStage
# COPY --from a stage defined later is an error.
for src in / /d2; do
  bk_df_raw <<DF
FROM $BASE AS target
COPY --from=build $src /out
FROM $BASE AS build
COPY /Dockerfile /d2
FROM target
DF
  bk_fails "COPY --from=build $src" "cannot copy from stage"
  check_contains "COPY --from=build $src: defined before" "needs to be defined before current stage" "$(cat "$T/last.log")"
done
