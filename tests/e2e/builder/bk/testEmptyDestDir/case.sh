# go: dockerfile_copy_test.go testEmptyDestDir
# COPY to an empty destination (`$empty` expands to nothing) copies into the working dir, /.
bk_df <<DF
FROM $BASE
ENV empty=""
COPY testfile \$empty
RUN [ "\$(cat testfile)" == "contents0" ]
DF
printf contents0 | bk_file testfile 0600
bk_ok "COPY testfile \$empty lands in WORKDIR / and RUN reads it"
