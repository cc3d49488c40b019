#!/bin/bash
# HTTPS with a self-signed certificate (OpenSSL) and htpasswd Basic auth on docker-registry:
# login/logout, credentials from ~/.docker/config.json, certificate verification, 401 errors.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
trap 'cleanup_registries S E P; _tap_done' EXIT
export DOCKER_CONFIG=$T/docker

start_registry S tls || { not_ok "start docker-registry with TLS"; exit 1; }
REG=127.0.0.1:$S_PORT
SK="skopeo --insecure-policy"
TLS=(--cert-dir "$T/certs")

make_busybox_layout "$T/lay" bb
$SK copy -q oci:"$T/lay":bb oci:"$CBUILD_ROOT":$REG/test/bb:1
want=$($SK inspect --raw oci:"$T/lay":bb | sha256sum | cut -d' ' -f1)

out=$("$CBUILD" push "${TLS[@]}" $REG/test/bb:1 2>&1)
check_contains "push without credentials: 401 named" "unauthorized" "$out"
check_contains "push without credentials: suggests login" "cbuild login" "$out"

out=$(echo wrong | "$CBUILD" login "${TLS[@]}" -u alice --password-stdin $REG 2>&1)
check_contains "login with a wrong password: clear 401" "wrong username or password" "$out"
check_fails "wrong password writes no credentials" test -s "$DOCKER_CONFIG/config.json"

out=$(echo s3cret | "$CBUILD" login "${TLS[@]}" -u alice --password-stdin $REG 2>&1)
check_contains "login works with the right password" "Login Succeeded" "$out"

mkdir -p "$T/wrongca/$REG"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other" -keyout "$T/wk.pem" -out "$T/wrongca/$REG/ca.crt" 2>/dev/null
out=$("$CBUILD" push --cert-dir "$T/wrongca" $REG/test/bb:1 2>&1)
check_contains "a CA that did not sign the certificate is refused" "certificate" "$out"

check "credentials stored in config.json" python3 -c "
import json,base64,sys
a=json.load(open('$DOCKER_CONFIG/config.json'))['auths']['$REG']['auth']
sys.exit(base64.b64decode(a)!=b'alice:s3cret')"
check "push over HTTPS with Basic auth" "$CBUILD" push "${TLS[@]}" $REG/test/bb:1
check_eq "skopeo sees the same manifest" "$want" \
    "$($SK inspect --raw --cert-dir "$T/certs/$REG" --creds alice:s3cret docker://$REG/test/bb:1 | sha256sum | cut -d' ' -f1)"
check "chunked upload to a new repository" "$CBUILD" push "${TLS[@]}" --chunk-size 256K $REG/test/bb:1 $REG/chunked/bb:1
check "skopeo copies the chunked upload" $SK copy -q --src-cert-dir "$T/certs/$REG" --src-creds alice:s3cret \
    docker://$REG/chunked/bb:1 dir:"$T/chunked"
rm -rf "$T/root2"
check "pull over HTTPS with Basic auth" env CBUILD_ROOT="$T/root2" "$CBUILD" pull -q "${TLS[@]}" $REG/chunked/bb:1
check_eq "pulled manifest matches" "$want" \
    "$(CBUILD_ROOT="$T/root2" "$CBUILD" inspect --format manifest $REG/chunked/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)"
out=$("$CBUILD" pull "${TLS[@]}" --creds alice:nope $REG/test/bb:1 2>&1)
check_contains "explicit wrong credentials: 401 names the reference" "$REG/test/bb:1" "$out"
check "logout" "$CBUILD" logout $REG
check_fails "credentials removed" grep -q "$REG" "$DOCKER_CONFIG/config.json"
out=$("$CBUILD" logout $REG 2>&1)
check_contains "logout twice: not logged in" "Not logged in" "$out"
out=$(CBUILD_ROOT="$T/root3" "$CBUILD" pull "${TLS[@]}" $REG/test/bb:1 2>&1)
check_contains "pull after logout: 401" "unauthorized" "$out"

# credentials kept by a Docker credential helper (credsStore), as docker login does
mkdir -p "$T/bin" "$T/dh"
cat >"$T/bin/docker-credential-fake" <<'EOS'
#!/bin/bash
# a file-backed helper: store <json>, get <server>, erase <server>
db=$FAKE_HELPER_DB
case "$1" in
store) cat >"$db" ;;
get) read -r server
     if [ -s "$db" ] && grep -q "\"ServerURL\":\"$server\"" "$db"; then cat "$db"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read -r server; rm -f "$db" ;;
esac
EOS
chmod +x "$T/bin/docker-credential-fake"
echo '{"credsStore":"fake"}' >"$T/dh/config.json"
export FAKE_HELPER_DB=$T/helper.db
HENV=(env PATH="$T/bin:$PATH" DOCKER_CONFIG="$T/dh" CBUILD_ROOT="$T/root4")
out=$(echo s3cret | "${HENV[@]}" "$CBUILD" login "${TLS[@]}" -u alice --password-stdin $REG 2>&1)
check_contains "login through the credential helper" "Login Succeeded" "$out"
check "the helper holds the secret" grep -q '"Secret":"s3cret"' "$T/helper.db"
check_fails "config.json holds no secret" grep -q s3cret "$T/dh/config.json"
rm -rf "$T/root4"
check "pull with credentials from the helper" "${HENV[@]}" "$CBUILD" pull -q "${TLS[@]}" $REG/test/bb:1
check "logout erases them from the helper" "${HENV[@]}" "$CBUILD" logout $REG
check_fails "helper store is empty" test -e "$T/helper.db"
echo '{"credsStore":"missing"}' >"$T/dh/config.json"
out=$(DOCKER_CONFIG="$T/dh" CBUILD_ROOT="$T/root4" "$CBUILD" pull -q "${TLS[@]}" $REG/test/bb:1 2>&1; echo "exit $?")
check_contains "a configured but missing helper is named" "docker-credential-missing" "$out"

# A registry on a non-loopback address is not insecure by default: TLS is verified and
# plain HTTP needs --insecure-registry, as Docker does.
IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
if [ -z "$IP" ]; then
    skip "no non-loopback IPv4 address on this machine for the default-verification tests"
else
    start_registry E tls "$IP" || not_ok "start docker-registry with TLS on $IP"
    ER=$IP:$E_PORT
    out=$("$CBUILD" push --creds alice:s3cret $REG/test/bb:1 $ER/test/bb:1 2>&1)
    check_contains "self-signed certificate refused by default (non-loopback host)" "certificate" "$out"
    check "accepted with its CA in --cert-dir" "$CBUILD" push -q --cert-dir "$T/certs" --creds alice:s3cret $REG/test/bb:1 $ER/test/bb:1
    check "--tls-verify=false skips verification" "$CBUILD" push -q --tls-verify=false --creds alice:s3cret $REG/test/bb:1 $ER/test/bb:2
    start_registry P plain "$IP" || not_ok "start plain docker-registry on $IP"
    PR=$IP:$P_PORT
    out=$("$CBUILD" push $REG/test/bb:1 $PR/test/bb:1 2>&1)
    check_contains "plain HTTP registry on a non-loopback host: HTTPS required" "allow it with --insecure-registry" "$out"
    check_fails "... and the push fails" "$CBUILD" push -q $REG/test/bb:1 $PR/test/bb:1
    check "--insecure-registry allows plain HTTP" "$CBUILD" push -q --insecure-registry "$PR" $REG/test/bb:1 $PR/test/bb:1
    check "skopeo reads what went over plain HTTP" $SK inspect --tls-verify=false docker://$PR/test/bb:1
fi
