# BuildKit's Dockerfile integration tests (moby/buildkit frontend/dockerfile/*_test.go), ported:
# one folder per Go test under bk/<GoTestName>/ with a case.sh whose first line names the Go
# file (`# go: dockerfile_copy_test.go`). `bk.sh GROUP` runs the cases of
# dockerfile_GROUP_test.go (or GROUP_test.go); `bk.sh` alone runs them all. See bk/README.md for the case API.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
BK=$CBUILD_SRC/tests/e2e/builder/bk
GROUP=${1:-}
start_base_registry

# bk_build [FLAGS...]: builds $W/ctx (Dockerfile inside) with plain progress into a fresh image
# tagged $TAG; stdout in $T/last.out, progress and errors in $T/last.log; returns cbuild's status.
bk_build() {
  "$CBUILD" build --progress=plain -t "$TAG" "$@" "$W/ctx" >"$T/last.out" 2>"$T/last.log"
}
# bk_df: the Dockerfile, from stdin (write `FROM $BASE` for BuildKit's `FROM busybox`).
bk_df() { mkdir -p "$W/ctx"; cat >"$W/ctx/Dockerfile"; }
# bk_df_raw: the Dockerfile from stdin, verbatim except @BASE@ → $BASE, @REG@ → $CBUILD_REGISTRY,
# @T@ → a tab (for Dockerfiles full of \ and $ that a quoted <<'DF' keeps literal).
bk_df_raw() {
  mkdir -p "$W/ctx"
  sed -e "s|@BASE@|$BASE|g" -e "s|@REG@|$CBUILD_REGISTRY|g" -e 's|@T@|\t|g' >"$W/ctx/Dockerfile"
}
# bk_file PATH [MODE]: a context file, contents from stdin.
bk_file() {
  mkdir -p "$(dirname "$W/ctx/$1")"
  cat >"$W/ctx/$1"
  [ -z "${2:-}" ] || chmod "$2" "$W/ctx/$1"
}
# bk_ok DESC / bk_fails DESC "EXPECTED MESSAGE" [FLAGS...]: the build succeeds (shows the log
# otherwise) / fails cleanly (exit 1..127) and its output contains the message.
bk_ok() {
  local d=$1; shift
  if bk_build "$@"; then ok "$d"; else not_ok "$d"; diag "$(tail -25 "$T/last.log")"; fi
}
bk_fails() {
  local d=$1 msg=$2 rc; shift 2
  bk_build "$@"; rc=$?
  local out; out=$(cat "$T/last.out" "$T/last.log")
  if [ $rc -eq 0 ]; then not_ok "$d (unexpectedly succeeded)"
  elif ! failed_cleanly $rc "$out"; then not_ok "$d (crashed: exit $rc)"; diag "$(tail -25 <<<"$out")"
  else check_contains "$d" "$msg" "$out"; fi
}
# bk_push DESC REF [FLAGS...]: builds $W/ctx tagged REF only and pushes it (REF in $CBUILD_REGISTRY).
bk_push() {
  local d=$1 ref=$2; shift 2
  if "$CBUILD" build --progress=plain -t "$ref" --push "$@" "$W/ctx" >"$T/last.out" 2>"$T/last.log"; then ok "$d"
  else not_ok "$d"; diag "$(tail -25 "$T/last.log")"; fi
}
# bk_local [FLAGS...]: builds with `-o type=local,dest=$W/out`; files land in $W/out.
bk_local() { rm -rf "$W/out"; bk_build -o "type=local,dest=$W/out" "$@"; }
# bk_local_ok DESC [FLAGS...]: bk_local that must succeed (one TAP line; the log when it fails).
bk_local_ok() { local d=$1; shift; rm -rf "$W/out"; bk_ok "$d" -o "type=local,dest=$W/out" "$@"; }
# bk_out_is NAME EXPECTED: $W/out/NAME holds exactly EXPECTED (printf %b: \n, \t; trailing
# newlines count).
bk_out_is() {
  if printf '%b' "$2" | cmp -s - "$W/out/$1"; then ok "$1 is \"$2\""
  else not_ok "$1 is \"$2\""; diag "actual: $(od -c "$W/out/$1" 2>&1 | head -5)"; fi
}
# bk_echo_server: a TCP server on 127.0.0.1 that answers every connection with "foo" (BuildKit's
# echoserver.NewTestServer("foo")); sets ECHO_PORT and ECHO_PID.
bk_echo_server() {
  python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try: c.sendall(b"foo\n")
    finally: c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' >"$W/echo.port" &
  ECHO_PID=$!
  for _ in $(seq 50); do [ -s "$W/echo.port" ] && break; sleep 0.1; done
  ECHO_PORT=$(cat "$W/echo.port")
}
# bk_rootfs: the image $TAG unpacked by umoci into $W/img (files under $W/img/rootfs).
bk_rootfs() { unpack "$TAG" "$W/img"; }
# bk_config: the image config JSON of $TAG (skopeo reads it from the store).
bk_config() { config_of "$TAG"; }
# bk_dfr [NAME]: ctx/NAME (default Dockerfile) verbatim from stdin (quote the heredoc: <<'DF');
# @BASE@ becomes $BASE.
bk_dfr() { mkdir -p "$W/ctx"; sed "s|@BASE@|$BASE|g" >"$W/ctx/${1:-Dockerfile}"; }
# bk_busybox_extra: ctx/busybox-extra/ holds what Docker Hub's busybox has and the local one
# lacks: its /etc/passwd and /etc/group (daemon, nobody, wheel...) and `adduser -D NAME`. A case
# adds them with `COPY busybox-extra/ /` after `FROM @BASE@` (and says so in its NOTES).
bk_busybox_extra() {
  local x=$W/ctx/busybox-extra
  mkdir -p "$x/etc" "$x/usr/local/bin"
  cat >"$x/usr/local/bin/adduser" <<'SH'
#!/bin/sh
# adduser -D NAME as busybox's: the user and its group, the first free id from 1000
[ "$1" = -D ] && shift
id=1000
while grep -q "^[^:]*:x:$id:" /etc/passwd /etc/group; do id=$((id + 1)); done
echo "$1:x:$id:$id:Linux User,,,:/home/$1:/bin/sh" >>/etc/passwd
echo "$1:x:$id:" >>/etc/group
mkdir -p "/home/$1" && chown "$id:$id" "/home/$1"
SH
  chmod 0755 "$x/usr/local/bin/adduser"
  cat >"$x/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
  cat >"$x/etc/group" <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
GR
}
# bk_http_start DIR: serves DIR on 127.0.0.1 (bk/httpserver.py: fixed ETags, DIR/F.lastmod is
# F's Last-Modified, DIR/_index is "/"); sets $BK_URL; requests logged to $BK_HTTP_LOG as
# "METHOD PATH USER-AGENT". Stopped after the case.
BK_HTTP_PID=
bk_http_start() {
  BK_HTTP_LOG=$W/http.log
  : >"$BK_HTTP_LOG"
  rm -f "$W/http.port" # a second server in one case waits for its own port
  python3 "$BK/httpserver.py" "$1" "$W/http.port" "$BK_HTTP_LOG" &
  BK_HTTP_PID=$!
  local i
  for i in $(seq 100); do [ -s "$W/http.port" ] && break; sleep 0.05; done
  BK_URL=http://127.0.0.1:$(cat "$W/http.port")
}
# bk_tar OUT [NAME MTIME DATA]...: an uncompressed tar of regular files (mode 0600, mtime in
# seconds since the epoch), as BuildKit's makeTarContext writes its contexts.
bk_tar() {
  python3 - "$@" <<'PY'
import io, sys, tarfile
out, rest = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for i in range(0, len(rest), 3):
        name, mtime, data = rest[i], int(rest[i + 1]), rest[i + 2].encode()
        ti = tarfile.TarInfo(name)
        ti.mode, ti.mtime, ti.size = 0o600, mtime, len(data)
        t.addfile(ti, io.BytesIO(data))
PY
}
# bk_git_init DIR [sha1|sha256]: a git repository in DIR (branch master, user "test"), for the
# git cases: serve it with bk_http_start DIR after `git update-server-info` (dumb HTTP, as
# BuildKit's tests serve theirs with http.FileServer).
bk_git_init() {
  mkdir -p "$1"
  git -C "$1" -c init.defaultBranch=master init -q --object-format="${2:-sha1}" &&
    git -C "$1" config user.email test && git -C "$1" config user.name test &&
    git -C "$1" config protocol.file.allow always
}
_bk_http_stop() {
  [ -z "$BK_HTTP_PID" ] || { kill "$BK_HTTP_PID" 2>/dev/null; wait "$BK_HTTP_PID" 2>/dev/null; }
  BK_HTTP_PID=
}
# ---- lint (dockerfile_check_test.go): BuildKit checks every Dockerfile twice, as the lint
# subrequest (--call=check) and as the warnings of a build. Expected warnings come on stdin, one
# "Rule: detail (line N)" a line (linter.LintFormatShort), nothing for none; compared as sets.
# bk/lint-rules.tsv holds BuildKit's rule table (ruleset.go): name, URL, description.
_bk_wsort() { grep -v '^$' | LC_ALL=C sort; }
# bk_check DESC [FLAGS...]: --call=check,format=json lists exactly the expected warnings, each with
# its rule's URL and description; exits 1 with warnings (or BK_CHECK_ERR, the expected
# buildError message), 0 without.
bk_check() {
  local d=$1 want rc got bad; shift
  want=$(_bk_wsort)
  "$CBUILD" build --call=check,format=json "$@" "$W/ctx" >"$T/check.json" 2>"$T/check.err"; rc=$?
  got=$(jq -r '.warnings[] | "\(.ruleName): \(.detail) (line \(.location.ranges[0].start.line))"' "$T/check.json" | _bk_wsort)
  check_eq "$d: check warnings" "$want" "$got"
  bad=$(jq -r '.warnings[] | [.ruleName, (.url // ""), .description] | @tsv' "$T/check.json" |
    while IFS= read -r l; do grep -qxF "$l" "$BK/lint-rules.tsv" || echo "$l"; done)
  check_eq "$d: check rule URLs and descriptions are BuildKit's" "" "$bad"
  if [ -n "${BK_CHECK_ERR:-}" ]; then
    check_eq "$d: check buildError" "$BK_CHECK_ERR" "$(jq -r '.buildError.message // ""' "$T/check.json")"
    check_contains "$d: check error reported" "$BK_CHECK_ERR" "$(cat "$T/check.err")"
    check_eq "$d: check exit status" 1 "$rc"
  elif [ -n "$want" ]; then check_eq "$d: check exit status" 1 "$rc"
  else check_eq "$d: check exit status" 0 "$rc"; fi
}
# bk_warns DESC [FLAGS...]: a build (that succeeds, or fails with BK_BUILD_ERR in its output)
# ends with buildx's summary of exactly the expected warnings.
bk_warns() {
  local d=$1 want rc got n; shift
  want=$(_bk_wsort)
  bk_build "$@"; rc=$?
  if [ -n "${BK_BUILD_ERR:-}" ]; then
    if [ $rc -eq 0 ]; then not_ok "$d: build fails"; else
      check_contains "$d: build fails" "$BK_BUILD_ERR" "$(cat "$T/last.out" "$T/last.log")"; fi
  elif [ $rc -ne 0 ]; then not_ok "$d: build succeeds"; diag "$(tail -15 "$T/last.log")"
  else ok "$d: build succeeds"; fi
  got=$(sed -n '/^[0-9]* warnings\{0,1\} found (use docker --debug to expand):$/,$p' "$T/last.log" | sed -n 's/^ - //p' | _bk_wsort)
  check_eq "$d: build warnings" "$want" "$got"
  n=$(grep -c . <<<"$want")
  if [ "$n" -gt 0 ]; then
    local s=s; [ "$n" -eq 1 ] && s=
    check_contains "$d: build warning count" "$n warning$s found (use docker --debug to expand):" "$(cat "$T/last.log")"
  fi
}
# bk_lint DESC [FLAGS...]: both of the above with the same expected warnings.
bk_lint() {
  local d=$1 want; shift
  want=$(cat)
  bk_check "$d" "$@" <<<"$want"
  bk_warns "$d" "$@" <<<"$want"
}

trap '_bk_http_stop; _builder_done' EXIT

n_cases=0
for dir in "$BK"/*/; do
  name=$(basename "$dir")
  [ -f "$dir/case.sh" ] || continue
  # GROUP names dockerfile_GROUP_test.go, or GROUP_test.go (errors, exclude_patterns)
  if [ -n "$GROUP" ] && ! head -1 "$dir/case.sh" | grep -qE "^# go: (dockerfile_)?${GROUP}_test\.go "; then
    continue
  fi
  # BK_ONLY=REGEX runs only the cases whose name matches (while fixing one)
  if [ -n "${BK_ONLY:-}" ] && ! grep -qE "$BK_ONLY" <<<"$name"; then continue; fi
  n_cases=$((n_cases + 1))
  W=$T/bk/$name TAG=bk-$(tr 'A-Z' 'a-z' <<<"$name")
  rm -rf "$W"; mkdir -p "$W/ctx"
  export CBUILD_ROOT=$T/root-$name
  # a fresh store per case, but one guest kernel (installed, KVM probed) for all: ~20 s a case
  mkdir -p "$T/bk-kernel" "$CBUILD_ROOT"
  ln -sfn "$T/bk-kernel" "$CBUILD_ROOT/kernel"
  _tap_prefix="$name: "
  # shellcheck disable=SC1090
  . "$dir/case.sh"
  _tap_prefix=
  _bk_http_stop
  [ -z "${ECHO_PID:-}" ] || kill "$ECHO_PID" 2>/dev/null
  ECHO_PID=
  rm -rf "$CBUILD_ROOT" "$W"
done
[ $n_cases -gt 0 ] || not_ok "no BuildKit cases found for group '${GROUP:-all}'"
