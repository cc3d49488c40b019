#!/usr/bin/env python3
"""Compare two directory trees as a loop-mounted image must match its input: paths, types,
modes, uid/gid, device numbers, link targets, xattrs (incl. POSIX ACLs), sizes, sha256 of
contents and mtimes (seconds; --ns for nanoseconds). Hard-link groups must match too.
Usage: treecmp.py EXPECTED ACTUAL [--ignore NAME]... [--ns] [--no-mtime]"""
import hashlib, os, stat, sys

def scan(root, ignore):
    out = {}
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        if rel == '.':
            dns[:] = [d for d in dns if d not in ignore]
            fns = [f for f in fns if f not in ignore]
        for n in dns + fns:
            p = os.path.join(dp, n)
            r = os.path.normpath(os.path.join(rel, n))
            out[r] = p
    return out

def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(p, n, follow_symlinks=False) for n in sorted(names)}

def digest(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()

def info(p, ns, mtime):
    st = os.lstat(p)
    d = {'type': stat.S_IFMT(st.st_mode), 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid,
         'xattrs': xattrs(p)}
    if mtime and not stat.S_ISLNK(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        d['mtime'] = st.st_mtime_ns if ns else int(st.st_mtime)
    if stat.S_ISLNK(st.st_mode):
        d['link'] = os.readlink(p)
    elif stat.S_ISREG(st.st_mode):
        d['size'] = st.st_size
        d['sha256'] = digest(p)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        d['rdev'] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    return d, (st.st_ino if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode) else None)

def groups(m):
    g = {}
    for path, ino in m.items():
        if ino is not None:
            g.setdefault(ino, []).append(path)
    return sorted(sorted(v) for v in g.values() if len(v) > 1)

def main():
    args = sys.argv[1:]
    ignore, ns, mtime, pos = set(), False, True, []
    i = 0
    while i < len(args):
        if args[i] == '--ignore':
            ignore.add(args[i + 1]); i += 2; continue
        if args[i] == '--ns':
            ns = True
        elif args[i] == '--no-mtime':
            mtime = False
        else:
            pos.append(args[i])
        i += 1
    a, b = scan(pos[0], ignore), scan(pos[1], ignore)
    bad = 0
    for r in sorted(set(a) | set(b)):
        if r not in b:
            print('missing in actual:', r); bad += 1; continue
        if r not in a:
            print('unexpected in actual:', r); bad += 1; continue
    ia, ib, la, lb = {}, {}, {}, {}
    for r in sorted(set(a) & set(b)):
        ia[r], la[r] = info(a[r], ns, mtime)
        ib[r], lb[r] = info(b[r], ns, mtime)
        if ia[r] != ib[r]:
            bad += 1
            if bad < 30:
                print('differs:', r)
                for k in sorted(set(ia[r]) | set(ib[r])):
                    if ia[r].get(k) != ib[r].get(k):
                        print('   ', k, 'expected', repr(ia[r].get(k))[:200], 'actual', repr(ib[r].get(k))[:200])
    if groups(la) != groups(lb):
        print('hard-link groups differ'); bad += 1
    print('compared %d entries, %d differences' % (len(set(a) & set(b)), bad))
    sys.exit(1 if bad else 0)

main()
