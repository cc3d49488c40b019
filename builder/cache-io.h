/* builder/ side of cache export/import (--cache-from, --cache-to): cache-io.c.
 * State is per process (one build per process), like the solver's image table. */
#ifndef CB_BUILDER_CACHE_IO_H
#define CB_BUILDER_CACHE_IO_H

#include "internal.h"

/* Parse --cache-to (errors for bad specs) and import every --cache-from (a source that
 * cannot be read is ignored with a warning). Call once the store and progress are open. */
int bl_cache_io_init(bl_build *b, cb_err *err);
/* Local miss: a record from an imported cache. The layer's blob is fetched only when
 * something needs it (bl_cache_io_blob). */
bool bl_cache_io_lookup(bl_build *b, const char *key, bl_layer *l, char created[32], char chain_key[CB_DIGEST_STR_LEN]);
/* Every layer step's result (hit or miss) on a platform (its index in --platform order), for
 * --cache-to. chain_key: the key later steps build on when it is not key (COPY --from content key) */
void bl_cache_io_note(bl_build *b, size_t platform, const char *key, const bl_layer *l, const char *created,
                      const char *chain_key);
/* Make sure a layer blob is in the store, fetching it from the cache source or the image's
 * registry it was registered with. 0 when present or fetched; a blob nobody registered
 * is left to the caller (0). */
int bl_cache_io_blob(store *s, const char *digest, cb_err *err);
int bl_cache_io_chain(store *s, const bl_chain *c, cb_err *err);
/* An image missing from the store, resolved without its layers while a cache import is
 * active: 1 resolved, 0 not done (pull it as usual). */
int bl_cache_io_image(bl_build *b, const char *ref, const char *platform, store_image *out);
/* Before the exporters: fetch the final chain's blobs. */
int bl_cache_io_pre_export(bl_build *b, const bl_chain *target, cb_err *err);
/* The inline cache into cfg (after bl_export_prepare): the records of the image's layers that
 * its platform, or one before it in --platform order, noted (the platforms were solved in
 * turn once, and an image's inline cache stays as it was then), each naming the blob of its
 * layer the image has (`exported`: recompressed layers keep their diffID). */
int bl_cache_io_inline(bl_build *b, size_t platform, const bl_chain *built, const bl_chain *exported,
                       oci_config *cfg);
/* After the exporters: --cache-to registry/local. */
int bl_cache_io_export(bl_build *b, const bl_chain *target, cb_err *err);
/* Keep imported records whose blob is now local; print a summary; free the state. */
void bl_cache_io_finish(bl_build *b);

#endif
