# go: dockerfile_core_test.go testSymlinkDestination
# COPY into a destination that is a relative symlink (from an ADDed tar) follows it, creating
# the missing target directory.
python3 - "$W/ctx/t.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("symlink"); i.type = tarfile.SYMTYPE
    i.linkname = "../tmp/symlink-target"; i.mode = 0o755
    t.addfile(i)
PY
printf content0 | bk_file foo 0600
bk_dfr <<'DF'
FROM scratch
ADD t.tar /
COPY foo /symlink/
DF
bk_local_ok "build"
check_eq "tmp/symlink-target/foo" content0 "$(cat "$W/out/tmp/symlink-target/foo" 2>&1)"
