#!/usr/bin/env python3
"""ext4-gen-opam.py OUT.tar: an opam-switch-shaped layer tar, deterministic: ~113,000 entries
(about 100,000 small files, 13,000 directories, some symlinks), ~400 MB of contents, a deep
tree (~/.opam/default/lib/<pkg>/<sub>/.../ and build dirs nested 10+ levels)."""
import io, random, sys, tarfile

rng = random.Random(20240601)
out = sys.argv[1]
BLOB = bytes(rng.getrandbits(8) for _ in range(1 << 20)) * 2  # content source (2 MiB, sliced)

def fsize():
    r = rng.random()
    if r < 0.30:
        return rng.randint(0, 1024)
    if r < 0.80:
        return rng.randint(1024, 4500)
    if r < 0.97:
        return rng.randint(4500, 11000)
    return rng.randint(11000, 80000)

entries = 0
with tarfile.open(out, 'w', format=tarfile.GNU_FORMAT) as t:
    def d(path):
        global entries
        ti = tarfile.TarInfo(path); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
        ti.uid = ti.gid = 1000
        t.addfile(ti); entries += 1
    def f(path, n):
        global entries
        ti = tarfile.TarInfo(path); ti.size = n; ti.mode = 0o644 if rng.random() < 0.9 else 0o755
        ti.mtime = 1700000000 + rng.randint(0, 10**6); ti.uid = ti.gid = 1000
        off = rng.randint(0, len(BLOB) // 2)
        t.addfile(ti, io.BytesIO(BLOB[off:off + n])); entries += 1
    def l(path, target):
        global entries
        ti = tarfile.TarInfo(path); ti.type = tarfile.SYMTYPE; ti.linkname = target; ti.mtime = 1700000000
        t.addfile(ti); entries += 1
    root = 'home/opam/.opam/default'
    for p in ['home', 'home/opam', 'home/opam/.opam', root, root + '/lib', root + '/bin', root + '/doc',
              root + '/share', root + '/.opam-switch', root + '/.opam-switch/sources', root + '/.opam-switch/build']:
        d(p)
    pkg = 0
    while entries < 113000:
        pkg += 1
        name = 'pkg%04d' % pkg
        for top in ['lib', '.opam-switch/sources', '.opam-switch/build']:
            base = '%s/%s/%s' % (root, top, name)
            d(base)
            depth = rng.randint(1, 12)
            cur = base
            for lvl in range(depth):
                cur = '%s/%s%d' % (cur, rng.choice(['src', 'lib', 'test', 'sub', 'ml', 'internal']), lvl)
                d(cur)
                for i in range(rng.randint(1, 12)):
                    ext = rng.choice(['.ml', '.mli', '.cmi', '.cmx', '.cmt', '.cmti', '.o', '.a', '.cma'])
                    f('%s/m%03d%s' % (cur, i, ext), fsize())
            if rng.random() < 0.2:
                l('%s/latest' % base, cur[len(base) + 1:])
        f('%s/bin/%s' % (root, name), fsize())
print('%s: %d entries' % (out, entries))
