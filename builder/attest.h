/* Attestations (--provenance, --sbom, --attest) as BuildKit attaches them: in-toto statements
 * (SLSA provenance v1 or v0.2, an SPDX 2.3 SBOM), one attestation manifest per platform image. */
#ifndef CB_BUILDER_ATTEST_H
#define CB_BUILDER_ATTEST_H

#include "internal.h"

#define BL_ATTEST_MT_INTOTO "application/vnd.in-toto+json"
#define BL_ATTEST_MT_ARTIFACT "application/vnd.docker.attestation.manifest.v1+json" /* oci-artifact=true */
#define BL_ATTEST_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define BL_ATTEST_ANNOT_PREDICATE "in-toto.io/predicate-type"
#define BL_ATTEST_ANNOT_REF_TYPE "vnd.docker.reference.type"
#define BL_ATTEST_ANNOT_REF_DIGEST "vnd.docker.reference.digest"

typedef struct bl_attest_opts {
    bool provenance;
    bool prov_max;         /* mode=max (BuildKit's default once provenance is asked for) */
    bool prov_v02;         /* version=v0.2; v1 otherwise (BuildKit's default since v0.28) */
    bool reproducible;     /* reproducible=true */
    bool prov_inline_only; /* inline-only=true: images only, no provenance.json in local/tar */
    char *builder_id;
    char *prov_filename; /* local/tar file name, default provenance.json */
    bool sbom;
    char *sbom_generator; /* generator=IMAGE: the scanner image run (sbom-scan.c); NULL: cbuild's own */
    cb_strv sbom_params;  /* the other type=sbom keys: key, value, key, value… (BUILDKIT_SCAN_<key>) */
    bool oci_artifact;    /* the image exporter's oci-artifact=true, not an --attest key: artifact manifests */
} bl_attest_opts;

/* The build's --attest specs ("type=provenance,mode=max", "type=sbom,disabled=true"); a later
 * spec of a type replaces an earlier one, as buildx does. Errors are BuildKit's words. */
int bl_attest_parse(const cb_strv *specs, bl_attest_opts *out, cb_err *err);
void bl_attest_opts_free(bl_attest_opts *o);
static inline bool bl_attest_any(const bl_attest_opts *o)
{
    return o->provenance || o->sbom;
}

/* A remote source the build read (ADD <url>: "sha256:…" of its content, ADD <git>: "sha1:…" or
 * "sha256:…" commit), once per URL: a material of the provenance (credentials redacted). */
void bl_attest_note_source(bl_build *b, const char *url, const char *digest);

/* The attestation manifest of one platform's image (its blobs put in the store); *out its
 * index entry: platform unknown/unknown, vnd.docker.reference.* annotations. names: the
 * image's names (the statements' subjects). */
int bl_attest_manifest(bl_build *b, const bl_attest_opts *ao, const oci_descriptor *image,
                       const char *platform, const bl_chain *chain, const cb_strv *names, oci_descriptor *out,
                       cb_err *err);

/* local/tar outputs: the statements as files in dir (provenance.json, sbom.spdx.json), their
 * subjects the regular files under dir; suffix (e.g. "linux_arm64") or NULL goes before ".json". */
int bl_attest_files(bl_build *b, const bl_attest_opts *ao, const char *dir, const char *platform,
                    const bl_chain *chain, const char *suffix, cb_err *err);

#endif
