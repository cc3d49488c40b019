/* cache/ build-cache export and import (cache-export.c, cache-import.c).
 *
 * A cache export is a set of build-cache records (cache key -> layer + created time) plus the
 * layer blobs they name. Its forms (docs/cache.md):
 *
 *   registry  an OCI image manifest with artifactType CACHEX_ARTIFACT_TYPE whose config
 *             (media type CACHEX_MT_CONFIG) is the record document and whose layers are
 *             every layer blob a record names, so any OCI registry keeps them
 *   local     the same manifest in an OCI image layout directory (index.json entry annotated
 *             org.opencontainers.image.ref.name=latest)
 *   inline    the record document under the top-level member CACHEX_INLINE_KEY of an image
 *             config; the image's own layers are the blobs
 *
 * The record document: {"version":1,"records":[{"key":"…","record":{…}},…]} with the records
 * sorted by key (deterministic bytes, so identical caches have identical digests). */
#ifndef CB_CACHEX_H
#define CB_CACHEX_H

#include "store.h"

#define CACHEX_ARTIFACT_TYPE "application/vnd.cbuild.cache.v1"
#define CACHEX_MT_CONFIG "application/vnd.cbuild.cache.config.v1+json"
#define CACHEX_INLINE_KEY "io.cbuild.cache.v1"
#define CACHEX_VERSION 1

typedef struct cachex_rec {
    char *key;
    json_t *record; /* {"layer":{"diff_id","digest","size","mediaType"},"created":…} */
} cachex_rec;

typedef struct cachex_set {
    cachex_rec *v;
    size_t n;
} cachex_set;
/* Add (a copy of) key/record; a key already present is kept (first wins). */
void cachex_set_add(cachex_set *s, const char *key, json_t *record);
json_t *cachex_set_find(const cachex_set *s, const char *key); /* borrowed or NULL */
void cachex_set_free(cachex_set *s);

/* The record document (sorted by key). */
json_t *cachex_doc_new(const cachex_set *s);
/* Parse a record document: -EBADMSG (corrupt) or -EPROTONOSUPPORT (other version), err set. */
int cachex_doc_parse(json_t *doc, cachex_set *out, cb_err *err);
/* The layer descriptors the records name (unique, sorted by digest). */
void cachex_set_layers(const cachex_set *s, oci_descriptor **out, size_t *n);

/* Where the blobs of an imported cache (or a lazily pulled image) come from. */
typedef struct cachex_source cachex_source;
const char *cachex_source_name(const cachex_source *src);
void cachex_source_free(cachex_source *src);
/* Fetch a blob into the store, verified against digest (a blob failing verification is
 * fetched once more, then refused: never stored). Adds the bytes to *fetched_bytes. */
int cachex_source_fetch(cachex_source *src, store *s, const char *digest, int64_t size, int64_t *fetched_bytes,
                        cb_err *err);

/* ---------- export ---------- */
typedef struct cachex_export_opts {
    const oci_registry_opts *registry;
    /* fetch a record's blob that is not in the store (lazy import) before pushing it */
    int (*need_blob)(void *ud, const char *digest, cb_err *err);
    void *ud;
} cachex_export_opts;
/* Push the layer blobs then the cache manifest to ref (tag). The manifest is only put once
 * every blob it names is in the registry, so concurrent exporters leave a valid manifest. */
int cachex_export_registry(store *s, const char *ref, const cachex_set *set, const cachex_export_opts *o,
                           char digest_out[CB_DIGEST_STR_LEN], cb_err *err);
/* Write blobs and the manifest into an OCI layout at dir (created when missing; blobs by
 * temp file + rename, index.json replaced atomically). */
int cachex_export_local(store *s, const char *dir, const cachex_set *set, const cachex_export_opts *o,
                        char digest_out[CB_DIGEST_STR_LEN], cb_err *err);

/* ---------- import ---------- */
/* Read the cache at ref: a cache manifest, or an image (index -> linux/amd64) whose config
 * carries inline records. Every blob a record names is checked to exist (HEAD); a missing
 * one, a corrupt document or another version is an error (the caller warns and ignores the
 * source). *src gets the blob source; records are added to out. An image without inline
 * records gives 0 records. */
int cachex_import_registry(store *s, const char *ref, const oci_registry_opts *ro, cachex_set *out,
                           cachex_source **src, cb_err *err);
int cachex_import_local(store *s, const char *dir, cachex_set *out, cachex_source **src, cb_err *err);

/* Resolve an image in a registry without its layers: manifest and config are stored (not
 * tagged), out is filled as store_image_resolve does, and *src fetches the layers later. */
int cachex_image_resolve_lazy(store *s, const char *ref, const oci_registry_opts *ro, store_image *out,
                              cachex_source **src, cb_err *err);

#endif
