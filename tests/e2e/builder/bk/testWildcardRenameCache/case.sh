# go: dockerfile_cache_test.go testWildcardRenameCache
# COPY file* then RUN ls /files/file1: once file1 is renamed file2 the COPY is not cached
# any more and the RUN fails.
bk_dfr <<'DF'
FROM @BASE@
COPY file* /files/
RUN ls /files/file1
DF
printf foo | bk_file file1 0600
bk_ok "build"
mv "$W/ctx/file1" "$W/ctx/file2"
bk_fails "after the rename" "did not complete successfully"
