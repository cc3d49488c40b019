#!/bin/bash
# Build contexts from URLs (docker/buildx): a git repository over git:// (`git daemon`) and
# HTTP, at a ref and a subdirectory, its Dockerfile from the repository or -f inside it; a
# .tar.gz URL; and BuildKit's errors for a missing ref or subdirectory. No VM needed.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need git
need python3
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

R=$T/srv/repo.git
mkdir -p "$T/srv"
git -c init.defaultBranch=master init -q "$T/work"
git -C "$T/work" config user.email test && git -C "$T/work" config user.name test
printf 'FROM scratch\nCOPY msg /msg\n' >"$T/work/Dockerfile"
echo main >"$T/work/msg"
mkdir -p "$T/work/app/docker"
printf 'FROM scratch\nCOPY hello /hello\n' >"$T/work/app/docker/Build.df"
echo "hello from app" >"$T/work/app/hello"
git -C "$T/work" add -A && git -C "$T/work" commit -qm one && git -C "$T/work" tag v1
echo newer >"$T/work/msg"
git -C "$T/work" commit -qam two
git clone -q --bare "$T/work" "$R"
git -C "$R" update-server-info

GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$T/srv" --export-all "$T/srv" \
  >"$T/daemon.log" 2>&1 &
GPID=$!
HPORT=$(free_port)
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$T/srv" >"$T/http.log" 2>&1 &
HPID=$!
for _ in $(seq 50); do
  git ls-remote "git://127.0.0.1:$GPORT/repo.git" >/dev/null 2>&1 && break
  sleep 0.1
done

# url_out DESC URL FILE EXPECTED [FLAGS...]: builds the URL context to a local dir, FILE holds EXPECTED
url_out() {
  local d=$1 u=$2 f=$3 want=$4; shift 4
  rm -rf "$T/out"
  if "$CBUILD" build --progress=plain -o "type=local,dest=$T/out" "$@" "$u" >"$T/last.out" 2>"$T/last.log"; then
    check_eq "$d" "$want" "$(cat "$T/out/$f" 2>&1)"
  else
    not_ok "$d"; diag "$(tail -15 "$T/last.log")"
  fi
}
url_out "git:// context at HEAD" "git://127.0.0.1:$GPORT/repo.git" msg newer
url_out "git:// context at a tag" "git://127.0.0.1:$GPORT/repo.git#v1" msg main
url_out "-f is a path inside the repository" "git://127.0.0.1:$GPORT/repo.git#:app" hello "hello from app" \
  -f docker/Build.df
url_out "an HTTP git context with #ref:subdir" "http://127.0.0.1:$HPORT/repo.git#v1:app" hello "hello from app" \
  -f docker/Build.df
# url_fails DESC URL MESSAGE: the build fails cleanly (exit 1..127) and says MESSAGE
url_fails() {
  local d=$1 u=$2 msg=$3 rc
  "$CBUILD" build --progress=plain -o "type=local,dest=$T/out" "$u" >"$T/last.out" 2>"$T/last.log"
  rc=$?
  if [ $rc -eq 0 ]; then not_ok "$d (unexpectedly succeeded)"
  elif ! failed_cleanly $rc "$(cat "$T/last.log")"; then not_ok "$d (crashed: exit $rc)"
  else check_contains "$d" "$msg" "$(cat "$T/last.log")"; fi
}
url_fails "a ref the repository lacks: BuildKit's error" "git://127.0.0.1:$GPORT/repo.git#nosuch" \
  "repository does not contain ref nosuch"
url_fails "a missing subdirectory is named" "git://127.0.0.1:$GPORT/repo.git#v1:nodir" 'path "nodir" not found'
url_fails "a git URL with an unknown query" "http://127.0.0.1:$HPORT/repo.git?colour=red" 'unexpected query "colour"'

mkdir -p "$T/tarsrc"
printf 'FROM scratch\nCOPY data /data\n' >"$T/tarsrc/Dockerfile"
echo "from the tarball" >"$T/tarsrc/data"
tar -C "$T/tarsrc" -czf "$T/srv/ctx.tar.gz" Dockerfile data
url_out "a .tar.gz context URL, Dockerfile inside" "http://127.0.0.1:$HPORT/ctx.tar.gz" data "from the tarball"
url_fails "a tarball URL that is not there" "http://127.0.0.1:$HPORT/none.tar" "404"
kill "$GPID" "$HPID" 2>/dev/null
wait "$GPID" "$HPID" 2>/dev/null || true

# An ssh remote, as BuildKit's git source: only the client's forwarded "default" agent
# authenticates (never the user's own ~/.ssh keys), and without one BuildKit's error.
if [ -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$T/sshd" && chmod 700 "$T/sshd"
  for k in host client other; do ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/$k"; done
  cp "$T/sshd/client.pub" "$T/sshd/authorized_keys"
  SPORT=$(free_port)
  mkdir -p /run/sshd
  /usr/sbin/sshd -D -e -p "$SPORT" -o ListenAddress=127.0.0.1 -h "$T/sshd/host" -o PidFile=none \
    -o AuthorizedKeysFile="$T/sshd/authorized_keys" -o StrictModes=no -o PasswordAuthentication=no \
    -o UsePAM=no -o PermitRootLogin=prohibit-password >"$T/sshd.log" 2>&1 &
  SPID=$!
  for _ in $(seq 50); do
    ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -i "$T/sshd/client" -p "$SPORT" root@127.0.0.1 true 2>/dev/null && break
    sleep 0.1
  done
  SURL="ssh://root@127.0.0.1:$SPORT$R"
  printf 'FROM scratch\nADD %s#v1 /src\n' "$SURL" >"$T/ssh.df"
  ssh_build() { SSH_AUTH_SOCK= "$CBUILD" build --progress=plain -f "$T/ssh.df" -o "type=local,dest=$T/out" "$@" "$T" >"$T/last.out" 2>"$T/last.log"; }
  rm -rf "$T/out"
  if ssh_build; then not_ok "ADD of an ssh remote without --ssh fails"
  else
    rc=$?
    if failed_cleanly $rc "$(cat "$T/last.log")"; then
      check_contains "ADD of an ssh remote without --ssh: BuildKit's error" \
        'no SSH key "default" forwarded from the client' "$(cat "$T/last.log")"
    else not_ok "ADD of an ssh remote without --ssh crashed: exit $rc"; fi
  fi
  rm -rf "$T/out"
  if ssh_build --ssh "default=$T/sshd/client"; then
    check_eq "ADD of an ssh remote with --ssh default=KEY" "main" "$(cat "$T/out/src/msg" 2>&1)"
  else
    not_ok "ADD of an ssh remote with --ssh default=KEY"; diag "$(tail -15 "$T/last.log")"
  fi
  rm -rf "$T/out"
  if ssh_build --ssh "default=$T/sshd/other"; then not_ok "an agent whose key the server refuses fails"
  else
    rc=$?
    if failed_cleanly $rc "$(cat "$T/last.log")"; then
      check_contains "an agent whose key the server refuses: git's error" "Permission denied" "$(cat "$T/last.log")"
    else not_ok "an agent whose key the server refuses crashed: exit $rc"; fi
  fi
  rm -rf "$T/out"
  if SSH_AUTH_SOCK= "$CBUILD" build --progress=plain --ssh "default=$T/sshd/client" -o "type=local,dest=$T/out" "$SURL#v1" >"$T/last.out" 2>"$T/last.log"; then
    check_eq "an ssh git context with --ssh default=KEY" "main" "$(cat "$T/out/msg" 2>&1)"
  else
    not_ok "an ssh git context with --ssh default=KEY"; diag "$(tail -15 "$T/last.log")"
  fi
  kill "$SPID" 2>/dev/null
  wait "$SPID" 2>/dev/null || true
else
  skip "ADD of an ssh remote: needs root and openssh-server's sshd"
fi
