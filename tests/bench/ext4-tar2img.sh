#!/bin/bash
# tar -> ext4: `cbuild ext4 create --tar` against `tar -x` + `mke2fs -t ext4 -d DIR` (e2fsprogs'
# own populate), on a Debian minbase tar and a generated opam-shaped tar (~113,000 entries,
# ~400 MB of small files, deep tree). Prints both tools' wall times, the ratio and our peak RSS.
# Usage: tests/bench/ext4-tar2img.sh [RUNS]   (env CBUILD=path/to/cbuild, WORK=scratch dir)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
RUNS=${1:-3}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
WORK=${WORK:-$(mktemp -d /var/tmp/cbuild-bench-ext4.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CACHE"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

DEB=$CACHE/ext4-debian-bookworm-minbase.tar
if [ ! -s "$DEB" ]; then
    debootstrap --variant=minbase bookworm "$WORK/deb" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1
    tar --numeric-owner --xattrs --xattrs-include='*' -C "$WORK/deb" -cf "$DEB.tmp" . && mv "$DEB.tmp" "$DEB"
    rm -rf "$WORK/deb"
fi
GEN=$SRC/tests/bench/ext4-gen-opam.py
OPAM=$CACHE/opam-shaped-$(sha256sum "$GEN" | cut -c1-12).tar
[ -s "$OPAM" ] || { python3 "$GEN" "$OPAM.tmp" >/dev/null && mv "$OPAM.tmp" "$OPAM"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

bench() { # bench NAME TAR
    local name=$1 tar=$2 ours=() refs=() mkes=() rss=0
    local entries; entries=$(tar -tf "$tar" | wc -l)
    for i in $(seq 1 "$RUNS"); do
        rm -f "$WORK/ours.img"
        /usr/bin/time -f '%e %M' -o "$WORK/time" "$CBUILD" ext4 create "$WORK/ours.img" --tar "$tar"
        read -r t m <"$WORK/time"
        ours+=("$t"); [ "$m" -gt "$rss" ] && rss=$m
    done
    e2fsck -fn "$WORK/ours.img" >/dev/null 2>&1 || { echo "$name: e2fsck found problems in our image" >&2; exit 1; }
    local size; size=$(( $(stat -c %s "$WORK/ours.img") * 13 / 10 / 1048576 + 64 ))
    for i in $(seq 1 "$RUNS"); do
        rm -rf "$WORK/x" "$WORK/ref.img"; mkdir "$WORK/x"
        local t0 t1; t0=$(now)
        tar -xf "$tar" -C "$WORK/x" --numeric-owner
        t1=$(now)
        mke2fs -q -F -t ext4 -N $((entries + 1000)) -d "$WORK/x" "$WORK/ref.img" "${size}M"
        refs+=("$(echo "$(now) - $t0" | bc)")
        mkes+=("$(echo "$(now) - $t1" | bc)")
    done
    rm -rf "$WORK/x" "$WORK/ref.img" "$WORK/ours.img"
    local o r m; o=$(printf '%s\n' "${ours[@]}" | median); r=$(printf '%s\n' "${refs[@]}" | median)
    m=$(printf '%s\n' "${mkes[@]}" | median)
    printf '%-15s %7d entries | cbuild %6.2f s | tar-x+mke2fs-d %6.2f s: ratio %5.1fx | mke2fs-d alone %6.2f s: ratio %5.1fx | cbuild peak RSS %5.1f MiB\n' \
        "$name" "$entries" "$o" "$r" "$(echo "$r / $o" | bc -l)" "$m" "$(echo "$m / $o" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "ext4 tar->image benchmark, median of $RUNS runs ($(nproc) cores)"
bench debian-minbase "$DEB"
bench opam-shaped "$OPAM"
