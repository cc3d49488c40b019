#!/bin/bash
# One safe extractor for every archive cbuild unpacks (cache/extract.c): hostile archives given
# to `cbuild load` and as a stdin build context write nothing outside their folder, fail with
# the entry named and an exit code below 128.
. "$CBUILD_SRC/tests/e2e/lib.sh"
need() { for t in "$@"; do command -v "$t" >/dev/null || { skip "$t missing"; exit 0; }; done; }
need python3
mkdir -p "$T/canary" "$T/work"
echo untouched >"$T/canary/file"
mk() { # mk NAME PYTHON-BODY: a tar at $T/NAME.tar built by python's tarfile (t = the archive)
  python3 - "$T/$1.tar" "$T" <<PY
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w"); T = sys.argv[2]
def f(name, data=b"x\n"):
    ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
def link(name, target, hard=False):
    ti = tarfile.TarInfo(name); ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE; ti.linkname = target; t.addfile(ti)
$2
t.close()
PY
}
# the loader extracts under $TMPDIR (a folder of its own, deep inside $T)
export TMPDIR=$T/work
mk symdir 'link("d", "../../../canary"); f("d/evil", b"pwned\n"); f("index.json", b"{}")'
mk dotdot 'f("../../../canary/evil", b"pwned\n")'
mk abs "f(T + '/canary/evil', b'pwned\\n')"
mk hard 'link("h", "../../../canary/file", hard=True)'
mk symleak 'link("layer.tar", "../../../../../etc/hostname"); f("manifest.json", b"[]")'
for a in symdir dotdot abs hard symleak; do
  out=$("$CBUILD" load -i "$T/$a.tar" 2>&1); rc=$?
  check "load $a.tar fails cleanly (exit $rc)" test "$rc" -gt 0 -a "$rc" -lt 128
  check_contains "load $a.tar names the refused entry" "refusing entry" "$out"
done
check_eq "nothing was written outside (canary untouched, no evil file)" "untouched|" \
  "$(cat "$T/canary/file")|$(ls "$T/canary" | grep -v '^file$')"
out=$("$CBUILD" build --progress=plain - <"$T/symdir.tar" 2>&1); rc=$?
check "a hostile stdin context fails cleanly (exit $rc)" test "$rc" -gt 0 -a "$rc" -lt 128
check_contains "... naming the entry" "refusing entry" "$out"
check_eq "... and writes nothing outside" "untouched|" "$(cat "$T/canary/file")|$(ls "$T/canary" | grep -v '^file$')"
# an honest archive with relative links inside it still extracts (docker save dedups layers so)
mk honest 'f("a/layer.tar", b"data\n"); link("b/layer.tar", "../a/layer.tar"); f("manifest.json", b"[]")'
out=$("$CBUILD" load -i "$T/honest.tar" 2>&1)
check_fails "an honest archive is not refused for its links" grep -q "refusing entry" <<<"$out"
