# go: dockerfile_dockerignore_test.go testDockerignoreOverride
# <Dockerfile>.dockerignore beside the Dockerfile is used for it (Dockerfile2.dockerignore for -f Dockerfile2).
bk_dfr <<'DF'
FROM @BASE@
COPY . .
RUN [ -f foo ] && [ ! -f bar ]
DF
bk_dfr Dockerfile2 <<'DF'
FROM @BASE@
COPY . .
RUN [ ! -f foo ] && [ -f bar ]
DF
printf '\nbar\n' | bk_file Dockerfile.dockerignore 0600
printf '\nfoo\n' | bk_file Dockerfile2.dockerignore 0600
printf contents0 | bk_file foo 0600
printf contents0 | bk_file bar 0600
bk_ok "Dockerfile with Dockerfile.dockerignore: foo, no bar"
bk_ok "-f Dockerfile2 with Dockerfile2.dockerignore: bar, no foo" -f "$W/ctx/Dockerfile2"
