# go: dockerfile_client_test.go testGatewayBuiltinSyntaxSourceDockerfileV0
# A Dockerfile with a `# syntax=` directive is built by the built-in frontend (BuildKit's gateway
# with source=dockerfile.v0 does not fetch the syntax image).
bk_df <<DF
# syntax=docker/dockerfile-upstream:master
FROM $BASE AS build
RUN echo -n ok > /out
FROM scratch
COPY --from=build /out /out
DF
bk_local_ok "build"
bk_out_is out ok

# cbuild's frontend is docker/dockerfile: any tag or digest of it (and -upstream) builds; another
# frontend is refused with its name (cbuild runs none), on the directive's line; the
# BUILDKIT_SYNTAX build-arg wins over the directive, as in BuildKit.
syn() { sed -i "1s|.*|$1|" "$W/ctx/Dockerfile"; }
syn '# syntax = docker/dockerfile:1-labs'
bk_local_ok "docker/dockerfile:1-labs"
syn "#syntax=docker.io/docker/dockerfile:1.7@sha256:$(printf %064d 0)"
bk_local_ok "docker/dockerfile pinned by digest"
syn '# syntax=example.com/frontends/yaml:2'
bk_fails "another frontend" "ERROR: failed to solve: Dockerfile:1: frontend example.com/frontends/yaml:2: cbuild runs no frontend images"
check_contains "its line is marked" "   1 | >>> # syntax=example.com/frontends/yaml:2" "$(cat "$T/last.log")"
bk_local_ok "BUILDKIT_SYNTAX=docker/dockerfile:1 overrides it" --build-arg BUILDKIT_SYNTAX=docker/dockerfile:1
syn '# syntax=docker/dockerfile:1'
bk_fails "BUILDKIT_SYNTAX naming another frontend" \
  "ERROR: failed to solve: failed with build-arg:BUILDKIT_SYNTAX = tonistiigi/fe --x: frontend docker.io/tonistiigi/fe:latest: cbuild runs no frontend images" \
  --build-arg 'BUILDKIT_SYNTAX=tonistiigi/fe --x'
