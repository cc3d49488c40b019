# go: dockerfile_namedcontext_test.go testEagerNamedContextLookup
# Named contexts of stages and images the target doesn't need are never looked up: images that
# don't exist don't fail the build.
bk_df <<DF
FROM broken AS notused
FROM $BASE AS base
RUN echo "base" > /foo
FROM busybox AS otherstage
FROM scratch
COPY --from=base /foo /foo
DF
bk_local_ok "build" --build-context notused=docker-image://docker.io/library/nosuchimage:latest \
  --build-context busybox=docker-image://docker.io/library/dontexist:latest
bk_out_is foo 'base\n'
