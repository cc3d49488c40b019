#!/bin/bash
# Installs everything cbuild needs to build and test on Debian 12 (run as root or with sudo).
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential meson ninja-build pkg-config clang
  libssl-dev libcurl4-openssl-dev libarchive-dev libzstd-dev zlib1g-dev libjansson-dev libyaml-dev libcriterion-dev
  musl-tools kmod cpio qemu-system-x86 qemu-utils e2fsprogs passt
  docker-registry skopeo umoci buildah debootstrap busybox-static apache2-utils openssl
  docker.io podman containerd runc
  linux-source-6.1 flex bison libelf-dev
  qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static binfmt-support
  debhelper lintian man-db zsh bash-completion git openssh-client openssh-server
  curl wget ca-certificates util-linux procps python3 hyperfine attr acl xz-utils zstd bzip2 jq file time tmux gzip bc binutils
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# arm64 VMs: their kernel and the arm64 busybox test image are Debian arm64 packages (apt-get download)
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
# Always refresh the lists: the first VM run installs the guest kernel with apt-get download.
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
