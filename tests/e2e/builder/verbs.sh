#!/bin/bash
# images, inspect, prune and the management commands as docker's: filters, Go templates,
# docker's table layout, the prune prompt without a terminal; with images built here.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry

# COPY makes a layer, so each image gets its own creation time (before=/since= need that);
# builds write whole seconds, hence the pause.
mkimg() {
  local name=$1 tag=$2; shift 2
  local c
  c=$(ctx "$name" <<EOF
FROM $BASE
$(printf '%s\n' "$@")
COPY f /f
EOF
)
  echo "$name" >"$c/f"
  sleep 1
  build "$c" "$tag" || { not_ok "build $tag"; diag "$(cat "$T/last.log")"; exit 0; }
}
mkimg app eco/app:1 'LABEL tier=web version=1' 'ENV A=1 B="two words"'
"$CBUILD" tag eco/app:1 eco/app:latest
mkimg db eco/db:2 'LABEL tier=db'
mkimg hello hello:1 'LABEL tier=none'
names() { "$CBUILD" images --format '{{.Repository}}:{{.Tag}}' "$@" | sort | tr '\n' ' '; }

# ---- images: layout, names, -q, --digests, --no-trunc
out=$("$CBUILD" images)
check_eq "images: docker's header (tabwriter: minwidth 10, padding 3)" 1 \
  "$(head -1 <<<"$out" | grep -cE '^REPOSITORY +TAG {7}IMAGE ID {7}CREATED +SIZE$')"
check_contains "images: Repository as docker writes it (no docker.io/library/)" "hello " "$(grep '^hello ' <<<"$out")"
check_eq "images: familiar names" "$BASE eco/app:1 eco/app:latest eco/db:2 hello:1 " "$(names)"
check_eq "images -q: each image ID once" 4 "$("$CBUILD" images -q | wc -l)"
check_eq "images -q --no-trunc: full IDs" 4 "$("$CBUILD" images -q --no-trunc | grep -cE '^sha256:[0-9a-f]{64}$')"
want_id=$("$CBUILD" inspect -f '{{.Id}}' eco/db:2)
check_eq "images -q: the image's ID, 12 digits" "${want_id:7:12}" "$("$CBUILD" images -q eco/db:2)"
mdig=$("$CBUILD" inspect -f '{{.ManifestDigest}}' eco/db:2)
check_contains "images --digests: DIGEST column with the manifest digest" "$mdig" \
  "$("$CBUILD" images --digests eco/db | sed -n 2p)"
check_eq "images --digests: header" 1 \
  "$("$CBUILD" images --digests | head -1 | grep -cE '^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$')"
# (CREATED is left out of comparisons: it may tick between two listings)
TF='table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}'
check_eq "images -a: same list (no intermediate images in the store)" "$("$CBUILD" images --format "$TF")" \
  "$("$CBUILD" images -a --format "$TF")"

# ---- filters
check_eq "reference glob: eco/*" "eco/app:1 eco/app:latest eco/db:2 " "$(names -f 'reference=eco/*')"
check_eq "reference: name:tag" "eco/app:1 " "$(names -f reference=eco/app:1)"
check_eq "reference: a name matches every tag" "eco/app:1 eco/app:latest " "$(names -f reference=eco/app)"
check_eq "reference: ? and [] globs" "eco/db:2 " "$(names -f 'reference=eco/d?:[0-9]')"
check_eq "reference: * does not cross /" "hello:1 " "$(names -f 'reference=*')"
check_eq "two reference filters: either" "eco/db:2 hello:1 " "$(names -f reference=hello -f reference=eco/db)"
check_eq "positional REPOSITORY" "eco/app:1 eco/app:latest " "$(names eco/app)"
check_eq "label=KEY=VALUE" "eco/db:2 " "$(names -f label=tier=db)"
check_eq "label=KEY" "eco/app:1 eco/app:latest eco/db:2 hello:1 " "$(names -f label=tier)"
check_eq "two labels: both" "eco/app:1 eco/app:latest " "$(names -f label=tier=web -f label=version=1)"
check_eq "two labels: both, one wrong" "" "$(names -f label=tier=web -f label=version=2)"
check_eq "before=IMAGE" "$BASE eco/app:1 eco/app:latest " "$(names -f before=eco/db:2)"
check_eq "since=IMAGE" "eco/db:2 hello:1 " "$(names -f since=eco/app:1)"
check_eq "since and reference together" "eco/db:2 " "$(names -f since=eco/app:1 -f 'reference=eco/*')"
check_eq "dangling=true: none here" "" "$(names -f dangling=true)"
check_eq "dangling=false: every tagged image" "$(names)" "$(names -f dangling=false)"
out=$("$CBUILD" images -f dangling=maybe 2>&1); rc=$?
check_contains "dangling=maybe: docker's message" "invalid filter 'dangling=maybe'" "$out"
check_fails "dangling=maybe fails cleanly" "$CBUILD" images -f dangling=maybe
out=$("$CBUILD" images -f color=red 2>&1)
check_contains "unknown filter named" "invalid filter 'color'" "$out"
check_fails "unknown filter fails cleanly" "$CBUILD" images -f color=red
out=$("$CBUILD" images -f dangling 2>&1)
check_contains "filter without =" "bad format of filter (expected name=value)" "$out"
out=$("$CBUILD" images -f since=nope:1 2>&1)
check_contains "since=unknown image" "No such image: nope:1" "$out"
check_fails "since=unknown fails cleanly" "$CBUILD" images -f since=nope:1

# a dangling image: an archive whose index names nothing, loaded into a store of its own
"$CBUILD" save -o "$T/db.tar" eco/db:2
mkdir -p "$T/nameless" && tar -C "$T/nameless" -xf "$T/db.tar" && rm -f "$T/nameless/manifest.json"
python3 - "$T/nameless/index.json" <<'PY'
import json, sys
p = sys.argv[1]; o = json.load(open(p))
for m in o["manifests"]: m.pop("annotations", None)
json.dump(o, open(p, "w"))
PY
tar -C "$T/nameless" -cf "$T/nameless.tar" .
R2=$T/root-dangling
check "load a nameless archive" env CBUILD_ROOT="$R2" "$CBUILD" load -i "$T/nameless.tar"
d2() { CBUILD_ROOT="$R2" "$CBUILD" "$@"; }
check_eq "a nameless image is <none>:<none>" "<none>:<none> " "$(d2 images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
check_eq "dangling=true lists it" "${want_id:7:12}" "$(d2 images -q -f dangling=true)"
check_eq "dangling=false hides it" "" "$(d2 images -q -f dangling=false)"
check_eq "a reference filter hides it" "" "$(d2 images -q -f 'reference=*')"
out=$(echo y | d2 image prune 2>&1)
check_contains "image prune removes the dangling image" "deleted: $want_id" "$out"
check_eq "image prune: nothing left" "" "$(d2 images -q)"

# ---- --format
out=$("$CBUILD" images -f 'reference=eco/*' --format 'table {{.Repository}}\t{{.Tag}}')
check_eq "table TEMPLATE: header and aligned rows, newest first" "REPOSITORY   TAG
eco/db       2
eco/app      1
eco/app      latest" "$out"
check_eq "TEMPLATE without table: no header" "eco/db 2" "$("$CBUILD" images --format '{{.Repository}} {{.Tag}}' eco/db)"
j=$("$CBUILD" images --format '{{json .}}' eco/db)
check_eq "{{json .}}: docker's fields" "eco/db 2 ${want_id:7:12} ok ok" "$(python3 -c '
import json,sys; o=json.loads(sys.argv[1])
print(o["Repository"], o["Tag"], o["ID"], "ok" if o["CreatedSince"].endswith("ago") else o["CreatedSince"],
      "ok" if o["Size"].endswith("B") else o["Size"])' "$j")"
nosince() { sed 's/"CreatedSince":"[^"]*"//'; }
check_eq "--format json = {{json .}}" "$(nosince <<<"$j")" "$("$CBUILD" images --format json eco/db | nosince)"
check_eq "CreatedAt as Go's time.String()" 1 \
  "$("$CBUILD" images --format '{{.CreatedAt}}' eco/db | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [+-][0-9]{4} [A-Z]+$')"
check_eq "functions in images templates" "ECO/DB|2" "$("$CBUILD" images --format '{{upper .Repository}}|{{.Tag}}' eco/db)"
out=$("$CBUILD" images --format '{{.Repo}}' 2>&1)
check_contains "images: an unknown field fails as docker's" \
  'template: :1:2: executing "" at <.Repo>: can'"'"'t evaluate field Repo in type *formatter.imageContext' "$out"
check_fails "images: unknown field fails cleanly" "$CBUILD" images --format '{{.Repo}}'
out=$("$CBUILD" images --format '{{.Repository | nope}}' 2>&1)
check_contains "images: unknown function named with its column" 'template: :1:16: function "nope" not defined' "$out"
check_fails "images: bad template fails cleanly" "$CBUILD" images --format '{{.Repository | nope}}'

# ---- inspect -f
cfg=$(config_of eco/app:1)
check_eq "inspect: RepoTags familiar" "[eco/app:1 eco/app:latest]" "$("$CBUILD" inspect -f '{{.RepoTags}}' eco/app:1)"
check_eq "inspect: library/ dropped" "[hello:1]" "$("$CBUILD" inspect -f '{{.RepoTags}}' hello:1)"
check_eq "inspect: RepoDigests once per repository" "1 eco/app@$("$CBUILD" inspect -f '{{.ManifestDigest}}' eco/app:1)" \
  "$("$CBUILD" inspect -f '{{len .RepoDigests}} {{index .RepoDigests 0}}' eco/app:1)"
check_eq "inspect: index .Config.Labels" "web" "$("$CBUILD" inspect -f '{{index .Config.Labels "tier"}}' eco/app:1)"
check_eq "inspect: a missing label is empty" "[]" "$("$CBUILD" inspect -f '[{{index .Config.Labels "nope"}}]' eco/app:1)"
want_env=$(python3 -c 'import json,sys; print(",".join(json.loads(sys.argv[1])["config"]["Env"]))' "$cfg")
check_eq "inspect: range with \$i, if" "$want_env" \
  "$("$CBUILD" inspect -f '{{range $i, $e := .Config.Env}}{{if $i}},{{end}}{{$e}}{{end}}' eco/app:1)"
check_eq "inspect: join" "$want_env" "$("$CBUILD" inspect -f '{{join .Config.Env ","}}' eco/app:1)"
want_layers=$(python3 -c 'import json,sys; print(json.dumps({"Type":"layers","Layers":json.loads(sys.argv[1])["rootfs"]["diff_ids"]},separators=(",",":")))' "$cfg")
check_eq "inspect: RootFS as docker's {Type, Layers}" "$want_layers" "$("$CBUILD" inspect -f '{{json .RootFS}}' eco/app:1)"
check_eq "inspect: maps print as Go's" "map[tier:web version:1]" "$("$CBUILD" inspect -f '{{.Config.Labels}}' eco/app:1)"
check_eq "inspect: with, range over a map, printf" "tier=web;version=1;" \
  "$("$CBUILD" inspect -f '{{with .Config.Labels}}{{range $k, $v := .}}{{printf "%s=%s;" $k $v}}{{end}}{{end}}' eco/app:1)"
check_eq "inspect: upper lower title split printf pipelines" "LINUX x A B [a b] 00042 5" \
  "$("$CBUILD" inspect -f '{{upper .Os}} {{lower "X"}} {{title "a b"}} {{split "a:b" ":"}} {{printf "%05d" 42}} {{.Os | len}}' eco/app:1)"
check_eq "inspect: variables and trim markers" "linux/amd64" \
  "$("$CBUILD" inspect -f '{{- $o := .Os -}}  {{ $o }}/{{- .Architecture }}' eco/app:1)"
check_eq "inspect: a missing map key prints <no value>" "<no value>" "$("$CBUILD" inspect -f '{{.Config.Labels.nope}}' eco/app:1)"
check_eq "inspect: fields docker's struct has, empty" "[][]" "$("$CBUILD" inspect -f '[{{.Variant}}][{{.Config.StopSignal}}]' eco/app:1)"
out=$("$CBUILD" inspect -f '{{.ID}}' eco/app:1 2>&1); rc=$?
check_contains "inspect: a field docker does not have fails as docker's" \
  'template: :1:2: executing "" at <.ID>: map has no entry for key "ID"' "$out"
check_eq "inspect: unknown field exits 1" 1 "$rc"
check_eq "inspect: one line per image" "2" "$("$CBUILD" inspect -f '{{.Id}}' eco/app:1 eco/db:2 | wc -l)"
out=$("$CBUILD" inspect -f '{{html .Id}}' eco/app:1 2>&1); rc=$?
check_contains "inspect: unsupported function named with its column" \
  'template parsing error: template: :1:2: function "html" is not supported by cbuild' "$out"
check_eq "inspect: template parse error exits 64 as docker's" 64 "$rc"
out=$("$CBUILD" inspect -f '{{.Id.Short}}' eco/app:1 2>&1); rc=$?
check_contains "inspect: execution error as Go's" \
  'template: :1:5: executing "" at <.Id.Short>: can'"'"'t evaluate field Short in type string' "$out"
check_eq "inspect: execution error exits 1" 1 "$rc"
out=$("$CBUILD" inspect -f '{{if .Os}}x' eco/app:1 2>&1)
check_contains "inspect: unclosed if" "template: :1: unexpected EOF" "$out"
check_fails "inspect: unclosed if fails cleanly" "$CBUILD" inspect -f '{{if .Os}}x' eco/app:1

# ---- prune asks, also without a terminal
c=$T/ctx-app
out=$("$CBUILD" prune -a </dev/null 2>&1); rc=$?
check_eq "prune without a terminal prompts (docker's text)" "WARNING! This will remove all build cache.
Are you sure you want to continue? [y/N] " "$out"
check_eq "prune: no answer is no (exit 0)" 0 "$rc"
build "$c" eco/app:1
check_eq "prune: nothing removed when not confirmed (rebuild cached)" 0 "$(steps_ran)"
out=$(echo n | "$CBUILD" prune -a 2>&1)
check_eq "prune: n is no" 0 "$(grep -c 'Total reclaimed' <<<"$out")"
out=$(echo y | "$CBUILD" prune -a 2>&1)
check_contains "prune: y from a pipe goes on" "Total reclaimed space:" "$out"
build "$c" eco/app:1
check_eq "prune -a confirmed: the cache is gone (COPY runs again)" 1 "$(steps_ran)"
out=$("$CBUILD" prune -f 2>&1)
check_eq "prune -f: no prompt" 0 "$(grep -c WARNING <<<"$out")"
out=$(echo y | "$CBUILD" prune 2>&1)
check_contains "prune without -a: dangling cache" "WARNING! This will remove all dangling build cache." "$out"
out=$("$CBUILD" prune -f --filter until=soon 2>&1); rc=$?
check_contains "prune: bad until named" "invalid filter \`until=soon\`" "$out"
check_eq "prune: bad filter exits 125" 125 "$rc"

# ---- management commands
check_eq "image ls = images" "$("$CBUILD" images --format "$TF")" "$("$CBUILD" image ls --format "$TF")"
check_eq "image ls: the default table" 1 "$("$CBUILD" image ls | head -1 | grep -cE '^REPOSITORY +TAG {7}IMAGE ID {7}CREATED +SIZE$')"
check_eq "image inspect = inspect" "$("$CBUILD" inspect -f '{{.Id}}' eco/db:2)" "$("$CBUILD" image inspect -f '{{.Id}}' eco/db:2)"
check "image tag" "$CBUILD" image tag eco/db:2 eco/db:copy
check_eq "image tag made the tag" "eco/db:2 eco/db:copy " "$(names eco/db)"
check "image rm" "$CBUILD" image rm eco/db:copy
check_eq "image rm removed it" "eco/db:2 " "$(names eco/db)"
check "image save" "$CBUILD" image save -o "$T/app.tar" eco/app:1
check "image load" env CBUILD_ROOT="$T/root-load" "$CBUILD" image load -i "$T/app.tar"
check_eq "image load: same image ID" "$("$CBUILD" inspect -f '{{.Id}}' eco/app:1)" \
  "$(CBUILD_ROOT="$T/root-load" "$CBUILD" inspect -f '{{.Id}}' eco/app:1)"
check "image push" "$CBUILD" image push -q eco/app:1 "$CBUILD_REGISTRY/eco/app:pushed"
check "image pull" env CBUILD_ROOT="$T/root-pull" "$CBUILD" image pull -q "$CBUILD_REGISTRY/eco/app:pushed"
check_eq "image pull: same image ID" "$("$CBUILD" inspect -f '{{.Id}}' eco/app:1)" \
  "$(CBUILD_ROOT="$T/root-pull" "$CBUILD" inspect -f '{{.Id}}' "$CBUILD_REGISTRY/eco/app:pushed")"
check_eq "system df = du" "$("$CBUILD" du --format json)" "$("$CBUILD" system df --format json)"
check_contains "builder prune = prune" "Total reclaimed space:" "$("$CBUILD" builder prune -f)"
out=$(echo y | "$CBUILD" system prune 2>&1)
check_contains "system prune lists what it removes" "WARNING! This will remove:
  - all stopped containers
  - all dangling images
  - all dangling build cache" "$out"
check_contains "system prune ran" "Total reclaimed space:" "$out"
check_eq "system prune keeps tagged images" "$BASE eco/app:1 eco/app:latest eco/db:2 hello:1 " "$(names)"
out=$(echo y | "$CBUILD" image prune 2>&1)
check_contains "image prune: docker's warning" "WARNING! This will remove all dangling images." "$out"
check_eq "image prune keeps tagged images" "$BASE eco/app:1 eco/app:latest eco/db:2 hello:1 " "$(names)"
out=$("$CBUILD" image prune -a -f --filter until=1h 2>&1)
check_eq "image prune -a until=1h: nothing that young" "$BASE eco/app:1 eco/app:latest eco/db:2 hello:1 " "$(names)"
out=$("$CBUILD" image prune -a -f 2>&1)
check_contains "image prune -a: untagged, as docker prints" "untagged: eco/app:latest" "$out"
check_contains "image prune -a: deleted IDs" "deleted: $want_id" "$out"
check_eq "image prune -a: no image left" "" "$(names)"
out=$("$CBUILD" image frob 2>&1); rc=$?
check_contains "unknown image subcommand named" "'image frob' is not a cbuild command" "$out"
check_eq "unknown image subcommand exits 125" 125 "$rc"
check_contains "image --help lists ls" "ls " "$("$CBUILD" image --help)"
