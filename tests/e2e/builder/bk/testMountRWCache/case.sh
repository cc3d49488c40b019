# go: dockerfile_mount_test.go testMountRWCache
# A rw bind mount from a stage is keyed by that stage's content: a context change that leaves
# the stage's output equal keeps the RUN cached (same random /unique).
bk_df_raw <<'DF'
from @BASE@ AS build
copy cachebust /
run mkdir out && echo foo > out/foo
from @BASE@ as second
RUN --mount=from=build,src=out,target=/out,rw touch /out/bar && cat /dev/urandom | head -c 100 | sha256sum > /unique
from scratch
COPY --from=second /unique /unique
DF
printf 0 | bk_file cachebust
bk_local_ok "first build"
u1=$(cat "$W/out/unique" 2>&1)
printf 1 | bk_file cachebust
bk_local_ok "cachebust changed"
check_eq "/unique is the cached one" "$u1" "$(cat "$W/out/unique" 2>&1)"
