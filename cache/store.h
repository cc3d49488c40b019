/* cache/: the local store. An OCI image layout at the root (skopeo/umoci can read it):
 *
 *   <root>/oci-layout, index.json        tags: manifests annotated with
 *                                         org.opencontainers.image.ref.name = normalised ref
 *   <root>/blobs/sha256/<hex>             content-addressed, verified on write
 *   <root>/ingest/                        partial downloads (resumable) and temp files
 *   <root>/cache/<sha256(key)>.json       cache records: build cache key -> result record
 *   <root>/layers/sha256/<hex>.ext4       per-layer ext4 images keyed by diffID
 *   <root>/lock                           flock: shared while a process uses the store,
 *                                         exclusive for GC; index.json updates use index.lock
 *
 * Every write is temp file + fsync + rename. All functions are safe across processes.
 * Names: store_<object>_<verb>. */
#ifndef CB_STORE_H
#define CB_STORE_H

#include "common.h"
#include "oci.h"

typedef struct store store;

/* Open (creating the layout when missing) and take the shared process lock. */
int store_open(const char *root, store **out, cb_err *err);
void store_close(store *s);
const char *store_root(const store *s);

/* ---------- blobs ---------- */
char *store_blob_path(const store *s, const char *digest); /* malloc'd; may not exist */
bool store_blob_exists(const store *s, const char *digest, int64_t *size /* may be NULL */);
/* Put bytes; expected may be NULL. out may be NULL. Verified before the atomic rename. */
int store_blob_put_buf(store *s, const void *data, size_t n, const char *expected,
                       char out[CB_DIGEST_STR_LEN], cb_err *err);
/* Copy a file into the store (expected may be NULL). */
int store_blob_put_file(store *s, const char *path, const char *expected, char out[CB_DIGEST_STR_LEN],
                        cb_err *err);
/* Read a whole blob, verifying its digest (for manifests and configs). */
int store_blob_get(const store *s, const char *digest, cb_buf *out, cb_err *err);
int store_blob_open(const store *s, const char *digest, int *fd, cb_err *err); /* O_RDONLY */

/* Streaming writer. With expected != NULL the partial data survives an abort(keep=true) in
 * ingest/ and a later open resumes at store_blob_writer_offset() (registry Range resume). */
typedef struct store_blob_writer store_blob_writer;
int store_blob_writer_open(store *s, const char *expected, store_blob_writer **out, cb_err *err);
int64_t store_blob_writer_offset(const store_blob_writer *w);
int store_blob_writer_write(store_blob_writer *w, const void *data, size_t n, cb_err *err);
oci_sink store_blob_writer_sink(store_blob_writer *w);
/* Verify (digest mismatch: error naming both digests, nothing stored), fsync, rename, free. */
int store_blob_writer_commit(store_blob_writer *w, char out[CB_DIGEST_STR_LEN], cb_err *err);
void store_blob_writer_abort(store_blob_writer *w, bool keep_partial); /* frees */

/* ---------- layers ---------- */
/* A layer tar writer whose compressed output streams into a new store blob. */
typedef struct store_layer_writer store_layer_writer;
int store_layer_writer_open(store *s, const oci_layer_opts *opts, store_layer_writer **out, cb_err *err);
oci_layer_writer *store_layer_writer_tar(store_layer_writer *w);
/* Finish, commit the blob, fill res (diffID, digest, size, media type), free. */
int store_layer_writer_commit(store_layer_writer *w, oci_layer_result *res, cb_err *err);
void store_layer_writer_abort(store_layer_writer *w);
/* Compress an uncompressed tar read from tar_fd into a new store blob. */
int store_layer_put_tar(store *s, int tar_fd, const oci_compress_opts *opts, oci_layer_result *res, cb_err *err);

/* ---------- images and tags ---------- */
typedef struct store_image {
    char manifest_digest[CB_DIGEST_STR_LEN];
    char id[CB_DIGEST_STR_LEN]; /* image ID = config digest, as Docker */
    oci_manifest manifest;
    oci_config config;
    char *manifest_json;
    size_t manifest_len;
    char *config_json;
    size_t config_len;
    int64_t size; /* config + compressed layers */
} store_image;
void store_image_free(store_image *im);

/* Resolve a reference ("alpine", "localhost:5000/x:1", "x@sha256:…"), a full manifest
 * or config digest, or an image ID prefix (≥ 4 hex, unique) to an image. -ENOENT with a
 * message naming the reference when unknown. */
int store_image_resolve(store *s, const char *ref_or_id, store_image *out, cb_err *err);
/* The same for a platform ("linux/arm64"; NULL: linux/amd64 when here, else what is here): an
 * index's entry for it (-ENOENT when that manifest is not in the store), or a manifest whose
 * config is for that platform (else -ENOEXEC: "… does not match the specified platform …"). */
int store_image_resolve_platform(store *s, const char *ref_or_id, const char *platform, store_image *out,
                                 cb_err *err);
/* Write config and manifest blobs for the layers (already in the store), tag when tag != NULL,
 * fill out (may be NULL). cfg->diff_ids must match the layers. tag "": no entry in index.json
 * (a platform's manifest that an index committed next will name). */
int store_image_commit(store *s, const oci_config *cfg, const oci_descriptor *layers, size_t n_layers,
                       const char *tag, store_image *out, cb_err *err);

/* The platforms of ref when it names a multi-platform index the store holds whole (pushed
 * into out as "linux/arm64"); 0 (out untouched) for a single-platform image. */
int store_image_platforms(store *s, const char *ref, cb_strv *out, cb_err *err);
/* Commit an image index over manifests already in the store (each with its platform) and
 * tag it when tag != NULL; digest_out (may be NULL) gets its digest. */
int store_index_commit(store *s, const oci_descriptor *manifests, size_t n, const char *tag,
                       char digest_out[CB_DIGEST_STR_LEN], size_t *len_out, cb_err *err);

typedef struct store_tag {
    char *name; /* normalised reference */
    oci_descriptor desc;
} store_tag;
/* Point ref at a manifest (or index) blob already in the store. */
int store_tag_set(store *s, const char *ref, const oci_descriptor *manifest, cb_err *err);
int store_tag_get(store *s, const char *ref, oci_descriptor *out, cb_err *err); /* -ENOENT */
int store_tag_list(store *s, store_tag **out, size_t *n, cb_err *err);
/* The tag names that manifest: directly, or as one platform of the index it names. */
bool store_tag_names(store *s, const store_tag *t, const char *manifest_digest);
void store_tags_free(store_tag *t, size_t n);
int store_tag_remove(store *s, const char *ref, cb_err *err); /* -ENOENT */

/* ---------- cache records ----------
 * key: any string (the builder's cache key); the record: small JSON. Blobs and layer images
 * named by any "sha256:…" string inside a record are kept by GC while the record lives; a
 * record with an object whose "digest" names a missing blob is dangling (plain prune drops it). */
int store_cache_put(store *s, const char *key, json_t *record, cb_err *err);
/* 0 with *out (new reference) on a hit, -ENOENT without setting err on a miss. Touches atime. */
int store_cache_get(store *s, const char *key, json_t **out, cb_err *err);
int store_cache_remove(store *s, const char *key, cb_err *err);

/* ---------- per-layer ext4 images (keyed by diffID) ---------- */
char *store_layer_image_path(const store *s, const char *diff_id); /* malloc'd; may not exist */
bool store_layer_image_exists(const store *s, const char *diff_id);
/* A temp path in the store to write an image into, then commit (fsync + rename). */
char *store_layer_image_tmp_path(store *s, const char *diff_id);
int store_layer_image_commit(store *s, const char *diff_id, const char *tmp_path, cb_err *err);

/* The overlay-format ext4 image of a layer (ext4/ OVERLAY mode, tree under "upper/"), the
 * one place layer images are made from layer blobs (builds, `cbuild run`, cache imports).
 * Built on first use while the uncompressed stream is hashed, and committed only when that
 * digest equals diff_id, the key it is stored under: an image whose config lies about a
 * layer's diff_id gets an error naming the layer and both digests, and no layer image.
 * One maker per diff_id (a file lock beside the image). When the blob is not in the store,
 * fetch(ud, digest) brings it (a lazy cache import), if given. diff_id NULL: computed from
 * the blob. *path gets the image's path (malloc'd). */
typedef int (*store_blob_fetch_fn)(void *ud, store *s, const char *digest, cb_err *err);
int store_layer_image_ensure(store *s, const oci_descriptor *layer, const char *diff_id, store_blob_fetch_fn fetch,
                             void *ud, char **path, cb_err *err);

/* ---------- archives onto disk (extract.c) ---------- */
/* Extract a tar (any compression) into dest, which is created; nothing is ever written outside
 * it (absolute or `..` names, hard links to outside and writes through symlinks on disk are
 * refused with an error naming the entry). */
#define STORE_EXTRACT_OWNERS 1u         /* keep the entries' owners (when root) */
#define STORE_EXTRACT_CONFINED_LINKS 2u /* refuse symlinks whose target leads outside dest */
int store_tar_extract_file(const char *path, const char *dest, unsigned flags, cb_err *err);
int store_tar_extract_mem(const void *data, size_t len, const char *what, const char *dest, unsigned flags,
                          cb_err *err);

/* ---------- registry ---------- */
/* Pull ref (platform NULL = linux/amd64) into the store and tag it; out may be NULL. */
int store_pull(store *s, const char *ref, const char *platform, const oci_registry_opts *opts,
               store_image *out, cb_err *err);
/* Push local image src to dst (NULL = src). digest_out (may be NULL) gets the manifest digest. */
int store_push(store *s, const char *src, const char *dst, const oci_registry_opts *opts,
               char digest_out[CB_DIGEST_STR_LEN], cb_err *err);

/* Push an image already resolved (e.g. from store_image_convert). */
int store_push_image(store *s, const store_image *im, const char *dst, const oci_registry_opts *opts,
                     char digest_out[CB_DIGEST_STR_LEN], cb_err *err);
/* Push src as dst (NULL = src) with every layer not already in co->algo recompressed on the
 * fly: compression streams straight into the upload (and into a new store blob); the config
 * (hence the image ID) is unchanged, the pushed manifest is an OCI manifest. */
int store_push_compressed(store *s, const char *src, const char *dst, const oci_compress_opts *co,
                          const oci_registry_opts *opts, char digest_out[CB_DIGEST_STR_LEN], cb_err *err);
/* A copy of im with every layer not already in opts->algo recompressed into new blobs and an
 * OCI manifest over the same config (diffIDs, hence the image ID, are unchanged). The new
 * manifest is not tagged. */
int store_image_convert(store *s, const store_image *im, const oci_compress_opts *opts, store_image *out,
                        cb_err *err);

/* ---------- archives and export ---------- */
/* OCI archive (oci-layout, index.json, blobs/) plus Docker's manifest.json, so both
 * `skopeo copy oci-archive:` and `docker load` accept it. */
int store_save(store *s, const char *const *refs, size_t n_refs, const char *out_path, cb_err *err);
/* The same with the archive's names given (as[i] for refs[i]; NULL or "" for none); ref_name_tag:
 * org.opencontainers.image.ref.name is the tag alone, as BuildKit's OCI exporter writes it. */
int store_save_as(store *s, const char *const *refs, const char *const *as, size_t n_refs, bool ref_name_tag,
                  const char *out_path, cb_err *err);
/* Load an OCI archive or a `docker save` tar; loaded gets the tags created. */
int store_load(store *s, const char *path, cb_strv *loaded, cb_err *err);
/* The same from an OCI image layout directory (`-o type=oci,tar=false`), left as it is. */
int store_load_layout(store *s, const char *dir, cb_strv *loaded, cb_err *err);
/* The image's layers flattened (whiteouts applied) as one uncompressed tar into sink. */
int store_export_tar(store *s, const char *ref, oci_sink sink, cb_err *err);

/* The image's layers flattened into one ext4 image at out_path (ext4/ FLATTEN mode,
 * automatic size plus extra_free bytes, deterministic: seeded by the manifest digest,
 * times clamped to SOURCE_DATE_EPOCH when set). */
int store_export_ext4(store *s, const char *ref, const char *out_path, uint64_t extra_free, cb_err *err);

/* ---------- disk usage and GC ---------- */
typedef struct store_usage {
    uint64_t images, blobs, blob_bytes, layer_images, layer_image_bytes, cache_records,
        cache_bytes, reclaimable_bytes;
} store_usage;
int store_usage_get(store *s, store_usage *out, cb_err *err);

typedef struct store_prune_opts {
    bool all;              /* every cache record (else only those whose blobs are gone) */
    int64_t until;         /* only records last used before this unix time (0 = any) */
    uint64_t keep_storage; /* stop once the store is at most this size (0 = no limit) */
    bool try_lock;         /* -EWOULDBLOCK (err unset) instead of waiting for other processes */
} store_prune_opts;
/* Remove cache records per opts, then every blob and layer image not reachable from a tag
 * or a remaining record. Takes the exclusive lock. */
int store_prune(store *s, const store_prune_opts *opts, uint64_t *reclaimed, cb_err *err);

/* ---------- store check ---------- */
typedef struct store_check_item {
    char *path; /* absolute */
    char *what; /* what is wrong with it, or what kind of leftover it is */
    uint64_t bytes; /* leftovers: disk space it takes */
} store_check_item;
typedef struct store_check_report {
    uint64_t blobs, images, records, layer_images, unreferenced_layer_images;
    store_check_item *problems; /* corruption: a final name whose content or references are wrong */
    size_t n_problems;
    store_check_item *leftovers; /* interrupted writes under temp names: reclaimable by prune */
    size_t n_leftovers;
    uint64_t leftover_bytes;
} store_check_report;
/* Verify every blob against its digest, every tag's manifest, config and layers, every cache
 * record's key and referenced blobs, and every layer image's ext4 structure (cheap: superblock,
 * size, upper/ root). Runs beside other processes (shared lock); fills out, returns 0. */
int store_check(store *s, store_check_report *out, cb_err *err);
void store_check_report_free(store_check_report *r);

#endif
