# go: dockerfile_cache_test.go testCacheImportExport
# A registry cache (default options) exported and imported by a build from an empty store: the
# random file of the RUN is the first build's.
bk_dfr <<'DF'
FROM @BASE@ AS base
COPY foo const
#RUN echo -n foobar > const
RUN cat /dev/urandom | head -c 100 | sha256sum > unique
FROM scratch
COPY --from=base const /
COPY --from=base unique /
DF
printf foobar | bk_file foo
target=$CBUILD_REGISTRY/buildkit/testexportdf:latest
bk_local_ok "build, export the cache" --cache-to "type=registry,ref=$target"
bk_out_is const foobar
u1=$(cat "$W/out/unique")
rm -rf "$CBUILD_ROOT" # ensurePruneAll
bk_local_ok "build from the cache, empty store" --cache-from "$target"
bk_out_is const foobar
check_eq "the same random file" "$u1" "$(cat "$W/out/unique" 2>&1)"
