# go: dockerfile_source_date_epoch_test.go testReproSourceDateEpoch
# SOURCE_DATE_EPOCH with rewrite-timestamp=true, pushed with OCI media types and a registry
# cache: the base image's layers and history stay as they are, every layer above carries
# buildkit/rewritten-timestamp, the cache's layers none; a build from an empty store gives the
# same digest; without rewrite-timestamp no layer is marked. For three Dockerfiles: files
# touched now, in the past and in the future and removed again; COPY --link; FROM alone.
. "$BK/attest-lib.sh"
tm=$(date -u -d '2023-01-10 12:34:56' +%s) # 1673354096
printf foo >"$W/ctx/foo"
base_cfg=$(skopeo inspect --config --raw --tls-verify=false "docker://$BASE")
base_mf=$(skopeo inspect --raw --tls-verify=false --override-arch amd64 "docker://$BASE")
case "$(jq -r .mediaType <<<"$base_mf")" in *index*|*list*)
  base_mf=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$CBUILD_REGISTRY/v2/busybox/manifests/$(jq -r '[.manifests[] | select(.platform.architecture == "amd64")][0].digest' <<<"$base_mf")") ;;
esac
base_layers=$(jq -r '[.layers[].digest] | join(" ")' <<<"$base_mf")
n_base=$(jq '.layers | length' <<<"$base_mf")
base_hist=$(jq -c '[.history[].created]' <<<"$base_cfg")
# img REF: the pushed manifest and config (single platform, no attestations)
img() {
  IMG_M=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/${1#*/}/manifests/$2")
  IMG_C=$(curl -sf "http://$CBUILD_REGISTRY/v2/${1#*/}/blobs/$(jq -r .config.digest <<<"$IMG_M")")
}
# rbuild DESC FLAGS...: a build named only by its -o (bk_ok's -t would push to Docker Hub too)
rbuild() {
  local d=$1; shift
  if "$CBUILD" build --progress=plain "$@" "$W/ctx" >"$T/last.out" 2>"$T/last.log"; then ok "$d"
  else not_ok "$d"; diag "$(tail -25 "$T/last.log")"; fi
}
repo_digest() { skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -d' ' -f1; }
for name in Basic CopyLink NoAdditionalLayer; do
  _tap_prefix="testReproSourceDateEpoch/$name: "
  case $name in
  Basic) bk_dfr <<'DF' ;;
FROM @BASE@
RUN touch /foo /foo.1
RUN touch -d '2010-01-01 12:34:56' /foo-2010 /foo-2010.1
RUN touch -d '2030-01-01 12:34:56' /foo-2030 /foo-2030.1
RUN rm -f /foo.1 /foo-2010.1 /foo-2030.1
DF
  CopyLink) bk_dfr <<'DF' ;;
FROM @BASE@
COPY --link foo foo
DF
  NoAdditionalLayer) bk_dfr <<'DF' ;;
FROM @BASE@
DF
  esac
  lname=$(tr 'A-Z' 'a-z' <<<"$name")
  repo=$CBUILD_REGISTRY/buildkit/testreprosourcedateepoch-$lname
  ref=$repo:$tm
  flags=(--build-arg "SOURCE_DATE_EPOCH=$tm" --platform linux/amd64)
  cache=(--cache-to "type=registry,ref=$ref-cache,oci-mediatypes=true")
  [ $name = NoAdditionalLayer ] && cache=() # BuildKit: "skipping cache export for empty result"
  rbuild "build, push" "${flags[@]}" "${cache[@]}" \
    -o "type=image,name=$ref,push=true,oci-mediatypes=true,rewrite-timestamp=true"
  d1=$(repo_digest "$ref")
  img "$repo" "$tm"
  check_eq "base history times kept" "$base_hist" "$(jq -c "[.history[].created][:$(jq length <<<"$base_hist")]" <<<"$IMG_C")"
  got_base=$(jq -r "[.layers[:$n_base][].digest] | join(\" \")" <<<"$IMG_M")
  check_eq "base layers as the base's" "$base_layers" "$got_base"
  check_eq "base layers unmarked" "" "$(jq -r "[.layers[:$n_base][].annotations[\"buildkit/rewritten-timestamp\"] // empty] | join(\" \")" <<<"$IMG_M")"
  above=$(case $name in Basic) echo 4 ;; CopyLink) echo 1 ;; *) echo 0 ;; esac)
  check_eq "$above layers above the base" "$above" "$(jq ".layers | length - $n_base" <<<"$IMG_M")"
  check_eq "every layer above marked $tm" "" \
    "$(jq -r "[.layers[$n_base:][] | select(.annotations[\"buildkit/rewritten-timestamp\"] != \"$tm\") | .digest] | join(\" \")" <<<"$IMG_M")"
  check "every layer's blob is there and matches its digest" bash -c '
    for d in $(jq -r ".layers[].digest" <<<"$1"); do
      [ "sha256:$(curl -sf "http://$2/v2/$3/blobs/$d" | sha256sum | cut -d" " -f1)" = "$d" ] || exit 1
    done' _ "$IMG_M" "$CBUILD_REGISTRY" "${repo#*/}"
  if [ ${#cache[@]} -gt 0 ]; then
    cm=$(skopeo inspect --raw --tls-verify=false "docker://$ref-cache")
    check_eq "the cache's layers unmarked" "" "$(jq -r '[.layers[].annotations["buildkit/rewritten-timestamp"] // empty] | join(" ")' <<<"$cm")"
  fi
  if [ $name = Basic ]; then
    # mtime LAYER FILE: the file's time in the pushed layer (n_base + LAYER)
    mtime() {
      curl -sf "http://$CBUILD_REGISTRY/v2/${repo#*/}/blobs/$(jq -r ".layers[$((n_base + $1))].digest" <<<"$IMG_M")" |
        TZ=UTC tar -tvz --full-time "$2" 2>/dev/null | awk '{print $4" "$5}'
    }
    check_eq "/foo (touched now) is clamped to the epoch" "2023-01-10 12:34:56" "$(mtime 0 foo)"
    check_eq "/foo-2010 keeps its time" "2010-01-01 12:34:56" "$(mtime 1 foo-2010)"
    check_eq "/foo-2030 is clamped to the epoch" "2023-01-10 12:34:56" "$(mtime 2 foo-2030)"
  fi
  rm -rf "$CBUILD_ROOT" # ensurePruneAll: the next build starts from an empty store
  rbuild "build again from an empty store" "${flags[@]}" "${cache[@]}" \
    -o "type=image,name=$ref,push=true,oci-mediatypes=true,rewrite-timestamp=true"
  check_eq "the same digest" "$d1" "$(repo_digest "$ref")"
  rbuild "build without rewrite-timestamp" "${flags[@]}" "${cache[@]}" -o "type=image,name=$ref,push=true,oci-mediatypes=true"
  img "$repo" "$tm"
  check_eq "base history times kept" "$base_hist" "$(jq -c "[.history[].created][:$(jq length <<<"$base_hist")]" <<<"$IMG_C")"
  check_eq "no layer marked" "" "$(jq -r '[.layers[].annotations["buildkit/rewritten-timestamp"] // empty] | join(" ")' <<<"$IMG_M")"
done
