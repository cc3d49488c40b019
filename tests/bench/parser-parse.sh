#!/bin/bash
# Dockerfile frontend benchmark: parse a large multi-stage Dockerfile and resolve its stages.
# Reference: buildah (its imagebuilder frontend vendors BuildKit's parser), asked for a target
# that does not exist, so it parses, resolves every stage and stops before any I/O on images.
# cbuild does the same with `debug plan --target nope`, and then a full plan (ARG expansion of
# every instruction). Both run in the same hyperfine session; the ratio is buildah / cbuild.
#   tests/bench/parser-parse.sh [STAGES] [INSTRUCTIONS_PER_STAGE]
set -euo pipefail
cd "$(dirname "$0")/../.."
CBUILD=${CBUILD:-build/builder/cli/cbuild}
STAGES=${1:-200}
PER=${2:-50}
command -v hyperfine >/dev/null || { echo "hyperfine not installed"; exit 1; }
command -v buildah >/dev/null || { echo "buildah not installed"; exit 1; }
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
{
  echo "# syntax=docker/dockerfile:1"
  echo "ARG BASE=alpine:3.19"
  echo "ARG VERSION=1.0"
  for s in $(seq 0 $((STAGES - 1))); do
    if [ "$s" -eq 0 ]; then echo "FROM \${BASE} AS s0"; else echo "FROM s$((s - 1)) AS s$s"; fi
    echo "ARG VERSION"
    echo "ENV PATH=/opt/s$s/bin:\$PATH"
    for i in $(seq 1 "$PER"); do
      case $((i % 6)) in
        0) echo "ENV V_$i=\${VERSION}-$i" ;;
        1) printf 'RUN --mount=type=cache,target=/root/.cache/%s \\\n    set -e; echo "stage %s step %s" \\\n    && ls -la /tmp > /dev/null\n' "$i" "$s" "$i" ;;
        2) echo "COPY --chown=1000:1000 --chmod=0644 src/file$i.txt /app/s$s/" ;;
        3) echo "LABEL org.example.s$s.i$i=\"value \$VERSION\"" ;;
        4) echo "WORKDIR /app/s$s/\${V_$((i - 4)):-dir$i}" ;;
        5) echo "RUN [\"/bin/sh\", \"-c\", \"echo $i\"]" ;;
      esac
    done
  done
} > "$T/Dockerfile"
mkdir -p "$T/ctx"
LINES=$(wc -l < "$T/Dockerfile")
BYTES=$(wc -c < "$T/Dockerfile")
echo "Dockerfile: $STAGES stages, $LINES lines, $BYTES bytes"
"$CBUILD" debug plan -f "$T/Dockerfile" "$T/ctx" > /dev/null
hyperfine -N --warmup 2 --runs 10 --export-json "$T/h.json" \
  -n buildah "buildah build --target nope -f $T/Dockerfile $T/ctx" \
  -n cbuild-target "$CBUILD debug plan --target nope -f $T/Dockerfile $T/ctx" \
  -n cbuild-plan "$CBUILD debug plan -f $T/Dockerfile $T/ctx" -i >/dev/null 2>&1 || true
python3 - "$T/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
b = r["buildah"]
print(f"buildah build --target nope : {b*1000:8.1f} ms")
for k in ("cbuild-target", "cbuild-plan"):
    print(f"{k:28s}: {r[k]*1000:8.1f} ms   ratio buildah/cbuild = {b/r[k]:.1f}x")
PY
# CPU time (task-clock) is steadier than wall time on a shared machine
if command -v perf >/dev/null; then
  cpu() { { perf stat -r 10 -x, -e task-clock "$@" 2>&1 >/dev/null || true; } | awk -F, '/task-clock/ {print $1}'; }
  B=$(cpu buildah build --target nope -f "$T/Dockerfile" "$T/ctx")
  C1=$(cpu "$CBUILD" debug plan --target nope -f "$T/Dockerfile" "$T/ctx")
  C2=$(cpu "$CBUILD" debug plan -f "$T/Dockerfile" "$T/ctx")
  python3 -c "
b,c1,c2=float('$B'),float('$C1'),float('$C2')
print(f'CPU (task-clock): buildah {b:.1f} ms, cbuild-target {c1:.1f} ms ({b/c1:.1f}x), cbuild-plan {c2:.1f} ms ({b/c2:.1f}x)')"
fi
