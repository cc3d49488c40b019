# go: dockerfile_copy_test.go testCopyLinkEmptyDestDir
# COPY --link to an empty destination lands in the WORKDIR.
bk_dfr <<'DF'
FROM @BASE@
WORKDIR /var/www
ENV empty=""
COPY --link testfile $empty
RUN [ "$(cat testfile)" == "contents0" ]
DF
printf contents0 | bk_file testfile 0600
bk_ok "COPY --link testfile \$empty lands in /var/www"
