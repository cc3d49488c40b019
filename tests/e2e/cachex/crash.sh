#!/bin/bash
# kill -9 of cbuild at random moments of a build, a push, a pull, a cache export and a cache
# import, in a loop on one store: after every kill `cbuild store check` finds the store intact
# (leftovers of the interrupted write are reclaimable, never a corrupt file under a final
# name), and at the end every operation runs to completion and the store is still intact.
# Each operation's duration is measured once; kills land uniformly within it.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
start_base_registry
need python3 curl
start_registry CR plain || { not_ok "start the registry"; exit 0; }
trap 'stop_registry CR; _builder_done' EXIT
R=127.0.0.1:$CR_PORT
MIN_KILLS=${CBUILD_CRASH_KILLS:-55}
S=$T/crash-store                         # the store that is killed on
H=$T/helper-store                        # builds what the pulls fetch
RO="--insecure-registry $R"

# the contexts: COPY of a 24 MB file (a layer commit that takes a while), a RUN build
C=$(ctx copy <<EOF
FROM $BASE
COPY big /big
COPY small /small
EOF
)
CR_=$(ctx run <<EOF
FROM $BASE
COPY small /small
RUN head -c 4000000 /dev/urandom > /r && cat /small
EOF
)
newcontent() { head -c 24000000 /dev/urandom >"$C/big"; date +%s%N >"$C/small"; date +%s%N >"$CR_/small"; }
newcontent

# one operation per name; each run changes what it writes, so no run is a no-op
op() {
  case $1 in
    build) newcontent; "$CBUILD" --root "$S" build --progress=plain -t crash/app "$C" ;;
    run) date +%s%N >"$CR_/small"; "$CBUILD" --root "$S" build --progress=plain -t crash/run "$CR_" ;;
    push) "$CBUILD" --root "$S" push $RO crash/app "$R/crash/app:$((RANDOM))" ;;
    pull) "$CBUILD" --root "$S" rmi "$R/helper/img:1" >/dev/null 2>&1
          "$CBUILD" --root "$S" prune -af >/dev/null 2>&1
          "$CBUILD" --root "$S" pull $RO "$R/helper/img:1" ;;
    export) newcontent; "$CBUILD" --root "$S" build --progress=plain -t crash/app --cache-to type=local,dest="$T/lc",mode=max \
              --cache-to type=registry,ref=$R/crash/cache:1,mode=max "$C" ;;
    import) "$CBUILD" --root "$S" prune -af >/dev/null 2>&1
            "$CBUILD" --root "$S" build --progress=plain -t crash/imported --cache-from type=local,src="$T/lc" "$C" ;;
  esac
}

# the helper image for pulls: 3 layers of 8 MB, pushed once
H_C=$(ctx helper <<EOF
FROM $BASE
COPY h1 /h1
COPY h2 /h2
COPY h3 /h3
EOF
)
for f in h1 h2 h3; do head -c 8000000 /dev/urandom >"$H_C/$f"; done
if "$CBUILD" --root "$H" build --progress=plain -t helper/img:1 "$H_C" >"$T/h.log" 2>&1 &&
   "$CBUILD" --root "$H" push $RO helper/img:1 "$R/helper/img:1" >>"$T/h.log" 2>&1; then
  ok "the helper image is in the registry"
else not_ok "the helper image is in the registry"; diag "$(tail -20 "$T/h.log")"; exit 0; fi

# a first complete run of each (the first RUN also installs the guest kernel), then a timed
# second one (milliseconds)
declare -A DUR
for o in build push pull export import run; do
  for pass in 1 2; do
    t0=$(date +%s%N)
    if ! op $o >"$T/first-$o.log" 2>&1; then not_ok "run $o ($pass)"; diag "$(tail -20 "$T/first-$o.log")"; exit 0; fi
    DUR[$o]=$(( ($(date +%s%N) - t0) / 1000000 ))
  done
done
ok "a complete run of each operation (ms): $(for o in "${!DUR[@]}"; do printf '%s %s, ' $o ${DUR[$o]}; done)"

kills=0 intact_after=0 damaged=0 unkilled=0
# kill_once OP: start it, SIGKILL it after a random part of its duration, check the store
kill_once() {
  local o=$1 d=${DUR[$1]} ms
  ms=$(( (RANDOM * 32768 + RANDOM) % (d * 9 / 10 + 1) ))
  # the op's subshell and every cbuild below it: SIGKILL the cbuild processes only
  ( op "$o" >"$T/k.log" 2>&1 ) &
  local sub=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  local victims
  victims=$(pgrep -f -- "--root $S" || true)
  if [ -n "$victims" ]; then
    kill -9 $victims 2>/dev/null
    kills=$((kills + 1))
    echo "$o" >>"$T/killed-ops"
  else
    unkilled=$((unkilled + 1))
  fi
  wait $sub 2>/dev/null
  # the VM of a killed RUN dies with it (PR_SET_PDEATHSIG): wait for that before checking
  for _ in $(seq 50); do pgrep -f "qemu-system.*$S" >/dev/null || break; sleep 0.1; done
  if "$CBUILD" --root "$S" store check >"$T/check.log" 2>&1; then
    intact_after=$((intact_after + 1))
  else
    damaged=$((damaged + 1))
    diag "after kill -9 of $o at ${ms} ms: $(cat "$T/check.log")"
  fi
}

# rounds of every operation until enough kills landed (a kill after the operation ended
# does not count); every third round also kills a RUN build
i=0
while [ "$kills" -lt "$MIN_KILLS" ] && [ $i -lt $((MIN_KILLS / 3)) ]; do
  i=$((i + 1))
  for o in build push pull export import; do kill_once $o; done
  [ $((i % 3)) -eq 0 ] && kill_once run
done
total=$((kills + unkilled))
check_eq "store check is clean after each of the $total interruptions ($kills kill -9 landed)" "$total" "$intact_after"
[ "$kills" -ge 50 ] && ok "at least 50 kills landed ($kills; $(grep -c . "$T/killed-ops") by operation: $(sort "$T/killed-ops" | uniq -c | tr -s ' \n' ' '))" ||
  not_ok "at least 50 kills landed (only $kills)"
check_eq "no QEMU process of the store is left" 0 "$(pgrep -fc "qemu-system.*$S" || true)"

# every operation completes after the kills
for o in build push pull export import run; do
  if op $o >"$T/final-$o.log" 2>&1; then ok "after the kills: $o succeeds"
  else not_ok "after the kills: $o succeeds"; diag "$(tail -20 "$T/final-$o.log")"; fi
done
check "the store checks clean at the end" "$CBUILD" --root "$S" store check
check_eq "the last build's file is in the image" "$(cat "$C/small")" \
  "$(umoci raw unpack --image "$S:$(normref crash/app)" "$T/rootfs" >/dev/null 2>&1; cat "$T/rootfs/small")"
# the local cache directory is a complete OCI layout: every blob its manifest names is there
check "the local cache export is complete" python3 - "$T/lc" <<'PY'
import json, os, sys
d = sys.argv[1]
blob = lambda g: os.path.join(d, "blobs", "sha256", g.split(":")[1])
for m in json.load(open(os.path.join(d, "index.json")))["manifests"]:
    man = json.load(open(blob(m["digest"])))
    for x in [man["config"]] + man["layers"]:
        assert os.path.getsize(blob(x["digest"])) == x["size"], x
PY
check "prune removes the leftovers; the store checks clean" bash -c \
  "'$CBUILD' --root '$S' prune -f >/dev/null && '$CBUILD' --root '$S' store check | grep -q '^store intact' && [ -z \"\$(ls -A '$S/ingest')\" ]"
