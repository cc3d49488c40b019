# Shared fixtures for the guest/ end-to-end tests (source after lib.sh).
# The guest kernel lives in a cached store root so each test does not download it again;
# the root filesystems are made per test from busybox-static.
GUEST_ROOT=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}/guest-root
mkdir -p "$GUEST_ROOT"
# TMPDIR inside $T: the tests check that nothing is left behind.
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

# One-time: install the kernel and probe KVM (cached in $GUEST_ROOT).
guest_setup() {
    local out
    if ! out=$("$CBUILD" --root "$GUEST_ROOT" setup 2>&1); then
        echo "Bail out! cbuild setup failed: $out"
        exit 1
    fi
    diag "$out"
}

# run_vm ARGS...: cbuild run on the cached kernel.
run_vm() { "$CBUILD" --root "$GUEST_ROOT" run "$@"; }

# make_rootfs DIR: a busybox root with users and groups for the user tests.
make_rootfs() {
    local d=$1
    mkdir -p "$d/bin" "$d/etc" "$d/root" "$d/tmp" "$d/home/alice"
    cp /bin/busybox "$d/bin/busybox"
    local a
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
    printf 'root:x:0:\nwheel:x:10:alice\naudio:x:29:bob,alice\nalice:x:1000:\nstaff:x:50:\nnogroup:x:65534:\n' >"$d/etc/group"
    chown 1000:1000 "$d/home/alice"
}

# make_image DIR IMG: a flattened root filesystem written by cbuild's own ext4 writer.
make_image() {
    local out
    if ! out=$("$CBUILD" ext4 create --dir "$1" "$2" 2>&1); then
        echo "Bail out! cbuild ext4 create --dir $1 failed: $out"
        exit 1
    fi
}

# make_upper IMG: an empty ext4 for a step's changes (mke2fs's, so vminitd is also shown to
# work with an ext4 it did not write).
make_upper() {
    rm -f "$1"
    mke2fs -q -t ext4 "$1" 256M >/dev/null
}
