#!/bin/bash
# Build and run the parser libFuzzer target.
#   tests/fuzz/parser_run.sh [SECONDS]     (default 600)
# Seed corpus: the Dockerfiles and shell vectors of $CBUILD_CONFORMANCE_DIR (default
# ../shared/testdata/buildkit), copied at run time into tests/fuzz/corpus-run/parser (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-600}
VEC=${CBUILD_CONFORMANCE_DIR:-$(pwd)/../shared/testdata/buildkit}
OUT=build-fuzz
mkdir -p "$OUT" tests/fuzz/corpus-run/parser
SRC=(parser/*.c common/buf.c common/err.c common/log.c common/files.c common/digest.c common/pool.c)
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Icommon -Iparser tests/fuzz/parser_fuzz.c "${SRC[@]}" -lcrypto -lpthread -lm -o "$OUT/parser_fuzz"
if [ -d "$VEC" ]; then
  i=0
  for f in "$VEC"/parser/testfiles*/*/Dockerfile "$VEC"/parser/testfile-line/Dockerfile "$VEC"/parser/heredoc-extract/Dockerfile; do
    [ -f "$f" ] && cp "$f" "tests/fuzz/corpus-run/parser/df-$((i++))"
  done
  # one seed per shell-expansion vector line
  grep -v '^#' "$VEC/shell/envVarTest" | cut -d'|' -f2 | sed 's/^ *//; s/ *$//' | while IFS= read -r w; do
    printf '%s' "$w" > "tests/fuzz/corpus-run/parser/sh-$(printf '%s' "$w" | md5sum | cut -c1-12)"
  done
fi
printf 'node_modules\n**/*.log\n!keep.log\n[a-c]?/x\n/abs/./p\n# c\n' > tests/fuzz/corpus-run/parser/ignore-1
exec "$OUT/parser_fuzz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix=tests/fuzz/crash- tests/fuzz/corpus-run/parser
