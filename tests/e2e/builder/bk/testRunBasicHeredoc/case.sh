# go: dockerfile_heredoc_test.go testRunBasicHeredoc
# A RUN heredoc is a shell script: both of its commands run, as root.
bk_df_raw <<'DF'
FROM @BASE@ AS build
RUN <<EOF
echo "i am" >> /dest
whoami >> /dest
EOF
FROM scratch
COPY --from=build /dest /dest
DF
bk_local_ok "build"
bk_out_is dest 'i am\nroot\n'
