# go: dockerfile_copy_test.go testCopyRelative
# Relative COPY/ADD destinations resolve against the WORKDIR (itself relative to the previous).
bk_dfr <<'DF'
FROM @BASE@
WORKDIR /test1
WORKDIR test2
RUN sh -c "[ "$PWD" = '/test1/test2' ]"
COPY foo ./
ADD foo ./bar/baz
COPY foo ./bar/baz2
WORKDIR ..
COPY foo ./
COPY foo /test3/
WORKDIR /test4
COPY . .
WORKDIR /test5/test6
COPY foo ../
RUN for f in /test1/test2/foo /test1/test2/bar/baz /test1/test2/bar/baz2 /test1/foo /test3/foo \
      /test4/foo /test5/foo; do [ "$(cat $f)" = hello ] || { echo "bad $f"; exit 1; }; done
DF
printf hello | bk_file foo 0600
bk_ok "relative destinations land under the WORKDIR"
