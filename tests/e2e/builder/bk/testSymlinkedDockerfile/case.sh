# go: dockerfile_core_test.go testSymlinkedDockerfile
# A Dockerfile that is a symlink (to Dockerfile.web) is read through it.
bk_dfr Dockerfile.web <<'DF'
FROM scratch
ENV foo bar
DF
ln -s Dockerfile.web "$W/ctx/Dockerfile"
bk_ok "Dockerfile -> Dockerfile.web builds"
check_contains "ENV foo=bar in the config" '"foo=bar"' "$(bk_config)"
