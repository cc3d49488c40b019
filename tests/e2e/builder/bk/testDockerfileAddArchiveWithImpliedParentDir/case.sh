# go: dockerfile_add_test.go testDockerfileAddArchiveWithImpliedParentDir
# A tar.gz whose first entry is etc/dnf/ (no etc/ entry) extracts with the parent implied.
python3 - "$W/ctx/t.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo("etc/dnf/"); d.type = tarfile.DIRTYPE; d.mode = 0o755
    t.addfile(d)
    i = tarfile.TarInfo("etc/dnf/dnf.conf"); i.size = 8; i.mode = 0o644
    t.addfile(i, io.BytesIO(b"content0"))
PY
bk_dfr <<'DF'
FROM scratch
ADD t.tar.gz /
DF
bk_local_ok "build"
check_eq "etc/dnf/dnf.conf extracted" content0 "$(cat "$W/out/etc/dnf/dnf.conf" 2>&1)"
