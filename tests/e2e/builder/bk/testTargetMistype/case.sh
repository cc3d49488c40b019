# go: dockerfile_core_test.go testTargetMistype
# An unknown --target is an error suggesting the closest stage name.
bk_dfr <<'DF'
FROM scratch AS build
COPY Dockerfile /out
FROM scratch
COPY --from=build /out /
DF
bk_fails "--target bulid" 'target stage "bulid" could not be found (did you mean build?)' --target bulid
