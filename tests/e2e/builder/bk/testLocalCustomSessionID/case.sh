# go: dockerfile_copy_test.go testLocalCustomSessionID
# The Dockerfile, the context and a named local context `base` come from three directories.
mkdir -p "$W/df" "$W/basedir"
cat >"$W/df/Dockerfile" <<'DF'
FROM scratch AS base
FROM scratch
COPY out /out1
COPY --from=base /another /out2
DF
printf contents1 >"$W/ctx/out"
printf contents2 >"$W/basedir/another"
bk_local_ok "build" -f "$W/df/Dockerfile" --build-context "base=$W/basedir"
bk_out_is out1 contents1
bk_out_is out2 contents2
