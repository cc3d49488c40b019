# go: dockerfile_check_test.go testUnmatchedVars
# UndefinedVar: only variables neither ARG, ENV nor in the base image's environment.
bk_dfr <<'DF'

FROM scratch
ARG sfx
COPY Dockerfile${sfx} /df
DF
bk_lint "declared ARG without value" </dev/null
bk_dfr <<'DF'

FROM @BASE@ AS base
ARG file=Dockerfile
FROM base
COPY $file /df
DF
bk_check "ARG of the base stage" </dev/null
bk_dfr <<'DF'

FROM @BASE@
RUN echo $PATH
DF
bk_check "RUN is the shell's business" </dev/null
bk_dfr <<'DF'

FROM @BASE@
COPY $file /df
ARG file=bar
RUN echo $file
DF
bk_check "used before the ARG" <<'W'
UndefinedVar: Usage of undefined variable '$file' (line 3)
W
bk_dfr <<'DF'

FROM @BASE@
ARG DIR_SOURCES=src/
ARG DIR_IMAGES=images/
ARG DIR_DOCS=docs/
COPY $DIR_IMAGE /df
DF
bk_check "a suggestion" <<'W'
UndefinedVar: Usage of undefined variable '$DIR_IMAGE' (did you mean $DIR_IMAGES?) (line 6)
W
bk_dfr <<'DF'

FROM @BASE@
ENV PATH=$PTAH:/opt/bin
DF
bk_lint "the base image's PATH is suggested" <<'W'
UndefinedVar: Usage of undefined variable '$PTAH' (did you mean $PATH?) (line 3)
W
