# go: dockerfile_copy_test.go testPreserveDestDirSlash
# A destination ending in / is a directory that receives the file.
bk_dfr <<'DF'
FROM @BASE@
COPY testfile /sample/
RUN [ "$(cat /sample/testfile)" == "contents0" ]
DF
printf contents0 | bk_file testfile 0600
bk_ok "COPY testfile /sample/ creates /sample/testfile"
