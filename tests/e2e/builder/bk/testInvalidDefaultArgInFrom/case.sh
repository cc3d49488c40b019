# go: dockerfile_check_test.go testInvalidDefaultArgInFrom
# InvalidDefaultArgInFrom: a global ARG whose default leaves FROM empty or invalid (the build
# still passes the arg); no warning when the default makes a valid name.
lint_from() { # DESC BUILD-ARG DOCKERFILE (stdin: the expected warnings)
  printf '%s' "$3" | bk_df_raw
  bk_lint "$1" --build-arg "$2"
}
lint_from 'busybox:$VERSION' VERSION=latest $'\nARG VERSION\nFROM @REG@/busybox:$VERSION\n' <<W
InvalidDefaultArgInFrom: Default value for ARG $CBUILD_REGISTRY/busybox:\$VERSION results in empty or invalid base image name (line 3)
W
lint_from '$IMAGE' IMAGE=$CBUILD_REGISTRY/busybox:latest $'\nARG IMAGE\nFROM $IMAGE\n' <<'W'
InvalidDefaultArgInFrom: Default value for ARG $IMAGE results in empty or invalid base image name (line 3)
W
lint_from 'busy${SFX}' SFX=box:latest $'\nARG SFX="box:"\nFROM @REG@/busy${SFX}\n' <<W
InvalidDefaultArgInFrom: Default value for ARG $CBUILD_REGISTRY/busy\${SFX} results in empty or invalid base image name (line 3)
W
# BuildKit's mirror has busybox:stable-musl; here it is a copy of $BASE
skopeo copy -q --all --src-tls-verify=false --dest-tls-verify=false "docker://$BASE" \
  "docker://$CBUILD_REGISTRY/busybox:stable-musl" >/dev/null 2>&1
lint_from 'a valid default' VERSION=latest $'\nARG VERSION="latest"\nFROM @REG@/busybox:${VERSION}\n' </dev/null
lint_from 'an empty default making a valid name' BUSYBOX_VARIANT=-musl $'\nARG BUSYBOX_VARIANT=""\nFROM @REG@/busybox:stable${BUSYBOX_VARIANT}\n' </dev/null
lint_from 'no default, a valid name' BUSYBOX_VARIANT=-musl $'\n\tARG BUSYBOX_VARIANT\n\tFROM @REG@/busybox:stable${BUSYBOX_VARIANT}\n\t' </dev/null
