#!/bin/bash
# .dockerignore cannot be bypassed by a symlink: the context a step sees is the context after
# .dockerignore, as in BuildKit (which never transfers an ignored file). A COPY source that is
# a symlink is followed (BuildKit's FollowSymlinks for COPY) and finds an ignored target
# missing: `"/.env": not found`; a directory copied whole keeps the symlink as a symlink.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"

C=$T/ctx
mkdir -p "$C/secret" "$C/pub"
echo 'SECRET=hunter2' >"$C/.env"
echo 'inner secret' >"$C/secret/key"
echo 'public part' >"$C/secret/public"
echo 'plain' >"$C/a.conf"
ln -s .env "$C/x.conf"
ln -s a.conf "$C/y.conf"
ln -s secret "$C/sdir"
ln -s ../secret/public "$C/pub/p"
printf '.env\nsecret/*\n!secret/public\n' >"$C/.dockerignore"

# try NAME DOCKERFILE-LINE: build FROM scratch + the line into $T/NAME
try() {
  printf 'FROM scratch\n%s\n' "$2" >"$C/Dockerfile"
  rm -rf "$T/$1"
  "$CBUILD" build --progress=plain -o type=local,dest="$T/$1" "$C" >"$T/last.out" 2>"$T/last.log"
}
leaks() { grep -rqs hunter2 "$T/$1"; }

try glob 'COPY *.conf /out/'; rc=$?
if [ $rc -ne 0 ] && failed_cleanly $rc "$(cat "$T/last.log")"; then ok "COPY *.conf fails cleanly"; else not_ok "COPY *.conf fails cleanly (exit $rc)"; fi
check_contains 'COPY *.conf: "/.env": not found' '"/.env": not found' "$(cat "$T/last.log")"
if leaks glob; then not_ok "COPY *.conf does not copy the ignored file's contents"; else ok "COPY *.conf does not copy the ignored file's contents"; fi

try direct 'COPY x.conf /out/'; rc=$?
if [ $rc -ne 0 ] && failed_cleanly $rc "$(cat "$T/last.log")"; then ok "COPY x.conf fails cleanly"; else not_ok "COPY x.conf fails cleanly (exit $rc)"; fi
check_contains 'COPY x.conf: "/.env": not found' '"/.env": not found' "$(cat "$T/last.log")"
if leaks direct; then not_ok "COPY x.conf does not copy the secret"; else ok "COPY x.conf does not copy the secret"; fi

try throughdir 'COPY sdir/key /out/'; rc=$?
check_contains 'COPY through a symlink to an ignored file: "/secret/key": not found' '"/secret/key": not found' "$(cat "$T/last.log")"
if leaks throughdir || [ -e "$T/throughdir/out/key" ]; then not_ok "nothing of secret/ is copied"; else ok "nothing of secret/ is copied"; fi

check "a symlink to a file that is in the context is followed" try good 'COPY y.conf /out/'
check_eq "y.conf has a.conf's contents" plain "$(cat "$T/good/out/y.conf" 2>&1)"
check "a symlink to a re-included path (!secret/public) is followed" try pub 'COPY pub/p /out/'
check_eq "pub/p has secret/public's contents" 'public part' "$(cat "$T/pub/out/p" 2>&1)"

check "COPY . copies the context" try all 'COPY . /out/'
check_eq "x.conf is copied as the symlink itself" ".env" "$(readlink "$T/all/out/x.conf")"
if [ -e "$T/all/out/.env" ] || leaks all; then not_ok "COPY . has no .env"; else ok "COPY . has no .env"; fi
check_eq "secret/ holds only the re-included file" public "$(ls "$T/all/out/secret" 2>&1)"

# without a .dockerignore a symlink inside the context is followed as before
rm "$C/.dockerignore"
check "without .dockerignore, COPY x.conf follows the symlink" try noignore 'COPY x.conf /out/'
check_eq "and copies its target's contents" 'SECRET=hunter2' "$(cat "$T/noignore/out/x.conf" 2>&1)"
