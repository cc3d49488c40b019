#!/bin/bash
# The Debian samples end to end, README's main job first: each builds from samples/ against
# the test registry's debian:bookworm (debootstrap, cached) with apt-get inside RUN VMs
# (Debian's mirror through passt), and its result runs in a VM with the output checked.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
need docker-registry skopeo umoci debootstrap
if ! out=$(bash "$CBUILD_SRC/samples/base-images.sh" start-amd64 2>&1); then
  not_ok "base images (debian:bookworm, busybox)"; diag "$out"; exit 0
fi
S=$CBUILD_SRC/samples
sample() {
  local name=$1; shift
  if "$CBUILD" build --progress=plain --build-arg REGISTRY="$CBUILD_REGISTRY" -t "sample-$name" "$@" "$S/$name" \
      >"$T/last.out" 2>"$T/last.log"; then ok "samples/$name builds"
  else not_ok "samples/$name builds"; diag "$(tail -25 "$T/last.log")"; return 1; fi
}
# README's main job: cbuild -t hello samples/c-static && cbuild run hello
if sample c-static; then
  out=$("$CBUILD" run sample-c-static 2>&1)
  check_contains "c-static: the static binary runs in a VM" "hello from a static C binary on Linux x86_64" "$out"
  check_contains "c-static: CMD's argument" "arg 1: world" "$out"
  check_eq "c-static: the final image is one layer (scratch + COPY --from)" 1 \
    "$(manifest_of sample-c-static | jq '.layers | length')"
  # issue 16: both platforms in one index, the arm64 binary cross-compiled without an arm64 RUN
  M=$CBUILD_REGISTRY/samples/c-static:multi
  if "$CBUILD" build --progress=plain --build-arg REGISTRY="$CBUILD_REGISTRY" --platform linux/amd64,linux/arm64 \
      -t "$M" --push "$S/c-static" >"$T/last.out" 2>"$T/last.log"; then
    ok "c-static: built for linux/amd64,linux/arm64 and pushed"
    check_eq "c-static: the amd64 half is the single-platform build, cached" CACHED \
      "$(step_state '[linux/amd64 build 5/5] RUN')"
    raw=$(skopeo inspect --raw --tls-verify=false "docker://$M" 2>&1)
    check_eq "c-static: the registry has an index of amd64 and arm64 (skopeo)" "amd64 arm64" \
      "$(jq -r '[.manifests[].platform.architecture] | join(" ")' <<<"$raw" 2>&1)"
    "$CBUILD" export --platform linux/arm64 "$M" 2>/dev/null | tar -xO hello >"$T/hello-arm64" 2>/dev/null
    check_contains "c-static: the arm64 binary is AArch64 (readelf)" "AArch64" "$(readelf -h "$T/hello-arm64" 2>&1)"
    check_eq "c-static: the arm64 compile ran in the amd64 build stage (BuildKit's name)" DONE \
      "$(step_state '[linux/amd64->arm64 build 5/5] RUN')"
  else
    not_ok "c-static: built for linux/amd64,linux/arm64 and pushed"; diag "$(tail -25 "$T/last.log")"
  fi
fi
if sample python-app; then
  out=$("$CBUILD" run sample-python-app python3 /app/app.py --once 2>&1)
  check_contains "python-app: runs as its user with its env" "hello [(" "$out"
  check_eq "python-app: USER app" app "$("$CBUILD" run sample-python-app id -un 2>&1)"
fi
if sample debian-service; then
  out=$("$CBUILD" run --entrypoint /usr/sbin/lighttpd sample-debian-service -tt -f /etc/lighttpd/lighttpd.conf 2>&1); rc=$?
  check_eq "debian-service: lighttpd accepts its config (exit 0)" 0 "$rc"
  check_contains "debian-service: HEALTHCHECK in the config" '"Healthcheck"' "$(config_of sample-debian-service | tr -d ' \n')"
fi
if sample heredoc-cache; then
  check_contains "heredoc-cache: the heredoc script runs jq" "heredoc-cache runs 2 workers" "$("$CBUILD" run sample-heredoc-cache 2>&1)"
  "$CBUILD" build --progress=plain --build-arg REGISTRY="$CBUILD_REGISTRY" -t sample-heredoc-cache \
    "$S/heredoc-cache" >"$T/last.out" 2>"$T/last.log"
  check_eq "heredoc-cache: a rebuild is fully cached" 0 "$(steps_ran)"
fi
