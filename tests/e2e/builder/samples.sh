#!/bin/bash
# The busybox sample end to end: built from samples/ against the test registry, exported as
# a flattened ext4 image and booted with `cbuild run --ext4` (the Debian samples, which need apt
# over the network and minutes of TCG time, are built by samples-debian.sh).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need e2fsck

S=$CBUILD_SRC/samples/busybox
if "$CBUILD" build --progress=plain --build-arg REGISTRY="$CBUILD_REGISTRY" -t sample-busybox \
    -o type=ext4,dest="$T/busybox.img" "$S" >"$T/last.out" 2>"$T/last.log"; then
  ok "samples/busybox builds"; else not_ok "samples/busybox builds"; diag "$(tail -20 "$T/last.log")"; fi
check "its ext4 export passes e2fsck -fn" e2fsck -fn "$T/busybox.img"
out=$("$CBUILD" run --ext4 "$T/busybox.img" -u app -w /data -e GREETING="hello from busybox" /opt/tools/bin/greet 2>&1)
check_contains "the image's entrypoint runs in a VM" "hello from busybox (app in /data)" "$out"
check_contains "COPY'd files are there" "Welcome to the cbuild busybox sample." "$out"
C=$(config_of sample-busybox)
check_contains "ENTRYPOINT" '"Entrypoint":["/opt/tools/bin/greet"]' "$(tr -d ' \n' <<<"$C")"
check_contains "USER" '"User":"app"' "$(tr -d ' \n' <<<"$C")"
check_contains "VOLUME" '"Volumes":{"/data":{}}' "$(tr -d ' \n' <<<"$C")"
