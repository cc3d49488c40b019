# go: dockerfile_workdir_test.go testWorkdirCopyIgnoreRelative
# COPY --from takes a relative source path from the source stage's root, not its WORKDIR.
bk_dfr <<'DF'
FROM scratch AS base
WORKDIR /foo
COPY Dockerfile /
FROM scratch
# relative path still loaded as absolute
COPY --from=base Dockerfile .
DF
bk_ok "COPY --from=base Dockerfile . finds /Dockerfile"
