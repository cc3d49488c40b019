# go: dockerfile_check_test.go testUndeclaredArg
# UndefinedArgInFrom: FROM may use declared global ARGs and the predefined platform ARGs.
for df in 'ARG src=scratch\nFROM $src\nCOPY Dockerfile /df' \
  'ARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile /df' \
  'FROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile /df' \
  'ARG EXTRA\nFROM scratch${EXTRA}\nCOPY Dockerfile /df' \
  'ARG EXTRA\nFROM scra${EXTRA:-tch}\nCOPY Dockerfile /df' \
  'ARG EXTRA=""\nFROM scratch${EXTRA-@never}\nCOPY Dockerfile /df'; do
  printf "\n$df\n" | bk_dfr
  bk_lint "no warning: $(printf "$df" | sed -n 2p)" </dev/null
done
bk_dfr <<'DF'

ARG tag=latest
FROM @BASE@${version} AS b
COPY Dockerfile /df
DF
bk_lint "undeclared in the image name" <<'W'
UndefinedArgInFrom: FROM argument 'version' is not declared (line 3)
W
