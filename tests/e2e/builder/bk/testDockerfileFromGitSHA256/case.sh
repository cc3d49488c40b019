# go: dockerfile_git_http_test.go testDockerfileFromGitSHA256
# testDockerfileFromGit with a SHA-256 repository (../testDockerfileFromGitSHA1/fromgit.sh).
FORMAT=sha256
. "$BK/testDockerfileFromGitSHA1/fromgit.sh"
