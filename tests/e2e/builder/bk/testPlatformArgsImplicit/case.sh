# go: dockerfile_platform_test.go testPlatformArgsImplicit
# TARGETOS is defined without an ARG in FROM: `FROM build-${TARGETOS}` finds the stage named for
# the host's OS (linux).
bk_df <<'DF'
FROM scratch AS build-linux
COPY foo bar
FROM build-${TARGETOS}
COPY foo2 bar2
DF
printf d0 >"$W/ctx/foo"
printf d1 >"$W/ctx/foo2"
bk_local_ok "build"
bk_out_is bar d0
bk_out_is bar2 d1
