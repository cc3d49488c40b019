#!/bin/bash
# cbuild run on real QEMU: stdio, exit codes, env/workdir/user, PID namespace, network,
# errors, timeouts, temp files. Each VM boot takes ~2 s under TCG, so checks are batched.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
guest_setup

R=$T/rootfs
make_rootfs "$R"
head -c 10485760 /dev/urandom >"$R/big.bin"
# a program that really faults (a signal sent to PID 1 would be ignored, as in Docker)
printf 'int main(void){ volatile int *p = 0; return *p; }\n' >"$T/segv.c"
musl-gcc -static -O0 -o "$R/bin/segv" "$T/segv.c"
IMG=$T/root.img
make_image "$R" "$IMG"

# 1. stdout and stderr separate and exact (10 MB binary on stdout), exit code, PID 1
run_vm --ext4 "$IMG" sh -c 'cat /big.bin; echo "pid=$$" >&2; printf "no newline" >&2; exit 7' \
    >"$T/out" 2>"$T/err"
rc=$?
check_eq "exit code of the command" 7 "$rc"
check_eq "10 MB of binary stdout arrive intact" "$(sha256sum <"$R/big.bin")" "$(sha256sum <"$T/out")"
check_eq "stderr separate and exact; the command is PID 1" "$(printf 'pid=1\nno newline')" "$(cat "$T/err")"

# 2. env, workdir (created), user with supplementary groups, HOME, hosts/resolv, no vminitd visible
out=$(run_vm --ext4 "$IMG" -u alice -w /work/new -e FOO=bar -e 'SPACED=a b' --hostname box \
    sh -c 'id; pwd; echo "$FOO|$SPACED|$HOME|$HOSTNAME"; hostname; grep box /etc/hosts; cat /etc/resolv.conf; ps -o pid,comm | awk "\$1 == 1 {print \$2}"; ps -o comm | grep -c init' 2>&1)
check_eq "user, groups, workdir, env, hostname; vminitd invisible" "$(printf 'uid=1000(alice) gid=1000(alice) groups=10(wheel),29(audio)\n/work/new\nbar|a b|/home/alice|box\nbox\n10.0.2.15\tbox\nnameserver 10.0.2.3\nsh\n0')" "$out"

# 3. uid:group form, --network=none
out=$(run_vm --ext4 "$IMG" --network none -u 1000:staff --cpus 2 --memory 512m --add-host db:10.9.8.7 \
    sh -c 'id; ls /sys/class/net; grep -c 10.0.2.15 /etc/hosts; grep db /etc/hosts; nproc; awk "/MemTotal/ {print (\$2 > 400000 && \$2 <= 524288)}" /proc/meminfo' 2>&1)
check_eq "uid:group, --network=none has only lo, --add-host, --cpus, --memory" \
    "$(printf 'uid=1000(alice) gid=50(staff) groups=10(wheel),29(audio)\nlo\n0\n10.9.8.7\tdb\n2\n1')" "$out"

# 4. the default network reaches the Debian mirror over HTTP
out=$(run_vm --ext4 "$IMG" wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release 2>&1 | head -5)
check_contains "guest fetches from deb.debian.org" "Origin: Debian" "$out"

# 5. errors: missing command, segfault, unknown user, exit status through stdin
out=$(run_vm --ext4 "$IMG" no-such-cmd 2>&1); rc=$?
check_eq "missing command exits 127" 127 "$rc"
check_contains "missing command is named" 'exec: "no-such-cmd": executable file not found in $PATH' "$out"
run_vm --ext4 "$IMG" /bin/segv >/dev/null 2>&1; rc=$?
check_eq "segfaulting command exits 139 (128+SIGSEGV)" 139 "$rc"
out=$(run_vm --ext4 "$IMG" -u bob true 2>&1); rc=$?
check_contains "unknown user reported" "unable to find user bob" "$out"
out=$( (printf 'line1\nline2\n'; head -c 20000000 /dev/zero) | run_vm -i --ext4 "$IMG" \
    sh -c 'read a; read b; echo "$a $b"; sleep 2; wc -c; read x || echo eof' 2>&1)
check_eq "20 MB of stdin forwarded with -i (backpressure), then EOF" "$(printf 'line1 line2\n20000000\neof')" "$out"

# 6. a hanging command is killed by the timeout
start=$(date +%s)
out=$(run_vm --timeout 4 --ext4 "$IMG" sleep 1000 2>&1); rc=$?
dur=$(( $(date +%s) - start ))
check_contains "timeout reported" "timed out after 4 s" "$out"
check "timeout kills the VM promptly (${dur}s)" test "$dur" -lt 30

# 7. Ctrl-C: the first SIGINT goes to the command (PID 1 ignores it, as in Docker), the second kills the VM
"$CBUILD" --root "$GUEST_ROOT" run --ext4 "$IMG" sh -c 'echo started; exec sleep 1000' >"$T/int.out" 2>"$T/int.err" &
pid=$!
for _ in $(seq 600); do grep -q started "$T/int.out" && break; sleep 0.1; done
qpid=$(pgrep -P $pid qemu-system)
kill -INT $pid; sleep 1
check "first Ctrl-C is forwarded, the VM keeps running" kill -0 $pid
kill -INT $pid
wait $pid; rc=$?
check_contains "second Ctrl-C kills the VM" "interrupted" "$(cat "$T/int.err")"
check "no QEMU left running" bash -c "case \"\$(ps -o stat= -p $qpid)\" in ''|Z*) exit 0;; *) exit 1;; esac"

# 8. -it through a pty
if command -v script >/dev/null; then
    out=$( (sleep 4; printf 'tty; echo "[$((6*7))]"; exit 5\r'; sleep 3) | script -qfec "$CBUILD --root $GUEST_ROOT run -it --ext4 $IMG sh" /dev/null 2>&1)
    rc=$?
    check_contains "-it gives a terminal" "/dev/pts/0" "$out"
    check_eq "-it output has no stray errors" "" "$(grep -i -e "not a tty" -e error <<<"$out")"
    check_contains "-it runs typed commands" "[42]" "$out"
    check_eq "-it exit code" 5 "$rc"
else
    skip "script(1) missing"
fi

check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"

# a cbuild killed with SIGKILL cannot clean up: QEMU dies with it, the next run sweeps its dir
"$CBUILD" --root "$GUEST_ROOT" run --ext4 "$IMG" sh -c 'echo started; exec sleep 1000' >"$T/kill.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q started "$T/kill.out" && break; sleep 0.1; done
qpid=$(pgrep -P $pid qemu-system)
kill -KILL $pid; wait $pid 2>/dev/null
sleep 1
# (a dead QEMU may linger as a zombie until PID 1 of this machine reaps it)
check "QEMU dies with a killed cbuild" bash -c "case \"\$(ps -o stat= -p $qpid)\" in ''|Z*) exit 0;; *) exit 1;; esac"
touch -d '-1 minute' "$TMPDIR"/cbuild-vm-*
run_vm --ext4 "$IMG" true
check_eq "the next run removes the dead run's temp dir" "" "$(ls -A "$TMPDIR")"
