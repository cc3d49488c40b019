# go: dockerfile_copy_test.go testCopyUnicodePath
# Non-ASCII, percent-encoded and + names are copied verbatim.
bk_dfr <<'DF'
FROM @BASE@
COPY test-äöü.txt /
COPY test-%C3%A4%C3%B6%C3%BC.txt /
COPY test+aou.txt /
DF
printf foo | bk_file 'test-äöü.txt' 0644
printf bar | bk_file 'test-%C3%A4%C3%B6%C3%BC.txt' 0644
printf baz | bk_file 'test+aou.txt' 0644
bk_local_ok "build"
check_eq "test-äöü.txt" foo "$(cat "$W/out/test-äöü.txt" 2>&1)"
check_eq "test-%C3%A4%C3%B6%C3%BC.txt" bar "$(cat "$W/out/test-%C3%A4%C3%B6%C3%BC.txt" 2>&1)"
check_eq "test+aou.txt" baz "$(cat "$W/out/test+aou.txt" 2>&1)"
