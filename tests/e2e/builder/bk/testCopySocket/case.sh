# go: dockerfile_copy_test.go testCopySocket
# A socket in the context becomes a regular file.
bk_dfr <<'DF'
FROM scratch
COPY . /
DF
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$W/ctx/socket.sock"
chmod 0600 "$W/ctx/socket.sock"
bk_local_ok "build"
check "socket.sock exported as a regular file" test -f "$W/out/socket.sock" -a ! -S "$W/out/socket.sock" -a ! -L "$W/out/socket.sock"
