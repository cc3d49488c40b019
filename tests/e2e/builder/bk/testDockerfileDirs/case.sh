# go: dockerfile_core_test.go testDockerfileDirs
# The build works with absolute paths, with relative ones from the context's directory, and
# with the Dockerfile in another directory than the context; the rebuilds hit the cache.
bk_dfr <<'DF'
FROM @BASE@
COPY foo /foo2
COPY foo /
RUN echo -n bar > foo3
RUN test -f foo
RUN cmp -s foo foo2
RUN cmp -s foo foo3
DF
printf bar | bk_file foo 0600
bk_ok "absolute context and Dockerfile paths" -f "$W/ctx/Dockerfile"
if (cd "$W/ctx" && "$CBUILD" build --progress=plain -t "$TAG" -f Dockerfile . >"$T/last.out" 2>"$T/last.log"); then
  ok "relative paths (cd ctx; -f Dockerfile .)"
else not_ok "relative paths (cd ctx; -f Dockerfile .)"; diag "$(tail -20 "$T/last.log")"; fi
for r in "RUN echo -n bar > foo3" "RUN test -f foo" "RUN cmp -s foo foo2" "RUN cmp -s foo foo3"; do
  check_eq "relative paths: $r cached" CACHED "$(step_state "$r")"
done
mkdir -p "$W/dfdir" "$W/ctx2"
mv "$W/ctx/Dockerfile" "$W/dfdir/Dockerfile"
cp -p "$W/ctx/foo" "$W/ctx2/foo"
if (cd "$W" && "$CBUILD" build --progress=plain -t "$TAG" -f dfdir/Dockerfile ctx2 >"$T/last.out" 2>"$T/last.log"); then
  ok "Dockerfile and context in different directories"
else not_ok "Dockerfile and context in different directories"; diag "$(tail -20 "$T/last.log")"; fi
