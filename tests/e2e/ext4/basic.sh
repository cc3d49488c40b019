#!/bin/bash
# cbuild ext4 end to end: the kitchen-sink fixture through tar -> image, judged by e2fsck,
# a loop mount compared with the input, a read-write mount, debugfs; export round trips;
# hostile tars; layers with whiteouts through a real overlayfs mount.
. "$CBUILD_SRC/tests/e2e/lib.sh"
H=$CBUILD_SRC/tests/e2e/ext4
CMP="python3 $H/treecmp.py"

can_mount=0
mkdir -p "$T/mnt" "$T/probe"
truncate -s 16M "$T/probe.img"
if mkfs.ext4 -q "$T/probe.img" 2>/dev/null && mount -o loop,ro "$T/probe.img" "$T/mnt" 2>/dev/null; then
    umount "$T/mnt"
    can_mount=1
fi
cleanup_mounts() {
    for m in "$T"/ov/M "$T"/ov/U "$T"/ov/L "$T"/mnt; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
}
trap 'cleanup_mounts; _tap_done' EXIT

fsck_ok() { # fsck_ok IMG: e2fsck -fn must find nothing
    local out
    if out=$(e2fsck -fn "$1" 2>&1); then ok "e2fsck -fn $(basename "$1")"; else not_ok "e2fsck -fn $(basename "$1")"; diag "$out"; fi
}
mount_cmp() { # mount_cmp IMG EXPECTED_DIR [SUBDIR]: ro loop mount, compare the tree
    local img=$1 exp=$2 sub=${3:-}
    if [ $can_mount = 0 ]; then skip "mount $img: loop mounts not permitted here"; return; fi
    mount -o loop,ro "$img" "$T/mnt"
    local ign=(--ignore lost+found)
    [ -n "$sub" ] && ign=()
    check "mounted $(basename "$img") matches its input" $CMP "$exp" "$T/mnt/$sub" --ns "${ign[@]}"
    umount "$T/mnt"
}

# ---------------------------------------------------------------- fixture
bash "$H/mkfixture.sh" "$T/fx" >/dev/null
tar --xattrs --xattrs-include='*' --acls -S --numeric-owner -C "$T/fx" -cf "$T/fx.tar" .
check "create from the fixture tar" "$CBUILD" ext4 create "$T/fx.img" --tar "$T/fx.tar"
fsck_ok "$T/fx.img"
mount_cmp "$T/fx.img" "$T/fx"
out=$(debugfs -R 'ex /fragmented' "$T/fx.img" 2>/dev/null | sed -n 2p)
check_contains "fragmented file has a two-level extent tree" " 0/ 2 " "$out"
out=$(debugfs -R 'stat /sparse-1G' "$T/fx.img" 2>/dev/null)
check_contains "1 GiB sparse file stays sparse (one 4 KiB block)" "Blockcount: 8" "$out"
out=$(dumpe2fs -h "$T/fx.img" 2>/dev/null)
check_contains "features" "has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum" "$out"
check_contains "clean state" "Filesystem state:         clean" "$out"

# ---------------------------------------------------------------- compressed, stdin, determinism
gzip -c "$T/fx.tar" >"$T/fx.tar.gz"
zstd -q -c "$T/fx.tar" >"$T/fx.tar.zst"
check "create from gzip" "$CBUILD" ext4 create "$T/gz.img" --tar "$T/fx.tar.gz"
check "create from zstd on stdin" sh -c "'$CBUILD' ext4 create '$T/zst.img' --tar - <'$T/fx.tar.zst'"
check "gzip input gives the identical image" cmp "$T/fx.img" "$T/gz.img"
check "zstd stdin input gives the identical image" cmp "$T/fx.img" "$T/zst.img"
SOURCE_DATE_EPOCH=1000000000 "$CBUILD" ext4 create "$T/sde.img" --tar "$T/fx.tar"
out=$(debugfs -R 'stat /size-9MiB' "$T/sde.img" 2>/dev/null | grep ' mtime:')
check_contains "SOURCE_DATE_EPOCH clamps mtimes" "0x3b9aca00:00000000" "$out"

# ---------------------------------------------------------------- read-write mount
check "create with free space and inodes" "$CBUILD" ext4 create "$T/rw.img" --tar "$T/fx.tar" --free-space 64M --free-inodes 3000
if [ $can_mount = 1 ]; then
    mount -o loop "$T/rw.img" "$T/mnt"
    ( set -e
      for i in $(seq 1 2500); do echo "$i" >"$T/mnt/many/new-$i"; done
      head -c 20M /dev/urandom >"$T/mnt/written"
      rm -rf "$T/mnt/deep" "$T/mnt/size-9MiB"
      setfattr -n user.rw -v 1 "$T/mnt/dir" ) && ok "writes on a read-write mount" || not_ok "writes on a read-write mount"
    umount "$T/mnt"
    fsck_ok "$T/rw.img"
else
    skip "read-write mount: loop mounts not permitted here"
fi

# ---------------------------------------------------------------- host directory input
check "create from --dir" "$CBUILD" ext4 create "$T/dir.img" --dir "$T/fx"
fsck_ok "$T/dir.img"
mount_cmp "$T/dir.img" "$T/fx"

# ---------------------------------------------------------------- reader commands
out=$("$CBUILD" ext4 cat "$T/fx.img" "name with spaces/file ✓.txt")
check_eq "ext4 cat" "content" "$out"
check "ext4 cat of a 9 MiB file is byte-exact" sh -c "'$CBUILD' ext4 cat '$T/fx.img' size-9MiB | cmp - '$T/fx/size-9MiB'"
out=$("$CBUILD" ext4 ls "$T/fx.img" dir)
check_contains "ext4 ls shows link targets" "long-link -> target/target/" "$out"
check_contains "ext4 ls shows devices" "1,    3" "$("$CBUILD" ext4 ls "$T/fx.img" /)"
check_fails "ext4 cat of a missing path fails" "$CBUILD" ext4 cat "$T/fx.img" /nope
out=$("$CBUILD" ext4 cat "$T/fx.img" /nope 2>&1)
check_contains "the error names the path" "/nope" "$out"

# ---------------------------------------------------------------- export round trip
check "ext4 export" "$CBUILD" ext4 export "$T/fx.img" "$T/export.tar"
check "export is deterministic" sh -c "'$CBUILD' ext4 export '$T/fx.img' - | cmp - '$T/export.tar'"
check "re-import the export" "$CBUILD" ext4 create "$T/rt.img" --tar "$T/export.tar"
mount_cmp "$T/rt.img" "$T/fx"

# ---------------------------------------------------------------- hostile input
for k in escape replace whiteout badlink linkescape; do python3 "$H/mkhostile.py" "$T/h-$k.tar" "$k"; done
check "escape attempts stay inside the root" "$CBUILD" ext4 create "$T/he.img" --tar "$T/h-escape.tar"
fsck_ok "$T/he.img"
out=$("$CBUILD" ext4 ls -R "$T/he.img")
check_contains ".. is clamped at the root" "etc/escaped-dotdot" "$out"
check_contains "absolute paths land inside" "abs/escaped-absolute" "$out"
check_contains "an absolute symlink parent resolves inside the root" "etc/through-abs-symlink" "$out"
check_contains "a relative symlink parent resolves inside the root" " through-relative-symlink" "$out"
check_eq "an entry replaces a symlink instead of writing through it" \
    "replaces the symlink, never written through it" "$("$CBUILD" ext4 cat "$T/he.img" etc/passwd-link)"
check "duplicates and type changes" "$CBUILD" ext4 create "$T/hr.img" --tar "$T/h-replace.tar"
check_eq "the later duplicate wins" "second" "$("$CBUILD" ext4 cat "$T/hr.img" dup)"
check_eq "a file replaces a directory" "file replaces dir" "$("$CBUILD" ext4 cat "$T/hr.img" d)"
check_eq "a hard link keeps the old content when its target is replaced" "link target" "$("$CBUILD" ext4 cat "$T/hr.img" hl)"
check_fails "hard link to a missing target" "$CBUILD" ext4 create "$T/hb.img" --tar "$T/h-badlink.tar"
out=$("$CBUILD" ext4 create "$T/hb.img" --tar "$T/h-linkescape.tar" 2>&1)
check_contains "hard link out of the root: clear error" "target \`../../etc/passwd\` does not exist" "$out"
check_fails "no image is left after an error" test -e "$T/hb.img"
cp "$T/he.img" "$T/keep.img"
"$CBUILD" ext4 create "$T/keep.img" --tar "$T/h-badlink.tar" 2>/dev/null
check "a failed create leaves an existing image untouched" cmp "$T/he.img" "$T/keep.img"
check_fails "no temporary files are left behind" sh -c "ls '$T' | grep -q '\.tmp-'"
check "whiteouts across layers (flatten)" "$CBUILD" ext4 create "$T/hw.img" --tar "$T/h-whiteout.tar" --tar "$T/h-whiteout.upper.tar"
out=$("$CBUILD" ext4 ls -R "$T/hw.img" | awk '{print $NF}' | sort | tr '\n' ' ')
check_eq "flattened whiteout result" "added keep lost+found opq opq/new " "$out"
head -c 1000 /dev/urandom >"$T/garbage.tar"
check_fails "garbage input fails" "$CBUILD" ext4 create "$T/g.img" --tar "$T/garbage.tar"
check_fails "truncated tar fails" sh -c "head -c 100000 '$T/fx.tar' | '$CBUILD' ext4 create '$T/g.img' --tar -"
check_fails "create needs --tar or --dir" "$CBUILD" ext4 create "$T/g.img"
check_fails "--size too small" "$CBUILD" ext4 create "$T/g.img" --tar "$T/fx.tar" --size 10M

# ---------------------------------------------------------------- overlay layers through a real overlayfs
if [ $can_mount = 1 ]; then
    O=$T/ov
    mkdir -p "$O/L" "$O/U" "$O/M" "$O/updirs/upper" "$O/updirs/work"
    check "overlay layer image" "$CBUILD" ext4 create "$O/lower.img" --overlay --tar "$T/fx.tar"
    fsck_ok "$O/lower.img"
    mount_cmp "$O/lower.img" "$T/fx" upper
    check "empty upper disk" "$CBUILD" ext4 create "$O/upper.img" --dir "$O/updirs" --size 256M
    mount -o loop,ro "$O/lower.img" "$O/L"
    mount -o loop "$O/upper.img" "$O/U"
    mount -t overlay ov -o "lowerdir=$O/L/upper,upperdir=$O/U/upper,workdir=$O/U/work" "$O/M"
    ( set -e; cd "$O/M"
      rm size-0 dir/sub/hardlink-a fifo chr
      rm -rf many; mkdir many; echo new >many/x
      echo added >newfile; chmod 600 size-4096
      rm -rf deep/level-1/level-2
      setfattr -n user.added -v v dir
      mkdir -p newdir/sub; ln -s newfile newlink ) && ok "changes in the overlay" || not_ok "changes in the overlay"
    cp -a "$O/M" "$O/expected"
    umount "$O/M"; umount "$O/U"; umount "$O/L"
    fsck_ok "$O/upper.img"
    check "upper image to OCI layer" "$CBUILD" ext4 export --oci-layer "$O/upper.img" "$O/layer.tar"
    out=$(tar -tf "$O/layer.tar" | sort | tr '\n' ' ')
    check_contains "whiteouts become .wh. entries (each its own, though one inode)" ".wh.chr .wh.fifo .wh.size-0" "$out"
    check_contains "opaque directory marker" "many/.wh..wh..opq" "$out"
    check_contains "nested whiteout" "deep/level-1/.wh.level-2" "$out"
    out=$(tar --xattrs --xattrs-include='*' -tvvf "$O/layer.tar" 2>&1 | grep -c 'trusted.overlay' || true)
    check_eq "no trusted.overlay xattrs in the layer" "0" "$out"
    check "apply base + layer (flatten)" "$CBUILD" ext4 create "$O/flat.img" --tar "$T/fx.tar" --tar "$O/layer.tar"
    fsck_ok "$O/flat.img"
    mount_cmp "$O/flat.img" "$O/expected"
    check "the layer as an overlay image" "$CBUILD" ext4 create "$O/l2.img" --overlay --tar "$O/layer.tar"
    mount -o loop,ro "$O/lower.img" "$O/L"
    mount -o loop,ro "$O/l2.img" "$O/U"
    mount -t overlay ov -o "ro,lowerdir=$O/U/upper:$O/L/upper" "$O/M"
    check "stacked overlay images give the same tree" $CMP "$O/expected" "$O/M" --ns
    umount "$O/M"; umount "$O/U"; umount "$O/L"
else
    skip "overlayfs round trip: loop mounts not permitted here"
fi
