#!/bin/bash
# Bootable ext4: `-o type=ext4,boot=true` and `cbuild export --format ext4 --boot` write an
# image that plain QEMU (not `cbuild run`) boots with our kernel and init=/sbin/cbuild-init: the
# image's command runs with its env, user, working directory and hostname, its output is on
# the console, its exit status is the console's last line and in /etc/cbuild-init.status, the
# VM ends by itself and the image stays clean (e2fsck -fn).
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
case "${CBUILD_KERNEL:-}" in
  */bzImage) [ -f "$(dirname "$CBUILD_KERNEL")/cbuild-kernel" ] || { skip "CBUILD_KERNEL is not cbuild's own kernel"; exit 0; } ;;
  *) skip "CBUILD_KERNEL does not name cbuild's own kernel (tests/run.sh builds it)"; exit 0 ;;
esac
check "kernel export" "$CBUILD" kernel export "$T/k"

# boot IMG: the microvm flags of VM-NOTES.md; console to $T/console, QEMU's status in $qrc
khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2*1000+0.5; exit}' /proc/cpuinfo)
boot() {
    timeout 180 qemu-system-x86_64 -M microvm,x-option-roms=off,acpi=off -accel tcg -cpu max -m 256 -smp 1 \
        -nodefaults -no-user-config -display none -no-reboot -serial stdio -kernel "$T/k/vmlinux" \
        -drive file="$1",if=none,id=d,format=raw -device virtio-blk-device,drive=d \
        -append "root=/dev/vda rw init=/sbin/cbuild-init console=ttyS0 quiet panic=-1 tsc_early_khz=$khz" \
        </dev/null >"$T/console" 2>&1
    qrc=$?
}

mkdir -p "$T/ctx/rootfs/bin" "$T/ctx/rootfs/etc" "$T/ctx/rootfs/home/alice"
cp /bin/busybox "$T/ctx/rootfs/bin/"
for a in sh echo env id pwd hostname cat; do ln -s busybox "$T/ctx/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' >"$T/ctx/rootfs/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$T/ctx/rootfs/etc/group"
dockerfile() { # CMD's exit status
    cat >"$T/ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs /
ENV GREETING="hello there"
USER alice
WORKDIR /work/dir
ENTRYPOINT ["/bin/sh", "-c", "echo \"\$GREETING from \$(id -u):\$(id -g) in \$(pwd) on \$(hostname) home \$HOME\"; echo stderr-line >&2; sleep 30 & exit \$1", "sh"]
CMD ["$1"]
EOF
}

dockerfile 3
check "build -o type=ext4,boot=true" "$CBUILD" build -q -t bootme -o "type=ext4,dest=$T/app.img,boot=true" "$T/ctx"
check_contains "vminitd is /sbin/cbuild-init" "cbuild-init" "$("$CBUILD" ext4 ls "$T/app.img" /sbin 2>&1)"
conf=$("$CBUILD" ext4 cat "$T/app.img" /etc/cbuild-init.conf 2>&1 | tr '\0' '\n')
check_contains "config: entrypoint and cmd in order" $'arg=sh\narg=3' "$conf"
check_contains "config: env" "env=GREETING=hello there" "$conf"
check_contains "config: user and workdir" $'user=alice\ncwd=/work/dir' "$conf"
check "built image passes e2fsck -fn" e2fsck -fn "$T/app.img"
boot "$T/app.img"
check_eq "plain QEMU ends by itself (the guest resets)" 0 "$qrc"
out=$(cat "$T/console")
check_contains "the command ran with env, user, workdir, hostname" \
    "hello there from 1000:1000 in /work/dir on cbuild home /home/alice" "$out"
check_contains "stderr reaches the console" "stderr-line" "$out"
check_eq "exit status is the console's last cbuild-init line" "cbuild-init: exit status 3" \
    "$(grep -a '^cbuild-init:' "$T/console" | tail -1 | tr -d '\r')"
check_eq "exit status in /etc/cbuild-init.status" 3 "$("$CBUILD" ext4 cat "$T/app.img" /etc/cbuild-init.status 2>&1)"
check "booted image passes e2fsck -fn (left clean)" e2fsck -fn "$T/app.img"
[ "$qrc" = 0 ] || diag "$out"

dockerfile 0
check "build the exit-0 image" "$CBUILD" build -q -t bootok "$T/ctx"
check "cbuild export --format ext4 --boot" "$CBUILD" export --format ext4 --boot -o "$T/ok.img" bootok
boot "$T/ok.img"
check_eq "export --boot: QEMU ends by itself" 0 "$qrc"
check_contains "export --boot: the command ran" "hello there from 1000:1000" "$(cat "$T/console")"
check_eq "export --boot: exit status 0 on the console" "cbuild-init: exit status 0" \
    "$(grep -a '^cbuild-init:' "$T/console" | tail -1 | tr -d '\r')"
check_eq "export --boot: exit status 0 in the image" 0 "$("$CBUILD" ext4 cat "$T/ok.img" /etc/cbuild-init.status 2>&1)"
check "export --boot image passes e2fsck -fn" e2fsck -fn "$T/ok.img"

check_fails "--boot needs --format ext4" "$CBUILD" export --boot -o "$T/x.tar" bootok
check_contains "--boot without ext4: message" "--boot needs --format ext4" \
    "$("$CBUILD" export --boot -o "$T/x.tar" bootok 2>&1)"
check_fails "boot=true needs type=ext4" "$CBUILD" build -q -o "type=tar,dest=$T/x.tar,boot=true" "$T/ctx"
check_contains "boot=true on a tar: message" "boot=true needs type=ext4" \
    "$("$CBUILD" build -q -o "type=tar,dest=$T/x.tar,boot=true" "$T/ctx" 2>&1)"
printf 'FROM scratch\nCOPY rootfs /\n' >"$T/ctx/Dockerfile"
check_contains "an image without a command cannot be made bootable" "needs a command" \
    "$("$CBUILD" build -q -o "type=ext4,dest=$T/none.img,boot=true" "$T/ctx" 2>&1)"
check_eq "nothing written for it" no "$([ -e "$T/none.img" ] && echo yes || echo no)"
