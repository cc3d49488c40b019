# go: dockerfile_provenance_test.go testGitProvenanceAttestationSHA256
# testGitProvenanceAttestation with a SHA-256 repository (../testGitProvenanceAttestationSHA1/gitprov.sh).
FORMAT=sha256
. "$BK/testGitProvenanceAttestationSHA1/gitprov.sh"
