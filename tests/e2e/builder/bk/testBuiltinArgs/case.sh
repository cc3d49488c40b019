# go: dockerfile_args_test.go testBuiltinArgs
# Proxy build args reach RUN without ARG but stay out of the cache key; others need ARG.
bk_df <<DF
FROM $BASE AS build
ARG FOO
ARG BAR
ARG BAZ=bazcontent
RUN echo -n \$HTTP_PROXY::\$NO_PROXY::\$FOO::\$BAR::\$BAZ > /out
FROM scratch
COPY --from=build /out /
DF
bk_local_ok "build" --build-arg FOO=foocontents --build-arg http_proxy=hpvalue --build-arg NO_PROXY=npvalue
check_eq "proxy args and ARGs in RUN" "hpvalue::npvalue::foocontents::::bazcontent" "$(cat "$W/out/out" 2>&1)"
bk_local_ok "build" --build-arg FOO=foocontents --build-arg http_proxy=hpvalue2
check_eq "a changed proxy arg reuses the cached RUN" "hpvalue::npvalue::foocontents::::bazcontent" "$(cat "$W/out/out" 2>&1)"
check_eq "the RUN step is CACHED" CACHED "$(step_state 'RUN echo')"
bk_local_ok "build" --build-arg FOO=foocontents2 --build-arg http_proxy=hpvalue2
check_eq "a changed ARG value runs again" "hpvalue2::::foocontents2::::bazcontent" "$(cat "$W/out/out" 2>&1)"
