# go: dockerfile_addgit_test.go testAddGitSHA1
# testAddGit with a SHA-1 repository (addgit.sh).
FORMAT=sha1
. "$BK/testAddGitSHA1/addgit.sh"
