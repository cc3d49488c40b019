#!/bin/bash
# Round trips with the real engines, judged by them: the same Dockerfile built by dockerd's own
# BuildKit (the reference) and by cbuild; docker and podman pull, load and run cbuild's image and
# read its config, which must equal the reference's field by field; docker save → cbuild load →
# cbuild inspect and run. One cbuild build with one RUN (one VM), one reference build.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3

C=$(ctx eng <<EOF
FROM $BASE
ARG V=7
ENV A=1 B="two words"
LABEL org.example.l="x y" org.example.v=\$V
WORKDIR /app
COPY hello.txt ./
RUN echo "built \$V" > /app/built.txt && mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=9s --timeout=3s CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/hello.txt /app/built.txt; id -u; pwd; echo \$B"]
EOF
)
echo "hello from the context" >"$C/hello.txt"
WANT_OUT=$(printf 'hello from the context\nbuilt 7\n1000\n/app\ntwo words')
REF=$CBUILD_REGISTRY/eng/app:1

if build "$C" "$REF" --push; then ok "cbuild builds and pushes the image"
else not_ok "cbuild builds and pushes the image"; diag "$(tail -20 "$T/last.log")"; fi
"$CBUILD" save -o "$T/cb.tar" "$REF" 2>"$T/save.err" || diag "$(cat "$T/save.err")"
# docker media types too (oci-mediatypes=false): podman reads HEALTHCHECK only from those
REFD=$CBUILD_REGISTRY/eng/app:docker
check "the same image pushed with docker media types (cached)" build "$C" "$REFD" --push --output type=image,oci-mediatypes=false

# the config fields an image's user sees, as one JSON line; the engines' inspect output on stdin
FIELDS='Env WorkingDir User Labels ExposedPorts Volumes Entrypoint Cmd Healthcheck StopSignal'
fields() {
  python3 -c '
import json, sys
c = json.load(sys.stdin)
if isinstance(c, list): c = c[0]
top = c
c = c.get("Config") or c.get("config") or c
# podman inspect puts Healthcheck beside Config, not in it
print(json.dumps({k: c.get(k) or top.get(k) or None for k in sys.argv[1].split()}, sort_keys=True))' "$FIELDS"
}
layers() { python3 -c 'import json,sys; c=json.load(sys.stdin); c=c[0] if isinstance(c,list) else c; print(len(c["RootFS"]["Layers"]))'; }

# docker: the reference build with dockerd's BuildKit (Debian's docker.io 20.10 CLI has it built
# in; a newer CLI needs buildx), then pull, load and run cbuild's
start_dockerd; drc=$?
if [ $drc = 2 ]; then
  skip "docker.io (dockerd) is not installed: the docker round trip and the reference config"
  REF_FIELDS=""
elif [ $drc != 0 ]; then
  not_ok "dockerd started"; diag "$(tail -20 "$T/docker/log")"; REF_FIELDS=""
else
  DK=docker; [ -x /usr/bin/docker ] && DK=/usr/bin/docker
  if DOCKER_BUILDKIT=1 $DK build --network none -t eng-ref "$C" >"$T/ref.log" 2>&1; then
    ok "reference: docker build (BuildKit) of the same Dockerfile"
  else
    not_ok "reference: docker build (BuildKit) of the same Dockerfile"; diag "$(tail -20 "$T/ref.log")"
  fi
  REF_FIELDS=$(docker inspect eng-ref 2>/dev/null | fields)
  REF_LAYERS=$(docker inspect eng-ref 2>/dev/null | layers)
  check_eq "reference: its container prints the expected output" "$WANT_OUT" "$(docker run --rm --network none eng-ref 2>&1)"
  check "docker pulls cbuild's pushed image" docker pull -q "$REF"
  check_eq "docker: the pulled image's config equals the reference's ($FIELDS)" "$REF_FIELDS" \
    "$(docker inspect "$REF" 2>/dev/null | fields)"
  check_eq "docker: as many layers as the reference" "$REF_LAYERS" "$(docker inspect "$REF" 2>/dev/null | layers)"
  check_eq "docker runs cbuild's image: same output as the reference" "$WANT_OUT" \
    "$(docker run --rm --network none "$REF" 2>&1)"
  docker rmi -f "$REF" >/dev/null 2>&1
  check_contains "docker load reads cbuild save" "$REF" "$(docker load -i "$T/cb.tar" 2>&1)"
  check_eq "docker runs the loaded image" "$WANT_OUT" "$(docker run --rm --network none "$REF" 2>&1)"
  # and back: docker save → cbuild load → cbuild inspect and run
  docker save -o "$T/ref.tar" eng-ref
  check_contains "cbuild load reads docker save" "eng-ref" "$("$CBUILD" load -i "$T/ref.tar" 2>&1)"
  check_eq "cbuild inspect: docker's image config as docker wrote it" "$REF_FIELDS" \
    "$("$CBUILD" inspect eng-ref 2>/dev/null | fields)"
  check_eq "cbuild run of docker's image: its command's output" "$WANT_OUT" "$("$CBUILD" run eng-ref 2>&1)"
  # BuildKit's inline cache, as dockerd's BuildKit writes it: cbuild's keys are not BuildKit's
  # LLB digests, so it can't hit; the warning names what it is
  IC=$CBUILD_REGISTRY/eng/inline:1
  if DOCKER_BUILDKIT=1 $DK build --network none --build-arg BUILDKIT_INLINE_CACHE=1 -t "$IC" "$C" >"$T/ic.log" 2>&1 &&
     $DK push "$IC" >>"$T/ic.log" 2>&1; then
    check_contains "reference: dockerd's BuildKit wrote an inline cache" '"moby.buildkit.cache.v0"' \
      "$(skopeo inspect --config --raw --tls-verify=false "docker://$IC" 2>&1)"
    out=$(CBUILD_ROOT=$T/ic-root "$CBUILD" build --progress=plain --cache-from "$IC" "$C" 2>&1)
    check_contains "cbuild --cache-from a BuildKit inline cache: ignored, named as BuildKit's" \
      "WARNING: cache from $IC is ignored: a BuildKit inline cache (moby.buildkit.cache.v0 in the image config)" "$out"
  else
    not_ok "reference: docker build --build-arg BUILDKIT_INLINE_CACHE=1 and push"; diag "$(tail -20 "$T/ic.log")"
  fi
fi

# podman (runc, the machine's ulimits, a store under $T): pull from the registry, load cbuild
# save, run, inspect
if command -v podman >/dev/null 2>&1; then
  PR=(podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver vfs)
  RUNF=(--rm --runtime runc --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  check "podman pulls cbuild's pushed image" "${PR[@]}" pull -q --tls-verify=false "$REF"
  # a store of its own: podman keeps one image per config, and both pushes share theirs
  PRD=(podman --root "$T/podman-d/root" --runroot "$T/podman-d/run" --storage-driver vfs)
  check "podman pulls the docker-media-type push" "${PRD[@]}" pull -q --tls-verify=false "$REFD"
  if [ -n "$REF_FIELDS" ]; then
    # podman 4 drops Healthcheck from OCI images (it is not in the OCI image spec), docker's too
    check_eq "podman: the OCI image's config equals the reference's but for Healthcheck" \
      "$(sed 's/"Healthcheck": {[^}]*}/"Healthcheck": null/' <<<"$REF_FIELDS")" "$("${PR[@]}" inspect "$REF" 2>/dev/null | fields)"
    check_eq "podman: the docker-typed image's config equals the reference's" "$REF_FIELDS" \
      "$("${PRD[@]}" inspect "$REFD" 2>/dev/null | fields)"
  else
    check_contains "podman: the docker-typed image keeps the HEALTHCHECK" '"Interval": 9000000000' \
      "$("${PRD[@]}" inspect "$REFD" 2>/dev/null | fields | python3 -m json.tool)"
  fi
  check_eq "podman runs cbuild's image: the expected output" "$WANT_OUT" "$("${PR[@]}" run "${RUNF[@]}" "$REF" 2>"$T/podman.err")"
  "${PR[@]}" rmi -f "$REF" >/dev/null 2>&1
  check_contains "podman load reads cbuild save" "$REF" "$("${PR[@]}" load -i "$T/cb.tar" 2>&1)"
  check_eq "podman runs the loaded image" "$WANT_OUT" "$("${PR[@]}" run "${RUNF[@]}" "$REF" 2>"$T/podman.err")"
  check_eq "podman runs the docker-typed image (its healthcheck needs systemd: stderr says so)" "$WANT_OUT" \
    "$("${PRD[@]}" run "${RUNF[@]}" "$REFD" 2>"$T/podman.err")"
  "${PR[@]}" rmi -a -f >/dev/null 2>&1; "${PRD[@]}" rmi -a -f >/dev/null 2>&1
else
  skip "podman is not installed: the podman round trip"
fi
