# go: dockerfile_addgit_test.go testAddGitSHA256
# testAddGit with a SHA-256 repository (../testAddGitSHA1/addgit.sh).
FORMAT=sha256
. "$BK/testAddGitSHA1/addgit.sh"
