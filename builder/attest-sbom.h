/* The SBOM attestation: an SPDX 2.3 document of what the image holds. */
#ifndef CB_BUILDER_ATTEST_SBOM_H
#define CB_BUILDER_ATTEST_SBOM_H

#include "internal.h"

#define BL_SBOM_PREDICATE "https://spdx.dev/Document"

/* The image of chain scanned by cbuild itself (BuildKit runs a scanner image instead): the
 * dpkg status database, else apk's installed database, else the regular files; the document's
 * comment says which, and what was not scanned. */
int bl_sbom_document(bl_build *b, const bl_chain *chain, const char *platform, json_t **out, cb_err *err);
/* purl.RefToPURL (attest.c) */
char *bl_attest_purl(const char *type, const char *ref, const char *platform);

#endif
