# go: dockerfile_check_test.go testCopyIgnoredFileContextRoot
# COPY . . with a .dockerignore: `.*` excludes dotfiles only (no warning); `*` excludes the
# context's root itself ("." is excluded).
printf '\nFROM scratch\nCOPY . .\n' | bk_dfr
printf '\n.*\n' | bk_file .dockerignore
bk_lint "dotfiles" </dev/null
printf '\n*\n' | bk_file .dockerignore
bk_lint "wildcard" <<'W'
CopyIgnoredFile: Attempting to Copy file "." that is excluded by .dockerignore (line 3)
W
