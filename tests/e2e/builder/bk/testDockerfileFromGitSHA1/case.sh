# go: dockerfile_git_http_test.go testDockerfileFromGitSHA1
# testDockerfileFromGit with a SHA-1 repository (fromgit.sh).
FORMAT=sha1
. "$BK/testDockerfileFromGitSHA1/fromgit.sh"
