#!/bin/bash
# Runs a libFuzzer target for N seconds on a fresh corpus seeded from the repo's vectors.
#   tests/fuzz/run.sh TARGET SECONDS [SEED_DIR...]
set -eu
target=$1; secs=$2; shift 2
corpus=$(mktemp -d /tmp/cbuild-fuzz-corpus.XXXXXX)
for d in "$@"; do find "$d" -type f -size -256k -exec cp -t "$corpus" {} + 2>/dev/null || true; done
"$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=/tmp/cbuild-fuzz- "$corpus" 2>&1 | tail -25
