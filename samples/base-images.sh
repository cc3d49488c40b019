#!/bin/bash
# Base images for the samples, made on this machine and served from a local registry:
#   127.0.0.1:5000/debian:bookworm   debootstrap --variant=minbase bookworm
#   127.0.0.1:5000/busybox:latest    busybox-static with its applet links
# Usage: samples/base-images.sh [start|busybox-only|debian-rootfs|stop|status]   (default: start)
# Environment: CBUILD_REGISTRY (default 127.0.0.1:5000), CBUILD_REGISTRY_DIR (the registry's
# config, data and pid; default under the cache), CBUILD_TEST_CACHE (default
# /var/tmp/cbuild-test-cache: rootfs tarballs are built once and kept there),
# DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Needs: debootstrap, busybox-static, umoci, skopeo, docker-registry (Debian packages).
set -euo pipefail

REG=${CBUILD_REGISTRY:-127.0.0.1:5000}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
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

# make_image ROOTFS_TAR NAME:TAG CMD...: an OCI image (umoci) pushed to the registry (skopeo).
make_image() {
  local rootfs=$1 ref=$2
  shift 2
  local work
  work=$(mktemp -d "$CACHE/umoci.XXXXXX")
  local layout=$work/layout tag=${ref##*:}
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --rootless --image "$layout:$tag" "$work/bundle" >/dev/null
  tar -C "$work/bundle/rootfs" --no-same-owner -xf "$rootfs" 2>/dev/null || tar -C "$work/bundle/rootfs" -xf "$rootfs"
  umoci repack --image "$layout:$tag" "$work/bundle" >/dev/null
  local cfg=(--os linux --architecture amd64 --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  for c in "$@"; do cfg+=(--config.cmd "$c"); done
  umoci config --image "$layout:$tag" "${cfg[@]}" --history.created_by "cbuild samples/base-images.sh: $ref"
  umoci gc --layout "$layout"
  skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$REG/$ref"
  rm -rf "$work"
  log "pushed $REG/$ref"
}

case "${1:-start}" in
  start)
    start_registry
    if ! skopeo inspect -n --tls-verify=false "docker://$REG/busybox:latest" >/dev/null 2>&1; then
      make_image "$(busybox_rootfs)" busybox:latest sh
    fi
    if ! skopeo inspect -n --tls-verify=false "docker://$REG/debian:bookworm" >/dev/null 2>&1; then
      make_image "$(debian_rootfs)" debian:bookworm bash
    fi
    log "ready: $REG/debian:bookworm $REG/busybox:latest"
    ;;
  busybox-only)
    # what the end-to-end tests need: no debootstrap
    start_registry
    skopeo inspect -n --tls-verify=false "docker://$REG/busybox:latest" >/dev/null 2>&1 ||
      make_image "$(busybox_rootfs)" busybox:latest sh
    ;;
  debian-rootfs) debian_rootfs ;; # the cached minbase tarball's path (tests/e2e/pkg/deb.sh)
  stop) stop_registry ;;
  status) registry_up && echo "registry on $REG is up" || { echo "registry on $REG is down"; exit 1; } ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
