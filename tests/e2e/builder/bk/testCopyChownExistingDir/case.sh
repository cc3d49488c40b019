# go: dockerfile_copy_test.go testCopyChownExistingDir
# COPY --from keeps owners (or applies --chown) on what it creates, never on existing
# directories it copies into. The Dockerfile is a symlink to Dockerfile.web.
bk_dfr Dockerfile.web <<'DF'
# Files and directories with known owners
FROM @BASE@ AS source
RUN touch /file && chown 100:200 /file \
 && mkdir -p /dir/subdir \
 && touch /dir/subdir/nestedfile \
 && chown 100:200 /dir \
 && chown 101:201 /dir/subdir \
 && chown 102:202 /dir/subdir/nestedfile

FROM @BASE@ AS test_base
RUN mkdir -p /existingdir/existingsubdir \
 && touch /existingdir/existingfile \
 && chown 500:600 /existingdir \
 && chown 501:601 /existingdir/existingsubdir \
 && chown 501:601 /existingdir/existingfile

FROM test_base AS copy_from
COPY --from=source /file .
# a new target directory is created as root; the source directory's contents go into it
COPY --from=source /dir /dir
# an existing target directory receives the contents
COPY --from=source /dir/. /existingdir
RUN want() { a=$(stat -c %u:%g "$2"); [ "$a" = "$1" ] || { echo "ownership of $2: expected $1, got $a"; exit 1; }; }; \
    want 100:200 /file && want 0:0 /dir && want 101:201 /dir/subdir \
 && want 102:202 /dir/subdir/nestedfile && want 500:600 /existingdir \
 && want 501:601 /existingdir/existingsubdir && want 501:601 /existingdir/existingfile \
 && want 101:201 /existingdir/subdir && want 102:202 /existingdir/subdir/nestedfile

FROM test_base AS copy_from_chowned
COPY --from=source --chown=300:400 /file .
COPY --from=source --chown=300:400 /dir /dir
COPY --from=source --chown=300:400 /dir/. /existingdir
RUN want() { a=$(stat -c %u:%g "$2"); [ "$a" = "$1" ] || { echo "ownership of $2: expected $1, got $a"; exit 1; }; }; \
    want 300:400 /file && want 300:400 /dir && want 300:400 /dir/subdir \
 && want 300:400 /dir/subdir/nestedfile && want 500:600 /existingdir \
 && want 501:601 /existingdir/existingsubdir && want 501:601 /existingdir/existingfile \
 && want 300:400 /existingdir/subdir && want 300:400 /existingdir/subdir/nestedfile
DF
ln -s Dockerfile.web "$W/ctx/Dockerfile"
bk_ok "default target (copy_from_chowned): --chown applies to created paths only"
bk_ok "target copy_from: owners kept, existing dirs untouched" --target copy_from
