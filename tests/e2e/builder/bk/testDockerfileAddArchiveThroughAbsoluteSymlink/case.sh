# go: dockerfile_add_test.go testDockerfileAddArchiveThroughAbsoluteSymlink
# A second archive extracted through var/run -> /run (absolute, from the first archive) lands
# in /run of the image, hard links included.
python3 - "$W/ctx" <<'PY'
import io, sys, tarfile
def d(t, name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
with tarfile.open(sys.argv[1] + "/rootfs.tar", "w", format=tarfile.PAX_FORMAT) as t:
    d(t, "run/"); d(t, "var/")
    i = tarfile.TarInfo("var/run"); i.type = tarfile.SYMTYPE; i.linkname = "/run"; i.mode = 0o777
    t.addfile(i)
with tarfile.open(sys.argv[1] + "/payload.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for n in ["var/run/act/", "var/run/act/actions/", "var/run/act/actions/broad/",
              "var/run/act/actions/broad/.git/"]:
        d(t, n)
    c = b"ref: refs/heads/main\n"
    i = tarfile.TarInfo("var/run/act/actions/broad/.git/HEAD"); i.size = len(c); i.mode = 0o644
    t.addfile(i, io.BytesIO(c))
    i = tarfile.TarInfo("var/run/act/actions/broad/.git/HEAD.link"); i.type = tarfile.LNKTYPE
    i.linkname = "var/run/act/actions/broad/.git/HEAD"; i.mode = 0o644
    t.addfile(i)
PY
bk_dfr <<'DF'
FROM scratch
ADD rootfs.tar /
ADD payload.tar /
DF
bk_local_ok "build"
g=$W/out/run/act/actions/broad/.git
check_eq "run/…/.git/HEAD" "ref: refs/heads/main" "$(cat "$g/HEAD" 2>&1)"
check_eq "run/…/.git/HEAD.link" "ref: refs/heads/main" "$(cat "$g/HEAD.link" 2>&1)"
check "HEAD and HEAD.link are the same file" test "$g/HEAD" -ef "$g/HEAD.link"
