#!/bin/bash
# The .deb as a user gets it: dpkg-buildpackage builds it from a copy of this tree, lintian
# finds no error, apt installs it with its Depends into a clean Debian root (the cached
# debootstrap minbase, samples/base-images.sh), and there the INSTALLED binary builds and runs
# a busybox image from the test registry; `man cbuild-build` renders and both completions load.
# The root's packages come from the host's apt cache where it has them (hard links), the rest
# from the mirror.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
need dpkg-buildpackage dh lintian git chroot
[ "$(id -u)" = 0 ] || { skip "installing into a chroot needs root"; exit 0; }
start_base_registry

R=$T/croot
_deb_cleanup() {
  # detach the chroot's mounts before anything removes $T
  for m in dev/pts proc sys; do mountpoint -q "$R/$m" 2>/dev/null && umount -l "$R/$m"; done
  _builder_done
}
trap '_deb_cleanup' EXIT

# 1. the package, built in a copy (dpkg-buildpackage writes its results into ..)
t=$SECONDS
mkdir -p "$T/pkg/src"
git -C "$CBUILD_SRC" ls-files -co --exclude-standard | grep -v -e '^build/' -e '^debian/cbuild/' |
  (cd "$CBUILD_SRC" && tar -cf - -T - 2>/dev/null) | tar -C "$T/pkg/src" -xf -
if (cd "$T/pkg/src" && dpkg-buildpackage -us -uc -b >"$T/dpkg.log" 2>&1); then
  ok "dpkg-buildpackage -us -uc -b ($((SECONDS - t)) s)"
else
  not_ok "dpkg-buildpackage -us -uc -b"; diag "$(tail -30 "$T/dpkg.log")"; exit 0
fi
DEB=$(ls "$T"/pkg/cbuild_*_amd64.deb)
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/cbuild ./usr/share/man/man1/cbuild.1.gz ./usr/share/man/man1/cbuild-build.1.gz \
  ./usr/share/man/man1/cbuild-run.1.gz ./usr/share/bash-completion/completions/cbuild \
  ./usr/share/zsh/vendor-completions/_cbuild ./usr/share/cbuild/kernel/build.sh; do
  check_contains "the package has $f" "$f" "$contents"
done
depends=$(dpkg-deb -f "$DEB" Depends)
for d in qemu-system-x86 e2fsprogs passt; do check_contains "Depends: $d" "$d" "$depends"; done
lint=$(lintian "$DEB" 2>&1 | grep -v 'running with root privileges')
check_eq "lintian: no errors" "" "$(grep '^E:' <<<"$lint")"
[ -n "$lint" ] && diag "lintian: $lint"

# 2. a clean root: the minbase tarball, the host's apt lists, the package installed by apt
t=$SECONDS
if ! tar_path=$(bash "$CBUILD_SRC/samples/base-images.sh" debian-rootfs 2>"$T/rootfs.log"); then
  not_ok "debootstrap minbase bookworm"; diag "$(cat "$T/rootfs.log")"; exit 0
fi
mkdir -p "$R" && tar --numeric-owner -C "$R" -xf "$tar_path"
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp -a /etc/apt/sources.list.d/. "$R/etc/apt/sources.list.d/" 2>/dev/null
rm -f "$R"/etc/apt/sources.list.d/*disabled*
cp -a /var/lib/apt/lists/. "$R/var/lib/apt/lists/" 2>/dev/null
ln /var/cache/apt/archives/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod +x "$R/usr/sbin/policy-rc.d"
for n in null zero full random urandom tty kvm; do
  [ -c "/dev/$n" ] || continue
  rm -f "$R/dev/$n"
  mknod -m "$(stat -c %a "/dev/$n")" "$R/dev/$n" c "$((0x$(stat -c %t "/dev/$n")))" "$((0x$(stat -c %T "/dev/$n")))"
done
mkdir -p "$R/dev/shm" "$R/dev/pts" "$R/proc" "$R/sys"
mount -t proc proc "$R/proc" && mount -t sysfs -o ro sysfs "$R/sys"
# a pty of its own for the zsh completion check (zpty)
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts" && ln -sf pts/ptmx "$R/dev/ptmx"
cp "$DEB" "$R/tmp/"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8 "$@"; }
if in_root bash -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/${DEB##*/} man-db bash-completion zsh" >"$T/apt.log" 2>&1; then
  ok "apt-get install ./${DEB##*/} with its Depends in a clean minbase root ($((SECONDS - t)) s, $(grep -cE '^(Setting up|Unpacking) ' "$T/apt.log") dpkg steps)"
else
  not_ok "apt-get install the package into a clean root"; diag "$(tail -30 "$T/apt.log")"; exit 0
fi
check_eq "the installed binary is /usr/bin/cbuild" "/usr/bin/cbuild" "$(in_root sh -c 'command -v cbuild')"
check_contains "cbuild version (installed)" "$(sed -n "s/^ *version: '\(.*\)',/\1/p" "$CBUILD_SRC/meson.build")" "$(in_root cbuild version 2>&1)"

# 3. man pages and completion, as installed
man_build=$(in_root man -P cat cbuild-build 2>&1)
check_contains "man cbuild-build renders the synopsis" "cbuild build [OPTIONS] PATH" "$man_build"
check_contains "man cbuild-build lists --tag from the --help text" "--tag NAME[:TAG]" "$man_build"
check_contains "man cbuild lists the verbs" "cbuild-images(1)" "$(in_root man -P cat cbuild 2>&1)"
comp() { in_root bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/cbuild
  read -ra COMP_WORDS <<<"$1"; [ "${1: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  _cbuild; printf "%s\n" "${COMPREPLY[@]}"' _ "$1"; }
check_eq "bash: completion is registered" "complete -F _cbuild cbuild" \
  "$(in_root bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader cbuild; complete -p cbuild' 2>&1)"
check_eq "bash: verbs" "images" "$(comp 'cbuild imag' | paste -sd ' ')"
check_eq "bash: flags of a verb" "--progress" "$(comp 'cbuild build --progr' | paste -sd ' ')"
check_eq "bash: values of --progress" "plain" "$(comp 'cbuild build --progress pl' | paste -sd ' ')"
check_eq "zsh: _cbuild autoloads from the default fpath" "_cbuild: function" \
  "$(in_root zsh -fc 'autoload -Uz compinit && compinit -u -d /tmp/zcomp && autoload -Uz _cbuild && (( $+functions[_cbuild] )) && whence -w _cbuild' 2>&1)"

# zsh: complete in an interactive zsh on a pty (zpty) and read what the line became
zcomp() {
  cat >"$R/tmp/zcomp.zsh" <<'ZEOF'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1=""; autoload -Uz compinit; compinit -u -d /tmp/zcd'
zpty -w -n z "$1"$'\t'
sleep 3
out=""
while zpty -r -t z line; do out+=$line; done
print -r -- "$out" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -1
zpty -d z
ZEOF
  in_root timeout 30 zsh -f /tmp/zcomp.zsh "$1" 2>&1
}
check_contains "zsh: a verb completes" "cbuild images" "$(zcomp 'cbuild ima')"
check_contains "zsh: a verb's flag completes" "cbuild build --progress" "$(zcomp 'cbuild build --prog')"

# 4. a build and a run with the installed binary (busybox base from the test registry)
mkdir -p "$R/ctx" "$R/kernel"
printf 'FROM %s\nCOPY greeting /greeting\nRUN echo "$(cat /greeting) from the deb" > /hello\nCMD ["cat", "/hello"]\n' "$BASE" >"$R/ctx/Dockerfile"
echo hello >"$R/ctx/greeting"
# the test kernel with what lies beside it (vmlinux: microvm boots it without ACPI)
kenv=()
if [ -n "${CBUILD_KERNEL:-}" ]; then
  cp -a "$(dirname "$CBUILD_KERNEL")/." "$R/kernel/"
  kenv=(CBUILD_KERNEL="/kernel/${CBUILD_KERNEL##*/}")
fi
t=$SECONDS
if in_root env CBUILD_ROOT=/root/store "${kenv[@]}" cbuild build --progress=plain -t hello /ctx >"$T/build.log" 2>&1; then
  ok "the installed cbuild builds -t hello ($((SECONDS - t)) s)"
else
  not_ok "the installed cbuild builds -t hello"; diag "$(grep -v "^$" "$T/build.log" | tail -40)"; cat "$R"/tmp/cbuild-vm-*/console.log 2>/dev/null | tail -20 | sed "s/^/# console: /"
fi
check_eq "cbuild run hello (installed)" "hello from the deb" "$(in_root env CBUILD_ROOT=/root/store "${kenv[@]}" cbuild run hello 2>"$T/run.log")"
check_eq "bash: image names complete from cbuild images" "hello:latest" \
  "$(in_root env CBUILD_ROOT=/root/store bash -c '. /usr/share/bash-completion/completions/cbuild; COMP_WORDS=(cbuild run hel); COMP_CWORD=2; _cbuild; printf "%s\n" "${COMPREPLY[@]}"')"
