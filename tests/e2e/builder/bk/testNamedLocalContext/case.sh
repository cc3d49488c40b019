# go: dockerfile_namedcontext_test.go testNamedLocalContext
# --build-context base=DIR replaces the stage `base` by the directory, read after its own
# .dockerignore.
bk_df <<DF
FROM $BASE AS base
RUN cat /etc/alpine-release > /out
FROM scratch
COPY --from=base /o* /
DF
mkdir -p "$W/basedir"
printf dummy-result >"$W/basedir/out"
printf dummy-result >"$W/basedir/out2"
printf 'out2\n' >"$W/basedir/.dockerignore"
bk_local_ok "build" --build-context "base=$W/basedir"
bk_out_is out 'dummy-result'
check "out2 is ignored by the named context's .dockerignore" test ! -e "$W/out/out2"
