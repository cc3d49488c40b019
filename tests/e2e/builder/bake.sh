#!/bin/bash
# cbuild bake: docker-bake.json, docker-bake.hcl (variables, inherits, groups) and compose.yaml
# build sections; --print as buildx prints the resolved definition; --set; ulimits; every target built
# in one process, a stage two targets share run once (one VM boot, from the progress output);
# definition errors with FILE:LINE; entitlements = ["device"].
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry

# bake DIR ARGS...: cbuild bake in DIR with plain progress; output in $T/last.out, $T/last.log
bake() {
  local d=$1; shift
  (cd "$d" && "$CBUILD" bake --progress=plain "$@") >"$T/last.out" 2>"$T/last.log"
}
label_of() { config_of "$1" | jq -r ".config.Labels[\"$2\"] // \"none\""; }

# ---- JSON: two targets of a group, a build arg and a label, the Dockerfile relative to the context
J=$T/json
mkdir -p "$J/ctx"
cat >"$J/ctx/app.Dockerfile" <<EOF
FROM $BASE
ARG FLAVOUR=plain
LABEL flavour=\$FLAVOUR
COPY f /f
EOF
echo json >"$J/ctx/f"
cat >"$J/docker-bake.json" <<'EOF'
{
  "group": {"default": {"targets": ["one", "two"]}},
  "target": {
    "one": {"context": "ctx", "dockerfile": "app.Dockerfile", "tags": ["bake/one:1"], "args": {"FLAVOUR": "sweet"}},
    "two": {"context": "ctx", "dockerfile": "app.Dockerfile", "tags": ["bake/two:1"], "labels": {"team": "b"}}
  }
}
EOF
if bake "$J"; then ok "json: the default group builds"; else not_ok "json: the default group builds"; diag "$(tail -20 "$T/last.log")"; fi
check_eq "json: args reach the Dockerfile (skopeo)" sweet "$(label_of bake/one:1 flavour)"
check_eq "json: labels on the second target" "plain b" "$(label_of bake/two:1 flavour) $(label_of bake/two:1 team)"
check_contains "json: vertex names carry the target's name, as buildx's" "[one 1/2] FROM" "$(cat "$T/last.log")"

# ---- HCL: variables (env overrides), inherits, --print compared with buildx's layout
H=$T/hcl
mkdir -p "$H"
cat >"$H/Dockerfile" <<EOF
FROM $BASE AS base
ARG MSG=none
RUN echo "\$MSG" > /msg && ulimit -n > /nofile
FROM base AS extra
RUN echo extra > /extra
EOF
cat >"$H/docker-bake.hcl" <<'EOF'
// a bake file as people write them
variable "TAG" {
  default = "1.0"
}
variable "REPO" { default = "bake/${NAME}" }
NAME = "web"

group "default" {
  targets = ["web", "worker"]
}

target "_common" {
  args = { MSG = "hello", LEVEL = 2 }
  platforms = ["linux/amd64"]
  cache-from = ["type=local,src=/nonexistent/cache"]
}

target "web" {
  inherits = ["_common"]
  tags = ["${REPO}:${TAG}", "bake/web:latest"]
  target = "base"
  labels = {
    "org.example.kind" = "web"
  }
}

target "worker" {
  inherits = ["_common"]
  args = { MSG = "work" }
  tags = ["bake/worker:$${literal}"]
  no-cache = false
}
EOF
cat >"$T/want.json" <<'EOF'
{
  "group": {
    "default": {
      "targets": [
        "web",
        "worker"
      ]
    }
  },
  "target": {
    "web": {
      "context": ".",
      "dockerfile": "Dockerfile",
      "args": {
        "LEVEL": "2",
        "MSG": "hello"
      },
      "labels": {
        "org.example.kind": "web"
      },
      "tags": [
        "bake/web:2.0",
        "bake/web:latest"
      ],
      "cache-from": [
        {
          "src": "/nonexistent/cache",
          "type": "local"
        }
      ],
      "target": "base",
      "platforms": [
        "linux/amd64"
      ]
    },
    "worker": {
      "context": ".",
      "dockerfile": "Dockerfile",
      "args": {
        "LEVEL": "2",
        "MSG": "work"
      },
      "tags": [
        "bake/worker:${literal}"
      ],
      "cache-from": [
        {
          "src": "/nonexistent/cache",
          "type": "local"
        }
      ],
      "platforms": [
        "linux/amd64"
      ],
      "no-cache": false
    }
  }
}
EOF
out=$(cd "$H" && TAG=2.0 "$CBUILD" bake --print 2>&1)
if [ "$out" = "$(cat "$T/want.json")" ]; then ok "hcl: --print is the resolved definition as buildx prints it"
else not_ok "hcl: --print is the resolved definition as buildx prints it"; diag "$(diff <(echo "$out") "$T/want.json")"; fi
check_eq "--print: the variable's default without the env" "bake/web:1.0" \
  "$(cd "$H" && "$CBUILD" bake --print web | jq -r '.target.web.tags[0]')"
check_eq "--print TARGET: group default lists what was asked for" '["web"]' \
  "$(cd "$H" && "$CBUILD" bake --print web | jq -c '.group.default.targets')"

# --set: TARGET.KEY and *.KEY, lists replaced, args by key
out=$(cd "$H" && "$CBUILD" bake --print --set 'web.tags=bake/web:set' --set '*.args.MSG=over' \
  --set 'worker.platform=linux/amd64,linux/arm64' 2>&1)
check_eq "--set web.tags replaces the list" '["bake/web:set"]' "$(jq -c '.target.web.tags' <<<"$out")"
check_eq "--set *.args.MSG reaches every target" "over over" "$(jq -r '[.target[].args.MSG] | join(" ")' <<<"$out")"
check_eq "--set worker.platform splits at commas" '["linux/amd64","linux/arm64"]' \
  "$(jq -c '.target.worker.platforms' <<<"$out")"
check_fails "--set with an unknown key is refused" "$CBUILD" bake -f "$H/docker-bake.hcl" --print --set 'web.nope=1'
check_contains "--set unknown key: buildx's message" "unknown key: nope" \
  "$("$CBUILD" bake -f "$H/docker-bake.hcl" --print --set 'web.nope=1' 2>&1)"

# building the HCL targets, with --set on a target's args and tags
check_fails "a bad ulimits entry is refused" bake "$H" --set 'web.ulimits=bogus=1'
check_contains "... with docker's message" 'target "web": invalid ulimit type: bogus' "$(cat "$T/last.log")"
check_eq "... before any VM" 0 "$(grep -c 'vm: boot' "$T/last.log")"
if bake "$H" --set 'web.args.MSG=from-set' --set 'worker.tags=bake/worker:set' --set 'web.ulimits=nofile=1062:1062'; then ok "hcl: both targets build"
else not_ok "hcl: both targets build"; diag "$(tail -20 "$T/last.log")"; fi
unpack bake/web:1.0 "$T/u-web"
check_eq "hcl: --set args.MSG reached the RUN (umoci)" from-set "$(cat "$T/u-web/rootfs/msg" 2>&1)"
check_eq "hcl: ulimits = [\"nofile=1062:1062\"] reached the RUN" 1062 "$(cat "$T/u-web/rootfs/nofile" 2>&1)"
check_eq "hcl: target = base: no later stage in the image" no "$([ -e "$T/u-web/rootfs/extra" ] && echo yes || echo no)"
unpack bake/worker:set "$T/u-worker"
check_eq "hcl: the inherited args, overridden by the target's own" work "$(cat "$T/u-worker/rootfs/msg" 2>&1)"
check "hcl: the target without ulimits keeps the VM's nofile" test "$(cat "$T/u-worker/rootfs/nofile" 2>&1)" != 1062
check_eq "hcl: the label map" web "$(label_of bake/web:latest org.example.kind)"

# ---- -f twice: merged in order, the later file's attributes win
cat >"$H/override.json" <<'EOF'
{"target": {"web": {"tags": ["bake/web:override"], "args": {"EXTRA": "1"}}}}
EOF
out=$("$CBUILD" bake -f "$H/docker-bake.hcl" -f "$H/override.json" --print web 2>&1)
check_eq "-f twice: the later file's tags" '["bake/web:override"]' "$(jq -c '.target.web.tags' <<<"$out")"
check_eq "-f twice: args merged by key" "hello 1" "$(jq -r '.target.web.args.MSG + " " + .target.web.args.EXTRA' <<<"$out")"

# ---- compose.yaml: services' build sections, image as the tag, the file's directory as the base
C=$T/compose
mkdir -p "$C/svc"
cat >"$C/svc/Dockerfile" <<EOF
FROM $BASE
ARG GREETING
RUN echo "\$GREETING" > /greeting
EOF
cat >"$C/compose.yaml" <<'EOF'
services:
  api:
    image: bake/api:compose
    build:
      context: svc
      args:
        - GREETING=${BAKE_GREETING:-hi-compose}
  cache:
    image: redis:7
EOF
out=$(cd "$C" && "$CBUILD" bake --print 2>&1)
check_eq "compose: a target per service with build:, the default group of them" 'api' \
  "$(jq -r '.group.default.targets | join(",")' <<<"$out")"
check_eq "compose: image is the tag, args from the list form" "bake/api:compose hi-compose" \
  "$(jq -r '.target.api.tags[0] + " " + .target.api.args.GREETING' <<<"$out")"
if bake "$C"; then ok "compose: the service builds"; else not_ok "compose: the service builds"; diag "$(tail -20 "$T/last.log")"; fi
unpack bake/api:compose "$T/u-api"
check_eq "compose: its build arg reached the RUN" hi-compose "$(cat "$T/u-api/rootfs/greeting" 2>&1)"

# the default files together: compose.yaml first, docker-bake.hcl merged over it
printf 'target "api" {\n  tags = ["bake/api:hcl"]\n}\n' >"$C/docker-bake.hcl"
check_eq "default files: compose.yaml, then docker-bake.hcl over it" "bake/api:hcl hi-compose" \
  "$(cd "$C" && "$CBUILD" bake --print | jq -r '.target.api.tags[0] + " " + .target.api.args.GREETING')"
rm "$C/docker-bake.hcl"
check_eq "-f - reads the definition from stdin" '["bake/web:1.0","bake/web:latest"]' \
  "$("$CBUILD" bake -f - --print web <"$H/docker-bake.hcl" | jq -c '.target.web.tags')"

# ---- a shared stage: two targets whose first RUN is the same step boot one VM for it
S=$T/shared
mkdir -p "$S"
cat >"$S/Dockerfile" <<EOF
FROM $BASE AS common
RUN echo shared-$$ > /shared
FROM common AS a
RUN echo a > /a
FROM common AS b
RUN echo b > /b
EOF
cat >"$S/docker-bake.hcl" <<'EOF'
group "default" { targets = ["a", "b"] }
target "a" {
  target = "a"
  tags = ["bake/a:1"]
}
target "b" {
  target = "b"
  tags = ["bake/b:1"]
}
EOF
if bake "$S"; then ok "shared: both targets build at once"; else not_ok "shared: both targets build at once"; diag "$(tail -30 "$T/last.log")"; fi
ids=$(grep -E '^#[0-9]+ \[[ab] common 2/2\] RUN echo shared' "$T/last.log" | awk '{print $1}' | sort -u)
n_done=0; n_cached=0
for i in $ids; do
  grep -qE "^$i DONE" "$T/last.log" && n_done=$((n_done + 1))
  grep -qE "^$i CACHED" "$T/last.log" && n_cached=$((n_cached + 1))
done
check_eq "shared: the common RUN is a vertex of each target" 2 "$(wc -w <<<"$ids")"
check_eq "shared: it ran once, the other target took its result (DONE, CACHED)" "1 1" "$n_done $n_cached"
check_eq "shared: three VMs in all (the shared RUN, a's, b's)" 3 "$(grep -c 'vm: boot' "$T/last.log")"
unpack bake/a:1 "$T/u-a"
unpack bake/b:1 "$T/u-b"
check_eq "shared: both images hold the shared layer" "shared-$$ shared-$$" \
  "$(cat "$T/u-a/rootfs/shared" "$T/u-b/rootfs/shared" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "shared: the same layer digest in both manifests" 1 \
  "$( (manifest_of bake/a:1 | jq -r '.layers[1].digest'; manifest_of bake/b:1 | jq -r '.layers[1].digest') | sort -u | wc -l)"
bake "$S" b
check_eq "a second bake: all cached, no VM" 0 "$(grep -c 'vm: boot' "$T/last.log")"
bake "$S" --progress=tty
check_eq "--progress=tty: one display for both targets, all cached" "0 2" \
  "$? $(grep -oE '=> CACHED \[[ab] common 2/2\] RUN echo shared' "$T/last.log" | sort -u | wc -l)"
bake "$S" --no-cache a
check_eq "--no-cache: the RUNs of a run again (2 VMs)" 2 "$(grep -c 'vm: boot' "$T/last.log")"

# ---- --push: every target's tags pushed
P=$T/push
mkdir -p "$P"
cp "$S/Dockerfile" "$P/"
cat >"$P/docker-bake.json" <<EOF
{"target": {"default": {"target": "a", "tags": ["$CBUILD_REGISTRY/bake/pushed:1"]}}}
EOF
if bake "$P" --push; then ok "--push: the target builds and pushes"
else not_ok "--push: the target builds and pushes"; diag "$(tail -20 "$T/last.log")"; fi
check "--push: the registry has the tag (skopeo)" skopeo inspect --tls-verify=false "docker://$CBUILD_REGISTRY/bake/pushed:1"
check_fails "--load without docker or podman is refused" env PATH=/nonexistent "$CBUILD" bake -f "$P/docker-bake.json" --load
check_contains "--load without an engine: says so" "neither is installed" \
  "$(env PATH=/nonexistent "$CBUILD" bake -f "$P/docker-bake.json" --load 2>&1)"

# ---- errors: FILE:LINE for what the HCL subset does not take, buildx's messages otherwise
E=$T/err
mkdir -p "$E"
printf 'target "x" {\n  tags = ["a"]\n  dockerfile = lower("D")\n}\n' >"$E/fn.hcl"
check_fails "hcl: a function call is refused" "$CBUILD" bake -f "$E/fn.hcl" --print x
check_contains "hcl: the error names file:line" "$E/fn.hcl:3: function calls are not supported (lower)" \
  "$("$CBUILD" bake -f "$E/fn.hcl" --print x 2>&1)"
printf 'variable "A" {\n  default = "1"\n}\ntarget "x" {\n  tags = ["${B}"]\n}\n' >"$E/var.hcl"
check_contains "hcl: an unknown variable, with file:line" \
  "$E/var.hcl:5: Unknown variable; There is no variable named \"B\"." "$("$CBUILD" bake -f "$E/var.hcl" --print x 2>&1)"
printf 'target "x" {\n  tagz = ["a"]\n}\n' >"$E/attr.hcl"
check_contains "hcl: an unknown attribute, with file:line" "$E/attr.hcl:2: unknown target attribute \`tagz\`" \
  "$("$CBUILD" bake -f "$E/attr.hcl" --print 2>&1)"
printf 'target "x" {\n  tags = ["a"]\n' >"$E/open.hcl"
check_contains "hcl: an unclosed block" "$E/open.hcl:3: unexpected end of file" \
  "$("$CBUILD" bake -f "$E/open.hcl" --print 2>&1)"
printf '{"target": {"x": {"tags": ["a"],}}}' >"$E/bad.json"
check_contains "json: a syntax error with line and column" "$E/bad.json:1:" "$("$CBUILD" bake -f "$E/bad.json" --print 2>&1)"
printf 'services:\n  a:\n    build:\n      args: [1, [2]]\n' >"$E/compose.yaml"
check_contains "compose: a wrong type with file:line" "$E/compose.yaml:4: service \"a\": build.args has the wrong type" \
  "$("$CBUILD" bake -f "$E/compose.yaml" --print 2>&1)"
check_fails "an unknown target" "$CBUILD" bake -f "$H/docker-bake.hcl" nope
check_contains "an unknown target: buildx's message" "failed to find target nope" \
  "$("$CBUILD" bake -f "$H/docker-bake.hcl" nope 2>&1)"
printf 'target "x" {\n  inherits = ["y"]\n}\ntarget "y" {\n  inherits = ["x"]\n}\n' >"$E/loop.hcl"
check_fails "inherits in a cycle is refused" "$CBUILD" bake -f "$E/loop.hcl" --print x
rm -f "$E/compose.yaml"
check_contains "no definition file: buildx's message" "couldn't find a bake definition to use" \
  "$(cd "$E" && "$CBUILD" bake --print 2>&1)"
printf 'FROM %s\nRUN exit 3\n' "$BASE" >"$E/Dockerfile"
printf 'target "default" {\n}\n' >"$E/docker-bake.hcl"
check_fails "a failing step fails the bake" bake "$E"
check_contains "a failing step: buildx's error line" "ERROR: failed to solve:" "$(cat "$T/last.log")"

# ---- entitlements = ["device"]: a CDI device without the autoallow annotation (docs/builder.md)
D=$T/device
mkdir -p "$D/ctx" "$D/cdi"
printf '{"cdiVersion": "0.6.0", "kind": "vendor.com/dev", "devices": [{"name": "a", "containerEdits": {"env": ["DEV=a"]}}]}\n' \
  >"$D/cdi/dev.json"
printf 'FROM %s\nRUN --device=vendor.com/dev=a,required test "$DEV" = a\n' "$BASE" >"$D/ctx/Dockerfile"
printf 'target "default" {\n  context = "ctx"\n}\n' >"$D/docker-bake.hcl"
CBUILD_CDI_SPEC_DIRS=$D/cdi bake "$D"
check_contains "device: refused without the entitlement" \
  "device vendor.com/dev=a is requested by the build but not allowed" "$(cat "$T/last.log")"
printf 'target "default" {\n  context = "ctx"\n  entitlements = ["device"]\n}\n' >"$D/docker-bake.hcl"
if CBUILD_CDI_SPEC_DIRS=$D/cdi bake "$D"; then ok "device: entitlements = [\"device\"] grants it, its env in the RUN"
else not_ok "device: entitlements = [\"device\"] grants it, its env in the RUN"; diag "$(tail -20 "$T/last.log")"; fi
# ---- EXPERIMENTAL_BUILDKIT_SOURCE_POLICY applies to every target's build, as buildx's
printf '{"rules": [{"action": "DENY", "selector": {"identifier": "docker-image://%s"}}]}' "$BASE" >"$E/deny.json"
printf 'FROM %s\nCOPY Dockerfile /\n' "$BASE" >"$E/Dockerfile"
EXPERIMENTAL_BUILDKIT_SOURCE_POLICY=$E/deny.json bake "$E"; rc=$?
check "bake: a source policy denies a target's image (exit $rc)" test "$rc" -gt 0 -a "$rc" -lt 128
check_contains "bake: BuildKit's message" "source \"docker-image://$BASE\" denied by policy" "$(cat "$T/last.log")"
