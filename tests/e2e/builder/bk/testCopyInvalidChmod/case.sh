# go: dockerfile_copy_test.go testCopyInvalidChmod
# An --chmod that is neither octal nor symbolic, or above 07777, is refused with BuildKit's text.
printf foo-contents | bk_file foo 0600
bk_dfr <<'DF'
FROM scratch
COPY --chmod=64a foo /
DF
bk_fails "--chmod=64a refused" "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777"
bk_dfr <<'DF'
FROM scratch
COPY --chmod=10000 foo /
DF
bk_fails "--chmod=10000 refused" "invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777"
