# go: dockerfile_copy_test.go testCopyLinkDotDestDir
# COPY --link to . lands in the WORKDIR.
bk_dfr <<'DF'
FROM @BASE@
WORKDIR /var/www
COPY --link testfile .
RUN [ "$(cat testfile)" == "contents0" ]
DF
printf contents0 | bk_file testfile 0600
bk_ok "COPY --link testfile . lands in /var/www"
