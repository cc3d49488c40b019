# go: dockerfile_heredoc_test.go testCopyHeredoc
# COPY from heredocs: one file, two into a directory (named by their delimiters), --chmod, --chown.
bk_df_raw <<'DF'
FROM @BASE@ AS build
RUN echo 'user:x:1001:1001::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1001:' >> /etc/group
WORKDIR /dest
COPY <<EOF single
single file
EOF
COPY <<EOF <<EOF2 double/
first file
EOF
second file
EOF2
RUN mkdir -p /permfiles
COPY --chmod=777 <<EOF /permfiles/all
dummy content
EOF
COPY --chmod=0644 <<EOF /permfiles/rw
dummy content
EOF
COPY --chown=user:user <<EOF /permfiles/owned
dummy content
EOF
RUN stat -c "%04a" /permfiles/all >> perms && \
    stat -c "%04a" /permfiles/rw >> perms && \
    stat -c "%U:%G" /permfiles/owned >> perms
FROM scratch
COPY --from=build /dest /
DF
bk_local_ok "build"
bk_out_is single 'single file\n'
bk_out_is double/EOF 'first file\n'
bk_out_is double/EOF2 'second file\n'
bk_out_is perms '0777\n0644\nuser:user\n'
