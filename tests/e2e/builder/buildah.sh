#!/bin/bash
# The same multi-stage Dockerfile built by cbuild and by buildah (chroot isolation, vfs
# storage): filesystems (paths, types, modes, owners, sizes, symlink targets, contents) and
# configs must match. Known buildah-only artifacts, removed before comparing:
#   /etc/hosts, /etc/hostname, /etc/resolv.conf - buildah's RUN creates them (empty) as
#       mount points for its bind mounts and leaves them in the layer; BuildKit and cbuild
#       provide them without writing them into the image;
#   /run - created by buildah's RUN as a mount point (when the base lacks it).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need buildah python3

C=$(ctx cmp <<EOF
FROM $BASE AS build
RUN mkdir -p /out/sub && echo built > /out/artifact && ln -s artifact /out/link \
 && echo deep > /out/sub/deep && chmod 0750 /out/sub && chown 1000:1000 /out/sub/deep

FROM $BASE
COPY --from=build /out /opt/out
COPY files/ /etc/app/
COPY --chown=app:app files/conf.ini /home/app/
ENV APP_MODE=production
WORKDIR /srv
RUN touch /srv/marker && rm -f /etc/motd && mkdir -p /var/lib/app && echo state > /var/lib/app/state
LABEL org.example.built-by=test
EXPOSE 8080
USER app
CMD ["sh", "-c", "cat /etc/app/conf.ini"]
EOF
)
mkdir -p "$C/files/nested"; echo "[main]" >"$C/files/conf.ini"; echo n >"$C/files/nested/n.txt"; chmod 0600 "$C/files/nested/n.txt"
if build "$C" cmp:cbuild; then ok "cbuild build"; else not_ok "cbuild build"; diag "$(tail -30 "$T/last.log")"; fi
BH=(buildah --root "$T/bh-root" --runroot "$T/bh-run" --storage-driver vfs)
if out=$("${BH[@]}" bud --isolation chroot --tls-verify=false --layers -t cmp:buildah -f "$C/Dockerfile" "$C" 2>&1); then
  ok "buildah bud"; else not_ok "buildah bud"; diag "$(tail -30 <<<"$out")"; exit 0; fi
"${BH[@]}" push -q cmp:buildah "oci:$T/bh-layout:cmp" >/dev/null 2>&1
umoci unpack --image "$T/bh-layout:cmp" "$T/ub" >/dev/null 2>&1
unpack cmp:cbuild "$T/uc"
for f in etc/hosts etc/hostname etc/resolv.conf; do
  [ -f "$T/ub/rootfs/$f" ] && [ ! -s "$T/ub/rootfs/$f" ] && [ ! -e "$T/uc/rootfs/$f" ] && rm -f "$T/ub/rootfs/$f"
done
[ -d "$T/ub/rootfs/run" ] && [ ! -e "$T/uc/rootfs/run" ] && rmdir "$T/ub/rootfs/run" 2>/dev/null
listing() { (cd "$1/rootfs" && find . -printf '%p %y %m %U:%G %s %l\n' | sed 's/ d \([0-7]*\) \([0-9:]*\) [0-9]* / d \1 \2 - /' | sort); }
listing "$T/ub" >"$T/list.buildah"; listing "$T/uc" >"$T/list.cbuild"
check_contains "the listing is not vacuous (the COPY --from result is there)" "./opt/out/sub/deep f 644 1000:1000" "$(cat "$T/list.cbuild")"
check_contains "the RUN result is there" "./var/lib/app/state f 644 0:0" "$(cat "$T/list.cbuild")"
if diff -u "$T/list.buildah" "$T/list.cbuild" >"$T/list.diff"; then ok "same paths, types, modes, owners, sizes, link targets"
else not_ok "same paths, types, modes, owners, sizes, link targets"; diag "$(head -40 "$T/list.diff")"; fi
if diff -r --no-dereference "$T/ub/rootfs" "$T/uc/rootfs" >"$T/content.diff" 2>&1; then ok "same file contents"
else not_ok "same file contents"; diag "$(head -20 "$T/content.diff")"; fi
cfg() { python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; print(json.dumps({k: c.get(k) for k in ["Env","Cmd","Entrypoint","WorkingDir","User","ExposedPorts","Labels","Volumes","StopSignal"]}, sort_keys=True))'; }
CB=$(config_of cmp:cbuild | cfg)
BB=$(skopeo inspect --config "oci:$T/bh-layout:cmp" | python3 -c 'import json,sys; c=json.load(sys.stdin); c["config"].get("Labels",{}).pop("io.buildah.version",None); json.dump(c,sys.stdout)' | cfg)
check_eq "same config (io.buildah.version label aside)" "$BB" "$CB"
rm -rf "$T/bh-root" 2>/dev/null || true
