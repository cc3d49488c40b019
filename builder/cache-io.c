/* --cache-from / --cache-to: import cache records before the solve, answer lookups the local
 * store misses, fetch layer blobs only when something needs them (a later miss runs on the
 * chain, an output contains it), and export the build's records afterwards. */
#include "cache-io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cachex.h"

enum cio_type { CIO_REGISTRY, CIO_LOCAL, CIO_INLINE };

typedef struct cio_dest {
    enum cio_type type;
    char *target;  /* ref or dir */
    bool max;
    bool ignore_error;
    oci_compression compression;
    char *spec;
} cio_dest;

typedef struct cio_import {
    cachex_set set;
    cachex_source *src;
} cio_import;

typedef struct lazy_blob {
    char digest[CB_DIGEST_STR_LEN];
    int64_t size;
    cachex_source *src; /* borrowed */
} lazy_blob;

static struct {
    pthread_mutex_t lock;
    cio_dest *dests;
    size_t n_dests;
    cio_import *imports;
    size_t n_imports;
    cachex_source **image_srcs; /* lazily resolved images */
    size_t n_image_srcs;
    lazy_blob *lazy;
    size_t n_lazy;
    cachex_set noted;    /* key -> record of every layer step of this build */
    size_t *noted_by;    /* per noted record: the first platform (in --platform order) noting it */
    cachex_set used;     /* imported records that were hits */
    int64_t fetched;     /* bytes */
    int n_fetched;
    FILE *log;
    bool quiet;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    FILE *f = g.log ? g.log : stderr;
    va_list ap;
    va_start(ap, fmt);
    fputs("WARNING: ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fflush(f);
    va_end(ap);
}

/* the solver's record format (solve.c record_new) */
static json_t *record_json(const bl_layer *l, const char *created, const char *chain_key)
{
    json_t *r = json_pack("{s:{s:s,s:s,s:I,s:s},s:s}", "layer", "diff_id", l->diff_id, "digest", l->digest, "size",
                          (json_int_t)l->size, "mediaType", l->media_type, "created", created);
    if (chain_key && *chain_key)
        json_object_set_new(r, "chain_key", json_string(chain_key));
    return r;
}

static void record_layer(json_t *r, bl_layer *l, char created[32], char chain_key[CB_DIGEST_STR_LEN])
{
    const char *ck = json_string_value(json_object_get(r, "chain_key"));
    if (chain_key && ck && cb_digest_valid(ck))
        snprintf(chain_key, CB_DIGEST_STR_LEN, "%s", ck);
    json_t *jl = json_object_get(r, "layer");
    memset(l, 0, sizeof *l);
    snprintf(l->diff_id, sizeof l->diff_id, "%s", json_string_value(json_object_get(jl, "diff_id")));
    snprintf(l->digest, sizeof l->digest, "%s", json_string_value(json_object_get(jl, "digest")));
    snprintf(l->media_type, sizeof l->media_type, "%s", json_string_value(json_object_get(jl, "mediaType")));
    l->size = json_integer_value(json_object_get(jl, "size"));
    if (created)
        snprintf(created, 32, "%s", json_string_value(json_object_get(r, "created")));
}

/* ---------- option parsing (docker buildx's CSV forms) ---------- */

static bool kv(const char *t, const char *k, const char **v)
{
    size_t n = strlen(k);
    if (strncmp(t, k, n) || t[n] != '=')
        return false;
    *v = t + n + 1;
    return true;
}

static int parse_dest(const char *spec, cio_dest *d, cb_err *err)
{
    memset(d, 0, sizeof *d);
    d->spec = xstrdup(spec);
    d->compression = OCI_COMPRESSION_GZIP;
    if (!strchr(spec, '=')) { /* a plain reference */
        d->type = CIO_REGISTRY;
        d->target = xstrdup(spec);
        return 0;
    }
    cleanup_free char *s = xstrdup(spec);
    const char *type = NULL, *ref = NULL, *dest = NULL, *mode = NULL, *comp = NULL, *v, *ie = NULL, *unknown = NULL;
    char *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (kv(t, "type", &v))
            type = v;
        else if (kv(t, "ref", &v))
            ref = v;
        else if (kv(t, "dest", &v))
            dest = v;
        else if (kv(t, "mode", &v))
            mode = v;
        else if (kv(t, "compression", &v))
            comp = v;
        else if (kv(t, "ignore-error", &v))
            ie = v;
        else if (kv(t, "oci-mediatypes", &v) || kv(t, "image-manifest", &v) || kv(t, "compression-level", &v) ||
                 kv(t, "force-compression", &v))
            ; /* always OCI media types and an image manifest; compression is always forced */
        else if (!unknown)
            unknown = t;
    }
    if (!type)
        return cb_fail(err, "invalid --cache-to %s: type= is required (registry, local or inline)", spec);
    if (strcmp(type, "registry") && strcmp(type, "local") && strcmp(type, "inline"))
        return cb_fail(err, "invalid --cache-to %s: cache type `%s` is not supported (registry, local, inline)", spec,
                       type);
    if (unknown)
        return cb_fail(err, "invalid --cache-to %s: unknown attribute `%s`", spec, unknown);
    if (!strcmp(type, "registry")) {
        if (!ref)
            return cb_fail(err, "invalid --cache-to %s: type=registry needs ref=", spec);
        d->type = CIO_REGISTRY;
        d->target = xstrdup(ref);
    } else if (!strcmp(type, "local")) {
        if (!dest)
            return cb_fail(err, "invalid --cache-to %s: type=local needs dest=", spec);
        d->type = CIO_LOCAL;
        d->target = xstrdup(dest);
    } else if (!strcmp(type, "inline")) {
        d->type = CIO_INLINE;
    } else {
        return cb_fail(err, "invalid --cache-to %s: cache type `%s` is not supported (registry, local, inline)", spec,
                       type);
    }
    if (mode && strcmp(mode, "min") && strcmp(mode, "max"))
        return cb_fail(err, "invalid --cache-to %s: mode must be min or max, not `%s`", spec, mode);
    d->max = mode && !strcmp(mode, "max");
    if (d->type == CIO_INLINE && d->max)
        return cb_fail(err, "invalid --cache-to %s: inline cache supports mode=min only", spec);
    if (comp) {
        if (!strcmp(comp, "gzip"))
            d->compression = OCI_COMPRESSION_GZIP;
        else if (!strcmp(comp, "zstd"))
            d->compression = OCI_COMPRESSION_ZSTD;
        else
            return cb_fail(err, "invalid --cache-to %s: compression must be gzip or zstd, not `%s`", spec, comp);
    }
    if (ie)
        d->ignore_error = !strcmp(ie, "true");
    return 0;
}

/* type=registry,ref=R | type=local,src=D | R. Returns 0 with the type and the target, or an error. */
static int parse_src(const char *spec, enum cio_type *type, char **target, cb_err *err)
{
    if (!strchr(spec, '=')) {
        *type = CIO_REGISTRY;
        *target = xstrdup(spec);
        return 0;
    }
    cleanup_free char *s = xstrdup(spec);
    const char *t_ = NULL, *ref = NULL, *src = NULL, *v;
    char *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (kv(t, "type", &v))
            t_ = v;
        else if (kv(t, "ref", &v))
            ref = v;
        else if (kv(t, "src", &v))
            src = v;
        else if (kv(t, "digest", &v) || kv(t, "tag", &v))
            return cb_fail(err, "invalid --cache-from %s: `%s` is not supported", spec, t);
        else
            return cb_fail(err, "invalid --cache-from %s: unknown attribute `%s`", spec, t);
    }
    if (!t_ || !strcmp(t_, "registry")) {
        if (!ref)
            return cb_fail(err, "invalid --cache-from %s: type=registry needs ref=", spec);
        *type = CIO_REGISTRY;
        *target = xstrdup(ref);
    } else if (!strcmp(t_, "local")) {
        if (!src)
            return cb_fail(err, "invalid --cache-from %s: type=local needs src=", spec);
        *type = CIO_LOCAL;
        *target = xstrdup(src);
    } else {
        return cb_fail(err, "invalid --cache-from %s: cache type `%s` is not supported (registry, local)", spec, t_);
    }
    return 0;
}

int bl_cache_io_init(bl_build *b, cb_err *err)
{
    const builder_opts *o = b->opts;
    g.log = o->log ? o->log : stderr;
    g.quiet = o->progress == BUILDER_PROGRESS_QUIET;
    for (size_t i = 0; o->cache_to && i < o->cache_to->n; i++) {
        g.dests = xrealloc(g.dests, (g.n_dests + 1) * sizeof *g.dests);
        int rc = parse_dest(o->cache_to->v[i], &g.dests[g.n_dests++], err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; o->cache_from && i < o->cache_from->n; i++) {
        const char *spec = o->cache_from->v[i];
        enum cio_type type = CIO_REGISTRY;
        char *target = NULL;
        int rc = parse_src(spec, &type, &target, err);
        if (rc < 0 || !target)
            return rc < 0 ? rc : cb_fail(err, "invalid --cache-from %s", spec);
        cleanup_free char *name = xasprintf("importing cache manifest from %s", target);
        int pid = bl_progress_add(b, name);
        progress_start(b->prog, pid);
        cachex_set set = {0};
        cachex_source *src = NULL;
        cb_err e;
        cb_err_clear(&e);
        oci_registry_opts ro;
        bl_registry_opts(b->opts, &ro);
        rc = type == CIO_LOCAL ? cachex_import_local(b->st, target, &set, &src, &e)
                               : cachex_import_registry(b->st, target, &ro, &set, &src, &e);
        if (rc < 0) {
            progress_done(b->prog, pid);
            warn("cache from %s is ignored: %s", spec, e.msg);
            cachex_set_free(&set);
        } else {
            progress_status(b->prog, pid, "%zu cache records", set.n);
            progress_done(b->prog, pid);
            g.imports = xrealloc(g.imports, (g.n_imports + 1) * sizeof *g.imports);
            g.imports[g.n_imports].set = set;
            g.imports[g.n_imports].src = src;
            g.n_imports++;
        }
        free(target);
    }
    return 0;
}

static void lazy_add(const char *digest, int64_t size, cachex_source *src)
{
    for (size_t i = 0; i < g.n_lazy; i++)
        if (!strcmp(g.lazy[i].digest, digest))
            return;
    g.lazy = xrealloc(g.lazy, (g.n_lazy + 1) * sizeof *g.lazy);
    lazy_blob *l = &g.lazy[g.n_lazy++];
    snprintf(l->digest, sizeof l->digest, "%s", digest);
    l->size = size;
    l->src = src;
}

bool bl_cache_io_lookup(bl_build *b, const char *key, bl_layer *l, char created[32], char chain_key[CB_DIGEST_STR_LEN])
{
    (void)b;
    pthread_mutex_lock(&g.lock);
    bool hit = false;
    for (size_t i = 0; i < g.n_imports && !hit; i++) {
        json_t *r = cachex_set_find(&g.imports[i].set, key);
        if (!r)
            continue;
        record_layer(r, l, created, chain_key);
        if (!store_blob_exists(b->st, l->digest, NULL))
            lazy_add(l->digest, l->size, g.imports[i].src);
        cachex_set_add(&g.used, key, r);
        hit = true;
    }
    pthread_mutex_unlock(&g.lock);
    return hit;
}

static void note_locked(size_t platform, const char *key, json_t *r)
{
    for (size_t i = 0; i < g.noted.n; i++)
        if (!strcmp(g.noted.v[i].key, key)) {
            if (platform < g.noted_by[i])
                g.noted_by[i] = platform;
            return;
        }
    cachex_set_add(&g.noted, key, r);
    g.noted_by = xrealloc(g.noted_by, g.noted.n * sizeof *g.noted_by);
    g.noted_by[g.noted.n - 1] = platform;
}

void bl_cache_io_note(bl_build *b, size_t platform, const char *key, const bl_layer *l, const char *created,
                      const char *chain_key)
{
    (void)b;
    if (!g.n_dests)
        return;
    json_t *r = record_json(l, created, chain_key);
    pthread_mutex_lock(&g.lock);
    note_locked(platform, key, r);
    if (chain_key && *chain_key && strcmp(chain_key, key)) /* found by content too */
        note_locked(platform, chain_key, r);
    pthread_mutex_unlock(&g.lock);
    json_decref(r);
}

int bl_cache_io_blob(store *s, const char *digest, cb_err *err)
{
    if (store_blob_exists(s, digest, NULL))
        return 0;
    pthread_mutex_lock(&g.lock);
    cachex_source *src = NULL;
    int64_t size = 0;
    for (size_t i = 0; i < g.n_lazy; i++)
        if (!strcmp(g.lazy[i].digest, digest)) {
            src = g.lazy[i].src;
            size = g.lazy[i].size;
        }
    pthread_mutex_unlock(&g.lock);
    if (!src)
        return 0;
    /* two stages may need the same blob at once: one fetch at a time, the second finds it */
    static pthread_mutex_t fetch_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&fetch_lock);
    int64_t before = g.fetched;
    int rc = cachex_source_fetch(src, s, digest, size, &g.fetched, err);
    if (rc == 0 && g.fetched != before)
        g.n_fetched++;
    pthread_mutex_unlock(&fetch_lock);
    return rc;
}

int bl_cache_io_chain(store *s, const bl_chain *c, cb_err *err)
{
    for (size_t i = 0; i < c->n; i++) {
        int rc = bl_cache_io_blob(s, c->v[i].digest, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int bl_cache_io_image(bl_build *b, const char *ref, const char *platform, store_image *out)
{
    /* the lazy resolver reads linux/amd64 manifests; other platforms are pulled */
    if (!g.n_imports || strcmp(platform, "linux/amd64"))
        return 0;
    cachex_source *src = NULL;
    cb_err e;
    cb_err_clear(&e);
    oci_registry_opts ro;
    bl_registry_opts(b->opts, &ro);
    if (cachex_image_resolve_lazy(b->st, ref, &ro, out, &src, &e) < 0) {
        cb_debug("lazy resolve of %s failed (%s): pulling it", ref, e.msg);
        return 0;
    }
    pthread_mutex_lock(&g.lock);
    g.image_srcs = xrealloc(g.image_srcs, (g.n_image_srcs + 1) * sizeof *g.image_srcs);
    g.image_srcs[g.n_image_srcs++] = src;
    for (size_t i = 0; i < out->manifest.n_layers; i++)
        if (!store_blob_exists(b->st, out->manifest.layers[i].digest, NULL))
            lazy_add(out->manifest.layers[i].digest, out->manifest.layers[i].size, src);
    pthread_mutex_unlock(&g.lock);
    return 1;
}

static bool in_chain(const bl_chain *c, const char *digest)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].digest, digest))
            return true;
    return false;
}

/* The records to export: mode=min keeps those whose layer is in the final image; only those
 * platforms up to `platform` noted (SIZE_MAX: every platform's). */
static void select_records(const bl_chain *target, bool max, size_t platform, cachex_set *out)
{
    for (size_t i = 0; i < g.noted.n; i++) {
        json_t *r = g.noted.v[i].record;
        const char *dg = json_string_value(json_object_get(json_object_get(r, "layer"), "digest"));
        if ((max || in_chain(target, dg)) && g.noted_by[i] <= platform)
            cachex_set_add(out, g.noted.v[i].key, r);
    }
}

int bl_cache_io_pre_export(bl_build *b, const bl_chain *target, cb_err *err)
{
    return bl_cache_io_chain(b->st, target, err);
}

/* A record of a built layer, pointed at the exported blob of the same diffID (another
 * compression): an inline cache can only name blobs its image has. */
static json_t *record_exported(json_t *r, const bl_chain *built, const bl_chain *exported)
{
    json_t *l = json_object_get(r, "layer");
    const char *dg = json_string_value(json_object_get(l, "digest"));
    for (size_t k = 0; dg && k < built->n && k < exported->n; k++) {
        const bl_layer *x = &exported->v[k];
        if (strcmp(built->v[k].digest, dg) || strcmp(built->v[k].diff_id, x->diff_id) || !strcmp(x->digest, dg))
            continue;
        json_t *c = json_deep_copy(r), *cl = json_object_get(c, "layer");
        json_object_set_new(cl, "digest", json_string(x->digest));
        json_object_set_new(cl, "size", json_integer(x->size));
        json_object_set_new(cl, "mediaType", json_string(x->media_type));
        return c;
    }
    return json_incref(r);
}

int bl_cache_io_inline(bl_build *b, size_t platform, const bl_chain *built, const bl_chain *exported,
                       oci_config *cfg)
{
    (void)b;
    for (size_t i = 0; i < g.n_dests; i++) {
        if (g.dests[i].type != CIO_INLINE)
            continue;
        cachex_set sel = {0}, set = {0};
        select_records(built, false, platform, &sel);
        for (size_t k = 0; k < sel.n; k++) {
            json_t *r = record_exported(sel.v[k].record, built, exported);
            cachex_set_add(&set, sel.v[k].key, r);
            json_decref(r);
        }
        if (!cfg->extra)
            cfg->extra = json_object();
        json_object_set_new(cfg->extra, CACHEX_INLINE_KEY, cachex_doc_new(&set));
        cachex_set_free(&sel);
        cachex_set_free(&set);
    }
    return 0;
}

static int need_blob(void *ud, const char *digest, cb_err *err)
{
    store *s = ud;
    int rc = bl_cache_io_blob(s, digest, err);
    if (rc == 0 && !store_blob_exists(s, digest, NULL))
        return cb_failc(err, ENOENT, "blob %s is neither in the store nor in an imported cache", digest);
    return rc;
}

/* compression=zstd: records whose blob is another compression get a recompressed blob
 * (same diffID, so the same layer) and point at it. */
static int recompress(store *s, cachex_set *set, oci_compression algo, cb_err *err)
{
    for (size_t i = 0; i < set->n; i++) {
        json_t *jl = json_object_get(set->v[i].record, "layer");
        const char *mt = json_string_value(json_object_get(jl, "mediaType"));
        if (!strcmp(mt, oci_compression_media_type(algo)))
            continue;
        bl_layer l = {.size = json_integer_value(json_object_get(jl, "size"))};
        snprintf(l.digest, sizeof l.digest, "%s", json_string_value(json_object_get(jl, "digest")));
        snprintf(l.diff_id, sizeof l.diff_id, "%s", json_string_value(json_object_get(jl, "diff_id")));
        snprintf(l.media_type, sizeof l.media_type, "%s", mt);
        oci_compress_opts co = {.algo = algo};
        int rc = need_blob(s, l.digest, err);
        if (rc == 0)
            rc = bl_layer_recompress(s, &l, &co, &l, err);
        if (rc < 0)
            return rc;
        json_object_set_new(jl, "digest", json_string(l.digest));
        json_object_set_new(jl, "size", json_integer(l.size));
        json_object_set_new(jl, "mediaType", json_string(l.media_type));
    }
    return 0;
}

int bl_cache_io_export(bl_build *b, const bl_chain *target, cb_err *err)
{
    for (size_t i = 0; i < g.n_dests; i++) {
        cio_dest *d = &g.dests[i];
        if (d->type == CIO_INLINE)
            continue;
        cleanup_free char *name = xasprintf("exporting cache to %s %s", d->type == CIO_LOCAL ? "client directory" : "registry",
                                            d->target);
        int pid = bl_progress_add(b, name);
        progress_start(b->prog, pid);
        cachex_set set = {0};
        select_records(target, d->max, SIZE_MAX, &set);
        cachex_export_opts eo = {.need_blob = need_blob, .ud = b->st};
        oci_registry_opts ro;
        bl_registry_opts(b->opts, &ro);
        eo.registry = &ro;
        char dig[CB_DIGEST_STR_LEN];
        int rc = recompress(b->st, &set, d->compression, err);
        if (rc == 0)
            rc = d->type == CIO_LOCAL ? cachex_export_local(b->st, d->target, &set, &eo, dig, err)
                                      : cachex_export_registry(b->st, d->target, &set, &eo, dig, err);
        if (rc == 0)
            progress_status(b->prog, pid, "%zu records, manifest %s", set.n, dig);
        cachex_set_free(&set);
        if (rc < 0) {
            if (d->ignore_error) {
                progress_done(b->prog, pid);
                warn("cache export to %s failed (ignore-error=true): %s", d->target, err->msg);
                cb_err_clear(err);
                continue;
            }
            progress_error(b->prog, pid, err->msg);
            return cb_error_wrap(err, "--cache-to %s", d->spec);
        }
        progress_done(b->prog, pid);
    }
    return 0;
}

void bl_cache_io_finish(bl_build *b)
{
    /* imported hits whose blob is now local become local records */
    for (size_t i = 0; b->st && i < g.used.n; i++) {
        bl_layer l;
        record_layer(g.used.v[i].record, &l, NULL, NULL);
        cb_err e;
        json_t *old = NULL;
        if (store_blob_exists(b->st, l.digest, NULL) && store_cache_get(b->st, g.used.v[i].key, &old, &e) == -ENOENT)
            store_cache_put(b->st, g.used.v[i].key, g.used.v[i].record, &e);
        json_decref(old);
    }
    if (g.n_imports && !g.quiet)
        fprintf(g.log, "cache import: %zu imported records used, %d blobs fetched (%lld bytes)\n", g.used.n, g.n_fetched,
                (long long)g.fetched);
    for (size_t i = 0; i < g.n_dests; i++) {
        free(g.dests[i].target);
        free(g.dests[i].spec);
    }
    free(g.dests);
    for (size_t i = 0; i < g.n_imports; i++) {
        cachex_set_free(&g.imports[i].set);
        cachex_source_free(g.imports[i].src);
    }
    free(g.imports);
    for (size_t i = 0; i < g.n_image_srcs; i++)
        cachex_source_free(g.image_srcs[i]);
    free(g.image_srcs);
    free(g.lazy);
    cachex_set_free(&g.noted);
    free(g.noted_by);
    g.noted_by = NULL;
    cachex_set_free(&g.used);
    FILE *log = g.log;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.lock, NULL);
    g.log = log;
}
