/* Internal to cache/: shared between the store's files. */
#ifndef CB_CACHE_INTERNAL_H
#define CB_CACHE_INTERNAL_H
#include "store.h"

struct store {
    char *root;
    char *blobs;  /* <root>/blobs/sha256 */
    char *ingest; /* <root>/ingest */
    char *cache;  /* <root>/cache */
    char *layers; /* <root>/layers/sha256 */
    int lock_fd;  /* <root>/lock: LOCK_SH while open, LOCK_EX during GC */
};

/* index.json under <root>/index.lock: read, let fn edit, write back atomically. */
int store_index_update(store *s, int (*fn)(oci_index *ix, void *arg, cb_err *err), void *arg, cb_err *err);
int store_index_read(store *s, oci_index *ix, cb_err *err);
/* Record a manifest in index.json without a tag (kept from GC until untagged images are pruned). */
int store_index_add_untagged(store *s, const oci_descriptor *d, cb_err *err);
/* Load a manifest blob (following an index to linux/amd64) into an image. */
int store_image_load(store *s, const char *manifest_digest, const char *media_type, store_image *out, cb_err *err);
/* The same for a platform (NULL: linux/amd64 if here, else any platform that is): an index's
 * entry for it; a manifest whose config is for another platform is -ENOEXEC in docker's words
 * (name: the reference for the message, or NULL). */
/* 1 when ref is a tag naming an index whose every manifest is in the store (desc, ix and its
 * json filled, the caller frees them), else 0. */
int store_index_local(store *s, const char *ref, oci_descriptor *desc, oci_index *ix, cb_buf *json);
int store_image_load_for(store *s, const char *manifest_digest, const char *media_type, const oci_platform *want,
                         const char *name, store_image *out, cb_err *err);
/* Remember that a blob came from (or went to) registry/repo, for cross-repository mounts. */
void store_source_add(store *s, const char *digest, const char *repo_name);
char *store_source_find(store *s, const char *digest, const char *registry, const char *not_repo);
/* store_image_commit with the config's exact bytes (keeps an imported image's ID). */
int store_image_commit_raw(store *s, const char *config_json, size_t len, const oci_descriptor *layers,
                           size_t n_layers, const char *tag, store_image *out, cb_err *err);
char *store_hex(const char *digest); /* "sha256:<hex>" -> "<hex>" copy */
#endif
