# go: dockerfile_cache_test.go testExportCacheLoop
# A local cache exported, the build cache pruned, then the same folder imported and exported
# again in one build (a stage copying from a sibling stage of the same base).
bk_dfr <<'DF'
FROM @BASE@ as base
RUN echo aa > /foo
WORKDIR /bar

FROM base as base1
COPY hello.txt .

FROM base as base2
COPY --from=base1 /bar/hello.txt .
RUN true

FROM scratch
COPY --from=base2 /foo /f
DF
printf hello | bk_file hello.txt
bk_ok "export the cache" --cache-to "type=local,dest=$W/cache/cache"
"$CBUILD" prune -f >/dev/null 2>&1
bk_ok "import and export the same folder" --cache-from "type=local,src=$W/cache/cache" \
  --cache-to "type=local,dest=$W/cache/cache"
check_eq "RUN echo aa from the imported cache" CACHED "$(step_state 'RUN echo aa')"
check_eq "RUN true from the imported cache" CACHED "$(step_state 'RUN true')"
