#!/bin/bash
# mkfixture.sh DIR: the "kitchen sink" input tree for ext4 tests: every entry type, boundary
# file sizes, sparse and fragmented files, xattrs and ACLs, odd names, hard links, deep tree.
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
for n in 0 1 4095 4096 4097 8191 8192 65536; do
    head -c "$n" /dev/urandom >"size-$n"
done
head -c $((9 * 1024 * 1024)) /dev/urandom >size-9MiB
# zeros inside a file: kept as holes, still read back as zeros
{ head -c 5000 /dev/urandom; head -c 20000 /dev/zero; head -c 3000 /dev/urandom; } >zeros-inside
# fragmented: data in every other block -> ~1500 extents -> a two-level extent tree
python3 - <<'PY'
import os
with open('fragmented', 'wb') as f:
    for i in range(1500):
        f.seek(i * 8192)
        f.write(os.urandom(4096))
PY
truncate -s 1G sparse-1G
printf 'tail' | dd of=sparse-1G bs=1 seek=$((1024 * 1024 * 1024 - 4)) conv=notrunc status=none
mkdir -p dir/sub "name with spaces" "ünïcødé dir/日本語"
echo content >"name with spaces/file ✓.txt"
echo nihongo >"ünïcødé dir/日本語/ファイル"
ln -s size-1 dir/short-link
ln -s "$(printf 'target/%.0s' {1..40})end" dir/long-link
ln -s ../../no/such/target dir/dangling
ln size-4096 dir/sub/hardlink-a
ln size-4096 "name with spaces/hardlink-b"
mknod chr c 1 3
mknod blk b 8 1
mknod bigdev c 300 70000
mkfifo fifo
chmod 4755 size-1
chmod 2750 size-0
mkdir sticky && chmod 1777 sticky
chown 1000:1000 dir/sub
chown 123456:654321 size-8191
setfattr -n user.small -v hello size-4097
setfattr -n user.big -v "0s$(head -c 3000 /dev/urandom | base64 -w0)" size-8192
setfattr -n trusted.t -v tval dir
setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= size-65536
setfacl -m u:1234:rwx,g:2345:r-x size-1
setfacl -d -m u:1234:rwx dir/sub
p=deep
for i in $(seq 1 60); do p=$p/level-$i; done
mkdir -p "$p"
echo bottom >"$p/file"
mkdir many
for i in $(seq 1 300); do : >"many/entry-number-$i"; done
touch -d '2001-02-03 04:05:06.123456789' size-1 dir
touch -h -d '1999-12-31 23:59:59' dir/short-link
