#!/bin/bash
# Outputs: the local store (several -t), --push to a registry, --output type=oci|docker|tar|
# local|ext4, a Dockerfile on stdin (-f -), a tar context on stdin (-), checked with skopeo,
# tar, e2fsck and debugfs.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need e2fsck debugfs python3

C=$(ctx out <<EOF
FROM $BASE
COPY hello.txt /srv/hello.txt
RUN ["/bin/sh", "-c", "ln -s /srv/hello.txt /hello-link"]
CMD ["cat", "/srv/hello.txt"]
EOF
)
echo hello-out >"$C/hello.txt"
if build "$C" "$CBUILD_REGISTRY/e2e/outtest:v1" -t "$CBUILD_REGISTRY/e2e/outtest:v2" --push \
    --output type=oci,dest="$T/img-oci.tar" --output type=docker,dest="$T/img-docker.tar" \
    --output type=tar,dest="$T/fs.tar" --output type=local,dest="$T/fsdir" --output type=ext4,dest="$T/fs.img"; then
  ok "build with every output"; else not_ok "build with every output"; diag "$(tail -30 "$T/last.log")"; fi
check "the image is tagged twice in the store" skopeo inspect --raw "oci:$CBUILD_ROOT:$CBUILD_REGISTRY/e2e/outtest:v2"
check "--push: the registry has both tags (skopeo)" skopeo inspect --tls-verify=false "docker://$CBUILD_REGISTRY/e2e/outtest:v2"
check "type=oci: skopeo reads the OCI archive" skopeo inspect "oci-archive:$T/img-oci.tar"
check_contains "type=docker: the tar has docker's manifest.json" "manifest.json" "$(tar -tf "$T/img-docker.tar" 2>&1)"
check_contains "type=tar: the flattened filesystem" "srv/hello.txt" "$(tar -tf "$T/fs.tar" 2>&1)"
check_eq "type=local: files in the directory" hello-out "$(cat "$T/fsdir/srv/hello.txt" 2>&1)"
check_eq "type=local: symlinks kept" /srv/hello.txt "$(readlink "$T/fsdir/hello-link" 2>&1)"
check "type=ext4: e2fsck -fn is clean" e2fsck -fn "$T/fs.img"
check_eq "type=ext4: debugfs reads the file" hello-out "$(debugfs -R 'cat /srv/hello.txt' "$T/fs.img" 2>/dev/null)"
check_fails "an unknown output type is refused" build "$C" x --output type=zip,dest=x
check_contains "the error names the type" "zip" "$(cat "$T/last.log")"
check_fails "--push without a name is refused" "$CBUILD" build --push "$C"

# Dockerfile on stdin with a context directory
printf 'FROM %s\nCOPY hello.txt /stdin-df.txt\n' "$BASE" >"$T/df"
if "$CBUILD" build --progress=plain -t stdindf -f - "$C" <"$T/df" >"$T/last.out" 2>"$T/last.log"; then ok "-f - reads the Dockerfile from stdin"
else not_ok "-f - reads the Dockerfile from stdin"; diag "$(tail -20 "$T/last.log")"; fi
unpack stdindf "$T/u1"
check_eq "-f -: the context still comes from the directory" hello-out "$(cat "$T/u1/rootfs/stdin-df.txt" 2>&1)"
# A tar context on stdin
(cd "$C" && tar -cf - .) >"$T/ctx.tar"
if "$CBUILD" build --progress=plain -t stdintar - <"$T/ctx.tar" >"$T/last.out" 2>"$T/last.log"; then ok "- reads a tar context from stdin"
else not_ok "- reads a tar context from stdin"; diag "$(tail -20 "$T/last.log")"; fi
unpack stdintar "$T/u2"
check_eq "tar context: COPY reads from it" hello-out "$(cat "$T/u2/rootfs/srv/hello.txt" 2>&1)"
# A Dockerfile alone on stdin: no context
printf 'FROM %s\nENV ONLY=dockerfile\n' "$BASE" | "$CBUILD" build --progress=plain -t stdinonly - >"$T/last.out" 2>"$T/last.log"
check_eq "- with a plain Dockerfile builds without context" "ONLY=dockerfile" "$(config_of stdinonly | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["Env"][-1])' 2>&1)"

# Registry flags reach every registry call of a build: a base image in a TLS registry with its
# own CA (and Basic auth), --push and --cache-to type=registry to it.
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
need openssl htpasswd
trap 'stop_registry S; _builder_done' EXIT
# a non-loopback host: loopback registries are insecure (unverified) by default, as in Docker
IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
if [ -z "$IP" ]; then
  skip "no non-loopback IPv4 address on this machine for the TLS registry checks"
elif start_registry S tls "$IP"; then
  SREG=$IP:$S_PORT
  skopeo copy -q --insecure-policy --src-tls-verify=false --dest-cert-dir "$T/certs/$SREG" \
      --dest-creds alice:s3cret "docker://$BASE" "docker://$SREG/base/busybox:1" >"$T/sk.log" 2>&1 \
    || diag "$(cat "$T/sk.log")"
  C=$(ctx tlsreg <<EOF2
FROM $SREG/base/busybox:1
COPY hello.txt /hello.txt
EOF2
)
  echo hello-tls >"$C/hello.txt"
  CBUILD_ROOT=$T/root-tls "$CBUILD" build --progress=plain -t tlsfail --creds alice:s3cret "$C" \
    >"$T/last.out" 2>"$T/last.log"
  rc=$?
  check_eq "FROM a TLS registry with an unknown CA fails without --cert-dir (exit 1)" 1 "$rc"
  check_contains "... naming the base image" "failed to resolve source metadata for $SREG/base/busybox:1" \
    "$(cat "$T/last.log")"
  check_contains "... and the certificate problem" "certificate" "$(cat "$T/last.log")"
  if CBUILD_ROOT=$T/root-tls "$CBUILD" build --progress=plain -t "$SREG/e2e/tls:1" --push \
      --cache-to "type=registry,ref=$SREG/e2e/tls-cache:1" --cert-dir "$T/certs" --creds alice:s3cret "$C" \
      >"$T/last.out" 2>"$T/last.log"; then
    ok "build FROM the TLS registry with --cert-dir, --push and --cache-to to it"
  else
    not_ok "build FROM the TLS registry with --cert-dir, --push and --cache-to to it"; diag "$(tail -20 "$T/last.log")"
  fi
  check "--push reached the TLS registry (skopeo)" skopeo inspect --cert-dir "$T/certs/$SREG" --creds alice:s3cret \
    "docker://$SREG/e2e/tls:1"
  check "--cache-to reached the TLS registry (skopeo)" skopeo inspect --raw --cert-dir "$T/certs/$SREG" \
    --creds alice:s3cret "docker://$SREG/e2e/tls-cache:1"
else
  not_ok "start a TLS registry"
fi

# ---- layer compression (BuildKit's compression, compression-level, force-compression): judged
# by skopeo, umoci and zstd/gzip themselves; the config (diffIDs, image ID) never changes
Z=$(ctx zc <<EOF
FROM $BASE
COPY big /big
EOF
)
head -c 300000 /dev/urandom | base64 >"$Z/big"
mt() { skopeo inspect --raw "oci-archive:$1" 2>/dev/null | jq -r '[.layers[].mediaType | sub("application/vnd.oci.image.layer.v1.";"")] | join(" ")'; }
imgid() { skopeo inspect --raw "oci-archive:$1" 2>/dev/null | jq -r .config.digest; }
unpacks() { # ARCHIVE: umoci unpacks it and /big is the context's
  rm -rf "$T/zu" "$T/zo"; mkdir -p "$T/zo"; tar -C "$T/zo" -xf "$1" &&
    umoci unpack --rootless --image "$T/zo:docker.io/library/zc:latest" "$T/zu" >/dev/null 2>&1 && cmp -s "$T/zu/rootfs/big" "$Z/big"
}
build "$Z" zc -o type=oci,dest="$T/z-gzip.tar" || not_ok "compression: default build"
base_mt=$(mt "$T/z-gzip.tar"); base_mt=${base_mt% *}
check_eq "compression: the default is gzip" "tar+gzip tar+gzip" "$(mt "$T/z-gzip.tar")"
if build "$Z" zc -o type=oci,dest="$T/z-zstd.tar",compression=zstd; then
  check_eq "compression=zstd: the build's layer is zstd, the base image's keeps its compression" "$base_mt tar+zstd" "$(mt "$T/z-zstd.tar")"
  check_eq "compression=zstd: the same config (image ID)" "$(imgid "$T/z-gzip.tar")" "$(imgid "$T/z-zstd.tar")"
  # umoci 0.4.7 reads no zstd layers: zstd and tar judge the layer, skopeo the digests
  zl=$(skopeo inspect --raw "oci-archive:$T/z-zstd.tar" | jq -r '.layers[-1].digest')
  check "compression=zstd: zstd -d and tar read /big from the layer" bash -c \
    "tar -xOf '$T/z-zstd.tar' blobs/sha256/${zl#sha256:} | zstd -dcq | tar -xOf - big | cmp -s - '$Z/big'"
  check "compression=zstd: skopeo copies the archive (digests verified)" skopeo copy -q "oci-archive:$T/z-zstd.tar" "oci:$T/zsc:x"
else not_ok "compression=zstd: build"; diag "$(tail -5 "$T/last.log")"; fi
if build "$Z" zc -o type=oci,dest="$T/z-force.tar",compression=zstd,force-compression=true; then
  check_eq "force-compression=true: every layer is zstd" "tar+zstd tar+zstd" "$(mt "$T/z-force.tar")"
  zb=$(skopeo inspect --raw "oci-archive:$T/z-force.tar" | jq -r '.layers[0].digest')
  check "force-compression=true: the base layer, recompressed, holds busybox" bash -c \
    "tar -xOf '$T/z-force.tar' blobs/sha256/${zb#sha256:} | zstd -dcq | tar -tf - | grep -qx 'bin/busybox\|./bin/busybox'"
else not_ok "force-compression=true: build"; diag "$(tail -5 "$T/last.log")"; fi
if build "$Z" zc -o type=oci,dest="$T/z-none.tar",compression=uncompressed; then
  check_eq "compression=uncompressed: the build's layer is a plain tar" "$base_mt tar" "$(mt "$T/z-none.tar")"
  check "compression=uncompressed: umoci unpacks it" unpacks "$T/z-none.tar"
else not_ok "compression=uncompressed: build"; diag "$(tail -5 "$T/last.log")"; fi
if build "$Z" zc -o type=oci,dest="$T/z-l9.tar",compression=gzip,compression-level=9; then
  l6=$(skopeo inspect --raw "oci-archive:$T/z-gzip.tar" | jq -r '.layers[-1].digest')
  l9=$(skopeo inspect --raw "oci-archive:$T/z-l9.tar" | jq -r '.layers[-1].digest')
  check "compression-level=9: the build's layer is compressed again (another blob)" test "$l6" != "$l9"
  check "compression-level=9: still gzip, gzip -t accepts it" bash -c "tar -xOf '$T/z-l9.tar' blobs/sha256/${l9#sha256:} | gzip -t"
else not_ok "compression-level=9: build"; diag "$(tail -5 "$T/last.log")"; fi
if build "$Z" "$CBUILD_REGISTRY/e2e/zc:1" --push -o type=image,compression=zstd,force-compression=true; then
  check_eq "--push compression=zstd: the registry's manifest has zstd layers" "zstd zstd" \
    "$(skopeo inspect --raw --tls-verify=false "docker://$CBUILD_REGISTRY/e2e/zc:1" | jq -r '[.layers[].mediaType | sub(".*\\+";"")] | join(" ")')"
  check "--push compression=zstd: skopeo copies it back (digests verified)" \
    skopeo copy -q --src-tls-verify=false "docker://$CBUILD_REGISTRY/e2e/zc:1" "oci:$T/zpull:latest"
else not_ok "--push compression=zstd: build"; diag "$(tail -5 "$T/last.log")"; fi
if build "$Z" zc -o type=docker,dest="$T/z-dock.tar",compression=uncompressed,oci-mediatypes=false; then
  check_contains "oci-mediatypes=false compression=uncompressed: docker's plain-tar layer type" \
    'application/vnd.docker.image.rootfs.diff.tar"' \
    "$(m=$(tar -xOf "$T/z-dock.tar" index.json | jq -r '.manifests[0].digest'); tar -xOf "$T/z-dock.tar" "blobs/sha256/${m#sha256:}")"
  rm -rf "$T/zdo" "$T/zdu"
  check "oci-mediatypes=false compression=uncompressed: skopeo reads the archive, umoci unpacks /big" bash -c \
    "skopeo copy -q 'docker-archive:$T/z-dock.tar' 'oci:$T/zdo:x' && umoci unpack --rootless --image '$T/zdo:x' '$T/zdu' >/dev/null 2>&1 && cmp -s '$T/zdu/rootfs/big' '$Z/big'"
else not_ok "docker archive, uncompressed: build"; diag "$(tail -5 "$T/last.log")"; fi
zfail() { # DESC MESSAGE OUTPUT
  build "$Z" zc -o "$3"; local rc=$?
  if [ $rc -ge 1 ] && [ $rc -lt 128 ]; then check_contains "$1" "$2" "$(cat "$T/last.log")"
  else not_ok "$1 (exit $rc)"; fi
}
zfail "compression=lz4: BuildKit's message" "unsupported compression type lz4" "type=oci,dest=$T/x.tar,compression=lz4"
zfail "compression=estargz: refused, said why" 'exporter option "compression=estargz": cbuild writes no eStargz layers' \
  "type=oci,dest=$T/x.tar,compression=estargz"
zfail "zstd with oci-mediatypes=false: BuildKit's message" \
  'exporter option "compression=zstd" conflicts with "oci-mediatypes=false"' "type=oci,dest=$T/x.tar,compression=zstd,oci-mediatypes=false"
zfail "force-compression=maybe: BuildKit's message" "non-bool value maybe specified for force-compression" \
  "type=oci,dest=$T/x.tar,compression=zstd,force-compression=maybe"
zfail "compression-level=x: BuildKit's message" "non-integer value x specified for compression-level" \
  "type=oci,dest=$T/x.tar,compression-level=x"
# an inline cache names the blobs the image has: the zstd ones it was pushed with
if build "$Z" "$CBUILD_REGISTRY/e2e/zc:inline" --push -o type=image,compression=zstd --cache-to type=inline; then
  CBUILD_ROOT=$T/zroot build "$Z" zc2 --cache-from "$CBUILD_REGISTRY/e2e/zc:inline"
  check_eq "compression=zstd + inline cache: a fresh store's rebuild hits" "CACHED" "$(step_state 'COPY big')"
  check_eq "compression=zstd + inline cache: no warning" "" "$(grep WARNING "$T/last.log")"
else not_ok "compression=zstd + inline cache: build"; diag "$(tail -5 "$T/last.log")"; fi

# ---- type=cacheonly: the build and its --cache-to only (buildx gives -t to image exporters)
if build "$Z" zc-only -o type=cacheonly --cache-to type=local,dest="$T/co-cache",mode=max; then
  check_eq "type=cacheonly: -t names nothing in the store" "" "$("$CBUILD" images -q zc-only 2>/dev/null)"
  check "type=cacheonly: the cache was exported" skopeo inspect --raw "oci:$T/co-cache:latest"
  CBUILD_ROOT=$T/coroot build "$Z" zc3 --cache-from type=local,src="$T/co-cache"
  check_eq "type=cacheonly: its cache warms a fresh store" "CACHED" "$(step_state 'COPY big')"
else not_ok "type=cacheonly: build"; diag "$(tail -5 "$T/last.log")"; fi
