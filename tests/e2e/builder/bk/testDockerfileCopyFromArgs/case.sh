# go: dockerfile_copy_test.go testDockerfileCopyFromArgs
# COPY --from with a variable is refused at parse time with BuildKit's text.
bk_dfr <<'DF'
FROM scratch
COPY --from=$FOO . .
DF
bk_fails "COPY --from=\$FOO is refused" \
  "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"
