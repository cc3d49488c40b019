# go: dockerfile_args_test.go testGlobalArg
# A global ARG with a wrong default is overridden by --build-arg before FROM is resolved.
bk_df <<DF
ARG tag=nosuchtag
FROM $CBUILD_REGISTRY/busybox:\${tag}
DF
bk_ok "FROM busybox:\${tag} with --build-arg tag=latest" --build-arg tag=latest
