#!/bin/bash
# The heavy inputs, kept to one test: a Debian minbase rootfs (debootstrap, cached), 70,000
# files in one directory, a 5 GiB sparse file and a very deep tree; judged by e2fsck and a
# loop mount compared with the input.
. "$CBUILD_SRC/tests/e2e/lib.sh"
H=$CBUILD_SRC/tests/e2e/ext4
CMP="python3 $H/treecmp.py"
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
DEB=$CACHE/ext4-debian-bookworm-minbase.tar
mkdir -p "$T/mnt" "$CACHE"
trap 'mountpoint -q "$T/mnt" && umount "$T/mnt"; _tap_done' EXIT

fsck_ok() {
    local out
    if out=$(e2fsck -fn "$1" 2>&1); then ok "e2fsck -fn $(basename "$1")"; else not_ok "e2fsck -fn $(basename "$1")"; diag "$out"; fi
}
can_mount=1
truncate -s 16M "$T/probe.img"; mkfs.ext4 -q "$T/probe.img"
mount -o loop,ro "$T/probe.img" "$T/mnt" 2>/dev/null && umount "$T/mnt" || can_mount=0
mount_cmp() {
    if [ $can_mount = 0 ]; then skip "mount: loop mounts not permitted here"; return; fi
    mount -o loop,ro "$1" "$T/mnt"
    check "mounted $(basename "$1") matches its input" $CMP "$2" "$T/mnt" --ignore lost+found "${@:3}"
    umount "$T/mnt"
}

# ---------------------------------------------------------------- Debian minbase
if [ ! -s "$DEB" ]; then
    rm -rf "$CACHE/ext4-debootstrap-root"
    if debootstrap --variant=minbase bookworm "$CACHE/ext4-debootstrap-root" http://deb.debian.org/debian >"$CACHE/ext4-debootstrap.log" 2>&1; then
        tar --numeric-owner --xattrs --xattrs-include='*' -C "$CACHE/ext4-debootstrap-root" -cf "$DEB.tmp" . && mv "$DEB.tmp" "$DEB"
    fi
    rm -rf "$CACHE/ext4-debootstrap-root"
fi
if [ -s "$DEB" ]; then
    check "Debian minbase tar -> image" "$CBUILD" ext4 create "$T/deb.img" --tar "$DEB"
    fsck_ok "$T/deb.img"
    mkdir "$T/deb"
    tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$DEB" -C "$T/deb"
    mount_cmp "$T/deb.img" "$T/deb"
    rm -rf "$T/deb"
else
    not_ok "Debian minbase rootfs: debootstrap failed (see $CACHE/ext4-debootstrap.log)"
fi

# ---------------------------------------------------------------- Debian packages' data tars as layers
mkdir -p "$T/debs" "$T/pkgx"
layers=()
for pkg in tzdata e2fsprogs busybox-static; do
    deb=$(ls /var/cache/apt/archives/"${pkg}"_*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then
        (cd "$T/debs" && apt-get download "$pkg" >/dev/null 2>&1)
        deb=$(ls "$T/debs/${pkg}"_*.deb 2>/dev/null | head -1)
    fi
    [ -n "$deb" ] || continue
    member=$(ar t "$deb" | grep '^data\.tar')
    ar p "$deb" "$member" >"$T/debs/$pkg-$member"
    layers+=(--tar "$T/debs/$pkg-$member")
    dpkg-deb -x "$deb" "$T/pkgx"
done
if [ ${#layers[@]} -ge 4 ]; then
    check "Debian packages' data tars (xz/zstd) applied as layers" "$CBUILD" ext4 create "$T/pkgs.img" "${layers[@]}"
    fsck_ok "$T/pkgs.img"
    mount_cmp "$T/pkgs.img" "$T/pkgx"
else
    not_ok "Debian packages' data tars: could not find or download the packages"
fi
rm -rf "$T/debs" "$T/pkgx"

# ---------------------------------------------------------------- 70,000 files in one directory
mkdir -p "$T/big/d"
python3 -c "
import os
for i in range(70000): open('$T/big/d/file-%06d-with-a-name' % i, 'w').close()
"
tar -C "$T/big" -cf "$T/big.tar" .
check "70,000 entries in one directory" "$CBUILD" ext4 create "$T/big.img" --tar "$T/big.tar"
fsck_ok "$T/big.img"
out=$(debugfs -R 'htree_dump /d' "$T/big.img" 2>/dev/null | grep -m1 'Indirect levels')
check_contains "a two-level htree" "Indirect levels: 1" "$out"
mount_cmp "$T/big.img" "$T/big"
rm -rf "$T/big" "$T/big.tar"

# ---------------------------------------------------------------- 5 GiB sparse file, deep tree
mkdir -p "$T/sp"
truncate -s 5G "$T/sp/sparse-5G"
printf 'middle' | dd of="$T/sp/sparse-5G" bs=1 seek=$((3 * 1024 * 1024 * 1024)) conv=notrunc status=none
printf 'end' | dd of="$T/sp/sparse-5G" bs=1 seek=$((5 * 1024 * 1024 * 1024 - 3)) conv=notrunc status=none
p=$T/sp/deep
for i in $(seq 1 300); do p=$p/d$i; done
mkdir -p "$p"
echo bottom >"$p/file"
tar -S --posix -C "$T/sp" -cf "$T/sp.tar" .
check "5 GiB sparse file and a 300-level tree" "$CBUILD" ext4 create "$T/sp.img" --tar "$T/sp.tar"
fsck_ok "$T/sp.img"
size=$(stat -c %s "$T/sp.img")
check "the image stays small (got $size bytes)" test "$size" -lt $((64 * 1024 * 1024))
out=$(debugfs -R 'stat /sparse-5G' "$T/sp.img" 2>/dev/null | grep -m1 -o 'Size: [0-9]*')
check_eq "file size above 4 GiB" "Size: 5368709120" "$out"
mount_cmp "$T/sp.img" "$T/sp" --ns
check "export the 5 GiB sparse file" "$CBUILD" ext4 export "$T/sp.img" "$T/spx.tar"
size=$(stat -c %s "$T/spx.tar")
check "holes are exported as a sparse map (tar is $size bytes)" test "$size" -lt $((16 * 1024 * 1024))
check "re-import of the sparse export" "$CBUILD" ext4 create "$T/sp2.img" --tar "$T/spx.tar"
mount_cmp "$T/sp2.img" "$T/sp" --ns
