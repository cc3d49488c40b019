/* Build-cache import: cache manifests and inline caches from a registry or an OCI layout
 * directory, lazy image resolution, and verified blob fetching. See cachex.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachex.h"

struct cachex_source {
    char *name;
    oci_registry *reg; /* registry source */
    char *repo;
    char *dir;         /* local layout source */
};

const char *cachex_source_name(const cachex_source *src) { return src->name; }

void cachex_source_free(cachex_source *src)
{
    if (!src)
        return;
    if (src->reg)
        oci_registry_free(src->reg);
    free(src->repo);
    free(src->dir);
    free(src->name);
    free(src);
}

static int fetch_once(cachex_source *src, store *s, const char *digest, int64_t *got, cb_err *err)
{
    if (src->dir) {
        cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", src->dir, digest + 7);
        struct stat st;
        if (stat(p, &st) < 0)
            return cb_error(err, errno, "blob `%s`", p);
        *got = st.st_size;
        return store_blob_put_file(s, p, digest, NULL, err); /* verified before the rename */
    }
    store_blob_writer *w;
    int rc = store_blob_writer_open(s, digest, &w, err);
    if (rc < 0)
        return rc;
    int64_t off = store_blob_writer_offset(w);
    rc = oci_registry_fetch_blob(src->reg, src->repo, digest, off, store_blob_writer_sink(w), err);
    *got = store_blob_writer_offset(w) - off;
    if (rc < 0) {
        store_blob_writer_abort(w, true);
        return rc;
    }
    return store_blob_writer_commit(w, NULL, err); /* digest mismatch: nothing stored */
}

int cachex_source_fetch(cachex_source *src, store *s, const char *digest, int64_t size, int64_t *fetched, cb_err *err)
{
    (void)size;
    if (store_blob_exists(s, digest, NULL))
        return 0;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t got = 0;
        cb_err_clear(err);
        rc = fetch_once(src, s, digest, &got, err);
        if (fetched)
            __atomic_add_fetch(fetched, got, __ATOMIC_RELAXED);
        if (rc == 0)
            return 0;
        if (rc != -EBADMSG && rc != -EIO)
            break;
        cb_warn("blob %s from %s: %s; fetching it again", digest, src->name, err->msg);
    }
    return cb_error_wrap(err, "fetching blob %s from %s", digest, src->name);
}

/* ---------- registry ---------- */

static int get_blob_buf(oci_registry *reg, const char *repo, const char *digest, cb_buf *out, cb_err *err)
{
    cb_buf_init(out);
    int rc = oci_registry_fetch_blob(reg, repo, digest, 0, oci_sink_buf(out), err);
    if (rc < 0)
        return rc;
    char got[CB_DIGEST_STR_LEN];
    cb_sha256_buf(out->data, out->len, got);
    if (strcmp(got, digest))
        return cb_failc(err, EBADMSG, "blob %s: content has digest %s", digest, got);
    return 0;
}

/* The manifest at ref (an index resolved to linux/amd64). */
static int get_manifest(oci_registry *reg, const oci_ref *ref, cb_buf *body, char digest[CB_DIGEST_STR_LEN], cb_err *err)
{
    char *mt = NULL;
    int rc = oci_registry_get_manifest(reg, ref->repository, ref->digest ? ref->digest : ref->tag, body, &mt, digest, err);
    if (rc < 0)
        return rc;
    if (oci_media_type_is_index(mt)) {
        oci_index ix;
        if ((rc = oci_index_parse(body->data, body->len, &ix, err)) < 0) {
            free(mt);
            return rc;
        }
        oci_platform want = {.os = "linux", .architecture = "amd64"};
        const oci_descriptor *d = oci_index_select(&ix, &want);
        if (!d) {
            oci_index_free(&ix);
            free(mt);
            return cb_failc(err, ENOENT, "no linux/amd64 manifest in the index");
        }
        cleanup_free char *pd = xstrdup(d->digest);
        oci_index_free(&ix);
        cb_buf_free(body);
        free(mt);
        mt = NULL;
        rc = oci_registry_get_manifest(reg, ref->repository, pd, body, &mt, digest, err);
    }
    free(mt);
    return rc;
}

static cachex_source *source_registry(oci_registry *reg, const oci_ref *ref, const char *name)
{
    cachex_source *src = xcalloc(1, sizeof *src);
    src->reg = reg;
    src->repo = xstrdup(ref->repository);
    src->name = xstrdup(name);
    return src;
}

/* BuildKit's registry and local caches (a manifest whose config, or an index whose last
 * entry, has this type) key records by LLB digests, which cbuild's keys are not: such a cache
 * can never hit, so it is named as what it is instead of being read as an empty one. */
#define BUILDKIT_MT_CACHE_CONFIG "application/vnd.buildkit.cacheconfig.v0"

/* BuildKit's inline cache: this member of an image config */
#define BUILDKIT_INLINE_CACHE_KEY "moby.buildkit.cache.v0"

static int buildkit_cache_named(const char *what, cb_err *err)
{
    return cb_failc(err, EPROTONOSUPPORT,
                    "a BuildKit %s: its records are keyed by BuildKit's LLB digests, which cbuild does not "
                    "compute; export the cache with cbuild --cache-to",
                    what);
}

static int buildkit_cache(cb_err *err)
{
    return buildkit_cache_named("cache (" BUILDKIT_MT_CACHE_CONFIG ")", err);
}

static bool index_is_buildkit_cache(const oci_index *ix)
{
    for (size_t i = 0; i < ix->n_manifests; i++)
        if (ix->manifests[i].media_type && !strcmp(ix->manifests[i].media_type, BUILDKIT_MT_CACHE_CONFIG))
            return true;
    return false;
}

/* Records from a config blob: a cache document, or an image config's inline member. */
static int parse_config(const char *media_type, const cb_buf *cfg, cachex_set *out, bool *inline_, cb_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(cfg->data, cfg->len, 0, &je);
    if (!j)
        return cb_failc(err, EBADMSG, "cache document is not JSON: %s (line %d)", je.text, je.line);
    int rc;
    if (media_type && !strcmp(media_type, BUILDKIT_MT_CACHE_CONFIG)) {
        json_decref(j);
        return buildkit_cache(err);
    }
    *inline_ = !media_type || strcmp(media_type, CACHEX_MT_CONFIG);
    if (!*inline_) {
        rc = cachex_doc_parse(j, out, err);
    } else {
        json_t *doc = json_object_get(j, CACHEX_INLINE_KEY);
        if (doc)
            rc = cachex_doc_parse(doc, out, err);
        else if (json_object_get(j, BUILDKIT_INLINE_CACHE_KEY))
            rc = buildkit_cache_named("inline cache (" BUILDKIT_INLINE_CACHE_KEY " in the image config)", err);
        else
            rc = 0;
    }
    json_decref(j);
    return rc;
}

/* Every record's blob must be in the source; check the ones the manifest does not list. */
static int check_blobs(oci_registry *reg, const char *repo, const char *dir, const cachex_set *set, cb_err *err)
{
    oci_descriptor *layers;
    size_t n;
    cachex_set_layers(set, &layers, &n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (dir) {
            cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, layers[i].digest + 7);
            struct stat st;
            if (stat(p, &st) < 0)
                rc = cb_failc(err, ENOENT, "blob %s named by a record is missing (`%s`)", layers[i].digest, p);
        } else {
            int64_t sz;
            rc = oci_registry_blob_exists(reg, repo, layers[i].digest, &sz, err);
            if (rc == 0)
                rc = cb_failc(err, ENOENT, "blob %s named by a record is missing in %s", layers[i].digest, repo);
            else if (rc == 1)
                rc = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        oci_descriptor_free(&layers[i]);
    free(layers);
    return rc;
}

/* The records of one image (or cache) manifest of the repository, its blobs checked. */
static int import_manifest(oci_registry *reg, const char *repo, const cb_buf *body, cachex_set *out, cb_err *err)
{
    oci_manifest m = {0};
    int rc = oci_manifest_parse(body->data, body->len, &m, err);
    if (rc < 0)
        return rc;
    cb_buf cfg;
    cb_buf_init(&cfg);
    cachex_set set = {0};
    bool inl;
    if ((rc = get_blob_buf(reg, repo, m.config.digest, &cfg, err)) == 0 &&
        (rc = parse_config(m.config.media_type, &cfg, &set, &inl, err)) == 0 &&
        (rc = check_blobs(reg, repo, NULL, &set, err)) == 0)
        for (size_t i = 0; i < set.n; i++)
            cachex_set_add(out, set.v[i].key, set.v[i].record);
    cachex_set_free(&set);
    cb_buf_free(&cfg);
    oci_manifest_free(&m);
    return rc;
}

int cachex_import_registry(store *s, const char *refstr, const oci_registry_opts *ro, cachex_set *out,
                           cachex_source **srcp, cb_err *err)
{
    (void)s;
    *srcp = NULL;
    oci_ref ref;
    int rc = oci_ref_parse(refstr, &ref, err);
    if (rc < 0)
        return rc;
    oci_registry_opts dro;
    oci_registry_opts_default(&dro);
    oci_registry *reg = NULL;
    cb_buf body;
    cb_buf_init(&body);
    char *mt = NULL;
    char mdig[CB_DIGEST_STR_LEN];
    if ((rc = oci_registry_new(&ref, ro ? ro : &dro, &reg, err)) < 0)
        goto out;
    if ((rc = oci_registry_get_manifest(reg, ref.repository, ref.digest ? ref.digest : ref.tag, &body, &mt, mdig,
                                        err)) < 0)
        goto out;
    if (oci_media_type_is_index(mt)) {
        /* a multi-platform image with an inline cache: every platform's config holds its own
         * records (attestation manifests, unknown/unknown, none) */
        oci_index ix;
        if ((rc = oci_index_parse(body.data, body.len, &ix, err)) < 0)
            goto out;
        if (index_is_buildkit_cache(&ix)) {
            oci_index_free(&ix);
            rc = buildkit_cache(err);
            goto out;
        }
        size_t used = 0;
        for (size_t i = 0; i < ix.n_manifests && rc == 0; i++) {
            const oci_descriptor *d = &ix.manifests[i];
            if (d->platform && d->platform->os && !strcmp(d->platform->os, "unknown"))
                continue;
            cb_buf mb;
            cb_buf_init(&mb);
            char *mmt = NULL;
            if ((rc = oci_registry_get_manifest(reg, ref.repository, d->digest, &mb, &mmt, mdig, err)) == 0 &&
                !oci_media_type_is_index(mmt)) {
                rc = import_manifest(reg, ref.repository, &mb, out, err);
                used++;
            }
            free(mmt);
            cb_buf_free(&mb);
        }
        oci_index_free(&ix);
        if (rc == 0 && !used)
            rc = cb_failc(err, ENOENT, "no image manifest in the index");
    } else {
        rc = import_manifest(reg, ref.repository, &body, out, err);
    }
    if (rc == 0) {
        *srcp = source_registry(reg, &ref, refstr);
        reg = NULL;
    }
out:
    free(mt);
    cb_buf_free(&body);
    if (reg)
        oci_registry_free(reg);
    oci_ref_free(&ref);
    return rc < 0 ? rc : 0;
}

/* ---------- local layout ---------- */

static int read_file(const char *path, cb_buf *out, cb_err *err)
{
    cb_buf_init(out);
    FILE *f = fopen(path, "re");
    if (!f)
        return cb_error(err, errno, "open `%s`", path);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        cb_buf_append(out, tmp, n);
    bool bad = ferror(f);
    fclose(f);
    return bad ? cb_error(err, EIO, "read `%s`", path) : 0;
}

static int read_blob(const char *dir, const char *digest, cb_buf *out, cb_err *err)
{
    if (!cb_digest_valid(digest))
        return cb_failc(err, EBADMSG, "invalid digest `%s`", digest);
    cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
    int rc = read_file(p, out, err);
    if (rc < 0)
        return rc;
    char got[CB_DIGEST_STR_LEN];
    cb_sha256_buf(out->data, out->len, got);
    if (strcmp(got, digest))
        return cb_failc(err, EBADMSG, "blob `%s` has digest %s", p, got);
    return 0;
}

int cachex_import_local(store *s, const char *dir, cachex_set *out, cachex_source **srcp, cb_err *err)
{
    (void)s;
    *srcp = NULL;
    cb_buf ixb, mb, cb;
    cb_buf_init(&mb);
    cb_buf_init(&cb);
    cleanup_free char *ixp = xasprintf("%s/index.json", dir);
    int rc = read_file(ixp, &ixb, err);
    oci_index ix = {0};
    oci_manifest m = {0};
    bool have_ix = false, have_m = false;
    cachex_set set = {0};
    if (rc < 0)
        goto out;
    if ((rc = oci_index_parse(ixb.data, ixb.len, &ix, err)) < 0)
        goto out;
    have_ix = true;
    const oci_descriptor *d = NULL;
    for (size_t i = 0; i < ix.n_manifests && !d; i++) {
        const char *n = oci_descriptor_annotation(&ix.manifests[i], "org.opencontainers.image.ref.name");
        if (n && !strcmp(n, "latest"))
            d = &ix.manifests[i];
    }
    if (!d && ix.n_manifests)
        d = &ix.manifests[0];
    if (!d) {
        rc = cb_failc(err, ENOENT, "`%s` lists no cache manifest", ixp);
        goto out;
    }
    if ((rc = read_blob(dir, d->digest, &mb, err)) < 0)
        goto out;
    if (d->media_type && oci_media_type_is_index(d->media_type)) {
        oci_index inner;
        if ((rc = oci_index_parse(mb.data, mb.len, &inner, err)) < 0)
            goto out;
        bool bk = index_is_buildkit_cache(&inner);
        oci_index_free(&inner);
        rc = bk ? buildkit_cache(err) : cb_failc(err, EBADMSG, "`%s` names an index, not a cache manifest", ixp);
        goto out;
    }
    if ((rc = oci_manifest_parse(mb.data, mb.len, &m, err)) < 0)
        goto out;
    have_m = true;
    if ((rc = read_blob(dir, m.config.digest, &cb, err)) < 0)
        goto out;
    bool inl;
    if ((rc = parse_config(m.config.media_type, &cb, &set, &inl, err)) < 0)
        goto out;
    if ((rc = check_blobs(NULL, NULL, dir, &set, err)) < 0)
        goto out;
    for (size_t i = 0; i < set.n; i++)
        cachex_set_add(out, set.v[i].key, set.v[i].record);
    cachex_source *src = xcalloc(1, sizeof *src);
    src->dir = xstrdup(dir);
    src->name = xstrdup(dir);
    *srcp = src;
out:
    cachex_set_free(&set);
    if (have_m)
        oci_manifest_free(&m);
    if (have_ix)
        oci_index_free(&ix);
    cb_buf_free(&ixb);
    cb_buf_free(&mb);
    cb_buf_free(&cb);
    if (rc < 0)
        cb_error_wrap(err, "cache %s", dir);
    return rc < 0 ? rc : 0;
}

/* ---------- lazy image resolution ---------- */

int cachex_image_resolve_lazy(store *s, const char *refstr, const oci_registry_opts *ro, store_image *out,
                              cachex_source **srcp, cb_err *err)
{
    *srcp = NULL;
    memset(out, 0, sizeof *out);
    oci_ref ref;
    int rc = oci_ref_parse(refstr, &ref, err);
    if (rc < 0)
        return rc;
    oci_registry_opts dro;
    oci_registry_opts_default(&dro);
    oci_registry *reg = NULL;
    cb_buf body, cfg;
    cb_buf_init(&body);
    cb_buf_init(&cfg);
    char mdig[CB_DIGEST_STR_LEN];
    if ((rc = oci_registry_new(&ref, ro ? ro : &dro, &reg, err)) < 0)
        goto out;
    if ((rc = get_manifest(reg, &ref, &body, mdig, err)) < 0)
        goto out;
    if ((rc = oci_manifest_parse(body.data, body.len, &out->manifest, err)) < 0)
        goto out;
    if ((rc = get_blob_buf(reg, ref.repository, out->manifest.config.digest, &cfg, err)) < 0)
        goto out;
    if ((rc = oci_config_parse(cfg.data, cfg.len, &out->config, err)) < 0)
        goto out;
    if ((rc = store_blob_put_buf(s, body.data, body.len, mdig, NULL, err)) < 0 ||
        (rc = store_blob_put_buf(s, cfg.data, cfg.len, out->manifest.config.digest, NULL, err)) < 0)
        goto out;
    memcpy(out->manifest_digest, mdig, sizeof mdig);
    memcpy(out->id, out->manifest.config.digest, sizeof out->id);
    out->manifest_len = body.len;
    out->manifest_json = cb_buf_steal(&body);
    out->config_len = cfg.len;
    out->config_json = cb_buf_steal(&cfg);
    out->size = out->manifest.config.size;
    for (size_t i = 0; i < out->manifest.n_layers; i++)
        out->size += out->manifest.layers[i].size;
    *srcp = source_registry(reg, &ref, refstr);
    reg = NULL;
out:
    if (rc < 0) {
        cb_error_wrap(err, "resolving %s", refstr);
        store_image_free(out);
        memset(out, 0, sizeof *out);
    }
    cb_buf_free(&body);
    cb_buf_free(&cfg);
    if (reg)
        oci_registry_free(reg);
    oci_ref_free(&ref);
    return rc < 0 ? rc : 0;
}
