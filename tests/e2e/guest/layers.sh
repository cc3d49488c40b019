#!/bin/bash
# The upper image after a run is the step's layer: changes, whiteouts and opaque dirs land
# in upper/ exactly, the image passes e2fsck, mount-point stubs leave no trace; 130 lower
# layers (more than Docker's 127) stack in order; a full upper disk is reported.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
guest_setup

R=$T/rootfs
make_rootfs "$R"
mkdir -p "$R/data/gone" "$R/data/keep" "$R/data/emptied"
echo old >"$R/data/file"
echo x >"$R/data/gone/a"
echo b >"$R/data/keep/b"
echo c >"$R/data/keep/c"
echo e >"$R/data/emptied/e"
rm -f "$R/etc/hosts" "$R/etc/resolv.conf" "$R/etc/hostname" # stubs must not leak into the layer
IMG=$T/root.img
make_image "$R" "$IMG"
UP=$T/upper.img
make_upper "$UP"

out=$(run_vm --ext4 "$IMG" --upper "$UP" sh -c '
    echo new >/data/file
    echo hi >/data/newfile
    rm -r /data/gone; mkdir /data/gone; echo q >/data/gone/q
    rm /data/keep/b
    rm /data/emptied/e
    chmod 700 /data/keep/c
    ln -s /target /data/sym
    mkdir -p /data/deep/er; echo d >/data/deep/er/f
    echo tmp >/tmp/in-tmp' 2>&1)
check_eq "run with an upper image succeeds" "" "$out"
check "upper passes e2fsck -fn" e2fsck -fn "$UP"
dfs() { debugfs -R "$1" "$UP" 2>/dev/null; }
check_eq "changed file content" "new" "$(dfs 'cat /upper/data/file')"
check_eq "new file content" "hi" "$(dfs 'cat /upper/data/newfile')"
check_eq "new file in a new dir" "d" "$(dfs 'cat /upper/data/deep/er/f')"
st=$(dfs 'stat /upper/data/keep/b')
check_contains "deleted file is a whiteout (char device)" "Type: character special" "$st"
check_contains "whiteout is 0:0" "Device major/minor number: 00:00" "$st"
check_contains "re-created dir is opaque" 'trusted.overlay.opaque (1) = "y"' "$(dfs 'ea_list /upper/data/gone')"
check_eq "re-created dir holds only the new file" "q" "$(dfs 'ls /upper/data/gone' | tr -s ' \n' '\n' | grep -v '^\.\.\?$' | grep -v '^$' | sed 's/([0-9]*)//' | grep -o '[a-z]*' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_contains "emptied dir holds a whiteout, is not opaque" "Type: character special" "$(dfs 'stat /upper/data/emptied/e')"
check_eq "emptied dir is not opaque" "" "$(dfs 'ea_list /upper/data/emptied' | grep opaque)"
check_contains "chmod copies the file up with the new mode" "Mode:  0700" "$(dfs 'stat /upper/data/keep/c')"
check_contains "symlink" 'Fast link dest: "/target"' "$(dfs 'stat /upper/data/sym')"
top=$(dfs 'ls /upper' | grep -o '[a-z+_.-]*' | grep -v '^\.' | sort | tr '\n' ' ')
# /tmp exists in this image, so writes there belong to the layer (as with Docker)
check_eq "layer holds only the changed tree (no /etc stub parent, /proc, /sys, /dev)" "data tmp " "$top"
check_eq "a file written to the image's /tmp is in the layer" "tmp" "$(dfs 'cat /upper/tmp/in-tmp')"
check_eq "overlay work dir removed" "" "$(dfs 'ls /' | grep -ow work)"
check_eq "the lower image is unchanged" "old" "$(debugfs -R 'cat /data/file' "$IMG" 2>/dev/null)"
if "$CBUILD" ext4 ls "$UP" /upper/data >/dev/null 2>&1; then
    check_contains "cbuild's ext4 reader sees the whiteout" "b" "$("$CBUILD" ext4 ls "$UP" /upper/data/keep 2>&1)"
else
    skip "cbuild ext4 ls not in this build"
fi

# RUN --mount kinds: tmpfs, read-write ext4 (cache), read-only ext4 with a sub-path, secret;
# their mount points must not end up in the layer
mkdir -p "$T/cachedir/sub"; echo inside >"$T/cachedir/sub/f"
mke2fs -q -t ext4 -d "$T/cachedir" "$T/cache.img" 32M >/dev/null 2>&1
cp "$T/cache.img" "$T/bind.img"
printf 's3cret' >"$T/secret"
UP2=$T/upper2.img
make_upper "$UP2"
out=$(run_vm --ext4 "$IMG" --upper "$UP2" --tmpfs /scratch:size=1m,mode=700 \
    --mount type=ext4,source="$T/cache.img",target=/var/cache/x \
    --mount type=ext4,source="$T/bind.img",target=/src,readonly,subpath=/sub \
    --mount type=secret,source="$T/secret",target=/run/secrets/tok,mode=0440,uid=1000 \
    sh -c 'df -k /scratch | awk "NR==2 {print \$2}"; stat -c %a /scratch; echo persisted >/var/cache/x/new;
           cat /src/f; touch /src/x 2>/dev/null || echo ro; stat -c "%a %u" /run/secrets/tok; cat /run/secrets/tok' 2>&1)
check_eq "tmpfs size/mode, cache write, ro bind with sub-path, secret" "$(printf '1024\n700\ninside\nro\n440 1000\ns3cret')" "$out"
check_eq "cache mount write persists in its image" "persisted" "$(debugfs -R 'cat /new' "$T/cache.img" 2>/dev/null)"
check "cache image passes e2fsck" e2fsck -fn "$T/cache.img"
check_eq "mount points leave nothing in the layer" "" "$(debugfs -R 'ls /upper' "$UP2" 2>/dev/null | grep -o '[a-z]*' | sort -u | tr '\n' ' ')"

# 130 layers, each adding /layers/N and overwriting /over
L=$T/layers
mkdir -p "$L"
args=(--ext4 "$IMG")
for i in $(seq 0 129); do
    mkdir -p "$L/d$i/layers"
    echo "$i" >"$L/d$i/layers/$i"
    echo "$i" >"$L/d$i/over"
    make_image "$L/d$i" "$L/$i.img"
    args+=(--ext4 "$L/$i.img")
done
out=$(run_vm "${args[@]}" sh -c 'ls /layers | wc -l; cat /over; cat /data/file' 2>&1)
check_eq "131 lower layers stack in order" "$(printf '130\n129\nold')" "$out"

# booted cold (no template), cbuild's kernel runs without ACPI, where microvm has only 8
# virtio-mmio transports: 10 lowers and an upper go behind the SCSI controller
UP3=$T/up3.img
rm -f "$UP3"; mke2fs -q -t ext4 "$UP3" 64M >/dev/null 2>&1
args=(--ext4 "$IMG")
for i in $(seq 0 9); do args+=(--ext4 "$L/$i.img"); done
out=$(CBUILD_VM_TEMPLATE=0 run_vm "${args[@]}" --upper "$UP3" sh -c 'cat /over; echo written >/cold' 2>&1)
check_eq "cold boot with more disks than microvm's transports: 10 lowers and an upper" "9" "$out"
check_eq "the upper behind the SCSI controller took the write" "written" "$(debugfs -R 'cat /upper/cold' "$UP3" 2>/dev/null)"

# a full upper disk is reported
SMALL=$T/small.img
rm -f "$SMALL"; mke2fs -q -t ext4 "$SMALL" 8M >/dev/null 2>&1
out=$(run_vm --ext4 "$IMG" --upper "$SMALL" sh -c 'dd if=/dev/zero of=/fill bs=1M count=32 2>/dev/null; exit 0' 2>&1); rc=$?
check_contains "full upper disk reported" "no space left on device" "$out"
check "full upper still passes e2fsck" e2fsck -fn "$SMALL"
check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"
