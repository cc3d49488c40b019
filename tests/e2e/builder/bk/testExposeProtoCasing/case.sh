# go: dockerfile_check_test.go testExposeProtoCasing
# ExposeProtoCasing: a protocol not in lower case, once per port spec.
printf '\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n' | bk_dfr
bk_lint "upper-case protocols" <<'W'
ExposeProtoCasing: Defined protocol '80/TcP' in EXPOSE instruction should be lowercase (line 3)
ExposeProtoCasing: Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase (line 3)
W
