/* The SBOM attestation: an SPDX 2.3 document of what the image holds. */
#ifndef CB_BUILDER_ATTEST_SBOM_H
#define CB_BUILDER_ATTEST_SBOM_H

#include "internal.h"

#define BL_SBOM_PREDICATE "https://spdx.dev/Document"

/* The image of chain scanned by cbuild itself, its built-in scanner when no generator is
 * given (BuildKit's default, docker/buildkit-syft-scanner, is an image cbuild doesn't pull): the
 * dpkg status database, else apk's installed database, else the regular files; the document's
 * comment says which, and what was not scanned. */
int bl_sbom_document(bl_build *b, const bl_chain *chain, const char *platform, json_t **out, cb_err *err);
/* --attest type=sbom,generator=IMAGE (sbom-scan.c): IMAGE run over each platform's target,
 * after the stages and before the export; each solve's sbom_scan then holds what it wrote.
 * Nothing without a generator. */
int bl_sbom_scan(bl_build *b, cb_err *err);
/* Before the stages, as BuildKit's CreateSBOMScanner: the generator resolved (pulled when
 * missing) and its config checked (`scanner IMAGE does not have cmd`). */
int bl_sbom_scanner_check(bl_build *b, cb_err *err);
/* The scanner's statements for a platform ([{"file", "statement"}]; NULL platform or none
 * matching: the first solve's), NULL when no scanner ran. */
const json_t *bl_sbom_scanned(const bl_build *b, const char *platform);
/* BuildKit's supplementSBOM of a scanner's statement in an image's attestation manifest: the
 * core one's (file sbom.*) SPDX document gets "layerID: <digest>" as the comment of each file
 * without one (the topmost layer of chain holding it) and the exporter among its creators;
 * any other predicate is returned as it is. A new reference. */
json_t *bl_sbom_supplement(bl_build *b, const bl_chain *chain, const char *file, const json_t *predicate);
/* purl.RefToPURL (attest.c) */
char *bl_attest_purl(const char *type, const char *ref, const char *platform);

#endif
