# go: dockerfile_cache_test.go testImportExportReproducibleIDs
# Built with a registry cache; the image removed and the store emptied; built again from the
# cache under another name: the same image manifest.
bk_dfr <<'DF'
FROM @BASE@
ENV foo=bar
COPY foo /
RUN echo bar > bar
DF
printf foobar | bk_file foo
cache=$CBUILD_REGISTRY/test/dockerfileexpids:cache
bk_ok "build with a registry cache" -t example.com/moby/dockerfileexpids:test --cache-to "type=registry,ref=$cache" \
  --metadata-file "$W/m1.json"
"$CBUILD" rmi example.com/moby/dockerfileexpids:test >/dev/null 2>&1
rm -rf "$CBUILD_ROOT" # ensurePruneAll
bk_ok "build from the cache under another name" -t example.com/moby/dockerfileexpids2:test --cache-from "$cache" \
  --cache-to "type=registry,ref=$cache" --metadata-file "$W/m2.json"
check_eq "RUN from the cache" CACHED "$(step_state 'RUN echo bar')"
check_eq "the same image manifest" "$(jq -r '."containerimage.digest"' "$W/m1.json" 2>&1)" \
  "$(jq -r '."containerimage.digest"' "$W/m2.json" 2>&1)"
