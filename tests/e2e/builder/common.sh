# Shared setup for the builder end-to-end tests: TAP helpers, a local registry on
# $CBUILD_REGISTRY serving the busybox base image (samples/base-images.sh), and checkers
# that read our output with independent tools (skopeo, umoci, tar, e2fsck).
. "$CBUILD_SRC/tests/e2e/lib.sh"
# A registry of our own per run (a free port, data under $T): test runs in other worktrees
# must not share or stop it.
_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CBUILD_REGISTRY=127.0.0.1:$_port CBUILD_REGISTRY_DIR=$T/registry
BASE=$CBUILD_REGISTRY/busybox:latest

_builder_done() {
  [ -n "${DPID:-}" ] && { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
  bash "$CBUILD_SRC/samples/base-images.sh" stop >/dev/null 2>&1
  _tap_done
}
trap '_builder_done' EXIT

need() {
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { skip "$t is not installed"; exit 0; }
  done
}

start_base_registry() {
  need docker-registry skopeo umoci busybox
  if ! out=$(bash "$CBUILD_SRC/samples/base-images.sh" busybox-only 2>&1); then
    not_ok "base image registry"; diag "$out"; exit 0
  fi
}

# start_dockerd: a dockerd of our own (data root, socket, containerd namespace under $T) as the
# machine allows it (no iptables, no bridge, vfs); exports DOCKER_HOST. Fails when docker.io is
# missing or the daemon does not answer within a minute (its log tail in $T/docker/log).
start_dockerd() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && command -v containerd >/dev/null || return 2
  local d=$T/docker
  mkdir -p "$d"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs --data-root "$d/root" \
    --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/sock" --containerd-namespace "cb$$" \
    --containerd-plugins-namespace "cbp$$" >"$d/log" 2>&1 &
  DPID=$!
  export DOCKER_HOST=unix://$d/sock
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

# ctx NAME: a fresh context directory; Dockerfile text on stdin.
ctx() {
  local d=$T/ctx-$1
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/Dockerfile"
  echo "$d"
}

# build CTX TAG [flags...]: quiet plain build; output in $T/last.log
# A build still running after CBUILD_TEST_BUILD_LIMIT seconds (default 420) is reported — its
# processes with their wait channels, each VM's console tail — and interrupted, so a hang fails
# its check with the evidence instead of the whole test timing out silently.
build() {
  local c=$1 tag=$2; shift 2
  "$CBUILD" build --progress=plain -t "$tag" "$@" "$c" >"$T/last.out" 2>"$T/last.log" <&0 &
  local pid=$! rc
  # its report goes to last.log only when it fires: killed quietly otherwise (no "Terminated")
  _build_watchdog "$pid" "${CBUILD_TEST_BUILD_LIMIT:-420}" "$T/last.log" >/dev/null 2>&1 &
  local dog=$!
  wait "$pid"; rc=$?
  pkill -P "$dog" 2>/dev/null; kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
  return "$rc"
}
_build_watchdog() {
  sleep "$2"
  kill -0 "$1" 2>/dev/null || return 0
  exec >>"$3" 2>&1
  echo "TEST WATCHDOG: the build ran for more than $2 s; its processes:"
  ps -eo pid,ppid,etimes,stat,wchan:24,args --forest | awk -v p="$1" 'index($0, "cbuild") || index($0, "qemu") || $2 == p'
  # the consoles of this build's own VMs, from their QEMU command lines
  for f in $(ps -o args= --ppid "$1" | grep -o 'path=[^,]*/console\.log' | cut -d= -f2); do
    [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }
  done
  kill -INT "$1" 2>/dev/null; sleep 10; kill -KILL "$1" 2>/dev/null
}

# config_of TAG: the image config JSON as skopeo reads it from the store's OCI layout.
config_of() { skopeo inspect --config --raw "oci:$CBUILD_ROOT:$(normref "$1")" 2>/dev/null; }
manifest_of() { skopeo inspect --raw "oci:$CBUILD_ROOT:$(normref "$1")" 2>/dev/null; }
normref() {
  case "$1" in
    */*) case "${1%%/*}" in *.*|*:*|localhost) r=$1 ;; *) r=docker.io/$1 ;; esac ;;
    *) r=docker.io/library/$1 ;;
  esac
  case "${r##*/}" in *:*) ;; *) r=$r:latest ;; esac
  echo "$r"
}

# unpack TAG DIR: the image's rootfs via umoci (an independent OCI implementation).
unpack() {
  rm -rf "$2"
  umoci unpack --image "$CBUILD_ROOT:$(normref "$1")" "$2" >/dev/null 2>"$T/umoci.log"
}

# stat_of DIR PATH: "type mode uid:gid" of a path in an unpacked rootfs.
stat_of() { stat -c '%F %a %u:%g' "$1/rootfs/$2" 2>&1; }

# In the last plain log: step vertices ("#N [k/n] ...") that ran (DONE) and that were CACHED.
steps_ran() {
  local ids
  ids=$(grep -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\]' "$T/last.log" | awk '{print $1}' | sort -u)
  local n=0
  for i in $ids; do grep -qE "^$i DONE" "$T/last.log" && n=$((n + 1)); done
  echo $n
}
steps_cached() { grep -cE '^#[0-9]+ CACHED' "$T/last.log"; }
# step_state "TEXT": CACHED / DONE / ERROR for the step whose name contains TEXT
step_state() {
  local id
  id=$(grep -F "$1" "$T/last.log" | grep -E '^#[0-9]+ \[' | head -1 | awk '{print $1}')
  [ -n "$id" ] || { echo missing; return; }
  grep -E "^$id (CACHED|DONE|ERROR)" "$T/last.log" | head -1 | awk '{print $2}' | tr -d :
}
