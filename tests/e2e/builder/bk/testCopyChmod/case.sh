# go: dockerfile_copy_test.go testCopyChmod
# --chmod (octal, with an ARG) sets the mode of the copied file and of the parent directories
# the COPY creates (BuildKit's Mkfile/Copy with CreateDestPath use the same mode).
bk_dfr <<'DF'
FROM @BASE@ AS base
RUN mkdir -m 0777 /out
COPY --chmod=0644 foo /
COPY --chmod=777 bar /baz
COPY --chmod=0 foo /foobis
COPY --chmod=777 foo /parent/foo
COPY --chmod=770 foo /parent/sub/foo
ARG mode
COPY --chmod=${mode} foo /footer
RUN stat -c "%04a" /foo > /out/fooperm && stat -c "%04a" /baz > /out/barperm \
 && stat -c "%04a" /foobis > /out/foobisperm && stat -c "%04a" /parent > /out/parentperm \
 && stat -c "%04a" /parent/sub > /out/subparentperm && stat -c "%04a" /footer > /out/footerperm
FROM scratch
COPY --from=base /out /
DF
printf foo-contents | bk_file foo 0600
printf bar-contents | bk_file bar 0700
bk_local_ok "build" --build-arg mode=755
check_eq "--chmod=0644" 0644 "$(cat "$W/out/fooperm" 2>&1)"
check_eq "--chmod=777" 0777 "$(cat "$W/out/barperm" 2>&1)"
check_eq "--chmod=0" 0000 "$(cat "$W/out/foobisperm" 2>&1)"
check_eq "created parent of --chmod=777 /parent/foo" 0777 "$(cat "$W/out/parentperm" 2>&1)"
check_eq "created parent of --chmod=770 /parent/sub/foo" 0770 "$(cat "$W/out/subparentperm" 2>&1)"
check_eq "--chmod=\${mode}" 0755 "$(cat "$W/out/footerperm" 2>&1)"
