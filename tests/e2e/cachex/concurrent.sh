#!/bin/bash
# Six builds at the same time on one store: four different Dockerfiles and two of the same
# one. All succeed; the two identical builds produce the identical image (the shared cache
# keys are executed once, or to identical results); `cbuild store check` is clean.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
export SOURCE_DATE_EPOCH=1700000000

mk() { local d; d=$(ctx "$1"); echo "$2" >"$d/f"; head -c 3000000 /dev/urandom >"$d/big"; echo "$d"; }
A=$(mk a a <<EOF
FROM $BASE
COPY f /a
RUN cat /a > /ra
EOF
)
B=$(mk b b <<EOF
FROM $BASE
COPY f big /b/
EOF
)
CC=$(mk c c <<EOF
FROM $BASE
RUN echo c > /rc
COPY f /c
EOF
)
D=$(mk d d <<EOF
FROM $BASE AS s
COPY f big /d/
FROM scratch
COPY --from=s /d /d
EOF
)
E=$(mk e e <<EOF
FROM $BASE
COPY f big /e/
RUN cat /e/f > /re && wc -c /e/big > /re.len
EOF
)
check "guest setup before the race" "$CBUILD" setup

pids=()
for n in a b c d e1 e2; do
  case $n in a) c=$A ;; b) c=$B ;; c) c=$CC ;; d) c=$D ;; e*) c=$E ;; esac
  "$CBUILD" build --progress=plain -t "conc/$n" --metadata-file "$T/$n.json" "$c" >"$T/$n.out" 2>"$T/$n.log" &
  pids+=($!)
done
i=0
for n in a b c d e1 e2; do
  if wait "${pids[$i]}"; then ok "concurrent build $n succeeds"
  else not_ok "concurrent build $n succeeds"; diag "$(tail -20 "$T/$n.log")"; fi
  i=$((i + 1))
done
dg() { jq -r '."containerimage.digest"' "$T/$1.json" 2>&1; }
check_eq "the two builds of one Dockerfile give the identical image" "$(dg e1)" "$(dg e2)"
check_eq "one cache record for the shared RUN step (no duplicate under another name)" 1 \
  "$(grep -l '"diff_id"' "$CBUILD_ROOT"/cache/*.json | xargs -n1 jq -r '.record.layer.digest' | grep -cxF \
     "$(skopeo inspect --raw "oci:$CBUILD_ROOT:$(normref conc/e1)" | jq -r '.layers[-1].digest')")"
check "the store checks clean" "$CBUILD" store check
unpack conc/e1 "$T/e1"
check_eq "the RUN of the shared Dockerfile saw the COPY" e "$(cat "$T/e1/rootfs/re" 2>&1)"
unpack conc/d "$T/d"
check_eq "the multi-stage build copied from its stage" d "$(cat "$T/d/rootfs/d/f" 2>&1)"
# a rebuild of everything is fully cached
for n in a b c d e1; do
  case $n in a) c=$A ;; b) c=$B ;; c) c=$CC ;; d) c=$D ;; e*) c=$E ;; esac
  build "$c" "conc/$n" || not_ok "rebuild $n"
done
check_eq "the rebuild of e is cached (no VM)" 0 "$(grep -c '^#[0-9]* vm:' "$T/last.log")"
