#!/bin/bash
# COPY/ADD semantics (no VM needed): files, directories, globs, trailing slashes, --chown
# names from the image, --chmod, --exclude, --parents, heredocs, ADD auto-extraction and
# URLs with --checksum, .dockerignore, symlinks kept inside the context, and the cache
# (touch keeps it, a content change invalidates from that step on). Checked with umoci.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3 bzip2 xz zstd gzip

C=$(ctx copy <<EOF
FROM $BASE
COPY a.txt /dst/file.txt
COPY a.txt b.txt /multi/
COPY dir /copied
COPY dir/ /copied2/
COPY *.txt /glob/
COPY --chown=app:app a.txt /owned/
COPY --chown=1234 a.txt /numeric.txt
COPY --chmod=0600 a.txt /mode.txt
COPY link-in /linkcopy
COPY --exclude=*.tmp logs/ /logs/
COPY --parents dir/sub/c.txt /parents/
ENV GREETING=world
COPY <<EOT /heredoc.txt
hello \$GREETING
EOT
ADD archive.tar.gz /x-gz/
ADD archive.tar.bz2 /x-bz2/
ADD archive.tar.xz /x-xz/
ADD archive.tar.zst /x-zst/
ADD plain.gz /plain.gz
ADD --checksum=SUM http://127.0.0.1:PORT/remote.txt /remote/
WORKDIR /work
COPY a.txt rel.txt
COPY a.txt /tmp/
EOF
)
cd "$C" || exit 1
echo alpha >a.txt; echo beta >b.txt; echo secret >secret.txt
mkdir -p dir/sub logs; echo c >dir/c.txt; echo deep >dir/sub/c.txt; ln -s sub dir/linkdir
echo keep >logs/keep.log; echo drop >logs/drop.tmp; echo ignored >logs/ignored.log
ln -s a.txt link-in
mkdir -p arch/top; echo member >arch/top/m.txt; chmod 0640 arch/top/m.txt
tar --owner=7 --group=8 -C arch -cf archive.tar top
gzip -kc archive.tar >archive.tar.gz; bzip2 -kc archive.tar >archive.tar.bz2
xz -kc archive.tar >archive.tar.xz; zstd -qkc archive.tar >archive.tar.zst
echo notatar | gzip >plain.gz
printf 'secret.txt\nlogs/*.log\n!logs/keep.log\n' >.dockerignore
mkdir -p "$T/www"; echo remote-content >"$T/www/remote.txt"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$T/www" && exec python3 -m http.server -b 127.0.0.1 "$PORT" >/dev/null 2>&1) &
HTTP_PID=$!
SUM=$(sha256sum "$T/www/remote.txt" | cut -d' ' -f1)
sed -i "s/PORT/$PORT/; s/SUM/sha256:$SUM/" Dockerfile
cd - >/dev/null
sleep 0.5

if build "$C" copytest; then ok "COPY/ADD build succeeds"; else not_ok "COPY/ADD build succeeds"; diag "$(tail -30 "$T/last.log")"; fi
unpack copytest "$T/u"
R=$T/u/rootfs
check_eq "file to a new file path" alpha "$(cat "$R/dst/file.txt" 2>&1)"
check_eq "several files into a dir/" "alpha beta" "$(cat "$R/multi/a.txt" "$R/multi/b.txt" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "a directory's contents are copied, not the directory" "c deep" "$(cat "$R/copied/c.txt" "$R/copied/sub/c.txt" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "dir/ copies the same contents" test -f "$R/copied2/sub/c.txt"
check_eq "globs match *.txt; .dockerignore hides secret.txt" "a.txt b.txt" "$(ls "$R/glob" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "--chown=app:app uses the image's /etc/passwd and /etc/group" "regular file 644 1000:1000" "$(stat_of "$T/u" owned/a.txt)"
check_eq "--chown=1234 without group uses gid = uid" "regular file 644 1234:1234" "$(stat_of "$T/u" numeric.txt)"
check_eq "--chmod=0600" "regular file 600 0:0" "$(stat_of "$T/u" mode.txt)"
check_eq "a symlink source is followed (its target's content)" "regular file|alpha" "$(stat -c %F "$R/linkcopy" 2>&1)|$(cat "$R/linkcopy" 2>&1)"
check_eq "symlinks inside a copied directory stay symlinks" "sub" "$(readlink "$R/copied/linkdir" 2>&1)"
check_eq "--exclude and .dockerignore (with a ! exception) filter a directory" "keep.log" "$(ls "$R/logs" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "--parents keeps the source path" deep "$(cat "$R/parents/dir/sub/c.txt" 2>&1)"
check_eq "COPY heredoc expands ENV" "hello world" "$(cat "$R/heredoc.txt" 2>&1)"
for z in gz bz2 xz zst; do
  check_eq "ADD extracts a .tar.$z keeping owners and modes" "regular file 640 7:8|member" "$(stat_of "$T/u" x-$z/top/m.txt)|$(cat "$R/x-$z/top/m.txt" 2>&1)"
done
check_eq "ADD copies a non-tar .gz as is" notatar "$(gzip -dc "$R/plain.gz" 2>&1)"
check_eq "ADD URL with --checksum (mode 0600)" "regular file 600 0:0|remote-content" "$(stat_of "$T/u" remote/remote.txt)|$(cat "$R/remote/remote.txt" 2>&1)"
check_eq "relative destination resolves against WORKDIR" alpha "$(cat "$R/work/rel.txt" 2>&1)"
check_eq "created destination directories are root-owned 0755" "directory 755 0:0" "$(stat_of "$T/u" dst)"
check_eq "existing directories keep their metadata (/tmp stays 1777)" "directory 1777 0:0" "$(stat_of "$T/u" tmp)"

# History as BuildKit writes it
H=$(config_of copytest | python3 -c 'import json,sys; c=json.load(sys.stdin); print("\n".join(h.get("created_by","")+("|empty" if h.get("empty_layer") else "") for h in c["history"][1:]))')
check_contains "history: COPY text" "COPY a.txt /dst/file.txt # buildkit" "$H"
check_contains "history: COPY --chown" "COPY --chown=app:app a.txt /owned/ # buildkit" "$H"
check_contains "history: heredoc source" "COPY <<EOT /heredoc.txt # buildkit" "$H"
check_contains "history: ENV is an empty layer" "ENV GREETING=world|empty" "$H"
check_contains "history: WORKDIR" "WORKDIR /work" "$H"
NL=$(manifest_of copytest | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
NH=$(config_of copytest | python3 -c 'import json,sys; c=json.load(sys.stdin); print(sum(1 for h in c["history"] if not h.get("empty_layer")))')
check_eq "one non-empty history entry per layer" "$NL" "$NH"

# Cache: a rebuild is fully cached; touch keeps the cache; a change reruns from that step
ID1=$(config_of copytest | sha256sum)
check "fully cached rebuild" build "$C" copytest
check_eq "fully cached rebuild: no step ran" 0 "$(steps_ran)"
check_eq "fully cached rebuild: same image config" "$ID1" "$(config_of copytest | sha256sum)"
touch "$C/a.txt"
check "rebuild after touch" build "$C" copytest
check_eq "touching a file keeps COPY cached" CACHED "$(step_state 'COPY a.txt /dst/file.txt')"
echo changed >"$C/b.txt"
check "rebuild after a change" build "$C" copytest
check_eq "an unchanged earlier step stays cached" CACHED "$(step_state 'COPY a.txt /dst/file.txt')"
check_eq "the changed file's step runs again" DONE "$(step_state 'COPY a.txt b.txt /multi/')"
unpack copytest "$T/u2"
check_eq "the new content is in the image" changed "$(cat "$T/u2/rootfs/multi/b.txt" 2>&1)"

# COPY/ADD into the root: the layer has no entry for "/" itself (containerd's differ skips it)
ROOTC=$(ctx root <<EOF
FROM $BASE AS build
COPY a.txt /out/built.txt
FROM $BASE
COPY a.txt /
COPY . .
ADD rootfs.tar /
COPY --from=build /out /
EOF
)
echo alpha >"$ROOTC/a.txt"; mkdir -p "$ROOTC/rt/etc"; echo fromtar >"$ROOTC/rt/etc/fromtar"
tar -C "$ROOTC/rt" -cf "$T/rootfs.tar" . && mv "$T/rootfs.tar" "$ROOTC/rootfs.tar"
if build "$ROOTC" roottest; then ok "COPY a.txt /, COPY . ., ADD x.tar /, COPY --from … / build"
else not_ok "COPY/ADD into / build"; diag "$(tail -20 "$T/last.log")"; fi
unpack roottest "$T/ur"
check_eq "COPY a.txt / puts /a.txt" alpha "$(cat "$T/ur/rootfs/a.txt" 2>&1)"
check_eq "ADD rootfs.tar / extracts into /" fromtar "$(cat "$T/ur/rootfs/etc/fromtar" 2>&1)"
check_eq "COPY --from=build /out / copies the folder's contents" alpha "$(cat "$T/ur/rootfs/built.txt" 2>&1)"
check_eq "the root keeps busybox's mode and owner" "directory 755 0:0" "$(stat_of "$T/ur" /)"
check_eq "no COPY/ADD layer has an entry for the root itself (base layer excluded)" "" \
  "$(for l in $(manifest_of roottest | jq -r '.layers[1:][].digest'); do tar -tzf "$CBUILD_ROOT/blobs/sha256/${l#sha256:}"; done | grep -xE '\./?|/')"

# Errors and confinement
E=$(ctx escape <<EOF
FROM $BASE
COPY outside /outside
EOF
)
ln -s ../../../../../../etc/hostname "$E/outside"
check_fails "a symlink pointing out of the context is not followed out" build "$E" escapetest
check_contains "the error names the Dockerfile line" "Dockerfile:2" "$(cat "$T/last.log")"
M=$(ctx missing <<EOF
FROM $BASE
COPY nothere /x
EOF
)
check_fails "a missing source fails" build "$M" missingtest
check_contains "the error says what is missing" '"/nothere": not found' "$(cat "$T/last.log")"
printf 'FROM %s\nCOPY secret.txt /\n' "$BASE" >"$T/Dockerfile.secret"
check_fails "a file excluded by .dockerignore cannot be copied" "$CBUILD" build --progress=plain -t x -f "$T/Dockerfile.secret" "$C"
kill $HTTP_PID 2>/dev/null
