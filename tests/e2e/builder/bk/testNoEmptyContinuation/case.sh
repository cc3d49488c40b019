# go: dockerfile_check_test.go testNoEmptyContinuation
# An empty line inside a continuation: reported on the instruction's last line.
bk_dfr <<'DF'

FROM scratch
# warning: empty continuation line
COPY Dockerfile \

/copied
COPY Dockerfile \
/again
DF
bk_lint "empty continuation" <<'W'
NoEmptyContinuation: Empty continuation line (line 6)
W
