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

int store_image_load(store *s, const char *digest, const char *media_type, store_image *out, cb_err *err)
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
        oci_platform want = {(char *)"linux", (char *)"amd64", NULL};
        const oci_descriptor *d = oci_index_select(&ix, &want);
        if (!d) {
            oci_index_free(&ix);
            return cb_failc(err, ENOENT, "image index %s has no linux/amd64 manifest", digest);
        }
        cleanup_free char *dd = xstrdup(d->digest);
        cleanup_free char *mt = xstrdup(d->media_type);
        oci_index_free(&ix);
        return store_image_load(s, dd, mt, out, err);
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

int store_image_resolve(store *s, const char *ref, store_image *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    const char *hex = cb_str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
    size_t hl = strlen(hex);
    bool id_like = hl >= 4 && hl <= 64 && is_hex(hex, hl);
    if (id_like && (hl == 64 || hex != ref)) { /* a full ID or "sha256:…" is never a name */
        if (hl == 64) { /* a manifest digest loads directly */
            cleanup_free char *dg = xasprintf("sha256:%s", hex);
            cb_err e = {0};
            if (store_blob_exists(s, dg, NULL) && store_image_load(s, dg, NULL, out, &e) == 0)
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
        r = store_blob_exists(s, pr.digest, NULL) ? store_image_load(s, pr.digest, NULL, out, err) : -ENOENT;
    } else {
        r = store_tag_get(s, name, &d, &e);
        if (r == 0) {
            if (pr.digest && strcmp(pr.digest, d.digest))
                r = cb_failc(err, ENOENT, "No such image: %s (the tag points to %s)", name, d.digest);
            else
                r = store_image_load(s, d.digest, d.media_type, out, err);
            oci_descriptor_free(&d);
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
    if (tag)
        r = store_tag_set(s, tag, &md, err);
    else
        r = store_index_add_untagged(s, &md, err);
    if (r < 0)
        return r;
    if (out)
        return store_image_load(s, md.digest, OCI_MT_MANIFEST, out, err);
    return 0;
}
