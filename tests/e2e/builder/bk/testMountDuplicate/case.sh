# go: dockerfile_mount_test.go testMountDuplicate
# Two bind mounts of the same context (all of it, and one file): a changed a.txt reruns the step.
bk_df_raw <<'DF'
FROM @BASE@ AS base
RUN --mount=source=.,target=/tmp/test \
  --mount=source=b.txt,target=/tmp/b.txt \
  cat /tmp/test/a.txt /tmp/b.txt > /combined.txt
FROM scratch
COPY --from=base /combined.txt /
DF
printf 'bar\n' | bk_file b.txt
printf 'foo\n' | bk_file a.txt
bk_local_ok "a.txt = foo"
bk_out_is combined.txt 'foo\nbar\n'
printf 'updated\n' | bk_file a.txt
bk_local_ok "a.txt = updated"
bk_out_is combined.txt 'updated\nbar\n'
