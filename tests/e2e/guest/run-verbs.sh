#!/bin/bash
# cbuild run as docker's: -v (virtio-fs) read, write-back and :ro, -p with a curl from the host,
# -d with ps, logs, stop and rm, name conflicts, a VM whose QEMU died, --ulimit. Real VMs, few boots.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
guest_setup

R=$T/rootfs
make_rootfs "$R"
IMG=$T/root.img
make_image "$R" "$IMG"
cb() { "$CBUILD" --root "$GUEST_ROOT" "$@"; }
# names private to this run: the store root is shared with the other guest tests
N=v$$

# 1. -v: the host directory is read, written back, and nothing else of the host is visible;
#    a missing host directory is created (docker run -v does)
mkdir -p "$T/share"
echo from-host >"$T/share/in.txt"
out=$(run_vm -v "$T/share:/data" -v "$T/made/here:/made" --ext4 "$IMG" \
    sh -c 'cat /data/in.txt; echo from-guest >/data/out.txt; mkdir /data/d; ls /data | tr "\n" " "; ls -a /made | wc -l' 2>&1)
check_eq "-v shares the directory read-write" "$(printf 'from-host\nd in.txt out.txt 2')" "$out"
check_eq "the guest's write is on the host" "from-guest" "$(cat "$T/share/out.txt" 2>&1)"
check "a missing -v host directory is created" test -d "$T/made/here"

# 2. :ro and --mount type=bind,readonly: writes refused, even after a remount attempt
out=$(run_vm -v "$T/share:/ro:ro" --mount "type=bind,source=$T/share,target=/ro2,readonly" --ext4 "$IMG" \
    sh -c 'echo x 2>/dev/null >/ro/w; echo "w=$?"; mount -o remount,rw /ro 2>/dev/null; echo y 2>/dev/null >/ro/w; echo "w2=$?"; echo z 2>/dev/null >/ro2/w; echo "w3=$?"; cat /ro2/in.txt' 2>&1)
check_eq ":ro and readonly bind refuse writes" "$(printf 'w=1\nw2=1\nw3=1\nfrom-host')" "$out"
check_eq "nothing was written through a read-only share" "" "$(ls "$T/share" | grep -x w)"
check_fails "--mount type=bind with a missing source" run_vm --mount "type=bind,source=$T/nope,target=/x" --ext4 "$IMG" true
check_contains "... says docker's message" "bind source path does not exist: $T/nope" "$(run_vm --mount "type=bind,source=$T/nope,target=/x" --ext4 "$IMG" true 2>&1)"

# 2b. --ulimit as docker run's: busybox's ulimit shows them (-1: unlimited); bad values refused
#     with docker's messages and 125 before any VM
out=$(run_vm --ulimit nofile=100:200 --ulimit core=-1 --ext4 "$IMG" sh -c 'ulimit -n; ulimit -Hn; ulimit -c' 2>&1)
check_eq "--ulimit nofile=100:200 --ulimit core=-1: ulimit -n, -Hn, -c" "$(printf '100\n200\nunlimited')" "$out"
out=$(run_vm --ulimit nofile=2:1 --ext4 "$IMG" true 2>&1); rc=$?
check_eq "--ulimit soft above hard exits 125" 125 "$rc"
check_contains "... with docker's text" \
  'invalid argument "nofile=2:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1' "$out"
out=$(run_vm --ulimit bogus=1 --ext4 "$IMG" true 2>&1); rc=$?
check_eq "--ulimit of an unknown type exits 125" 125 "$rc"
check_contains "... with docker's text" "invalid ulimit type: bogus" "$out"
# above the kernel's nr_open (1048576): setrlimit fails in the VM, with runc's words, and the run with it
out=$(run_vm --ulimit nofile=2000000 --ext4 "$IMG" true 2>&1); rc=$?
check "a nofile the kernel refuses fails the run cleanly (exit $rc)" test "$rc" -gt 0 -a "$rc" -lt 128
check_contains "... naming the limit" "error setting rlimit type 7: Operation not permitted" "$out"

# 3. -p and -d: busybox httpd in the VM answers a curl on the host; ps, logs
mkdir -p "$T/www"
echo served-from-vm >"$T/www/index.html"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
id=$(cb run -d --name "$N-web" -p "$port:80" -v "$T/www:/www:ro" --ext4 "$IMG" \
    sh -c 'echo web-up; echo web-err >&2; exec httpd -f -p 80 -h /www' 2>"$T/d.err")
check "run -d prints a 64-hex container ID" grep -qxE '[0-9a-f]{64}' <<<"$id"
got=""
for _ in $(seq 100); do got=$(curl -s -m 2 "http://127.0.0.1:$port/index.html") && [ -n "$got" ] && break; sleep 0.2; done
check_eq "curl on the host reaches httpd in the VM through -p" "served-from-vm" "$got"
hostip=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$hostip" ]; then
    check_fails "the published port is bound on 127.0.0.1 only" curl -s -m 2 "http://$hostip:$port/"
else
    skip "the host has no address but loopback"
fi
ps_out=$(cb ps)
check_eq "ps has docker's columns" "CONTAINER ID   IMAGE" "$(head -1 <<<"$ps_out" | grep -o '^CONTAINER ID   IMAGE')"
row=$(grep " $N-web\$" <<<"$ps_out")
check_contains "ps lists it Up, with its port and command" "127.0.0.1:$port->80/tcp" "$row"
check_contains "... status Up" "   Up " "$row"
check_eq "ps row starts with the short ID" "${id:0:12}" "${row:0:12}"
check_contains "ps -q lists the short ID" "${id:0:12}" "$(cb ps -q)"
cb logs "$N-web" >"$T/l.out" 2>"$T/l.err"
check_eq "logs: stdout and stderr kept apart" "web-up|web-err" "$(cat "$T/l.out")|$(cat "$T/l.err")"
check "the console log is in the store" test -f "$GUEST_ROOT/containers/$id/console.log"

# 4. name conflict, rm of a running container without -f, unknown containers
out=$(cb run -d --name "$N-web" --ext4 "$IMG" true 2>&1); rc=$?
check_eq "a taken name is refused with 125" 125 "$rc"
check_contains "... with docker's text" "Conflict. The container name \"/$N-web\" is already in use by container \"$id\"" "$out"
check_fails "rm of a running container without -f fails" cb rm "$N-web"
check_contains "... with docker's text" "You cannot remove a running container $id. Stop the container before attempting removal or force remove" "$(cb rm "$N-web" 2>&1)"
check_contains "logs of an unknown container" "No such container: $N-none" "$(cb logs "$N-none" 2>&1)"
check_fails "stop of an unknown container fails" cb stop "$N-none"

# 5. stop: SIGTERM reaches the command through vminitd (its trap runs, exit 3); PID 1 without a
#    handler is killed after -t (137)
cb run -d --name "$N-trap" --ext4 "$IMG" sh -c 'trap "echo got-term; exit 3" TERM; echo armed; while :; do sleep 0.2; done' >/dev/null
for _ in $(seq 100); do cb logs "$N-trap" 2>/dev/null | grep -q armed && break; sleep 0.1; done
check_eq "stop prints the name" "$N-trap" "$(cb stop "$N-trap")"
check_contains "the command got SIGTERM" "got-term" "$(cb logs "$N-trap")"
check_contains "ps -a: Exited (3)" "Exited (3)" "$(cb ps -a | grep " $N-trap\$")"
check_eq "ps without -a omits it" "" "$(cb ps | grep " $N-trap\$")"
start=$(date +%s)
cb stop -t 1 "$N-web" >/dev/null
dur=$(( $(date +%s) - start ))
check "stop -t 1 kills a PID 1 that ignores SIGTERM promptly (${dur}s)" test "$dur" -lt 10
check_contains "... Exited (137)" "Exited (137)" "$(cb ps -a | grep " $N-web\$")"
check_fails "the port is closed after stop" curl -s -m 2 "http://127.0.0.1:$port/"

# 6. a VM whose QEMU died shows Exited; rm -f kills a running one; --rm removes itself
id2=$(cb run -d --name "$N-die" --ext4 "$IMG" sleep 1000)
qpid=$(sed -n 's/.*"VmmPid": \([0-9]*\).*/\1/p' "$GUEST_ROOT/containers/$id2/container.json")
check "the VMM pid is recorded" test -n "$qpid"
[ -n "$qpid" ] && kill -KILL "$qpid"
for _ in $(seq 100); do cb ps -a | grep " $N-die\$" | grep -q Exited && break; sleep 0.1; done
check_contains "a VM whose QEMU was killed shows Exited (137)" "Exited (137)" "$(cb ps -a | grep " $N-die\$")"
cb run -d --name "$N-force" --ext4 "$IMG" sleep 1000 >/dev/null
check_eq "rm -f removes a running container" "$N-force" "$(cb rm -f "$N-force")"
check_eq "... it is gone from ps -a" "" "$(cb ps -a | grep " $N-force\$")"
cb run -d --rm --name "$N-auto" --ext4 "$IMG" true >/dev/null
for _ in $(seq 100); do cb ps -a | grep -q " $N-auto\$" || break; sleep 0.1; done
check_eq "run -d --rm removes the container when it exits" "" "$(cb ps -a | grep " $N-auto\$")"
check_eq "rm removes stopped containers" "$(printf '%s\n' "$N-web" "$N-trap" "$N-die")" "$(cb rm "$N-web" "$N-trap" "$N-die")"
check_eq "nothing of ours is left in ps -a" "" "$(cb ps -a | grep " $N-")"

# 7. prune and containers, as docker's: image prune -a keeps an image a stopped container uses,
#    system prune deletes the stopped containers first (a private store: prune is store-wide)
P=$T/prune-root
mkdir -p "$T/pctx"
cp "$R/bin/busybox" "$T/pctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\n' >"$T/pctx/Dockerfile"
pb() { "$CBUILD" --root "$P" "$@"; }
pb build -q -t pr-img "$T/pctx" >/dev/null 2>"$T/pb.err" || cat "$T/pb.err" >&2
pb run -d --name "$N-used" pr-img /bin/busybox true >/dev/null
for _ in $(seq 100); do pb ps -a | grep " $N-used\$" | grep -q Exited && break; sleep 0.1; done
check_eq "a container of a store image ran and exited" "Exited (0)" "$(pb ps -a | grep " $N-used\$" | grep -o 'Exited (0)')"
out=$(pb image prune -a -f 2>&1)
check "image prune -a keeps the image a stopped container uses" pb image inspect pr-img
cid=$(pb ps -a -q --no-trunc)
out=$(pb system prune -f 2>&1)
check_contains "system prune deletes the stopped container" "Deleted Containers:
$cid" "$out"
check_eq "... ps -a is empty after it" "" "$(pb ps -a -q)"
pb image prune -a -f >/dev/null 2>&1
check_fails "with its container gone, image prune -a removes the image" pb image inspect pr-img
check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"
