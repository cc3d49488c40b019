# testGitProvenanceAttestation (dockerfile_provenance_test.go), shared by its SHA1 and SHA256 cases
# with $FORMAT: the context is a git repository over HTTP (`…/.git#v1:src`, with user:pass in the
# URL) and the Dockerfile is src/myapp.Dockerfile; for each SLSA version ("", v1, v0.2) the
# pushed image's provenance names the redacted context URL as its config source, the base image
# and the git commit as its only materials, no locals, complete materials and a hermetic build.
. "$BK/attest-lib.sh"
G=$W/git
bk_git_init "$G" "$FORMAT"
mkdir -p "$G/src"
printf 'FROM %s\nRUN --network=none echo "git" > /foo\nCOPY myapp.Dockerfile /\n' "$BASE" >"$G/src/myapp.Dockerfile"
git -C "$G" add src/myapp.Dockerfile && git -C "$G" commit -qm initial && git -C "$G" branch v1 &&
  git -C "$G" update-server-info
commit=$(git -C "$G" rev-parse v1)
bk_http_start "$G"
url=${BK_URL/http:\/\//http://user:pass@}
masked=${BK_URL/http:\/\//http://xxxxx:xxxxx@}
exp_base="pkg:docker/$CBUILD_REGISTRY/busybox@latest?platform=linux%2Famd64"
for v in "" v1 v0.2; do
  _tap_prefix="testGitProvenanceAttestation${FORMAT^^}/${v:-default}: "
  ref=$CBUILD_REGISTRY/buildkit/testwithprovenance:git${v//./}
  if "$CBUILD" build --progress=plain -t "$ref" --push --attest "type=provenance${v:+,version=$v}" \
    -f myapp.Dockerfile "$url/.git#v1:src" >"$T/last.out" 2>"$T/last.log"; then ok "build the git context"
  else not_ok "build the git context"; diag "$(tail -25 "$T/last.log")"; fi
  ix=$(bk_index "$ref")
  check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
  i=$(bk_find "$ix" linux/amd64) a=$(bk_find "$ix" unknown/unknown)
  img=$(jq -r ".manifests[$i].digest" <<<"$ix")
  m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/buildkit/testwithprovenance/manifests/$img")
  check_eq "/foo of the second layer" git "$(curl -sf "http://$CBUILD_REGISTRY/v2/buildkit/testwithprovenance/blobs/$(jq -r '.layers[1].digest' <<<"$m")" | tar -xzO foo 2>&1)"
  check_eq "reference digest, type" "$img attestation-manifest" \
    "$(jq -r ".manifests[$a].annotations | \"\(.[\"vnd.docker.reference.digest\"]) \(.[\"vnd.docker.reference.type\"])\"" <<<"$ix")"
  st=$(bk_att_layer buildkit/testwithprovenance "$ix" "$a")
  check_eq "statement type" "https://in-toto.io/Statement/v1" "$(jq -r ._type <<<"$st")"
  p=$(jq .predicate <<<"$st")
  if [ "$v" != v0.2 ]; then
    check_eq "predicate type" "https://slsa.dev/provenance/v1" "$(jq -r .predicateType <<<"$st")"
    check_eq "frontend set" dockerfile.v0 "$(jq -r .buildDefinition.externalParameters.request.frontend <<<"$p")"
    check_eq "configSource uri (credentials masked), path" "$masked/.git#v1:src myapp.Dockerfile" \
      "$(jq -r '.buildDefinition.externalParameters.configSource | "\(.uri) \(.path)"' <<<"$p")"
    check_eq "two dependencies: the base, the git commit" "$exp_base 64|$masked/.git#v1 $commit" \
      "$(jq -r "[.buildDefinition.resolvedDependencies[] | \"\(.uri) \(if (.uri | startswith(\"pkg:\")) then (.digest.sha256 | length) else .digest.$FORMAT end)\"] | join(\"|\")" <<<"$p")"
    check_eq "no locals" 0 "$(jq '.buildDefinition.externalParameters.request.locals | length' <<<"$p")"
    check_eq "completeness: resolvedDependencies, request; hermetic; not reproducible" "true true true false" \
      "$(jq -r '.runDetails.metadata | "\(.buildkit_completeness.resolvedDependencies) \(.buildkit_completeness.request) \(.buildkit_hermetic) \(.buildkit_reproducible // false)"' <<<"$p")"
    check_eq "no vcs metadata" 0 "$(jq '.runDetails.metadata.buildkit_metadata.vcs | length' <<<"$p")"
  else
    check_eq "predicate type" "https://slsa.dev/provenance/v0.2" "$(jq -r .predicateType <<<"$st")"
    check_eq "frontend set" dockerfile.v0 "$(jq -r .invocation.parameters.frontend <<<"$p")"
    check_eq "configSource uri (credentials masked), entryPoint" "$masked/.git#v1:src myapp.Dockerfile" \
      "$(jq -r '.invocation.configSource | "\(.uri) \(.entryPoint)"' <<<"$p")"
    check_eq "two materials: the base, the git commit" "$exp_base 64|$masked/.git#v1 $commit" \
      "$(jq -r "[.materials[] | \"\(.uri) \(if (.uri | startswith(\"pkg:\")) then (.digest.sha256 | length) else .digest.$FORMAT end)\"] | join(\"|\")" <<<"$p")"
    check_eq "no locals" 0 "$(jq '.invocation.parameters.locals | length' <<<"$p")"
    check_eq "completeness: materials, environment, parameters; hermetic; not reproducible" "true true true true false" \
      "$(jq -r '.metadata | "\(.completeness.materials) \(.completeness.environment) \(.completeness.parameters) \(.["https://mobyproject.org/buildkit@v1#hermetic"]) \(.reproducible)"' <<<"$p")"
    check_eq "no vcs metadata" 0 "$(jq '.metadata["https://mobyproject.org/buildkit@v1#metadata"].vcs | length' <<<"$p")"
  fi
done
