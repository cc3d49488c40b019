# go: dockerfile_provenance_test.go testGitProvenanceAttestationSHA1
# testGitProvenanceAttestation with a SHA-1 repository (gitprov.sh).
FORMAT=sha1
. "$BK/testGitProvenanceAttestationSHA1/gitprov.sh"
