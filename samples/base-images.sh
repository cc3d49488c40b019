#!/bin/bash
# Base images for the samples, made on this machine and served from a local registry:
#   127.0.0.1:5000/debian:bookworm   debootstrap --variant=minbase bookworm: an OCI index of
#                                    linux/amd64 and linux/arm64 (the arm64 second stage runs in
#                                    an arm64 VM built by cbuild itself: ~4 min under TCG, once)
#   127.0.0.1:5000/busybox:latest    busybox-static with its applet links: an OCI index of
#                                    linux/amd64 and linux/arm64 (Debian's busybox-static:arm64)
# Usage: samples/base-images.sh [start|start-amd64|busybox-only|debian-rootfs|stop|status]   (default: start)
#   start-amd64: debian:bookworm for linux/amd64 only (no arm64 VM; an existing index stays)
# Environment: CBUILD_REGISTRY (default 127.0.0.1:5000), CBUILD_REGISTRY_DIR (the registry's
# config, data and pid; default under the cache), CBUILD_TEST_CACHE (default
# /var/tmp/cbuild-test-cache: rootfs tarballs are built once and kept there),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), CBUILD (the cbuild that finishes the
# arm64 debootstrap; default build/builder/cli/cbuild of this checkout).
# Needs: debootstrap, busybox-static, umoci, skopeo, docker-registry (Debian packages); for the
# arm64 busybox, apt-get download busybox-static:arm64 (dpkg --add-architecture arm64, as root);
# for the arm64 debian, a built cbuild and qemu-system-aarch64 (its kernel: cbuild setup --arch arm64).
set -euo pipefail

REG=${CBUILD_REGISTRY:-127.0.0.1:5000}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CBUILD=${CBUILD:-$(cd "$(dirname "$0")/.." && pwd)/build/builder/cli/cbuild}
REGDIR=${CBUILD_REGISTRY_DIR:-$CACHE/registry-v2-${REG//[:.]/-}}
mkdir -p "$CACHE" "$REGDIR"

log() { echo "base-images: $*" >&2; }

registry_up() { curl -fsS "http://$REG/v2/" >/dev/null 2>&1; }

start_registry() {
  registry_up && return 0
  cat >"$REGDIR/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $REGDIR/data
  delete:
    enabled: true
http:
  addr: $REG
EOF
  log "starting docker-registry on $REG (data in $REGDIR/data)"
  nohup docker-registry serve "$REGDIR/config.yml" >"$REGDIR/registry.log" 2>&1 &
  echo $! >"$REGDIR/pid"
  for _ in $(seq 50); do registry_up && return 0; sleep 0.1; done
  log "the registry did not come up; see $REGDIR/registry.log"
  return 1
}

stop_registry() {
  if [ -f "$REGDIR/pid" ]; then
    kill "$(cat "$REGDIR/pid")" 2>/dev/null || true
    rm -f "$REGDIR/pid"
  fi
}

# debootstrap once; the tarball is the cache (rebuilt when missing).
debian_rootfs() {
  local tar=$CACHE/debian-bookworm-minbase-v2.tar
  if [ ! -s "$tar" ]; then
    log "debootstrap --variant=minbase bookworm (once, cached in $tar)"
    # debootstrap needs root: in a user shell it runs through sudo (a root shell has none)
    local dir asroot=
    [ "$(id -u)" = 0 ] || asroot=sudo
    dir=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
    $asroot debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      { log "debootstrap failed, see $CACHE/debootstrap.log"; $asroot rm -rf "$dir"; return 1; }
    $asroot rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    $asroot chmod 0755 "$dir" # mktemp made it 0700: it becomes the image's /
    $asroot tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp.$$" .
    $asroot chown "$(id -u):$(id -g)" "$tar.tmp.$$"
    mv "$tar.tmp.$$" "$tar"
    $asroot rm -rf "$dir"
  fi
  echo "$tar"
}

# The arm64 debian: debootstrap --foreign unpacks (no qemu-user), then cbuild itself runs the
# second stage in an arm64 VM; the OCI archive it exports is the cache (rebuilt when missing).
debian_arm64_archive() {
  local out=$CACHE/debian-bookworm-minbase-arm64-v1.oci.tar
  if [ ! -s "$out" ]; then
    [ -x "$CBUILD" ] || { log "no cbuild at $CBUILD (build it, or set CBUILD) for the arm64 debian"; return 1; }
    log "debootstrap --arch=arm64 --foreign bookworm, second stage in an arm64 VM (once, ~4 min under TCG; cached in $out)"
    local work asroot=
    [ "$(id -u)" = 0 ] || asroot=sudo
    work=$(mktemp -d "$CACHE/debootstrap-arm64.XXXXXX")
    mkdir "$work/ctx" "$work/store"
    $asroot debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$work/root" "$MIRROR" \
      >"$CACHE/debootstrap-arm64.log" 2>&1 ||
      { log "debootstrap --foreign failed, see $CACHE/debootstrap-arm64.log"; $asroot rm -rf "$work"; return 1; }
    # in a container debootstrap links /proc to the host's; a VM's init mounts proc on a directory
    if [ -L "$work/root/proc" ]; then $asroot rm "$work/root/proc" && $asroot mkdir -m 0755 "$work/root/proc"; fi
    $asroot chmod 0755 "$work/root"
    $asroot tar --numeric-owner --xattrs -C "$work/root" -cf "$work/ctx/rootfs.tar" .
    $asroot chown "$(id -u):$(id -g)" "$work/ctx/rootfs.tar"
    $asroot rm -rf "$work/root"
    cat >"$work/ctx/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN --security=insecure /debootstrap/debootstrap --second-stage && rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*
CMD ["bash"]
EOF
    # a store of its own (the caller's CBUILD_ROOT stays untouched); the .deb files are in the tar;
    # the second stage mounts /proc: CAP_SYS_ADMIN, which only --security=insecure keeps
    if ! "$CBUILD" --root "$work/store" build --progress=plain --platform linux/arm64 --network none --allow security.insecure \
        -t debian:bookworm-arm64 -o type=oci,dest="$out.tmp.$$" "$work/ctx" >"$CACHE/debian-arm64-build.log" 2>&1; then
      log "the arm64 second stage failed, see $CACHE/debian-arm64-build.log"
      rm -rf "$work" "$out.tmp.$$"
      return 1
    fi
    mv "$out.tmp.$$" "$out"
    rm -rf "$work"
  fi
  echo "$out"
}

# debian_index: debian:bookworm becomes an index of the amd64 image already in the registry (its
# manifest and digest unchanged) and the cached arm64 one, which is pushed by digest.
debian_index() {
  local ref=debian:bookworm arch work
  arch=$(debian_arm64_archive) || return 1
  work=$(mktemp -d "$CACHE/index.XXXXXX")
  # the manifests' exact bytes (in files: $(...) would drop a final newline and change the digest)
  if ! skopeo inspect --raw --tls-verify=false "docker://$REG/$ref" >"$work/amd64" ||
    ! skopeo inspect --raw "oci-archive:$arch" >"$work/arm64"; then
    rm -rf "$work"; return 1
  fi
  local arm_digest
  arm_digest=sha256:$(sha256sum <"$work/arm64" | cut -d' ' -f1)
  skopeo copy -q --dest-tls-verify=false "oci-archive:$arch" "docker://$REG/debian@$arm_digest" &&
  python3 - "$work" <<'PY' &&
import hashlib, json, sys
work = sys.argv[1]
ms = []
for arch in ("amd64", "arm64"):
    raw = open(f"{work}/{arch}", "rb").read()
    m = json.loads(raw)
    if "manifests" in m:
        sys.exit(f"base-images: the {arch} image is an index already")
    ms.append({"mediaType": m.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
               "digest": "sha256:" + hashlib.sha256(raw).hexdigest(), "size": len(raw),
               "platform": {"architecture": arch, "os": "linux"}})
open(f"{work}/index", "wb").write(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                              "manifests": ms}, separators=(",", ":")).encode())
PY
  curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$work/index" \
    "http://$REG/v2/debian/manifests/bookworm" >/dev/null ||
    { rm -rf "$work"; log "pushing the debian index failed"; return 1; }
  rm -rf "$work"
  log "pushed $REG/$ref (linux/amd64, linux/arm64)"
}

busybox_rootfs() {
  local tar=$CACHE/busybox-rootfs-v2.tar
  if [ ! -s "$tar" ] || [ /bin/busybox -nt "$tar" ]; then
    local dir
    dir=$(mktemp -d "$CACHE/busybox.XXXXXX")
    mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,proc,sys,dev,home}
    chmod 1777 "$dir/tmp"
    chmod 0755 "$dir" # mktemp made it 0700: it becomes the image's /
    cp /bin/busybox "$dir/bin/busybox"
    for a in $(/bin/busybox --list-full); do
      [ "$a" = bin/busybox ] && continue
      ln -sf /bin/busybox "$dir/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' >"$dir/etc/group"
    tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$tar.tmp.$$" .
    mv "$tar.tmp.$$" "$tar"
    rm -rf "$dir"
  fi
  echo "$tar"
}

# The same busybox tree from Debian's busybox-static:arm64 (the .deb is cached too).
busybox_arm64_rootfs() {
  local tar=$CACHE/busybox-arm64-rootfs-v1.tar
  if [ ! -s "$tar" ]; then
    local dir deb
    dir=$(mktemp -d "$CACHE/busybox-arm64.XXXXXX")
    chmod 0755 "$dir" # apt-get download drops privileges to _apt where it can
    if ! (cd "$dir" && apt-get download -q busybox-static:arm64 >"$dir/apt.log" 2>&1); then
      if [ "$(id -u)" = 0 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "adding Debian's arm64 package lists (dpkg --add-architecture arm64; apt-get update)"
        dpkg --add-architecture arm64 && apt-get update -qq >/dev/null
      fi
      (cd "$dir" && apt-get download -q busybox-static:arm64 >"$dir/apt.log" 2>&1) ||
        { log "apt-get download busybox-static:arm64 failed (dpkg --add-architecture arm64 && apt-get update): $(cat "$dir/apt.log")"; rm -rf "$dir"; return 1; }
    fi
    deb=$(ls "$dir"/busybox-static_*_arm64.deb)
    mkdir "$dir/x" "$dir/root"
    dpkg-deb -x "$deb" "$dir/x"
    local r=$dir/root
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,proc,sys,dev,home}
    chmod 1777 "$r/tmp"
    chmod 0755 "$r"
    cp "$dir/x/bin/busybox" "$r/bin/busybox"
    # the applets are the same as the host's busybox-static (one Debian source package)
    for a in $(/bin/busybox --list-full); do
      [ "$a" = bin/busybox ] && continue
      ln -sf /bin/busybox "$r/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' >"$r/etc/group"
    tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$tar.tmp.$$" .
    mv "$tar.tmp.$$" "$tar"
    rm -rf "$dir"
  fi
  echo "$tar"
}

# layout_image LAYOUT TAG ROOTFS_TAR ARCH REF CMD...: an OCI image (umoci) in an OCI layout.
layout_image() {
  local layout=$1 tag=$2 rootfs=$3 arch=$4 ref=$5
  shift 5
  local bundle
  bundle=$(mktemp -d "$CACHE/umoci-bundle.XXXXXX")
  rmdir "$bundle"
  umoci new --image "$layout:$tag"
  umoci unpack --rootless --image "$layout:$tag" "$bundle" >/dev/null
  tar -C "$bundle/rootfs" --no-same-owner -xf "$rootfs" 2>/dev/null || tar -C "$bundle/rootfs" -xf "$rootfs"
  umoci repack --image "$layout:$tag" "$bundle" >/dev/null
  local cfg=(--os linux --architecture "$arch" --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  for c in "$@"; do cfg+=(--config.cmd "$c"); done
  umoci config --image "$layout:$tag" "${cfg[@]}" --history.created_by "cbuild samples/base-images.sh: $ref"
  rm -rf "$bundle"
}

# make_image ROOTFS_TAR NAME:TAG CMD...: an OCI image (umoci) pushed to the registry (skopeo).
make_image() {
  local rootfs=$1 ref=$2
  shift 2
  local work
  work=$(mktemp -d "$CACHE/umoci.XXXXXX")
  local layout=$work/layout tag=${ref##*:}
  umoci init --layout "$layout"
  layout_image "$layout" "$tag" "$rootfs" amd64 "$ref" "$@"
  umoci gc --layout "$layout"
  skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$REG/$ref"
  rm -rf "$work"
  log "pushed $REG/$ref"
}

# make_index NAME:TAG AMD64_TAR ARM64_TAR CMD...: both images under one OCI image index.
make_index() {
  local ref=$1 amd=$2 arm=$3
  shift 3
  local work
  work=$(mktemp -d "$CACHE/umoci.XXXXXX")
  local layout=$work/layout tag=${ref##*:}
  umoci init --layout "$layout"
  layout_image "$layout" amd64 "$amd" amd64 "$ref" "$@"
  layout_image "$layout" arm64 "$arm" arm64 "$ref" "$@"
  umoci gc --layout "$layout"
  python3 - "$layout" "$tag" <<'PY'
import hashlib, json, os, sys
layout, tag = sys.argv[1], sys.argv[2]
top = json.load(open(f"{layout}/index.json"))
byname = {d["annotations"]["org.opencontainers.image.ref.name"]: d for d in top["manifests"]}
ms = []
for arch in ("amd64", "arm64"):
    d = dict(byname[arch])
    d.pop("annotations", None)
    d["platform"] = {"architecture": arch, "os": "linux"}
    ms.append(d)
ix = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": ms}, separators=(",", ":")).encode()
dg = hashlib.sha256(ix).hexdigest()
open(f"{layout}/blobs/sha256/{dg}", "wb").write(ix)
top["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + dg,
                     "size": len(ix), "annotations": {"org.opencontainers.image.ref.name": tag}}]
json.dump(top, open(f"{layout}/index.json", "w"))
PY
  skopeo copy -q --all --dest-tls-verify=false "oci:$layout:$tag" "docker://$REG/$ref"
  rm -rf "$work"
  log "pushed $REG/$ref (linux/amd64, linux/arm64)"
}

# Is NAME:TAG in the registry an index with an arm64 manifest (not the older amd64-only one)?
has_arm64() {
  skopeo inspect --raw --tls-verify=false "docker://$REG/$1" 2>/dev/null | grep -q '"arm64"'
}

busybox_image() {
  has_arm64 busybox:latest || make_index busybox:latest "$(busybox_rootfs)" "$(busybox_arm64_rootfs)" sh
}

mode=${1:-start}
case "$mode" in
  start|start-amd64)
    start_registry
    busybox_image
    if ! skopeo inspect -n --tls-verify=false "docker://$REG/debian:bookworm" >/dev/null 2>&1; then
      make_image "$(debian_rootfs)" debian:bookworm bash
    fi
    [ "$mode" = start-amd64 ] || has_arm64 debian:bookworm || debian_index
    log "ready: $REG/debian:bookworm $REG/busybox:latest"
    ;;
  busybox-only)
    # what the end-to-end tests need: no debootstrap
    start_registry
    busybox_image
    ;;
  debian-rootfs) debian_rootfs ;; # the cached minbase tarball's path (tests/e2e/pkg/deb.sh)
  stop) stop_registry ;;
  status) registry_up && echo "registry on $REG is up" || { echo "registry on $REG is down"; exit 1; } ;;
  *) echo "usage: $0 [start|start-amd64|busybox-only|debian-rootfs|stop|status]" >&2; exit 2 ;;
esac
