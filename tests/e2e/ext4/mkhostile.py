#!/usr/bin/env python3
"""mkhostile.py OUT.tar KIND: layer tars that try to escape or confuse the applier.
KIND: escape (.. / absolute / symlink-parent tricks), replace (duplicates, type changes),
whiteout (a lower layer plus an upper with whiteouts and an opaque dir: writes OUT.tar and
OUT.upper.tar), badlink (hard link to a missing target), linkescape (hard link out of the root)."""
import io, sys, tarfile

def add(t, name, data=None, typ=tarfile.REGTYPE, link='', mode=0o644, mtime=1000000000):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = typ, link, mode, mtime
    if typ == tarfile.DIRTYPE:
        ti.mode = 0o755
    if data is not None:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)

def escape(t):
    add(t, '../../../etc/escaped-dotdot', b'dotdot\n')
    add(t, '/abs/escaped-absolute', b'absolute\n')
    add(t, 'etc', typ=tarfile.DIRTYPE)
    add(t, 'rootlink', typ=tarfile.SYMTYPE, link='/')
    add(t, 'rootlink/etc/through-abs-symlink', b'abs symlink parent\n')
    add(t, 'uplink', typ=tarfile.SYMTYPE, link='../../../../..')
    add(t, 'uplink/through-relative-symlink', b'relative symlink parent\n')
    add(t, 'etc/passwd-link', typ=tarfile.SYMTYPE, link='/etc/passwd')
    add(t, 'etc/passwd-link', b'replaces the symlink, never written through it\n')
    add(t, './a/./b/../c//d', b'normalized\n')

def replace(t):
    add(t, 'dup', b'first\n')
    add(t, 'dup', b'second\n')
    add(t, 'd', typ=tarfile.DIRTYPE)
    add(t, 'd/child', b'child\n')
    add(t, 'd', b'file replaces dir\n')
    add(t, 'f', b'file\n')
    add(t, 'f', typ=tarfile.DIRTYPE)
    add(t, 'f/inside', b'dir replaced file\n')
    add(t, 'keep', typ=tarfile.DIRTYPE)
    add(t, 'keep/a', b'a\n')
    add(t, 'keep', typ=tarfile.DIRTYPE, mode=0o700)
    add(t, 'target', b'link target\n')
    add(t, 'hl', typ=tarfile.LNKTYPE, link='target')
    add(t, 'target', b'new target content\n')

def whiteout_lower(t):
    for n in ['gone', 'keep', 'opq/old1', 'opq/old2', 'dirgone/x', 'dirgone/y/z']:
        if '/' in n:
            pass
        add(t, n, (n + '\n').encode())

def whiteout_upper(t):
    add(t, '.wh.gone', b'')
    add(t, '.wh.dirgone', b'')
    add(t, 'opq', typ=tarfile.DIRTYPE)
    add(t, 'opq/new', b'new\n')
    add(t, 'opq/.wh..wh..opq', b'')
    add(t, '.wh..wh.plnk', typ=tarfile.DIRTYPE)
    add(t, '.wh.never-existed', b'')
    add(t, 'added', b'added\n')

def main():
    out, kind = sys.argv[1], sys.argv[2]
    with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
        if kind == 'escape':
            escape(t)
        elif kind == 'replace':
            replace(t)
        elif kind == 'whiteout':
            whiteout_lower(t)
        elif kind == 'badlink':
            add(t, 'x', typ=tarfile.LNKTYPE, link='missing')
        elif kind == 'linkescape':
            add(t, 'x', typ=tarfile.LNKTYPE, link='../../etc/passwd')
        else:
            sys.exit('unknown kind ' + kind)
    if kind == 'whiteout':
        with tarfile.open(out[:-4] + '.upper.tar', 'w', format=tarfile.PAX_FORMAT) as t:
            whiteout_upper(t)

main()
