# go: dockerfile_check_test.go testExposeInvalidFormat
# ExposeInvalidFormat: an IP address or a host port in an EXPOSE spec.
printf '\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n' | bk_dfr
bk_lint "address and host-port mappings" <<'W'
ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80' (line 3)
ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '[::1]:8080:8080' (line 3)
ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '5000:5000' (line 3)
W
