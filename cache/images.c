/* Tags in index.json, image resolution and image commits. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "internal.h"

int store_index_read(store *s, oci_index *ix, cb_err *err)
{
    cleanup_free char *p = xasprintf("%s/index.json", s->root);
    cb_buf b;
    cb_buf_init(&b);
    int r = cb_read_file(p, &b, err);
    if (r == 0)
        r = oci_index_parse(b.data, b.len, ix, err);
    cb_buf_free(&b);
    return r < 0 ? cb_error_wrap(err, "store index %s", p) : 0;
}

int store_index_update(store *s, int (*fn)(oci_index *ix, void *arg, cb_err *err), void *arg, cb_err *err)
{
    cleanup_free char *lp = xasprintf("%s/index.lock", s->root);
    cleanup_close int lfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
        return cb_error(err, errno, "lock `%s`", lp);
    oci_index ix;
    int r = store_index_read(s, &ix, err);
    if (r < 0)
        return r;
    r = fn(&ix, arg, err);
    if (r == 0) {
        size_t n;
        cleanup_free char *j = oci_index_serialize(&ix, &n);
        cleanup_free char *p = xasprintf("%s/index.json", s->root);
        r = cb_write_file_atomic(p, j, n, 0644, err);
    }
    oci_index_free(&ix);
    return r; /* lock released when lfd closes */
}

/* ---------- tags ---------- */

/* Tags written by other tools (skopeo copy oci:ROOT:name) may be short ("app:1"): compare
 * normalised names. */
static bool name_matches(const char *annot, const char *norm)
{
    if (!annot)
        return false;
    if (!strcmp(annot, norm))
        return true;
    cb_err e = {0};
    cleanup_free char *n = oci_ref_normalize(annot, &e);
    return n && !strcmp(n, norm);
}

typedef struct tag_op {
    const char *name;
    const oci_descriptor *desc;
    bool found;
} tag_op;

static void index_remove_at(oci_index *ix, size_t i)
{
    oci_descriptor_free(&ix->manifests[i]);
    memmove(&ix->manifests[i], &ix->manifests[i + 1], (ix->n_manifests - i - 1) * sizeof *ix->manifests);
    ix->n_manifests--;
}

static int tag_set_fn(oci_index *ix, void *arg, cb_err *err)
{
    (void)err;
    tag_op *op = arg;
    for (size_t i = 0; i < ix->n_manifests;) {
        const char *n = oci_descriptor_annotation(&ix->manifests[i], OCI_ANNOT_REF_NAME);
        /* drop the old tag, and an untagged entry for the same manifest */
        if (name_matches(n, op->name) || (!n && !strcmp(ix->manifests[i].digest, op->desc->digest)))
            index_remove_at(ix, i);
        else
            i++;
    }
    oci_descriptor d;
    oci_descriptor_copy(&d, op->desc);
    if (d.platform) {
        oci_platform_free(d.platform);
        free(d.platform);
        d.platform = NULL;
    }
    oci_descriptor_set_annotation(&d, OCI_ANNOT_REF_NAME, op->name);
    oci_index_add(ix, &d);
    oci_descriptor_free(&d);
    return 0;
}

int store_tag_set(store *s, const char *ref, const oci_descriptor *manifest, cb_err *err)
{
    cleanup_free char *name = oci_ref_normalize(ref, err);
    if (!name)
        return -EINVAL;
    if (!store_blob_exists(s, manifest->digest, NULL))
        return cb_failc(err, ENOENT, "tag %s: manifest %s is not in the store", name, manifest->digest);
    tag_op op = {name, manifest, false};
    return store_index_update(s, tag_set_fn, &op, err);
}

/* Add an untagged manifest to index.json (docker's <none>:<none>) unless it is there. */
static int add_untagged_fn(oci_index *ix, void *arg, cb_err *err)
{
    (void)err;
    const oci_descriptor *d = arg;
    for (size_t i = 0; i < ix->n_manifests; i++)
        if (!strcmp(ix->manifests[i].digest, d->digest))
            return 0;
    oci_index_add(ix, d);
    return 0;
}

int store_index_add_untagged(store *s, const oci_descriptor *d, cb_err *err)
{
    return store_index_update(s, add_untagged_fn, (void *)d, err);
}

int store_tag_get(store *s, const char *ref, oci_descriptor *out, cb_err *err)
{
    cleanup_free char *name = oci_ref_normalize(ref, err);
    if (!name)
        return -EINVAL;
    oci_index ix;
    int r = store_index_read(s, &ix, err);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (size_t i = 0; i < ix.n_manifests; i++) {
        const char *n = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
        if (name_matches(n, name)) {
            oci_descriptor_copy(out, &ix.manifests[i]);
            r = 0;
            break;
        }
    }
    oci_index_free(&ix);
    if (r == -ENOENT)
        cb_failc(err, ENOENT, "No such image: %s", name);
    return r;
}

int store_tag_list(store *s, store_tag **out, size_t *n, cb_err *err)
{
    oci_index ix;
    int r = store_index_read(s, &ix, err);
    if (r < 0)
        return r;
    store_tag *t = xcalloc(ix.n_manifests + 1, sizeof *t);
    for (size_t i = 0; i < ix.n_manifests; i++) {
        const char *nm = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
        char *norm = nm ? oci_ref_normalize(nm, NULL) : NULL;
        t[i].name = norm ? norm : nm ? xstrdup(nm) : NULL;
        oci_descriptor_copy(&t[i].desc, &ix.manifests[i]);
    }
    *out = t;
    *n = ix.n_manifests;
    oci_index_free(&ix);
    return 0;
}

void store_tags_free(store_tag *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].name);
        oci_descriptor_free(&t[i].desc);
    }
    free(t);
}

typedef struct rm_op {
    const char *name;  /* remove this tag, or */
    const char *digest; /* every entry for this manifest */
    int removed;
} rm_op;

static int tag_rm_fn(oci_index *ix, void *arg, cb_err *err)
{
    (void)err;
    rm_op *op = arg;
    for (size_t i = 0; i < ix->n_manifests;) {
        const char *n = oci_descriptor_annotation(&ix->manifests[i], OCI_ANNOT_REF_NAME);
        bool hit = op->name ? name_matches(n, op->name) : !strcmp(ix->manifests[i].digest, op->digest);
        if (hit) {
            index_remove_at(ix, i);
            op->removed++;
        } else
            i++;
    }
    return 0;
}

int store_tag_remove(store *s, const char *ref, cb_err *err)
{
    cleanup_free char *name = oci_ref_normalize(ref, err);
    if (!name)
        return -EINVAL;
    rm_op op = {name, NULL, 0};
    int r = store_index_update(s, tag_rm_fn, &op, err);
    if (r < 0)
        return r;
    if (!op.removed)
        return cb_failc(err, ENOENT, "No such image: %s", name);
    return 0;
}

int store_image_untag_all(store *s, const char *manifest_digest, cb_err *err);
int store_image_untag_all(store *s, const char *manifest_digest, cb_err *err)
{
    rm_op op = {NULL, manifest_digest, 0};
    return store_index_update(s, tag_rm_fn, &op, err);
}

/* ---------- images ---------- */

void store_image_free(store_image *im)
{
    if (!im)
        return;
    oci_manifest_free(&im->manifest);
    oci_config_free(&im->config);
    free(im->manifest_json);
    free(im->config_json);
    memset(im, 0, sizeof *im);
}

/* An index's entry: want's, or with want NULL linux/amd64 when its manifest is here, else the
 * first entry whose manifest is (a pull keeps only the platforms it was asked for). */
static const oci_descriptor *index_pick(store *s, const oci_index *ix, const oci_platform *want)
{
    if (want)
        return oci_index_select(ix, want);
    oci_platform host = {(char *)"linux", (char *)"amd64", NULL, NULL};
    const oci_descriptor *d = oci_index_select(ix, &host);
    if (d && store_blob_exists(s, d->digest, NULL))
        return d;
    for (size_t i = 0; i < ix->n_manifests; i++)
        if (ix->manifests[i].platform && cb_digest_valid(ix->manifests[i].digest) &&
            store_blob_exists(s, ix->manifests[i].digest, NULL))
            return &ix->manifests[i];
    return d;
}

int store_index_local(store *s, const char *ref, oci_descriptor *desc, oci_index *ix, cb_buf *json)
{
    cb_err e = {0};
    oci_ref pr;
    if (oci_ref_parse(ref, &pr, &e) < 0)
        return 0;
    cleanup_free char *name = oci_ref_string(&pr);
    oci_ref_free(&pr);
    oci_descriptor d;
    memset(&d, 0, sizeof d);
    if (cb_str_has_prefix(ref, "sha256:") && cb_digest_valid(ref) && store_blob_exists(s, ref, NULL)) {
        d.media_type = xstrdup(OCI_MT_INDEX); /* an untagged index named by its digest */
        memcpy(d.digest, ref, CB_DIGEST_STR_LEN);
    } else if (store_tag_get(s, name, &d, &e) < 0)
        return 0;
    int ok = 0;
    cb_buf_init(json);
    if (oci_media_type_is_index(d.media_type) && store_blob_get(s, d.digest, json, &e) == 0 &&
        oci_index_parse(json->data, json->len, ix, &e) == 0) {
        ok = ix->n_manifests > 0;
        if (!d.size) /* named by its digest alone: the blob gives the size */
            d.size = (int64_t)json->len;
        for (size_t i = 0; i < ix->n_manifests && ok; i++)
            ok = cb_digest_valid(ix->manifests[i].digest) && store_blob_exists(s, ix->manifests[i].digest, NULL);
        if (!ok)
            oci_index_free(ix);
    }
    if (ok)
        *desc = d;
    else {
        oci_descriptor_free(&d);
        cb_buf_free(json);
    }
    return ok;
}

int store_image_platforms(store *s, const char *ref, cb_strv *out, cb_err *err)
{
    (void)err;
    oci_descriptor d;
    oci_index ix;
    cb_buf j;
    if (!store_index_local(s, ref, &d, &ix, &j))
        return 0;
    for (size_t i = 0; i < ix.n_manifests; i++)
        if (ix.manifests[i].platform && ix.manifests[i].platform->os)
            cb_strv_push_owned(out, oci_platform_string(ix.manifests[i].platform));
    oci_index_free(&ix);
    oci_descriptor_free(&d);
    cb_buf_free(&j);
    return (int)out->n;
}

int store_image_load(store *s, const char *digest, const char *media_type, store_image *out, cb_err *err)
{
    return store_image_load_for(s, digest, media_type, NULL, NULL, out, err);
}

int store_image_load_for(store *s, const char *digest, const char *media_type, const oci_platform *want,
                         const char *name, store_image *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    cb_buf b;
    cb_buf_init(&b);
    int r = store_blob_get(s, digest, &b, err);
    if (r < 0) {
        cb_buf_free(&b);
        return r;
    }
    bool is_index = oci_media_type_is_index(media_type);
    if (!media_type || !*media_type) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        is_index = json_object_get(j, "manifests") != NULL;
        json_decref(j);
    }
    if (is_index) {
        oci_index ix;
        r = oci_index_parse(b.data, b.len, &ix, err);
        cb_buf_free(&b);
        if (r < 0)
            return r;
        const oci_descriptor *d = index_pick(s, &ix, want);
        if (!d || !store_blob_exists(s, d->digest, NULL)) {
            cleanup_free char *ws = want ? oci_platform_string(want) : xstrdup("linux/amd64");
            oci_index_free(&ix);
            return name ? cb_failc(err, ENOENT, "image %s has no %s manifest in the store (index %s)", name, ws, digest)
                        : cb_failc(err, ENOENT, "image index %s has no %s manifest in the store", digest, ws);
        }
        cleanup_free char *dd = xstrdup(d->digest);
        cleanup_free char *mt = xstrdup(d->media_type);
        oci_index_free(&ix);
        return store_image_load_for(s, dd, mt, NULL, NULL, out, err);
    }
    snprintf(out->manifest_digest, sizeof out->manifest_digest, "%s", digest);
    out->manifest_len = b.len;
    out->manifest_json = cb_buf_steal(&b);
    if ((r = oci_manifest_parse(out->manifest_json, out->manifest_len, &out->manifest, err)) < 0) {
        free(out->manifest_json);
        memset(out, 0, sizeof *out);
        return cb_error_wrap(err, "manifest %s", digest);
    }
    if ((r = store_blob_get(s, out->manifest.config.digest, &b, err)) < 0) {
        store_image_free(out);
        cb_buf_free(&b);
        return cb_error_wrap(err, "config of image %s", digest);
    }
    out->config_len = b.len;
    out->config_json = cb_buf_steal(&b);
    if ((r = oci_config_parse(out->config_json, out->config_len, &out->config, err)) < 0) {
        free(out->config_json);
        out->config_json = NULL;
        oci_manifest_free(&out->manifest);
        free(out->manifest_json);
        memset(out, 0, sizeof *out);
        return cb_error_wrap(err, "config %s", digest);
    }
    snprintf(out->id, sizeof out->id, "%s", out->manifest.config.digest);
    out->size = out->manifest.config.size;
    for (size_t i = 0; i < out->manifest.n_layers; i++)
        out->size += out->manifest.layers[i].size;
    if (want && !oci_platform_matches(out->config.os, out->config.architecture, out->config.variant, want)) {
        oci_platform have = {out->config.os ? out->config.os : (char *)"?",
                             out->config.architecture ? out->config.architecture : (char *)"?", out->config.variant,
                             out->config.os_version};
        cleanup_free char *ws = oci_platform_string(want);
        cleanup_free char *hs = oci_platform_string(&have);
        store_image_free(out);
        /* docker's words for a single-platform image of another platform */
        return cb_failc(err, ENOEXEC,
                        "image with reference %s was found but does not match the specified platform: wanted %s, "
                        "actual: %s",
                        name ? name : digest, ws, hs);
    }
    return 0;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

/* Match an image ID (config digest) or manifest digest prefix over the index. */
static int resolve_id(store *s, const char *hex, store_image *out, cb_err *err)
{
    size_t hl = strlen(hex);
    oci_index ix;
    int r = store_index_read(s, &ix, err);
    if (r < 0)
        return r;
    r = -ENOENT;
    char match[CB_DIGEST_STR_LEN] = "";
    char match_mt[128] = "";
    bool ambiguous = false;
    for (size_t i = 0; i < ix.n_manifests && !ambiguous; i++) {
        const oci_descriptor *d = &ix.manifests[i];
        store_image im;
        cb_err e = {0};
        if (store_image_load(s, d->digest, d->media_type, &im, &e) < 0)
            continue;
        if (!strncmp(im.id + 7, hex, hl) || !strncmp(d->digest + 7, hex, hl)) {
            if (match[0] && strcmp(match, d->digest))
                ambiguous = true;
            snprintf(match, sizeof match, "%s", d->digest);
            snprintf(match_mt, sizeof match_mt, "%s", d->media_type ? d->media_type : "");
        }
        store_image_free(&im);
    }
    oci_index_free(&ix);
    if (ambiguous)
        return cb_failc(err, EINVAL, "image ID prefix `%s` is ambiguous", hex);
    if (!match[0])
        return -ENOENT;
    return store_image_load(s, match, match_mt, out, err);
}

static int resolve_for(store *s, const char *ref, const oci_platform *want, store_image *out, cb_err *err);

int store_image_resolve(store *s, const char *ref, store_image *out, cb_err *err)
{
    return store_image_resolve_platform(s, ref, NULL, out, err);
}

int store_image_resolve_platform(store *s, const char *ref, const char *platform, store_image *out, cb_err *err)
{
    oci_platform want = {0};
    if (platform) {
        int r = oci_platform_parse(platform, &want, err);
        if (r < 0)
            return r;
    }
    int r = resolve_for(s, ref, platform ? &want : NULL, out, err);
    oci_platform_free(&want);
    return r;
}

static int resolve_for(store *s, const char *ref, const oci_platform *want, store_image *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    const char *hex = cb_str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
    size_t hl = strlen(hex);
    bool id_like = hl >= 4 && hl <= 64 && is_hex(hex, hl);
    if (id_like && (hl == 64 || hex != ref)) { /* a full ID or "sha256:…" is never a name */
        if (hl == 64) { /* a manifest digest loads directly */
            cleanup_free char *dg = xasprintf("sha256:%s", hex);
            cb_err e = {0};
            if (store_blob_exists(s, dg, NULL) && store_image_load_for(s, dg, NULL, want, ref, out, &e) == 0)
                return 0;
        }
        int r = resolve_id(s, hex, out, err);
        if (r == -ENOENT)
            return cb_failc(err, ENOENT, "No such image: %s", ref);
        return r;
    }
    oci_ref pr;
    int r = oci_ref_parse(ref, &pr, err);
    if (r < 0)
        return r;
    cleanup_free char *name = oci_ref_string(&pr);
    oci_descriptor d;
    cb_err e = {0};
    if (pr.digest && !pr.tag) {
        r = store_blob_exists(s, pr.digest, NULL) ? store_image_load_for(s, pr.digest, NULL, want, name, out, err)
                                                  : -ENOENT;
    } else {
        r = store_tag_get(s, name, &d, &e);
        if (r == 0) {
            if (pr.digest && strcmp(pr.digest, d.digest))
                r = cb_failc(err, ENOENT, "No such image: %s (the tag points to %s)", name, d.digest);
            else
                r = store_image_load_for(s, d.digest, d.media_type, want, name, out, err);
            oci_descriptor_free(&d);
            if (r == -ENOENT && want) { /* the tag is here, its index lacks the platform */
                oci_ref_free(&pr);
                return r;
            }
        }
    }
    oci_ref_free(&pr);
    if (r == -ENOENT && id_like)
        r = resolve_id(s, hex, out, err);
    if (r == -ENOENT)
        return cb_failc(err, ENOENT, "No such image: %s", name);
    return r;
}

int store_image_commit(store *s, const oci_config *cfg, const oci_descriptor *layers, size_t n_layers,
                       const char *tag, store_image *out, cb_err *err)
{
    if (cfg->diff_ids.n != n_layers)
        return cb_fail(err, "image config has %zu diff_ids but %zu layers were given", cfg->diff_ids.n, n_layers);
    size_t clen;
    cleanup_free char *cj = oci_config_serialize(cfg, &clen);
    return store_image_commit_raw(s, cj, clen, layers, n_layers, tag, out, err);
}

int store_image_commit_raw(store *s, const char *cj, size_t clen, const oci_descriptor *layers, size_t n_layers,
                           const char *tag, store_image *out, cb_err *err)
{
    for (size_t i = 0; i < n_layers; i++)
        if (!store_blob_exists(s, layers[i].digest, NULL))
            return cb_failc(err, ENOENT, "layer %s is not in the store", layers[i].digest);
    oci_manifest m = {0};
    m.media_type = (char *)OCI_MT_MANIFEST;
    m.config.media_type = (char *)OCI_MT_CONFIG;
    m.config.size = (int64_t)clen;
    int r = store_blob_put_buf(s, cj, clen, NULL, m.config.digest, err);
    if (r < 0)
        return r;
    oci_descriptor *ls = xcalloc(n_layers + 1, sizeof *ls);
    for (size_t i = 0; i < n_layers; i++) {
        ls[i] = layers[i];
        if (!ls[i].media_type)
            ls[i].media_type = (char *)OCI_MT_LAYER_GZIP;
        ls[i].platform = NULL;
    }
    m.layers = ls;
    m.n_layers = n_layers;
    size_t mlen;
    cleanup_free char *mj = oci_manifest_serialize(&m, &mlen);
    free(ls);
    oci_descriptor md = {.media_type = (char *)OCI_MT_MANIFEST, .size = (int64_t)mlen};
    if ((r = store_blob_put_buf(s, mj, mlen, NULL, md.digest, err)) < 0)
        return r;
    if (tag && *tag)
        r = store_tag_set(s, tag, &md, err);
    else if (!tag)
        r = store_index_add_untagged(s, &md, err);
    if (r < 0)
        return r;
    if (out)
        return store_image_load(s, md.digest, OCI_MT_MANIFEST, out, err);
    return 0;
}

int store_index_commit(store *s, const oci_descriptor *manifests, size_t n, const char *tag,
                       char digest_out[CB_DIGEST_STR_LEN], size_t *len_out, cb_err *err)
{
    oci_index ix = {.media_type = xstrdup(OCI_MT_INDEX)};
    for (size_t i = 0; i < n; i++) {
        if (!store_blob_exists(s, manifests[i].digest, NULL)) {
            oci_index_free(&ix);
            return cb_failc(err, ENOENT, "manifest %s is not in the store", manifests[i].digest);
        }
        oci_index_add(&ix, &manifests[i]);
    }
    size_t len;
    cleanup_free char *j = oci_index_serialize(&ix, &len);
    oci_index_free(&ix);
    oci_descriptor d = {.media_type = (char *)OCI_MT_INDEX, .size = (int64_t)len};
    int r = store_blob_put_buf(s, j, len, NULL, d.digest, err);
    if (r == 0)
        r = tag ? store_tag_set(s, tag, &d, err) : store_index_add_untagged(s, &d, err);
    if (r == 0 && digest_out)
        memcpy(digest_out, d.digest, CB_DIGEST_STR_LEN);
    if (r == 0 && len_out)
        *len_out = len;
    return r;
}

bool store_tag_names(store *s, const store_tag *t, const char *manifest_digest)
{
    if (!strcmp(t->desc.digest, manifest_digest))
        return true;
    if (!oci_media_type_is_index(t->desc.media_type))
        return false;
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    oci_index ix;
    bool found = false;
    if (store_blob_get(s, t->desc.digest, &b, &e) == 0 && oci_index_parse(b.data, b.len, &ix, &e) == 0) {
        for (size_t i = 0; i < ix.n_manifests && !found; i++)
            found = !strcmp(ix.manifests[i].digest, manifest_digest);
        oci_index_free(&ix);
    }
    cb_buf_free(&b);
    return found;
}
