#!/bin/bash
# Builds cbuild's own guest kernel from Debian's linux-source-6.1: `make tinyconfig`, then the
# options of guest/kernel/config-ARCH merged over it. Built once per (config, source version):
# the result is kept under OUT/<key>/ (vmlinux for PVH boot, bzImage, config) and a second call
# with the same inputs only prints the path.
#   guest/kernel/build.sh [OUT]     (default: ${CBUILD_KERNEL_CACHE:-/var/tmp/cbuild-kernel})
# Needs: linux-source-6.1 build-essential flex bison bc libelf-dev (Debian packages).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ARCH=${CBUILD_KERNEL_ARCH:-x86_64}
FRAG=$HERE/config-$ARCH
OUT=${1:-${CBUILD_KERNEL_CACHE:-/var/tmp/cbuild-kernel}}
SRC_TAR=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1 || true)
[ -n "$SRC_TAR" ] || { echo "guest/kernel/build.sh: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.1)" >&2; exit 1; }
SRC_VER=$(dpkg-query -W -f='${Version}' "$(basename "$SRC_TAR" .tar.xz)" 2>/dev/null || stat -c %s "$SRC_TAR")
# The key covers what decides the kernel: the options and the source (bump FORMAT when this
# script changes what it produces).
FORMAT=1
KEY=$( (cat "$FRAG"; echo "$SRC_TAR $SRC_VER $ARCH $FORMAT") | sha256sum | cut -c1-16)
DEST=$OUT/$ARCH-$KEY
if [ -f "$DEST/vmlinux" ] && [ -f "$DEST/bzImage" ]; then echo "$DEST"; exit 0; fi
mkdir -p "$OUT"
exec 9>"$OUT/.lock"; flock 9
if [ -f "$DEST/vmlinux" ]; then echo "$DEST"; exit 0; fi
# A machine-wide cache ($CBUILD_KERNEL_CACHE, e.g. the test suite's) may hold this very build.
SHARED=${CBUILD_KERNEL_CACHE:-}/$ARCH-$KEY
if [ -n "${CBUILD_KERNEL_CACHE:-}" ] && [ "$SHARED" != "$DEST" ] && [ -f "$SHARED/vmlinux" ]; then
  rm -rf "$DEST.tmp"; cp -a "$SHARED" "$DEST.tmp" && mv "$DEST.tmp" "$DEST" && { echo "$DEST"; exit 0; }
fi
WORK=$(mktemp -d "$OUT/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xf "$SRC_TAR"
K=$(echo "$WORK"/linux-source-*)
export KBUILD_BUILD_USER=cbuild KBUILD_BUILD_HOST=cbuild KBUILD_BUILD_TIMESTAMP="1970-01-01"
make -C "$K" -s ARCH=x86_64 tinyconfig >&2
"$K/scripts/kconfig/merge_config.sh" -m -O "$K" "$K/.config" "$FRAG" >/dev/null
make -C "$K" -s ARCH=x86_64 olddefconfig >&2
# Every option the fragment asks for must have survived the merge (a typo or an unmet
# dependency would silently drop it).
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=y' "$FRAG" | while read -r l; do grep -qx "$l" "$K/.config" || echo "$l"; done)
[ -z "$missing" ] || { echo "guest/kernel/build.sh: options not set after the merge:" $missing >&2; exit 1; }
make -C "$K" -s ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >&2
mkdir -p "$DEST.tmp"
cp "$K/vmlinux" "$DEST.tmp/vmlinux"
cp "$K/arch/x86/boot/bzImage" "$DEST.tmp/bzImage"
cp "$K/.config" "$DEST.tmp/config"
echo "$SRC_VER" >"$DEST.tmp/source-version"
echo "cbuild guest kernel, built by guest/kernel/build.sh" >"$DEST.tmp/cbuild-kernel"
strip --strip-debug "$DEST.tmp/vmlinux" 2>/dev/null || true
rm -rf "$DEST"; mv "$DEST.tmp" "$DEST"
echo "$DEST"
