#!/bin/bash
# Messages as BuildKit and docker print them: the plain transcript of a failing build
# (a CRLF-printing RUN, the failing step's header before its `#N ERROR`, no canceled context
# vertex, buildx's `ERROR: failed to solve:` naming the command once, last) and one prefix,
# `error:`, for the CLI's own errors.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry

C=$(ctx fail <<EOF
FROM $BASE
COPY Dockerfile /d
RUN printf 'crlf-one\r\ncrlf-two\r\n'
RUN echo failing-output && exit 3
EOF
)
check_fails "a RUN exiting 3 fails the build" build "$C" fail
L=$T/last.log
crlf=$(grep -E '^#[0-9]+ \[3/4\] RUN printf' "$L" | head -1 | awk '{print $1}')
check_eq "a CRLF line is one line: no blank line after it" \
  "$crlf crlf-one|$crlf crlf-two|$crlf vm:" \
  "$(grep -E "^$crlf [0-9.]+ |^$crlf vm:" "$L" | sed -E 's/^(#[0-9]+) [0-9.]+ /\1 /; s/^(#[0-9]+ vm:).*/\1/' | paste -sd '|')"
fid=$(grep -E '^#[0-9]+ \[4/4\] RUN echo failing-output' "$L" | head -1 | awk '{print $1}')
check_eq "the failing step's header, its output and its ERROR, in one block" \
  "$fid [4/4] RUN echo failing-output && exit 3|$fid failing-output|$fid ERROR: process \"/bin/sh -c echo failing-output && exit 3\" did not complete successfully: exit code: 3" \
  "$(grep -B2 -E "^$fid ERROR" "$L" | sed -E 's/^(#[0-9]+) [0-9.]+ /\1 /' | paste -sd '|')"
check_eq "no step but the failing one ends in ERROR" "1" "$(grep -cE '^#[0-9]+ ERROR' "$L")"
check_eq "the context vertex is done, not canceled" "DONE" "$(step_state '[internal] load build context')"
check_eq "the last line: ERROR: failed to solve: the process and its exit code" \
  'ERROR: failed to solve: process "/bin/sh -c echo failing-output && exit 3" did not complete successfully: exit code: 3' \
  "$(tail -1 "$L")"
check_eq "the error box: the step's name, then its output" " > [4/4] RUN echo failing-output && exit 3:|failing-output" \
  "$(grep -A1 -E '^ > \[4/4\]' "$L" | paste -sd '|')"
check_eq "the command appears once outside the step's own lines and the excerpt" "1" \
  "$(grep -v -E '^#[0-9]+ |^ > |^ +[0-9]+ \| ' "$L" | grep -c 'echo failing-output && exit 3')"
check_contains "the Dockerfile excerpt points at the line" "   4 | >>> RUN echo failing-output && exit 3" "$(cat "$L")"

# the CLI's own errors: `error:` as docker's CLI prints them, never `cbuild VERB:`
out=$("$CBUILD" images --format '{{.Nope' 2>&1); rc=$?
check_eq "images --format with a broken template: error: prefix" "error: " "${out:0:7}"
failed_cleanly $rc "$out" && ok "images --format with a broken template: exit $rc" || not_ok "images --format with a broken template: exit $rc"
out=$("$CBUILD" export --format squashfs busybox 2>&1)
check_eq "export --format squashfs: error: prefix" "error: " "${out:0:7}"
out=$("$CBUILD" run 2>&1)
check_eq "run without an image: error: prefix" "error: " "${out:0:7}"
out=$("$CBUILD" inspect nosuch-image 2>&1)
check_eq "inspect of a missing image: error: prefix" "error: " "${out:0:7}"
