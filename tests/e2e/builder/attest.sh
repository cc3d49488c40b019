# Attestations (--provenance, --sbom, --attest) as BuildKit attaches them: the result is an
# index of the image and an attestation manifest (unknown/unknown, vnd.docker.reference.*)
# whose layers are in-toto statements about the image manifest. Judged by skopeo and the
# distribution registry (what was pushed), the OCI archive, and jq on the statements.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need jq curl
export CBUILD_ROOT=$T/root
REG=$CBUILD_REGISTRY

# blob REPO DIGEST: a blob from the registry
blob() { curl -sf "http://$REG/v2/$1/blobs/$2"; }
# index_of REF: the pushed index; att_of REPO INDEXJSON N: the Nth layer of its attestation manifest
att_manifest() { curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/$1/manifests/$2"; }

C=$(ctx prov <<EOF
FROM $BASE
RUN echo "ok" > /foo
EOF
)
# ---- mode=max (the default of --provenance=true) pushed: the Go test's shape
if build "$C" "$REG/att/prov:max" --push --provenance=true --build-arg FOO=bar --label lbl=abc; then
  ok "--provenance=true --push builds"
else not_ok "--provenance=true --push builds"; diag "$(tail -20 "$T/last.log")"; fi
IDX=$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/prov:max")
check_eq "the pushed result is an OCI index (skopeo)" "application/vnd.oci.image.index.v1+json" "$(jq -r .mediaType <<<"$IDX")"
check_eq "it holds the image and one attestation manifest" "linux/amd64 unknown/unknown" \
  "$(jq -r '[.manifests[] | .platform.os + "/" + .platform.architecture] | join(" ")' <<<"$IDX")"
IMG=$(jq -r '.manifests[0].digest' <<<"$IDX")
ATT=$(jq -r '.manifests[1].digest' <<<"$IDX")
check_eq "attestation descriptor: reference type" "attestation-manifest" \
  "$(jq -r '.manifests[1].annotations["vnd.docker.reference.type"]' <<<"$IDX")"
check_eq "attestation descriptor: reference digest is the image manifest's" "$IMG" \
  "$(jq -r '.manifests[1].annotations["vnd.docker.reference.digest"]' <<<"$IDX")"
AM=$(att_manifest att/prov "$ATT")
check_eq "attestation layer is application/vnd.in-toto+json" "application/vnd.in-toto+json" "$(jq -r '.layers[0].mediaType' <<<"$AM")"
ST=$(blob att/prov "$(jq -r '.layers[0].digest' <<<"$AM")")
check_eq "the statement is in-toto v1" "https://in-toto.io/Statement/v1" "$(jq -r ._type <<<"$ST")"
check_eq "predicate type: SLSA provenance v1 (BuildKit's default)" "https://slsa.dev/provenance/v1" "$(jq -r .predicateType <<<"$ST")"
check_eq "layer annotation names the predicate type" "https://slsa.dev/provenance/v1" \
  "$(jq -r '.layers[0].annotations["in-toto.io/predicate-type"]' <<<"$AM")"
check_eq "subject digest = the image manifest digest" "${IMG#sha256:}" "$(jq -r '.subject[0].digest.sha256' <<<"$ST")"
check_eq "subject name is the image's purl" "pkg:docker/$REG/att/prov@max?platform=linux%2Famd64" "$(jq -r '.subject[0].name' <<<"$ST")"
P=$(jq .predicate <<<"$ST")
check_eq "buildType" "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md" "$(jq -r .buildDefinition.buildType <<<"$P")"
check_eq "frontend dockerfile.v0" dockerfile.v0 "$(jq -r .buildDefinition.externalParameters.request.frontend <<<"$P")"
check_eq "max: args are the build-arg and the label" '{"build-arg:FOO":"bar","label:lbl":"abc"}' \
  "$(jq -cS .buildDefinition.externalParameters.request.args <<<"$P")"
check_eq "locals: context, dockerfile" "context dockerfile" "$(jq -r '[.buildDefinition.externalParameters.request.locals[].name] | join(" ")' <<<"$P")"
check_eq "configSource.path" Dockerfile "$(jq -r .buildDefinition.externalParameters.configSource.path <<<"$P")"
check_eq "material: the base image with the platform" "pkg:docker/$REG/busybox@latest?platform=linux%2Famd64" \
  "$(jq -r '.buildDefinition.resolvedDependencies | map(.uri) | join(" ")' <<<"$P")"
BASEDG=$(skopeo inspect --raw --tls-verify=false "docker://$BASE" | jq -r '.manifests[] | select(.platform.architecture=="amd64") | .digest')
check_eq "material digest: the base manifest pulled" "${BASEDG#sha256:}" "$(jq -r '.buildDefinition.resolvedDependencies[0].digest.sha256' <<<"$P")"
check_eq "builderPlatform" linux/amd64 "$(jq -r .buildDefinition.internalParameters.builderPlatform <<<"$P")"
check_eq "completeness: request true, resolvedDependencies false (a local context)" "true false" \
  "$(jq -r '.runDetails.metadata.buildkit_completeness | "\(.request) \(.resolvedDependencies)"' <<<"$P")"
check "startedOn before finishedOn, both today" jq -e '.runDetails.metadata | (.startedOn < .finishedOn) and (.startedOn[0:10] == (now | todate)[0:10])' <<<"$P"
check "invocationId is set" jq -e '.runDetails.metadata.invocationId | length == 25' <<<"$P"
check_eq "max: three build steps (source, exec, result)" 3 "$(jq '.buildDefinition.internalParameters.buildConfig.llbDefinition | length' <<<"$P")"
check_eq "max: layers of two steps" 2 "$(jq '.runDetails.metadata.buildkit_metadata.layers | length' <<<"$P")"
IMGM=$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/prov@$IMG")
check_eq "max: the RUN step's chain ends with the image's last layer" "$(jq -r '.layers[-1].digest' <<<"$IMGM")" \
  "$(jq -r '.runDetails.metadata.buildkit_metadata.layers["step1:0"][0][-1].digest' <<<"$P")"
check_eq "max: the Dockerfile's source" "$(cat "$C/Dockerfile")" \
  "$(jq -r '.runDetails.metadata.buildkit_metadata.source.infos[0].data' <<<"$P" | base64 -d)"
check_eq "the image itself is unchanged: /foo" "ok" \
  "$(skopeo copy -q --src-tls-verify=false "docker://$REG/att/prov:max" "oci:$T/pulled:x" >/dev/null && umoci unpack --image "$T/pulled:x" "$T/pulled-x" >/dev/null 2>&1 && cat "$T/pulled-x/rootfs/foo")"

# ---- mode=min
build "$C" "$REG/att/prov:min" --push --provenance=mode=min --build-arg FOO=bar --label lbl=abc
ST=$(blob att/prov "$(att_manifest att/prov "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/prov:min" | jq -r '.manifests[1].digest')" | jq -r '.layers[0].digest')")
check_eq "min: no args (build-arg and label scrubbed)" null "$(jq -c .predicate.buildDefinition.externalParameters.request.args <<<"$ST")"
check_eq "min: completeness.request false" false "$(jq .predicate.runDetails.metadata.buildkit_completeness.request <<<"$ST")"
check_eq "min: no buildConfig, no source, no layers" "null null null" \
  "$(jq -r '.predicate | "\(.buildDefinition.internalParameters.buildConfig) \(.runDetails.metadata.buildkit_metadata.source) \(.runDetails.metadata.buildkit_metadata.layers)"' <<<"$ST")"

# ---- version=v0.2 through --attest
build "$C" "$REG/att/prov:v02" --push --attest type=provenance,mode=max,version=v0.2,builder-id=https://ci.example/1
ST=$(blob att/prov "$(att_manifest att/prov "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/prov:v02" | jq -r '.manifests[1].digest')" | jq -r '.layers[0].digest')")
check_eq "v0.2: predicate type" "https://slsa.dev/provenance/v0.2" "$(jq -r .predicateType <<<"$ST")"
check_eq "v0.2: buildType, builder id, entryPoint, frontend, environment" \
  "https://mobyproject.org/buildkit@v1 https://ci.example/1 Dockerfile dockerfile.v0 linux/amd64 true" \
  "$(jq -r '.predicate | "\(.buildType) \(.builder.id) \(.invocation.configSource.entryPoint) \(.invocation.parameters.frontend) \(.invocation.environment.platform) \(.metadata.completeness.environment)"' <<<"$ST")"
check_eq "v0.2: materials" "pkg:docker/$REG/busybox@latest?platform=linux%2Famd64" "$(jq -r '.predicate.materials[0].uri' <<<"$ST")"
check "v0.2: buildStartedOn, buildFinishedOn, BuildKit metadata" jq -e '.predicate.metadata | .buildStartedOn and .buildFinishedOn and .["https://mobyproject.org/buildkit@v1#metadata"].source' <<<"$ST"

# ---- --sbom: SPDX of what the image holds (busybox: no package database, its files)
build "$C" "$REG/att/sbom:1" --push --sbom=true
AM=$(att_manifest att/sbom "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/sbom:1" | jq -r '.manifests[1].digest')")
check_eq "--sbom alone: one statement, SPDX" "https://spdx.dev/Document" "$(jq -r '[.layers[].annotations["in-toto.io/predicate-type"]] | join(" ")' <<<"$AM")"
ST=$(blob att/sbom "$(jq -r '.layers[0].digest' <<<"$AM")")
check_eq "SPDX 2.3 document" "SPDX-2.3 SPDXRef-DOCUMENT CC0-1.0" "$(jq -r '.predicate | "\(.spdxVersion) \(.SPDXID) \(.dataLicense)"' <<<"$ST")"
check_contains "the comment says what was scanned" "no package database (dpkg, apk)" "$(jq -r .predicate.comment <<<"$ST")"
FOO_SHA=$(printf 'ok\n' | sha256sum | cut -d' ' -f1)
check_eq "the RUN's /foo is listed with its sha256" "$FOO_SHA" \
  "$(jq -r '.predicate.files[] | select(.fileName=="./foo") | .checksums[] | select(.algorithm=="SHA256") | .checksumValue' <<<"$ST")"
check "every file has a SHA1 (SPDX 2.3)" jq -e '[.predicate.files[] | [.checksums[].algorithm] | index("SHA1")] | all' <<<"$ST"

# ---- a dpkg status database: one package each
D=$(ctx dpkg <<EOF
FROM $BASE
RUN mkdir -p /var/lib/dpkg /etc && printf 'Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n' >/var/lib/dpkg/status && echo ID=debian >/etc/os-release
EOF
)
build "$D" "$REG/att/sbom:dpkg" --push --sbom=true
AM=$(att_manifest att/sbom "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/sbom:dpkg" | jq -r '.manifests[1].digest')")
ST=$(blob att/sbom "$(jq -r '.layers[0].digest' <<<"$AM")")
check_eq "dpkg: the installed packages, as purls" "pkg:deb/debian/hello@2.10-3?arch=amd64 pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64" \
  "$(jq -r '[.predicate.packages[].externalRefs[]?.referenceLocator] | join(" ")' <<<"$ST")"

# ---- -o type=oci: the index in the archive; type=docker: the image alone, with a warning
build "$C" att-oci --provenance=mode=min --sbom=true -o "type=oci,dest=$T/att.tar"
OI=$(skopeo inspect --raw "oci-archive:$T/att.tar")
check_eq "type=oci: the archive's image is the index (skopeo)" 2 "$(jq '.manifests | length' <<<"$OI")"
mkdir -p "$T/att-x" && tar -xf "$T/att.tar" -C "$T/att-x"
A=$(jq -r '.manifests[1].digest' <<<"$OI")
check_eq "type=oci: sbom then provenance statements (BuildKit's SBOM processor runs first)" "https://spdx.dev/Document https://slsa.dev/provenance/v1" \
  "$(jq -r '[.layers[].annotations["in-toto.io/predicate-type"]] | join(" ")' "$T/att-x/blobs/sha256/${A#sha256:}")"
check "type=oci: every blob of the archive matches its digest" bash -c "cd '$T/att-x/blobs/sha256' && for f in *; do [ \"\$(sha256sum <\$f | cut -c1-64)\" = \"\$f\" ] || exit 1; done"
build "$C" att-docker --provenance=true -o "type=docker,dest=$T/att-docker.tar"
check_contains "type=docker: attestations dropped with a warning" "attestations are not exported to a docker archive" "$(cat "$T/last.log")"
mkdir -p "$T/att-d" && tar -xf "$T/att-docker.tar" -C "$T/att-d"
check_eq "type=docker: one image, tagged, no index" "att-docker:latest application/vnd.oci.image.manifest.v1+json" \
  "$(jq -r '.[0].RepoTags[0]' "$T/att-d/manifest.json") $(jq -r '.manifests[0].mediaType' "$T/att-d/index.json")"
# ---- local: provenance.json and sbom.spdx.json beside the files, subjects the files
L=$(ctx local <<'EOF'
FROM scratch
COPY <<EOT /foo
ok
EOT
EOF
)
build "$L" att-local --provenance=mode=max --sbom=true -o "type=local,dest=$T/att-local"
check_eq "local: the output and both statements" "foo provenance.json sbom.spdx.json" "$(ls "$T/att-local" | tr '\n' ' ' | sed 's/ $//')"
check_eq "local: the subject is the file with its digest" "foo $FOO_SHA" "$(jq -r '.subject[] | "\(.name) \(.digest.sha256)"' "$T/att-local/provenance.json")"
check_eq "local: statement files are 0600 as BuildKit's" 600 "$(stat -c %a "$T/att-local/provenance.json")"

build "$L" att-tar --provenance=mode=min -o "type=tar,dest=$T/att.tar2"
check_eq "tar: the files and provenance.json in the tar" "foo provenance.json" "$(tar -tf "$T/att.tar2" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "tar: the statement's subject" "foo $FOO_SHA" \
  "$(tar -xOf "$T/att.tar2" provenance.json | jq -r '.subject[] | "\(.name) \(.digest.sha256)"')"
build "$L" att-tar2 --provenance=mode=min --platform linux/amd64,linux/arm64 -o "type=tar,dest=$T/att.tar3"
check_eq "tar, two platforms: a statement per platform folder" "linux_amd64/provenance.json linux_arm64/provenance.json" \
  "$(tar -tf "$T/att.tar3" | grep provenance | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- multi-platform: an attestation manifest per platform, after the images
build "$L" "$REG/att/multi:1" --push --platform linux/amd64,linux/arm64 --provenance=mode=max
MI=$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/multi:1")
check_eq "multi: images first, then their attestations" "linux/amd64 linux/arm64 unknown/unknown unknown/unknown" \
  "$(jq -r '[.manifests[] | .platform.os + "/" + .platform.architecture] | join(" ")' <<<"$MI")"
check_eq "multi: each attestation refers to its image" "$(jq -r '[.manifests[0,1].digest] | join(" ")' <<<"$MI")" \
  "$(jq -r '[.manifests[2,3].annotations["vnd.docker.reference.digest"]] | join(" ")' <<<"$MI")"
for k in 0 1; do
  d=$(jq -r ".manifests[$((k + 2))].digest" <<<"$MI")
  ST=$(blob att/multi "$(att_manifest att/multi "$d" | jq -r '.layers[0].digest')")
  check_eq "multi: statement $k's subject is image $k" "$(jq -r ".manifests[$k].digest" <<<"$MI" | cut -d: -f2)" "$(jq -r '.subject[0].digest.sha256' <<<"$ST")"
done
check "multi: skopeo copies the amd64 image out of the index" skopeo copy -q --src-tls-verify=false --override-arch amd64 "docker://$REG/att/multi:1" "oci:$T/multi-pulled:x"

# ---- the store keeps the index: cbuild inspects and runs the tag as before
check "the tag of an attested image still resolves for a new build (FROM it)" \
  build "$(ctx from-att <<<"FROM $REG/att/prov:max")" from-att
check "store check is clean with attestation manifests in it" "$CBUILD" store check

# ---- no flag: no attestation (cbuild's default, see README)
build "$C" "$REG/att/plain:1" --push
check_eq "no flag: a plain image manifest, as before" "application/vnd.oci.image.manifest.v1+json" \
  "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/plain:1" | jq -r .mediaType)"
build "$C" "$REG/att/plain:2" --push --provenance=false --attest type=sbom,disabled=true
check_eq "--provenance=false, disabled=true: no attestation" "application/vnd.oci.image.manifest.v1+json" \
  "$(skopeo inspect --raw --tls-verify=false "docker://$REG/att/plain:2" | jq -r .mediaType)"

# ---- errors, BuildKit's words, exit below 128
for spec in "type=foo:unknown attestation type \"foo\"" "mode=bogus:invalid mode \"bogus\"" \
    "version=v9:invalid provenance SLSA version: v9" "disabled=maybe:invalid value disabled=maybe"; do
  flag=${spec%%:*} msg=${spec#*:}
  case $flag in type=*) args=(--attest "$flag") ;; *) args=(--provenance "$flag") ;; esac
  build "$C" att-err "${args[@]}"; rc=$?
  if failed_cleanly $rc "$(cat "$T/last.log")"; then check_contains "refused: $flag" "$msg" "$(cat "$T/last.log")"
  else not_ok "refused: $flag (exit $rc)"; fi
done
build "$C" att-err --provenance=true --output type=image,oci-mediatypes=false; rc=$?
if failed_cleanly $rc "$(cat "$T/last.log")"; then check_contains "refused with oci-mediatypes=false" 'cannot export attestations with "oci-mediatypes=false"' "$(cat "$T/last.log")"
else not_ok "refused with oci-mediatypes=false (exit $rc)"; fi

if command -v podman >/dev/null 2>&1; then
  check "podman pulls the attested index and runs the image" podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --tls-verify=false "$REG/att/prov:max" cat /foo
else
  skip "podman is not installed: pulling and running the attested index with podman"
fi

out=$("$CBUILD" build --help)
for f in "--attest type=provenance|sbom" "--provenance true|false|mode=min|max" "--sbom true|false"; do
  check_contains "build --help lists $f" "$f" "$out"
done
