# go: dockerfile_cache_test.go testCacheMultiPlatformImportExport
# linux/amd64 and linux/arm/v7, a RUN on the build platform writing a random file, pushed with an
# inline cache; twice from an empty store with --cache-from the pushed index: the same index
# digest, the same random files (the RUNs came from the cache).
bk_dfr <<'DF'
FROM --platform=$BUILDPLATFORM @BASE@ AS base
ARG TARGETARCH
RUN echo -n $TARGETARCH> arch && cat /dev/urandom | head -c 100 | sha256sum > unique
FROM scratch
COPY --from=base unique /
COPY --from=base arch /
DF
ref=$CBUILD_REGISTRY/buildkit/testexportdf:multi-img
# files REF: "ARCH_OF_AMD64 UNIQUE_AMD64 ARCH_OF_ARM UNIQUE_ARM" from the pushed index
files() {
  local ix m p out=
  ix=$(skopeo inspect --raw --tls-verify=false "docker://$ref")
  for p in amd64 arm; do
    m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/buildkit/testexportdf/manifests/$(jq -r "[.manifests[] | select(.platform.architecture == \"$p\")][0].digest" <<<"$ix")")
    blob() { curl -sf "http://$CBUILD_REGISTRY/v2/buildkit/testexportdf/blobs/$(jq -r ".layers[$1].digest" <<<"$m")" | tar -xzO "$2"; }
    out+="$(blob 1 arch) $(blob 0 unique | cut -c1-16) "
  done
  echo "$out"
}
bk_push "build, push with an inline cache" "$ref" --platform linux/amd64,linux/arm/v7 --cache-to type=inline
check_eq "two images" 2 "$(skopeo inspect --raw --tls-verify=false "docker://$ref" | jq '.manifests | length')"
first=$(files)
read -r a1 u1 a2 u2 <<<"$first"
check_eq "arch files" "amd64 arm" "$a1 $a2"
check "the random files differ" test "$u1" != "$u2"
d1=$(skopeo inspect --raw --tls-verify=false "docker://$ref" | sha256sum)
for n in 1 2; do
  rm -rf "$CBUILD_ROOT" # ensurePruneAll
  bk_push "rebuild $n from the inline cache" "$ref" --platform linux/amd64,linux/arm/v7 --cache-to type=inline \
    --cache-from "$ref"
  check_eq "rebuild $n: the same index" "$d1" "$(skopeo inspect --raw --tls-verify=false "docker://$ref" | sha256sum)"
  check_eq "rebuild $n: the same files" "$first" "$(files)"
done
