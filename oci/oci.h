/* oci/: OCI and Docker image formats, references, layer tars (libarchive, gzip/zstd), and the
 * registry client (libcurl, distribution API v2). Knows nothing about Dockerfiles, VMs or the
 * local store: whatever needs the store (pull into it, push from it, save/load) is in cache/store.h. */
#ifndef CB_OCI_H
#define CB_OCI_H

#include <jansson.h>
#include <time.h>

#include "common.h"

/* ---------- media types ---------- */
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Annotation that names a tag in index.json of an OCI layout / archive. */
#define OCI_ANNOT_REF_NAME "org.opencontainers.image.ref.name"

bool oci_media_type_is_index(const char *mt);    /* OCI index or Docker manifest list */
bool oci_media_type_is_manifest(const char *mt); /* OCI manifest or Docker schema2 */
bool oci_media_type_is_layer(const char *mt);

/* ---------- references ----------
 * Parsed and normalised as Docker does: "alpine" -> docker.io/library/alpine:latest,
 * "localhost:5000/x" keeps its registry, "name@sha256:..." has a digest and no default tag. */
typedef struct oci_ref {
    char *registry;   /* "docker.io", "localhost:5000", "127.0.0.1:5000" */
    char *repository; /* "library/alpine" */
    char *tag;        /* "latest", or NULL when only a digest was given */
    char *digest;     /* "sha256:<hex>" or NULL */
} oci_ref;
int oci_ref_parse(const char *s, oci_ref *out, cb_err *err);
void oci_ref_free(oci_ref *r);
/* "docker.io/library/alpine:latest", "reg/x@sha256:…", "reg/x:t@sha256:…" (malloc'd). */
char *oci_ref_string(const oci_ref *r);
/* registry/repository without tag or digest (malloc'd). */
char *oci_ref_name(const oci_ref *r);
/* Docker's short form for display: "alpine", "localhost:5000/x" (malloc'd, no tag). */
char *oci_ref_familiar_name(const oci_ref *r);
/* Normalise a reference string in one call; NULL with err set when invalid. */
char *oci_ref_normalize(const char *s, cb_err *err);
/* Host part used for API calls and credentials ("docker.io" -> "registry-1.docker.io"). */
const char *oci_ref_api_host(const oci_ref *r);

/* ---------- descriptors and platforms ---------- */
typedef struct oci_platform {
    char *os;           /* "linux" */
    char *architecture; /* "amd64" */
    char *variant;      /* "v8" or NULL */
    char *os_version;   /* "os.version" ("10.0.20348.1006"), or NULL */
} oci_platform;
/* "linux/amd64", "linux/arm64/v8", "amd64" (os defaults to linux), "windows(10.0.1)/amd64"
 * (containerd's FormatAll: the OS version in parentheses). */
int oci_platform_parse(const char *s, oci_platform *out, cb_err *err);
void oci_platform_free(oci_platform *p);

typedef struct oci_descriptor {
    char *media_type;
    char digest[CB_DIGEST_STR_LEN];
    int64_t size;
    json_t *annotations; /* object or NULL; owned */
    oci_platform *platform; /* in an index; NULL otherwise; owned */
    json_t *extra;          /* other members (urls, artifactType, data), preserved; owned or NULL */
} oci_descriptor;
void oci_descriptor_free(oci_descriptor *d);  /* frees members, not d */
void oci_descriptor_copy(oci_descriptor *dst, const oci_descriptor *src);
json_t *oci_descriptor_to_json(const oci_descriptor *d);
int oci_descriptor_from_json(json_t *j, oci_descriptor *out, cb_err *err);
/* annotations[key] or NULL */
const char *oci_descriptor_annotation(const oci_descriptor *d, const char *key);
void oci_descriptor_set_annotation(oci_descriptor *d, const char *key, const char *value);

/* ---------- manifests and indexes ----------
 * Parse accepts OCI and Docker schema2 (schema1 is refused with a clear error).
 * Serialise is canonical: compact JSON, keys in a fixed order, so digests are reproducible. */
typedef struct oci_manifest {
    char *media_type; /* as given (OCI_MT_MANIFEST or DOCKER_MT_MANIFEST) */
    oci_descriptor config;
    oci_descriptor *layers;
    size_t n_layers;
    json_t *annotations; /* object or NULL */
} oci_manifest;
int oci_manifest_parse(const char *json, size_t len, oci_manifest *out, cb_err *err);
char *oci_manifest_serialize(const oci_manifest *m, size_t *len);
void oci_manifest_add_layer(oci_manifest *m, const oci_descriptor *layer); /* copies */
void oci_manifest_free(oci_manifest *m);

typedef struct oci_index {
    char *media_type; /* OCI_MT_INDEX or DOCKER_MT_LIST */
    oci_descriptor *manifests;
    size_t n_manifests;
    json_t *annotations;
} oci_index;
int oci_index_parse(const char *json, size_t len, oci_index *out, cb_err *err);
char *oci_index_serialize(const oci_index *ix, size_t *len);
void oci_index_add(oci_index *ix, const oci_descriptor *d); /* copies */
void oci_index_free(oci_index *ix);
/* Entry for the platform (variant ignored when want->variant is NULL); NULL if none. */
const oci_descriptor *oci_index_select(const oci_index *ix, const oci_platform *want);
/* os/arch/variant (an index entry's or a config's) satisfy want, as containerd's matcher:
 * want's variant NULL matches any; arm64 = arm64/v8, arm = arm/v7. */
bool oci_platform_matches(const char *os, const char *arch, const char *variant, const oci_platform *want);
char *oci_platform_string(const oci_platform *p); /* "linux/arm64[/v8]" */

/* ---------- image config ----------
 * Field names follow the image spec; *_set flags keep Docker's distinction between an
 * absent/null list and an empty one (e.g. `CMD []` vs no CMD). Unknown members survive a
 * parse/serialise round trip (in extra / config_extra). */
typedef struct oci_healthcheck {
    cb_strv test;          /* ["CMD-SHELL", "curl ..."], ["NONE"] */
    int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
    int retries;
} oci_healthcheck;

typedef struct oci_history {
    char *created; /* RFC 3339 */
    char *created_by;
    char *author;
    char *comment;
    bool empty_layer;
} oci_history;

typedef struct oci_config {
    char *created; /* RFC 3339, or NULL */
    char *author;
    char *architecture; /* "amd64" */
    char *os;           /* "linux" */
    char *variant;
    char *os_version;   /* "os.version", or NULL */
    /* "config" */
    char *user;
    cb_strv env;        /* "KEY=value" */
    cb_strv entrypoint; bool entrypoint_set;
    cb_strv cmd; bool cmd_set;
    char *working_dir;
    cb_strv exposed_ports; /* "80/tcp", sorted unique */
    cb_strv volumes;       /* "/data", sorted unique */
    json_t *labels;        /* object string -> string; never NULL after init/parse */
    char *stop_signal;
    oci_healthcheck *healthcheck; /* NULL when none */
    cb_strv onbuild;
    cb_strv shell; bool shell_set;
    bool args_escaped;
    /* rootfs */
    cb_strv diff_ids; /* "sha256:…", bottom layer first */
    oci_history *history;
    size_t n_history;
    json_t *extra;        /* unknown top-level members; owned, may be NULL */
    json_t *config_extra; /* unknown members of "config"; owned, may be NULL */
} oci_config;
void oci_config_init(oci_config *c); /* empty config for linux/amd64 */
int oci_config_parse(const char *json, size_t len, oci_config *out, cb_err *err);
char *oci_config_serialize(const oci_config *c, size_t *len);
void oci_config_copy(oci_config *dst, const oci_config *src);
void oci_config_free(oci_config *c);
/* Env helpers: set replaces an existing KEY; get returns the value or NULL. */
void oci_config_env_set(oci_config *c, const char *key, const char *value);
const char *oci_config_env_get(const oci_config *c, const char *key);
void oci_config_label_set(oci_config *c, const char *key, const char *value);
/* Append a history entry; created may be NULL (then omitted). */
void oci_config_add_history(oci_config *c, const char *created, const char *created_by,
                            const char *comment, bool empty_layer);
/* RFC 3339 UTC ("2024-01-02T03:04:05Z") for a unix time; out needs 32 bytes. */
void oci_time_format(int64_t t, char out[32]);
/* SOURCE_DATE_EPOCH when set and valid, else -1. */
int64_t oci_source_date_epoch(void);

/* ---------- byte sinks ----------
 * Where streamed output goes: an fd, a buffer, or a store blob writer (cache/store.h). */
typedef struct oci_sink {
    int (*write)(void *opaque, const void *data, size_t n, cb_err *err);
    void *opaque;
} oci_sink;
oci_sink oci_sink_fd(int fd);
oci_sink oci_sink_buf(cb_buf *b);

/* ---------- compression ---------- */
typedef enum oci_compression {
    OCI_COMPRESSION_NONE = 0,
    OCI_COMPRESSION_GZIP,
    OCI_COMPRESSION_ZSTD,
} oci_compression;
typedef struct oci_compress_opts {
    oci_compression algo; /* default gzip */
    int level;            /* 0 = the algorithm's default (gzip 6, zstd 3) */
    int threads;          /* 0 = every core */
} oci_compress_opts;
/* "gzip" | "zstd" | "uncompressed" (alias "none") */
int oci_compression_parse(const char *s, oci_compression *out, cb_err *err);
const char *oci_compression_name(oci_compression c);
const char *oci_compression_media_type(oci_compression c); /* OCI layer media type */
/* Detect from magic bytes (gzip 1f8b, zstd 28b52ffd); NONE otherwise. */
oci_compression oci_compression_detect(const void *head, size_t n);

typedef struct oci_layer_result {
    char diff_id[CB_DIGEST_STR_LEN]; /* sha256 of the uncompressed tar */
    char digest[CB_DIGEST_STR_LEN];  /* sha256 of the blob as stored */
    int64_t size;                    /* blob size */
    int64_t uncompressed_size;
    const char *media_type;          /* static string */
} oci_layer_result;

/* Compress an uncompressed tar stream read from in_fd into sink; diffID and blob digest are
 * computed in the same pass (block-parallel gzip / multithreaded zstd). */
int oci_compress_stream(int in_fd, const oci_compress_opts *opts, oci_sink sink,
                        oci_layer_result *res, cb_err *err);
/* Decompress a blob (gzip, zstd or plain tar, detected) from in_fd into sink; diff_id gets
 * the sha256 of the uncompressed bytes (may be NULL). */
int oci_decompress_stream(int in_fd, oci_sink sink, char diff_id[CB_DIGEST_STR_LEN], int64_t *n,
                          cb_err *err);

/* Decompress a blob (format detected) and compress it again with opts into sink; res->diff_id
 * is the digest of the uncompressed stream. */
int oci_recompress_stream(int in_fd, const oci_compress_opts *opts, oci_sink sink, oci_layer_result *res,
                          cb_err *err);

/* ---------- layer tar writer ----------
 * PAX tars (long names, xattrs, large files, nanosecond times) via libarchive, compressed on
 * the fly. Deterministic: add entries in sorted order (oci_layer_writer_add_tree does), times
 * clamped to clamp_mtime, uid/gid kept, no atime/ctime. */
typedef struct oci_layer_opts {
    oci_compress_opts compress;
    int64_t clamp_mtime; /* -1: keep times; else mtime = min(mtime, clamp) (SOURCE_DATE_EPOCH) */
} oci_layer_opts;
void oci_layer_opts_default(oci_layer_opts *o); /* gzip, default level, all cores, SOURCE_DATE_EPOCH */

typedef struct oci_xattr {
    const char *name;
    const void *value;
    size_t size;
} oci_xattr;

typedef struct oci_tar_entry {
    const char *path;     /* relative ("etc/passwd", "usr/"), no leading '/' or "./" */
    mode_t mode;          /* type bits + permissions (S_IFREG|0644, S_IFDIR, S_IFLNK, ...) */
    uid_t uid;
    gid_t gid;
    int64_t size;         /* regular files */
    struct timespec mtime;
    const char *linkname; /* symlink target, or hardlink target path when hardlink */
    bool hardlink;
    dev_t rdev;           /* char/block devices */
    const oci_xattr *xattrs;
    size_t n_xattrs;
} oci_tar_entry;

typedef struct oci_layer_writer oci_layer_writer;
int oci_layer_writer_new(const oci_layer_opts *opts, oci_sink sink, oci_layer_writer **out, cb_err *err);
/* Regular file contents come from data_fd (exactly e->size bytes) or data (when data_fd < 0). */
int oci_layer_writer_add(oci_layer_writer *w, const oci_tar_entry *e, int data_fd, const void *data,
                         cb_err *err);
/* Streaming form: the header, then exactly e->size bytes of data in any number of calls. */
int oci_layer_writer_add_header(oci_layer_writer *w, const oci_tar_entry *e, cb_err *err);
int oci_layer_writer_write_data(oci_layer_writer *w, const void *data, size_t n, cb_err *err);
/* An OCI whiteout (".wh.<name>") for path; opaque marks dir as ".wh..wh..opq". */
int oci_layer_writer_add_whiteout(oci_layer_writer *w, const char *path, bool opaque, cb_err *err);
/* Walk src_dir (lstat, no following) in sorted order and add it under dest_prefix ("" = root). */
int oci_layer_writer_add_tree(oci_layer_writer *w, const char *src_dir, const char *dest_prefix, cb_err *err);
/* Finish the tar and the compressed stream; fills res. */
int oci_layer_writer_finish(oci_layer_writer *w, oci_layer_result *res, cb_err *err);
void oci_layer_writer_free(oci_layer_writer *w);

/* ---------- layer tar reader ----------
 * Iterates a layer blob (compression detected) with libarchive. */
typedef struct oci_layer_reader oci_layer_reader;
int oci_layer_reader_open_fd(int fd, oci_layer_reader **out, cb_err *err);
/* 1 with *e filled (valid until the next call), 0 at end, <0 on error. */
int oci_layer_reader_next(oci_layer_reader *r, oci_tar_entry *e, cb_err *err);
/* Read the current regular file's data; returns bytes (0 at end) or <0. */
ssize_t oci_layer_reader_read(oci_layer_reader *r, void *buf, size_t n, cb_err *err);
void oci_layer_reader_free(oci_layer_reader *r);

/* ---------- credentials (~/.docker/config.json) ----------
 * The file is $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json; path may override.
 * Hosts are matched as Docker does ("docker.io" -> "https://index.docker.io/v1/"). */
int oci_auth_get(const char *path, const char *host, char **user, char **pass, cb_err *err); /* 0 found, -ENOENT none */
int oci_auth_set(const char *path, const char *host, const char *user, const char *pass, cb_err *err);
int oci_auth_remove(const char *path, const char *host, cb_err *err); /* -ENOENT when not logged in */
char *oci_auth_default_path(void);

/* ---------- registry client (distribution API v2) ---------- */
typedef struct oci_registry_opts {
    const cb_strv *insecure_registries; /* hosts (host[:port]) spoken to over plain HTTP */
    bool tls_verify;                    /* default true; false skips certificate checks */
    const char *cert_dir;               /* <dir>/<host>/ca.crt, like /etc/docker/certs.d (default) */
    const char *auth_file;              /* default oci_auth_default_path() */
    const char *username, *password;    /* explicit credentials override the auth file */
    int parallel;                       /* concurrent blob transfers; 0 = 4 */
    int retries;                        /* attempts on 5xx/429/connection errors; 0 = 5 */
    int64_t chunk_size;                 /* push: >0 uses chunked PATCH uploads of this size */
    FILE *progress;                     /* docker-like progress lines, or NULL */
} oci_registry_opts;
void oci_registry_opts_default(oci_registry_opts *o);

typedef struct oci_registry oci_registry;
/* One client for one registry host; thread-safe (one curl handle per call, shared tokens). */
int oci_registry_new(const oci_ref *ref, const oci_registry_opts *opts, oci_registry **out, cb_err *err);
void oci_registry_free(oci_registry *r);
/* GET /v2/ with credentials: verifies a login. */
int oci_registry_ping(oci_registry *r, cb_err *err);
/* GET a manifest by tag or digest (reference NULL = ref's digest, else tag). The body's digest
 * is verified when a digest was asked for. */
int oci_registry_get_manifest(oci_registry *r, const char *repository, const char *reference,
                              cb_buf *body, char **media_type, char digest[CB_DIGEST_STR_LEN], cb_err *err);
int oci_registry_put_manifest(oci_registry *r, const char *repository, const char *reference,
                              const char *media_type, const void *body, size_t len, cb_err *err);
/* HEAD a blob: 1 exists (size set), 0 missing. */
int oci_registry_blob_exists(oci_registry *r, const char *repository, const char *digest, int64_t *size,
                             cb_err *err);
/* GET a blob from byte offset (Range when > 0) into sink. Caller verifies the digest. */
int oci_registry_fetch_blob(oci_registry *r, const char *repository, const char *digest, int64_t offset,
                            oci_sink sink, cb_err *err);
/* Cross-repository mount of digest from repository `from` on the same registry: 1 mounted,
 * 0 refused (the caller uploads the bytes instead). */
int oci_registry_mount_blob(oci_registry *r, const char *repository, const char *digest, const char *from,
                            cb_err *err);
/* Upload a blob from fd (size bytes). mount_from: a repository on the same registry to try a
 * cross-repository mount from first (or NULL). Monolithic unless opts.chunk_size > 0. */
int oci_registry_push_blob(oci_registry *r, const char *repository, const char *digest, int64_t size,
                           int fd, const char *mount_from, cb_err *err);

/* Upload a blob of unknown size and digest read from fd (a pipe) to EOF: POST, one streamed
 * PATCH (chunked, not retried), then finish() must return the digest of what was sent (it
 * also runs when the upload failed, so the producer can stop), then PUT ?digest=. */
int oci_registry_push_blob_stream(oci_registry *r, const char *repository, int fd,
                                  int (*finish)(void *ctx, char digest[CB_DIGEST_STR_LEN], cb_err *err), void *ctx,
                                  char digest_out[CB_DIGEST_STR_LEN], cb_err *err);

/* ---------- one file over HTTP(S) (ADD <url>) ---------- */
typedef struct oci_http_result {
    long status;
    int64_t size;
    int64_t mtime;    /* Last-Modified as seconds since the epoch, -1 when absent */
    char *final_url;  /* after redirects */
    char *filename;   /* from Content-Disposition, without a path; NULL when absent */
    char *etag;
} oci_http_result;
/* GET url into out_fd (truncated first, and again before each retry). Retries connection
 * errors, 5xx and 429 with backoff; CBUILD_HTTP_TIMEOUT (default 60) seconds without data fail.
 * if_none_match (an ETag, or NULL): a conditional GET; 304 Not Modified returns 0 with
 * res->status 304 and nothing written. */
int oci_http_fetch(const char *url, const char *if_none_match, int out_fd, oci_http_result *res, cb_err *err);
/* HEAD url (with If-None-Match when given): res->status and res->etag, as BuildKit's http
 * source asks before it downloads again. */
int oci_http_head(const char *url, const char *if_none_match, oci_http_result *res, cb_err *err);
void oci_http_result_free(oci_http_result *res);
/* HEAD url with If-None-Match: etag (BuildKit's http source revalidation): true when the
 * server answers 304 or the same ETag; false on any other answer or error. */
bool oci_http_unchanged(const char *url, const char *etag);

#endif
