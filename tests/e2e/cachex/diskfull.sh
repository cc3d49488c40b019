#!/bin/bash
# Disk full: the store on a 320 MB loop-mounted ext4 (setup puts 157 MB of guest kernel and
# initramfs in it) that fills during a layer commit (COPY), a RUN and a pull. Each fails
# cleanly with an error naming what could not be written, the
# store checks clean, and after freeing space the same operation succeeds. Needs root (mount).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
[ "$(id -u)" = 0 ] || { skip "disk-full cases need root for the loop mount"; exit 0; }
need mkfs.ext4 mountpoint
start_base_registry
start_registry DR plain || { not_ok "start the registry"; exit 0; }
MNT=$T/small
mkdir -p "$MNT"
truncate -s 320M "$T/small.img"
mkfs.ext4 -q -m 0 "$T/small.img"
mount -o loop "$T/small.img" "$MNT" || { skip "loop mount failed"; exit 0; }
trap 'umount -l "$MNT"; stop_registry DR; _builder_done' EXIT
R=127.0.0.1:$DR_PORT
S=$MNT/store
"$CBUILD" --root "$S" setup >"$T/setup.log" 2>&1 || { not_ok "cbuild setup on the small store"; diag "$(tail "$T/setup.log")"; exit 0; }
"$CBUILD" --root "$S" pull "$BASE" --insecure-registry "${BASE%%/*}" >/dev/null 2>&1
diag "free after setup: $(df -h --output=avail "$MNT" | tail -1) ($(du -sh "$S" | cut -f1) in the store)"

# fill FREE_MB: a filler file leaves about FREE_MB MB free on the small filesystem
fill() {
  rm -f "$MNT/filler"
  local avail
  avail=$(df -k --output=avail "$MNT" | tail -1)
  local keep=$(( $1 * 1024 ))
  [ "$avail" -gt "$keep" ] && fallocate -l $(( (avail - keep) * 1024 )) "$MNT/filler"
}
unfill() { rm -f "$MNT/filler"; }
# expect_enospc NAME: the last command failed cleanly, named a path, said the disk is full
expect_enospc() {
  local rc=$1 log=$2 what=$3
  if [ "$rc" -ne 0 ] && failed_cleanly "$rc" "$(cat "$log")"; then ok "$what: fails cleanly (exit $rc)"
  else not_ok "$what: fails cleanly (exit $rc)"; diag "$(tail -5 "$log")"; fi
  local named="grep -q 'No space left on device' '$log' && grep -qE '$S/[^ ]+' '$log'"
  check "$what: the error names the file in the store and says the disk is full" bash -c "$named"
  check "$what: the store checks clean" "$CBUILD" --root "$S" store check
}

# 1. a layer commit: COPY of 25 MB with 10 MB free
C=$(ctx copy <<EOF
FROM $BASE
COPY big /big
EOF
)
head -c 25000000 /dev/urandom >"$C/big"
fill 10
"$CBUILD" --root "$S" build --progress=plain -t full/copy "$C" >"$T/copy.out" 2>"$T/copy.log"; rc=$?
expect_enospc $rc "$T/copy.log" "COPY into a full store"
unfill
check "COPY: after freeing space the build succeeds" "$CBUILD" --root "$S" build --progress=plain -t full/copy "$C"

# 2. a RUN that writes 25 MB with 10 MB free (the upper image is sparse on the host)
C=$(ctx run <<EOF
FROM $BASE
RUN head -c 25000000 /dev/urandom > /r && echo wrote
EOF
)
fill 10
"$CBUILD" --root "$S" build --progress=plain -t full/run "$C" >"$T/run.out" 2>"$T/run.log"; rc=$?
if [ "$rc" -ne 0 ] && failed_cleanly "$rc" "$(cat "$T/run.log")"; then ok "RUN filling the store: fails cleanly (exit $rc)"
else not_ok "RUN filling the store: fails cleanly (exit $rc)"; diag "$(tail -5 "$T/run.log")"; fi
check "RUN: the error says the store's disk is full" grep -qE "No space left on device: the disk of the store \`$S\` is full" "$T/run.log"
check "RUN: the store checks clean" "$CBUILD" --root "$S" store check
check_eq "RUN: no QEMU is left" 0 "$(pgrep -fc "qemu-system.*$S" || true)"
unfill
# (a nearly full store makes no VM template: the snapshot would take the space the layer needs)
check "RUN: after freeing space the build succeeds" "$CBUILD" --root "$S" build --progress=plain -t full/run "$C"

# 3. a pull of a 20 MB image with 8 MB free
P=$(ctx pull <<EOF
FROM $BASE
COPY big /big
EOF
)
head -c 20000000 /dev/urandom >"$P/big"
"$CBUILD" --root "$T/other" build -t pulled:1 "$P" >/dev/null 2>&1 &&
  "$CBUILD" --root "$T/other" push --insecure-registry "$R" pulled:1 "$R/pulled:1" >/dev/null 2>&1 ||
  not_ok "push the image to pull"
fill 8
"$CBUILD" --root "$S" pull --insecure-registry "$R" "$R/pulled:1" >"$T/pull.out" 2>"$T/pull.log"; rc=$?
expect_enospc $rc "$T/pull.log" "pull into a full store"
unfill
check "pull: after freeing space the pull succeeds" "$CBUILD" --root "$S" pull --insecure-registry "$R" "$R/pulled:1"
check "the store checks clean at the end" "$CBUILD" --root "$S" store check
