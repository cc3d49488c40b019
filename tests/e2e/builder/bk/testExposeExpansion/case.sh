# go: dockerfile_core_test.go testExposeExpansion
# EXPOSE expands an ARG into several ports; protocols default to tcp.
bk_dfr <<'DF'
FROM scratch
ARG PORTS="3000 4000/udp"
EXPOSE $PORTS
EXPOSE 5000
DF
bk_ok "build"
ports=$(bk_config | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["config"]["ExposedPorts"])))' 2>&1)
check_eq "ExposedPorts" "3000/tcp 4000/udp 5000/tcp" "$ports"
