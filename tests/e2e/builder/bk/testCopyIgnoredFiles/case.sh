# go: dockerfile_check_test.go testCopyIgnoredFiles
# CopyIgnoredFile: COPY/ADD of a file .dockerignore excludes (the build then fails on it);
# skipped by `# check=skip=`; no warning for a stage's own file, a file !re-included, or ".".
printf '\nDockerfile\n' | bk_file .dockerignore
bk_dfr <<'DF'

FROM scratch
COPY Dockerfile .
ADD Dockerfile /windy
DF
BK_BUILD_ERR='"/Dockerfile": not found' BK_CHECK_ERR= bk_lint "COPY and ADD of an ignored file" <<'W'
CopyIgnoredFile: Attempting to Copy file "Dockerfile" that is excluded by .dockerignore (line 3)
CopyIgnoredFile: Attempting to Add file "Dockerfile" that is excluded by .dockerignore (line 4)
W
check_contains "the build fails at line 3" ">>> COPY Dockerfile ." "$(cat "$T/last.log")"
bk_dfr <<'DF'
# check=skip=CopyIgnoredFile

FROM scratch
COPY Dockerfile .
ADD Dockerfile /windy
DF
BK_BUILD_ERR='"/Dockerfile": not found' bk_lint "skipped" </dev/null
printf '\nfoobar\n' | bk_file .dockerignore
bk_dfr <<'DF'

FROM scratch AS base
COPY Dockerfile /foobar
ADD Dockerfile /windy

FROM base
COPY --from=base /foobar /Dockerfile
DF
bk_lint "an ignored name copied from a stage" </dev/null
printf '\n**\n!Dockerfile\n' | bk_file .dockerignore
printf '\nFROM scratch\nCOPY ./Dockerfile .\n' | bk_dfr
bk_lint "a re-included file" </dev/null
printf '\nFROM scratch\nCOPY . .\n\t' | bk_dfr
bk_lint "the whole context" </dev/null
