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
