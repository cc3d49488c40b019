/* Build-cache export: the record document, the cache manifest (an OCI artifact), pushing it
 * to a registry or writing it into an OCI layout directory. See cachex.h and docs/cache.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachex.h"

/* ---------- record sets ---------- */

json_t *cachex_set_find(const cachex_set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].key, key))
            return s->v[i].record;
    return NULL;
}

void cachex_set_add(cachex_set *s, const char *key, json_t *record)
{
    if (cachex_set_find(s, key))
        return;
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n].key = xstrdup(key);
    s->v[s->n].record = json_deep_copy(record);
    s->n++;
}

void cachex_set_free(cachex_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        json_decref(s->v[i].record);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int rec_cmp(const void *a, const void *b)
{
    return strcmp(((const cachex_rec *)a)->key, ((const cachex_rec *)b)->key);
}

json_t *cachex_doc_new(const cachex_set *s)
{
    cachex_rec *v = xmalloc((s->n ? s->n : 1) * sizeof *v);
    if (s->n)
        memcpy(v, s->v, s->n * sizeof *v);
    qsort(v, s->n, sizeof *v, rec_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:O}", "key", v[i].key, "record", v[i].record));
    free(v);
    return json_pack("{s:i,s:s,s:o}", "version", CACHEX_VERSION, "creator", "cbuild", "records", arr);
}

static bool record_valid(json_t *r)
{
    json_t *l = json_object_get(r, "layer");
    const char *di = json_string_value(json_object_get(l, "diff_id"));
    const char *dg = json_string_value(json_object_get(l, "digest"));
    const char *mt = json_string_value(json_object_get(l, "mediaType"));
    json_t *sz = json_object_get(l, "size");
    return di && dg && mt && cb_digest_valid(di) && cb_digest_valid(dg) && json_is_integer(sz) &&
           json_integer_value(sz) >= 0 && oci_media_type_is_layer(mt) && json_is_string(json_object_get(r, "created"));
}

int cachex_doc_parse(json_t *doc, cachex_set *out, cb_err *err)
{
    if (!json_is_object(doc))
        return cb_failc(err, EBADMSG, "cache document is not a JSON object");
    json_t *ver = json_object_get(doc, "version");
    if (!json_is_integer(ver))
        return cb_failc(err, EBADMSG, "cache document has no version");
    if (json_integer_value(ver) != CACHEX_VERSION)
        return cb_failc(err, EPROTONOSUPPORT, "cache format version %lld is not supported (this cbuild reads version %d)",
                        (long long)json_integer_value(ver), CACHEX_VERSION);
    json_t *recs = json_object_get(doc, "records");
    if (!json_is_array(recs))
        return cb_failc(err, EBADMSG, "cache document has no records array");
    size_t i;
    json_t *e;
    json_array_foreach(recs, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        json_t *r = json_object_get(e, "record");
        if (!key || !*key || !json_is_object(r) || !record_valid(r))
            return cb_failc(err, EBADMSG, "cache record %zu is malformed", i);
    }
    json_array_foreach(recs, i, e) cachex_set_add(out, json_string_value(json_object_get(e, "key")),
                                                  json_object_get(e, "record"));
    return 0;
}

static int desc_cmp(const void *a, const void *b)
{
    return strcmp(((const oci_descriptor *)a)->digest, ((const oci_descriptor *)b)->digest);
}

void cachex_set_layers(const cachex_set *s, oci_descriptor **out, size_t *n)
{
    oci_descriptor *v = xcalloc(s->n ? s->n : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        json_t *l = json_object_get(s->v[i].record, "layer");
        const char *dg = json_string_value(json_object_get(l, "digest"));
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = !strcmp(v[j].digest, dg);
        if (dup)
            continue;
        snprintf(v[k].digest, sizeof v[k].digest, "%s", dg);
        v[k].size = json_integer_value(json_object_get(l, "size"));
        v[k].media_type = xstrdup(json_string_value(json_object_get(l, "mediaType")));
        k++;
    }
    qsort(v, k, sizeof *v, desc_cmp);
    *out = v;
    *n = k;
}

static void layers_free(oci_descriptor *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        oci_descriptor_free(&v[i]);
    free(v);
}

/* The config blob (record document) and the manifest, both as canonical bytes. */
static void build_manifest(const cachex_set *set, char **config, size_t *config_len, char config_digest[CB_DIGEST_STR_LEN],
                           char **manifest, size_t *manifest_len, oci_descriptor **layers, size_t *n_layers)
{
    json_t *doc = cachex_doc_new(set);
    *config = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    *config_len = strlen(*config);
    cb_sha256_buf(*config, *config_len, config_digest);
    cachex_set_layers(set, layers, n_layers);
    json_t *jl = json_array();
    for (size_t i = 0; i < *n_layers; i++)
        json_array_append_new(jl, json_pack("{s:s,s:s,s:I}", "mediaType", (*layers)[i].media_type, "digest",
                                            (*layers)[i].digest, "size", (json_int_t)(*layers)[i].size));
    json_t *m = json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
                          "artifactType", CACHEX_ARTIFACT_TYPE, "config", "mediaType", CACHEX_MT_CONFIG, "digest",
                          config_digest, "size", (json_int_t)*config_len, "layers", jl);
    *manifest = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    *manifest_len = strlen(*manifest);
    json_decref(m);
}

static int ensure_local(store *s, const cachex_export_opts *o, const char *digest, cb_err *err)
{
    if (store_blob_exists(s, digest, NULL))
        return 0;
    if (o && o->need_blob)
        return o->need_blob(o->ud, digest, err);
    return cb_failc(err, ENOENT, "blob %s named by a cache record is not in the store", digest);
}

int cachex_export_registry(store *s, const char *refstr, const cachex_set *set, const cachex_export_opts *o,
                           char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    oci_ref ref;
    int rc = oci_ref_parse(refstr, &ref, err);
    if (rc < 0)
        return cb_error_wrap(err, "cache export to %s", refstr);
    if (ref.digest) {
        oci_ref_free(&ref);
        return cb_fail(err, "cache export to %s: a cache reference needs a tag, not a digest", refstr);
    }
    oci_registry_opts dro;
    oci_registry_opts_default(&dro);
    oci_registry *reg = NULL;
    char *config = NULL, *manifest = NULL;
    size_t config_len, manifest_len, n_layers = 0;
    oci_descriptor *layers = NULL;
    char cdig[CB_DIGEST_STR_LEN];
    build_manifest(set, &config, &config_len, cdig, &manifest, &manifest_len, &layers, &n_layers);
    if ((rc = oci_registry_new(&ref, o && o->registry ? o->registry : &dro, &reg, err)) < 0)
        goto out;
    for (size_t i = 0; i < n_layers + 1 && rc == 0; i++) {
        const char *dg = i < n_layers ? layers[i].digest : cdig;
        int64_t have;
        rc = oci_registry_blob_exists(reg, ref.repository, dg, &have, err);
        if (rc < 0)
            break;
        if (rc == 1) {
            rc = 0;
            continue;
        }
        if (i == n_layers && (rc = store_blob_put_buf(s, config, config_len, cdig, NULL, err)) < 0)
            break;
        if (i < n_layers && (rc = ensure_local(s, o, dg, err)) < 0)
            break;
        int fd = -1;
        if ((rc = store_blob_open(s, dg, &fd, err)) < 0)
            break;
        struct stat st;
        fstat(fd, &st);
        rc = oci_registry_push_blob(reg, ref.repository, dg, st.st_size, fd, NULL, err);
        close(fd);
    }
    if (rc == 0)
        rc = oci_registry_put_manifest(reg, ref.repository, ref.tag ? ref.tag : "latest", OCI_MT_MANIFEST, manifest,
                                       manifest_len, err);
    if (rc == 0 && digest_out)
        cb_sha256_buf(manifest, manifest_len, digest_out);
out:
    if (rc < 0)
        cb_error_wrap(err, "cache export to %s", refstr);
    if (reg)
        oci_registry_free(reg);
    oci_ref_free(&ref);
    free(config);
    free(manifest);
    layers_free(layers, n_layers);
    return rc < 0 ? rc : 0;
}

/* ---------- OCI layout directory ---------- */

static int write_atomic(const char *path, const void *data, size_t n, cb_err *err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cb_error(err, errno, "create `%s`", tmp);
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return cb_error(err, e, "write `%s`", tmp);
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return cb_error(err, e, "write `%s`", tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cb_error(err, e, "rename `%s` to `%s`", tmp, path);
    }
    return 0;
}

static char *dir_blob_path(const char *dir, const char *digest)
{
    return xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
}

/* Copy a store blob into the layout (verified on the way: the store's copy is re-hashed). */
static int copy_blob(store *s, const char *digest, const char *dir, cb_err *err)
{
    cleanup_free char *dst = dir_blob_path(dir, digest);
    struct stat st;
    if (stat(dst, &st) == 0)
        return 0;
    cb_buf b;
    cb_buf_init(&b);
    int rc = store_blob_get(s, digest, &b, err); /* verifies */
    if (rc == 0)
        rc = write_atomic(dst, b.data, b.len, err);
    cb_buf_free(&b);
    return rc;
}

int cachex_export_local(store *s, const char *dir, const cachex_set *set, const cachex_export_opts *o,
                        char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    cleanup_free char *bdir = xasprintf("%s/blobs/sha256", dir);
    int rc = cb_mkdir_p(bdir, 0755, err);
    if (rc < 0)
        return cb_error_wrap(err, "cache export to %s", dir);
    char *config = NULL, *manifest = NULL;
    size_t config_len, manifest_len, n_layers = 0;
    oci_descriptor *layers = NULL;
    char cdig[CB_DIGEST_STR_LEN], mdig[CB_DIGEST_STR_LEN];
    build_manifest(set, &config, &config_len, cdig, &manifest, &manifest_len, &layers, &n_layers);
    cb_sha256_buf(manifest, manifest_len, mdig);
    for (size_t i = 0; i < n_layers && rc == 0; i++) {
        cleanup_free char *dst = dir_blob_path(dir, layers[i].digest);
        if (access(dst, F_OK) == 0)
            continue;
        if ((rc = ensure_local(s, o, layers[i].digest, err)) == 0)
            rc = copy_blob(s, layers[i].digest, dir, err);
    }
    if (rc == 0) {
        cleanup_free char *p = dir_blob_path(dir, cdig);
        rc = write_atomic(p, config, config_len, err);
    }
    if (rc == 0) {
        cleanup_free char *p = dir_blob_path(dir, mdig);
        rc = write_atomic(p, manifest, manifest_len, err);
    }
    if (rc == 0) {
        cleanup_free char *p = xasprintf("%s/oci-layout", dir);
        const char *lay = "{\"imageLayoutVersion\":\"1.0.0\"}";
        rc = write_atomic(p, lay, strlen(lay), err);
    }
    if (rc == 0) {
        json_t *ix = json_pack("{s:i,s:s,s:[{s:s,s:s,s:s,s:I,s:{s:s}}]}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX,
                               "manifests", "mediaType", OCI_MT_MANIFEST, "artifactType", CACHEX_ARTIFACT_TYPE, "digest",
                               mdig, "size", (json_int_t)manifest_len, "annotations",
                               "org.opencontainers.image.ref.name", "latest");
        char *txt = json_dumps(ix, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(ix);
        cleanup_free char *p = xasprintf("%s/index.json", dir);
        rc = write_atomic(p, txt, strlen(txt), err);
        free(txt);
    }
    if (rc == 0 && digest_out)
        memcpy(digest_out, mdig, CB_DIGEST_STR_LEN);
    if (rc < 0)
        cb_error_wrap(err, "cache export to %s", dir);
    free(config);
    free(manifest);
    layers_free(layers, n_layers);
    return rc < 0 ? rc : 0;
}
