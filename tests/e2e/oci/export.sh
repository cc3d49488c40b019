#!/bin/bash
# cbuild export --format ext4|tar of a two-layer image with whiteouts (made by umoci and
# written into the store by skopeo): e2fsck -fn clean, the loop-mounted tree and the tar
# match umoci's own unpack of the image.
. "$CBUILD_SRC/tests/e2e/lib.sh"
MNT=
trap '[ -n "$MNT" ] && umount "$MNT" 2>/dev/null; _tap_done' EXIT
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
SK="skopeo --insecure-policy"

make_busybox_layout "$T/lay" bb
umoci unpack --image "$T/lay":bb "$T/b2" >/dev/null
rm "$T/b2/rootfs/bin/vi"                       # whiteout
rm -r "$T/b2/rootfs/tmp"                       # directory whiteout
mkdir -p "$T/b2/rootfs/srv/data"
printf 'hello\n' >"$T/b2/rootfs/srv/data/hello.txt"
ln "$T/b2/rootfs/srv/data/hello.txt" "$T/b2/rootfs/srv/hard"
chown 1000:1000 "$T/b2/rootfs/srv/data"
chmod 4755 "$T/b2/rootfs/srv/data/hello.txt"
umoci repack --image "$T/lay":bb2 "$T/b2" >/dev/null
rm -rf "$T/b2"
umoci unpack --image "$T/lay":bb2 "$T/ref" >/dev/null
check_eq "umoci made a two-layer image" 2 "$($SK inspect oci:"$T/lay":bb2 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))')"
mkdir -p "$CBUILD_ROOT"
check "skopeo writes into the store" $SK copy -q oci:"$T/lay":bb2 oci:"$CBUILD_ROOT":localhost/test/bb2:1
check "cbuild resolves the image skopeo tagged" "$CBUILD" inspect localhost/test/bb2:1

tree_listing() { (cd "$1" && find . -printf '%p %y %m %U %G %s %l\n' | sort); }

check "export --format ext4" "$CBUILD" export --format ext4 -o "$T/img.ext4" localhost/test/bb2:1
check "e2fsck -fn is clean" e2fsck -fn "$T/img.ext4"
MNT=$T/mnt
mkdir -p "$MNT"
if mount -o loop,ro "$T/img.ext4" "$MNT" 2>"$T/mount.err"; then
    check "mounted ext4 tree matches umoci unpack (contents)" diff -r --no-dereference "$T/ref/rootfs" "$MNT" -x lost+found
    check_eq "mounted ext4 tree matches umoci unpack (modes, owners, links)" \
        "$(tree_listing "$T/ref/rootfs")" "$(tree_listing "$MNT" | grep -v lost+found)"
    check_eq "hard link kept" "$(stat -c %i "$MNT/srv/hard")" "$(stat -c %i "$MNT/srv/data/hello.txt")"
    check_fails "whiteout applied: bin/vi gone" test -e "$MNT/bin/vi"
    umount "$MNT"
    MNT=
else
    not_ok "loop mount the exported image"; diag "$(cat "$T/mount.err")"
fi
check "export is reproducible" "$CBUILD" export --format ext4 -o "$T/img2.ext4" localhost/test/bb2:1
check "same bytes twice" cmp "$T/img.ext4" "$T/img2.ext4"

check "export --format tar" "$CBUILD" export -o "$T/fs.tar" localhost/test/bb2:1
mkdir -p "$T/fs"
tar -C "$T/fs" --same-owner -xpf "$T/fs.tar"
check "tar tree matches umoci unpack (contents)" diff -r --no-dereference "$T/ref/rootfs" "$T/fs"
check_eq "tar tree matches umoci unpack (modes, owners, links)" "$(tree_listing "$T/ref/rootfs")" "$(tree_listing "$T/fs")"
out=$("$CBUILD" export --format ext4 localhost/test/bb2:1 2>&1)
check_contains "ext4 export without -o is a usage error" "needs -o FILE" "$out"
out=$("$CBUILD" export --format squashfs -o x localhost/test/bb2:1 2>&1)
check_contains "unknown format named" "squashfs" "$out"
