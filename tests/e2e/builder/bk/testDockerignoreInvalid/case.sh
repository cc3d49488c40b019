# go: dockerfile_dockerignore_test.go testDockerignoreInvalid
# A .dockerignore line "!" is an error (not a hang: BuildKit's test allows 15 seconds).
bk_dfr <<'DF'
FROM scratch
COPY . .
DF
printf '!\n' | bk_file .dockerignore 0600
t0=$(date +%s)
bk_fails "an invalid .dockerignore is an error" "illegal exclusion pattern: \"!\""
check "failed within 15 s" test $(( $(date +%s) - t0 )) -lt 15
