#!/bin/bash
# The RUN network boundary (issue 14): with the default network (passt --no-map-gw) a VM
# cannot reach a service on the host's 127.0.0.1 by any address but still resolves and
# fetches from the Debian mirror; `cbuild run --network host` and, for builds,
# `--allow network.host` + `RUN --network=host` reach it through 10.0.2.2 (slirp).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
need passt python3 busybox
guest_setup

# A host-loopback-only service that answers every connection with a known string.
python3 -c '
import socket, sys, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept(); c.sendall(b"loopback-secret-4711\n"); c.close()
' "$T/port" &
SRV=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")
trap 'kill $SRV 2>/dev/null; _builder_done' EXIT
check_eq "the host service answers on 127.0.0.1:$PORT" loopback-secret-4711 "$(busybox nc -w 3 127.0.0.1 "$PORT" </dev/null)"

R=$T/rootfs
make_rootfs "$R"
IMG=$T/root.img
make_image "$R" "$IMG"
HOST_IPS=$(hostname -I 2>/dev/null)
# every address a guest could try: slirp's gateway and DNS, the host's own addresses, its loopback
ADDRS="10.0.2.2 10.0.2.3 10.0.2.1 $HOST_IPS 127.0.0.1"
PROBE="for a in $ADDRS; do nc -w 3 \$a $PORT </dev/null 2>/dev/null; done; echo probed"

# (a) default network: the host's loopback is unreachable
out=$(run_vm --ext4 "$IMG" sh -c "$PROBE" 2>&1)
check_eq "default network: no address reaches the host's 127.0.0.1" probed "$out"
# (c) outbound still works: DNS through passt and HTTP to the Debian mirror
out=$(run_vm --timeout 300 --ext4 "$IMG" sh -c 'nslookup deb.debian.org >/dev/null 2>&1 && echo resolved; wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -3' 2>&1)
check_contains "default network resolves deb.debian.org" resolved "$out"
check_contains "default network fetches from the Debian mirror" "Origin: Debian" "$out"
# ours only: a passt inherits this test's TMPDIR (other builds on the machine may run their own)
ours_left() {
    local p
    for p in $(pgrep -f 'passt --foreground --quiet -4 --no-map-g[w]'); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "TMPDIR=$TMPDIR" && echo "$p"
    done
}
check_eq "no passt of ours is left running" "" "$(ours_left)"

# (b) --network host: 10.0.2.2 is the host's loopback (slirp)
out=$(run_vm --ext4 "$IMG" --network host nc -w 5 10.0.2.2 "$PORT" 2>&1)
check_eq "run --network host reaches the host's 127.0.0.1 as 10.0.2.2" loopback-secret-4711 "$out"

# without passt the default network is refused, never silently slirp
mkdir -p "$T/nopasst"
ln -s "$(command -v qemu-system-x86_64)" "$T/nopasst/qemu-system-x86_64"
out=$(PATH=$T/nopasst "$CBUILD" --root "$GUEST_ROOT" run --ext4 "$IMG" sh -c "$PROBE" 2>&1); rc=$?
check_contains "without passt: a clear error" "network: passt is not installed (apt-get install passt); use --network none" "$out"
check "without passt: exit code $rc is an error below 128" test "$rc" -gt 0 -a "$rc" -lt 128
out=$(PATH=$T/nopasst "$CBUILD" --root "$GUEST_ROOT" run --ext4 "$IMG" --network none echo isolated 2>&1)
check_eq "without passt: --network none still runs" isolated "$out"

# Builds: the same boundary for RUN steps, host networking only with the entitlement.
start_base_registry
export CBUILD_KERNEL=$(ls "$GUEST_ROOT"/kernel/current/boot/vmlinuz-* | head -1)
C=$(ctx net <<EOF
FROM $BASE
RUN for a in $ADDRS; do nc -w 3 \$a $PORT </dev/null 2>/dev/null; done > /default.txt; echo probed >> /default.txt
RUN --network=host nc -w 5 10.0.2.2 $PORT > /host.txt
EOF
)
build "$C" nettest; rc=$?
check_contains "RUN --network=host without --allow fails as BuildKit does" "network.host is not allowed" "$(cat "$T/last.log")"
check "  with an exit code below 128 ($rc)" test "$rc" -gt 0 -a "$rc" -lt 128
if build "$C" nettest --allow network.host; then ok "build with --allow network.host"; else not_ok "build with --allow network.host"; diag "$(tail -20 "$T/last.log")"; fi
unpack nettest "$T/u"
check_eq "a default RUN cannot reach the host's 127.0.0.1" probed "$(cat "$T/u/rootfs/default.txt" 2>&1)"
check_eq "RUN --network=host reaches it" loopback-secret-4711 "$(cat "$T/u/rootfs/host.txt" 2>&1)"
C2=$(ctx net2 <<EOF
FROM $BASE
RUN nc -w 5 10.0.2.2 $PORT > /host.txt
EOF
)
build "$C2" nettest2 --network host; rc=$?
check_contains "build --network host without --allow fails" "network.host is not allowed" "$(cat "$T/last.log")"
check "  with an exit code below 128 ($rc)" test "$rc" -gt 0 -a "$rc" -lt 128
check "build --network host --allow network.host" build "$C2" nettest2 --network host --allow network.host
unpack nettest2 "$T/u2"
check_eq "build --network host reaches it" loopback-secret-4711 "$(cat "$T/u2/rootfs/host.txt" 2>&1)"
out=$("$CBUILD" build --allow network.bridge "$C2" 2>&1); rc=$?
check_contains "an unknown entitlement is refused" "invalid --allow network.bridge: only network.host, security.insecure and device" "$out"
