#!/bin/bash
# The WWW-Authenticate Bearer token flow against docker-registry configured for token auth,
# with a token server (tests/e2e/oci/token-server.py) issuing RS256 JWTs.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
TOKEN_PID=
trap '[ -n "$TOKEN_PID" ] && kill $TOKEN_PID 2>/dev/null; cleanup_registries B; cp "$B_DIR/log" /tmp/bearer-reg.log 2>/dev/null; _tap_done' EXIT
export DOCKER_CONFIG=$T/docker
SK="skopeo --insecure-policy"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-issuer" \
    -keyout "$T/tok-key.pem" -out "$T/tok-cert.pem" 2>/dev/null
TPORT=$(free_port)
python3 "$CBUILD_SRC/tests/e2e/oci/token-server.py" $TPORT "$T/tok-key.pem" "$T/tok-cert.pem" alice:s3cret "$T/token.log" &
TOKEN_PID=$!
# a plain registry whose config gets a token auth section
start_registry B plain || { not_ok "start docker-registry"; exit 1; }
stop_registry B
cat >>"$B_DIR/config.yml" <<EOC
auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: cbuild-test
    issuer: test-issuer
    rootcertbundle: $T/tok-cert.pem
EOC
restart_registry B || { not_ok "restart docker-registry with token auth"; exit 1; }
REG=127.0.0.1:$B_PORT
check_contains "registry asks for a Bearer token" "Bearer realm=" "$(curl -sI http://$REG/v2/ | tr -d '\r')"

make_busybox_layout "$T/lay" bb
$SK copy -q oci:"$T/lay":bb oci:"$CBUILD_ROOT":$REG/test/bb:1
want=$($SK inspect --raw oci:"$T/lay":bb | sha256sum | cut -d' ' -f1)

out=$("$CBUILD" push $REG/test/bb:1 2>&1)
check_contains "anonymous push is denied by the registry" "authentication required (UNAUTHORIZED)" "$out"
check_contains "... with a hint to log in" "cbuild login" "$out"
out=$(echo wrong | "$CBUILD" login -u alice --password-stdin $REG 2>&1)
check_contains "wrong password: the token server's 401 is reported" "authentication failed" "$out"
check_contains "... and suggests checking the credentials" "check the username and password" "$out"
check "login through the token server" bash -c "echo s3cret | '$CBUILD' login -u alice --password-stdin $REG"
check "push with a Bearer token" "$CBUILD" push $REG/test/bb:1
check "a token with pull,push scope was requested as alice" grep -q "user=alice scopes=\['repository:test/bb:pull,push'\]" "$T/token.log"
check_eq "skopeo sees the pushed manifest" "$want" \
    "$($SK inspect --raw --tls-verify=false --creds alice:s3cret docker://$REG/test/bb:1 | sha256sum | cut -d' ' -f1)"
check "push to another repository (mount needs two scopes)" "$CBUILD" push $REG/test/bb:1 $REG/other/bb:1
check "the mount asked for both repositories" grep -q "repository:other/bb:pull,push', 'repository:test/bb:pull'" "$T/token.log"
check "logout" "$CBUILD" logout $REG
rm -rf "$T/root2"
check "anonymous pull gets a pull-only token" env CBUILD_ROOT="$T/root2" "$CBUILD" pull -q $REG/other/bb:1
check "anonymous token was requested" grep -q "user=None scopes=\['repository:other/bb:pull'\]" "$T/token.log"
check_eq "pulled manifest matches" "$want" \
    "$(CBUILD_ROOT="$T/root2" "$CBUILD" inspect --format manifest $REG/other/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)"
