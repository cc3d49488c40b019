# go: dockerfile_cache_test.go testImageManifestCacheImportExport
# A registry cache with OCI media types is an image manifest whose config is the cache's record
# document (cbuild's: NOTES); an empty store importing it gets the same random file.
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
bk_local_ok "build, export the cache" --cache-to "type=registry,ref=$target,oci-mediatypes=true"
m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' \
  "http://$CBUILD_REGISTRY/v2/buildkit/testexportdf/manifests/latest")
check_eq "the cache is an OCI image manifest with a cache config" \
  "application/vnd.oci.image.manifest.v1+json application/vnd.cbuild.cache.config.v1+json" \
  "$(jq -r '"\(.mediaType) \(.config.mediaType)"' <<<"$m")"
bk_out_is const foobar
u1=$(cat "$W/out/unique")
rm -rf "$CBUILD_ROOT" # ensurePruneAll
bk_local_ok "build from the cache, empty store" --cache-from "$target"
bk_out_is const foobar
check_eq "the same random file" "$u1" "$(cat "$W/out/unique" 2>&1)"
