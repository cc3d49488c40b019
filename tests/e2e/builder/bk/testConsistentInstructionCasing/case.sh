# go: dockerfile_check_test.go testConsistentInstructionCasing
# ConsistentInstructionCasing: the majority casing wins; mixed-case keywords always warn.
lint_case() { # DESC EXPECTED, Dockerfile on stdin
  local d=$1 w=$2; bk_dfr; bk_lint "$d" <<<"$w"
}
lint_case "mixed-case From" "ConsistentInstructionCasing: Command 'From' should match the case of the command majority (uppercase) (line 4)" <<<"$(printf '\n# mixed\n#\nFrom scratch as first\nFROM scratch AS second\n')"
lint_case "copy in upper file" "ConsistentInstructionCasing: Command 'copy' should match the case of the command majority (uppercase) (line 4)" <<<"$(printf '\nFROM scratch\n# lower in an upper file\ncopy Dockerfile /a\nCOPY Dockerfile /b\n')"
lint_case "mixed-case frOM" "ConsistentInstructionCasing: Command 'frOM' should match the case of the command majority (lowercase) (line 4)" <<<"$(printf '\n# mixed\n#\nfrOM scratch as first\nfrom scratch as second\n')"
lint_case "COPY in lower file" "ConsistentInstructionCasing: Command 'COPY' should match the case of the command majority (lowercase) (line 4)" <<<"$(printf '\nfrom scratch\n# upper in a lower file\nCOPY Dockerfile /a\ncopy Dockerfile /b\n')"
lint_case "from in upper file" "ConsistentInstructionCasing: Command 'from' should match the case of the command majority (uppercase) (line 4)" <<<"$(printf '\n# lower from, upper majority\n#\nfrom scratch\nCOPY Dockerfile /a\nCOPY Dockerfile /b\nCOPY Dockerfile /c\n')"
lint_case "FROM in lower file" "ConsistentInstructionCasing: Command 'FROM' should match the case of the command majority (lowercase) (line 4)" <<<"$(printf '\n# upper FROM, lower majority\n#\nFROM scratch\ncopy Dockerfile /a\ncopy Dockerfile /b\ncopy Dockerfile /c\n')"
lint_case "all lower" "" <<<"$(printf '\nfrom scratch\ncopy Dockerfile /a\ncopy Dockerfile /b\n')"
lint_case "all upper" "" <<<"$(printf '\nFROM scratch\nCOPY Dockerfile /a\nCOPY Dockerfile /b\n')"
# a heredoc body is not an instruction
bk_dfr <<'DF'

FROM @BASE@
RUN <<'EOT'
env
EOT
DF
bk_check "heredoc body" </dev/null
