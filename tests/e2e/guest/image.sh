#!/bin/bash
# cbuild run IMAGE: an image from the local store (made with umoci, loaded with cbuild load)
# boots with its layers as overlay lowers (the upper layer's whiteout hides a lower file) and
# its ENTRYPOINT, CMD, ENV, WORKDIR and USER, which -e, -u, --entrypoint and arguments override.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
guest_setup
export CBUILD_ACCEL=$(sed -n 's/^accel: *\([a-z]*\).*/\1/p' <<<"$("$CBUILD" --root "$GUEST_ROOT" setup 2>/dev/null)")
export CBUILD_KERNEL=$(sed -n 's/^kernel: *//p' <<<"$("$CBUILD" --root "$GUEST_ROOT" setup 2>/dev/null)")

L=$T/layout
umoci init --layout "$L"
umoci new --image "$L:t"
umoci unpack --image "$L:t" "$T/b1" >/dev/null
mkdir -p "$T/b1/rootfs/bin" "$T/b1/rootfs/etc" "$T/b1/rootfs/data"
cp /bin/busybox "$T/b1/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$T/b1/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' >"$T/b1/rootfs/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$T/b1/rootfs/etc/group"
echo gone >"$T/b1/rootfs/data/gone"
echo one >"$T/b1/rootfs/data/f"
umoci repack --image "$L:t" "$T/b1" >/dev/null
umoci unpack --image "$L:t" "$T/b2" >/dev/null
rm "$T/b2/rootfs/data/gone"
echo two >"$T/b2/rootfs/data/f"
umoci repack --image "$L:t" "$T/b2" >/dev/null
umoci config --image "$L:t" --config.entrypoint /bin/sh --config.entrypoint -c \
    --config.cmd 'echo "$GREETING from $(pwd) as $(id -un)"; ls /data; cat /data/f' \
    --config.env GREETING=hello --config.env PATH=/bin --config.workingdir /srv --config.user alice
skopeo copy -q "oci:$L:t" "oci-archive:$T/img.tar:img:t"
check "cbuild load" "$CBUILD" load -i "$T/img.tar"

out=$("$CBUILD" run img:t 2>&1)
check_eq "image entrypoint, cmd, env, workdir, user and layers" "$(printf 'hello from /srv as alice\nf\ntwo')" "$out"
check "layer images cached in the store" bash -c "ls $CBUILD_ROOT/layers/sha256/*.ext4 >/dev/null"
out=$("$CBUILD" run -e GREETING=bye -u root -w /tmp img:t 'echo "$GREETING $(id -u) $(pwd)"' 2>&1)
check_eq "-e, -u, -w and arguments override the image" "bye 0 /tmp" "$out"
out=$("$CBUILD" run --entrypoint /bin/pwd img:t 2>&1)
check_eq "--entrypoint replaces entrypoint and drops CMD" "/srv" "$out"
out=$("$CBUILD" run no-such-image:latest true 2>&1); rc=$?
check_eq "unknown image exits 125" 125 "$rc"
check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"
