# go: dockerfile_heredoc_test.go testCopyHeredocSpecialSymbols
# Unquoted heredocs process backslash escapes (\ + newline, \\, \$); quoted ones stay literal.
bk_df_raw <<'DF'
FROM scratch
COPY <<EOF quotefile
"quotes in file"
EOF
COPY <<EOF slashfile1
\
EOF
COPY <<EOF slashfile2
\\
EOF
COPY <<EOF slashfile3
\$
EOF
COPY <<"EOF" rawslashfile1
\
EOF
COPY <<"EOF" rawslashfile2
\\
EOF
COPY <<"EOF" rawslashfile3
\$
EOF
DF
bk_local_ok "build"
bk_out_is quotefile '"quotes in file"\n'
bk_out_is slashfile1 '\n'
bk_out_is slashfile2 '\\\n'
bk_out_is slashfile3 '$\n'
bk_out_is rawslashfile1 '\\\n'
bk_out_is rawslashfile2 '\\\\\n'
bk_out_is rawslashfile3 '\\$\n'
