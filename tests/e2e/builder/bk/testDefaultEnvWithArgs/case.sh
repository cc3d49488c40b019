# go: dockerfile_args_test.go testDefaultEnvWithArgs
# ENV built from an ARG with ${x:-default} and ${x%%pattern}; an empty --build-arg counts as unset.
bk_df <<DF
ARG image=idlebox
FROM $CBUILD_REGISTRY/busy\${image#idle} AS build
ARG my_arg
ENV my_arg "my_arg=\${my_arg:-def_val}"
ENV my_trimmed_arg "\${my_arg%%e*}"
COPY myscript.sh myscript.sh
RUN ./myscript.sh \$my_arg \$my_trimmed_arg
FROM scratch
COPY --from=build /out /out
DF
bk_file myscript.sh 0700 <<'SH'
#!/bin/sh
echo -n $my_arg $* > /out
SH
bk_local_ok "build"
check_eq "no build-arg: default" "my_arg=def_val my_arg=def_val my_arg=d" "$(cat "$W/out/out" 2>&1)"
bk_local_ok "build" --build-arg my_arg=
check_eq "empty build-arg: default" "my_arg=def_val my_arg=def_val my_arg=d" "$(cat "$W/out/out" 2>&1)"
bk_local_ok "build" --build-arg my_arg=override
check_eq "override" "my_arg=override my_arg=override my_arg=ov" "$(cat "$W/out/out" 2>&1)"
