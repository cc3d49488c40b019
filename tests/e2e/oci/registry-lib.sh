# Helpers for the oci end-to-end tests: real docker-registry instances and images made by
# umoci/skopeo, never by cbuild itself. Source after lib.sh.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_registry NAME [plain|tls [HOST]]: starts docker-registry on HOST (127.0.0.1); sets
# ${NAME}_PORT, ${NAME}_PID, ${NAME}_DIR. With tls: a self-signed certificate (OpenSSL) and
# htpasswd Basic auth (user "alice", password "s3cret"); the CA is left in
# $T/certs/HOST:PORT/ca.crt.
start_registry() {
    local name=$1 mode=${2:-plain} host=${3:-127.0.0.1} port dir
    port=$(free_port)
    dir=$T/reg-$name
    mkdir -p "$dir/data"
    {
        echo "version: 0.1"
        echo "log: {level: ${REGISTRY_LOG_LEVEL:-error}, accesslog: {disabled: true}}"
        echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
        echo "http:"
        echo "  addr: $host:$port"
        if [ "$mode" = tls ]; then
            echo "  tls: {certificate: $dir/cert.pem, key: $dir/key.pem}"
            echo "auth: {htpasswd: {realm: cbuild-test, path: $dir/htpasswd}}"
        fi
    } >"$dir/config.yml"
    if [ "$mode" = tls ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$host" \
            -addext "subjectAltName=IP:$host" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
        htpasswd -Bbn alice s3cret >"$dir/htpasswd"
        mkdir -p "$T/certs/$host:$port"
        cp "$dir/cert.pem" "$T/certs/$host:$port/ca.crt"
    fi
    eval "${name}_PORT=$port ${name}_DIR=$dir ${name}_MODE=$mode ${name}_HOST=$host"
    _registry_launch "$name"
}

_registry_launch() {
    local name=$1 port dir mode host
    eval "port=\$${name}_PORT dir=\$${name}_DIR mode=\$${name}_MODE host=\$${name}_HOST"
    docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
    eval "${name}_PID=$!"
    local scheme=http
    [ "$mode" = tls ] && scheme=https
    for _ in $(seq 100); do
        curl -sk -o /dev/null "$scheme://$host:$port/v2/" && return 0
        sleep 0.1
    done
    echo "# registry $name did not start:"; sed 's/^/# /' "$dir/log"
    return 1
}

stop_registry() {
    local pid
    eval "pid=\${$1_PID:-}"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    eval "$1_PID="
}

restart_registry() { _registry_launch "$1"; }

# make_busybox_layout DIR TAG: a scratch image with /bin/busybox and its applet symlinks (umoci).
make_busybox_layout() {
    local dir=$1 tag=$2 b=$T/bundle-$2
    [ -d "$dir" ] || umoci init --layout "$dir"
    umoci new --image "$dir:$tag"
    umoci unpack --image "$dir:$tag" "$b" >/dev/null
    mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/tmp"
    cp /bin/busybox "$b/rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$b/rootfs/bin/$a"
    done
    echo "root:x:0:0:root:/root:/bin/sh" >"$b/rootfs/etc/passwd"
    umoci repack --image "$dir:$tag" "$b" >/dev/null
    umoci config --image "$dir:$tag" --config.cmd /bin/sh --config.env PATH=/bin --config.workingdir /tmp \
        --config.label org.example.test=yes
    rm -rf "$b"
}

cleanup_registries() {
    for n in "$@"; do stop_registry "$n"; done
}
