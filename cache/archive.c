/* OCI archives: save (OCI layout + Docker's manifest.json in one tar) and load (OCI archives
 * and legacy `docker save` tars, unpacked by extract.c). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"


/* ---------- save ---------- */

static json_t *jstr_take(char *s)
{
    json_t *j = json_string(s);
    free(s);
    return j;
}

static int discard(void *opaque, const void *data, size_t n, cb_err *err)
{
    (void)opaque, (void)data, (void)n, (void)err;
    return 0;
}

static int tar_add_buf(struct archive *a, const char *path, const void *data, size_t n, cb_err *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, AE_IFREG | 0644);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_entry_set_mtime(e, 0, 0);
    int r = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK || (n && archive_write_data(a, data, n) != (la_ssize_t)n))
        r = cb_fail(err, "write `%s` to archive: %s", path, archive_error_string(a));
    archive_entry_free(e);
    return r;
}

static int tar_add_dir(struct archive *a, const char *path, cb_err *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, AE_IFDIR | 0755);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : cb_fail(err, "archive: %s", archive_error_string(a));
    archive_entry_free(e);
    return r;
}

static int tar_add_blob(store *s, struct archive *a, const char *digest, cb_err *err)
{
    int fd;
    int r = store_blob_open(s, digest, &fd, err);
    if (r < 0)
        return r;
    struct stat st;
    fstat(fd, &st);
    cleanup_free char *hex = store_hex(digest);
    cleanup_free char *path = xasprintf("blobs/sha256/%s", hex);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, AE_IFREG | 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, 0, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK)
        r = cb_fail(err, "archive: %s", archive_error_string(a));
    char buf[1 << 16];
    while (r == 0) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = cb_error(err, errno, "read blob %s", digest);
            break;
        }
        if (k == 0)
            break;
        if (archive_write_data(a, buf, (size_t)k) != k)
            r = cb_fail(err, "archive: %s", archive_error_string(a));
    }
    archive_entry_free(e);
    close(fd);
    return r;
}

int store_save(store *s, const char *const *refs, size_t n_refs, const char *out_path, cb_err *err)
{
    return store_save_as(s, refs, NULL, n_refs, false, out_path, err);
}

static int archive_index_blobs(store *s, struct archive *a, const oci_descriptor *idesc, const oci_index *ix,
                               cb_strv *done, cb_err *err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < ix->n_manifests; i++) {
        store_image im;
        if ((r = store_image_load(s, ix->manifests[i].digest, ix->manifests[i].media_type, &im, err)) < 0)
            break;
        for (size_t k = 0; r == 0 && k < im.manifest.n_layers + 2; k++) {
            const char *dg = k == 0 ? im.manifest_digest
                           : k == 1 ? im.manifest.config.digest
                                    : im.manifest.layers[k - 2].digest;
            if (cb_strv_contains(done, dg))
                continue;
            cb_strv_push(done, dg);
            r = tar_add_blob(s, a, dg, err);
        }
        store_image_free(&im);
    }
    if (r == 0 && !cb_strv_contains(done, idesc->digest)) {
        cb_strv_push(done, idesc->digest);
        r = tar_add_blob(s, a, idesc->digest, err);
    }
    return r;
}

int store_save_as(store *s, const char *const *refs, const char *const *as, size_t n_refs, bool ref_name_tag,
                  const char *out_path, cb_err *err)
{
    store_image *ims = xcalloc(n_refs + 1, sizeof *ims);
    cb_strv names;
    cb_strv_init(&names);
    int r = 0;
    size_t loaded = 0;
    for (; loaded < n_refs; loaded++) {
        if ((r = store_image_resolve(s, refs[loaded], &ims[loaded], err)) < 0)
            goto out;
        oci_ref pr;
        cb_err e = {0};
        if (as) {
            cb_strv_push(&names, as[loaded] ? as[loaded] : "");
            continue;
        }
        /* an ID (short or sha256:…, or a manifest or index digest) keeps no name, as docker save does */
        const char *rf = refs[loaded];
        bool by_id = cb_digest_valid(rf) || !strncmp(ims[loaded].id + 7, rf, strlen(rf));
        if (!by_id && oci_ref_parse(rf, &pr, &e) == 0) {
            cb_strv_push_owned(&names, oci_ref_string(&pr));
            oci_ref_free(&pr);
        } else {
            cb_strv_push(&names, "");
        }
    }
    cb_atomic_file af;
    if ((r = cb_atomic_open(&af, out_path, 0644, err)) < 0)
        goto out;
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 10240);
    archive_write_open_fd(a, af.fd);
    oci_index ix = {.media_type = xstrdup(OCI_MT_INDEX)};
    json_t *dm = json_array();
    cb_strv done;
    cb_strv_init(&done);
    r = tar_add_buf(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
    if (r == 0)
        r = tar_add_dir(a, "blobs/", err);
    if (r == 0)
        r = tar_add_dir(a, "blobs/sha256/", err);
    for (size_t i = 0; r == 0 && i < n_refs; i++) {
        store_image *im = &ims[i];
        const char *blobs[im->manifest.n_layers + 2];
        blobs[0] = im->manifest_digest;
        blobs[1] = im->manifest.config.digest;
        for (size_t k = 0; k < im->manifest.n_layers; k++)
            blobs[k + 2] = im->manifest.layers[k].digest;
        for (size_t k = 0; r == 0 && k < im->manifest.n_layers + 2; k++) {
            if (cb_strv_contains(&done, blobs[k]))
                continue;
            cb_strv_push(&done, blobs[k]);
            r = tar_add_blob(s, a, blobs[k], err);
        }
        oci_descriptor d = {.media_type = im->manifest.media_type, .size = (int64_t)im->manifest_len};
        memcpy(d.digest, im->manifest_digest, sizeof d.digest);
        oci_descriptor c;
        oci_descriptor idesc;
        oci_index iix;
        cb_buf ijson;
        if (store_index_local(s, refs[i], &idesc, &iix, &ijson)) {
            /* a multi-platform image: the index and every platform's blobs; manifest.json
             * (docker load) keeps the one platform above */
            r = archive_index_blobs(s, a, &idesc, &iix, &done, err);
            oci_descriptor_copy(&c, &idesc);
            if (c.platform) {
                oci_platform_free(c.platform);
                free(c.platform);
                c.platform = NULL;
            }
            oci_index_free(&iix);
            oci_descriptor_free(&idesc);
            cb_buf_free(&ijson);
        } else {
            oci_descriptor_copy(&c, &d);
        }
        json_t *ent = json_object();
        json_t *tags = json_array();
        if (names.v[i][0]) {
            oci_ref pr;
            bool parsed = oci_ref_parse(names.v[i], &pr, NULL) == 0;
            /* BuildKit's OCI exporter names the tag alone (ref_name_tag); save the whole name */
            oci_descriptor_set_annotation(&c, OCI_ANNOT_REF_NAME,
                                          ref_name_tag && parsed && pr.tag ? pr.tag : names.v[i]);
            /* containerd/docker load read this one */
            oci_descriptor_set_annotation(&c, "io.containerd.image.name", names.v[i]);
            if (parsed) {
                cleanup_free char *fam = oci_ref_familiar_name(&pr);
                if (pr.tag)
                    json_array_append_new(tags, jstr_take(xasprintf("%s:%s", fam, pr.tag)));
                oci_ref_free(&pr);
            }
        }
        oci_index_add(&ix, &c);
        oci_descriptor_free(&c);
        cleanup_free char *chex = store_hex(im->manifest.config.digest);
        json_object_set_new(ent, "Config", jstr_take(xasprintf("blobs/sha256/%s", chex)));
        json_object_set_new(ent, "RepoTags", tags);
        json_t *ls = json_array();
        for (size_t k = 0; k < im->manifest.n_layers; k++) {
            cleanup_free char *lh = store_hex(im->manifest.layers[k].digest);
            json_array_append_new(ls, jstr_take(xasprintf("blobs/sha256/%s", lh)));
        }
        json_object_set_new(ent, "Layers", ls);
        json_array_append_new(dm, ent);
    }
    if (r == 0) {
        size_t n;
        cleanup_free char *ij = oci_index_serialize(&ix, &n);
        r = tar_add_buf(a, "index.json", ij, n, err);
    }
    if (r == 0) {
        char *mj = json_dumps(dm, JSON_COMPACT);
        r = tar_add_buf(a, "manifest.json", mj, strlen(mj), err);
        free(mj);
    }
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
        r = cb_fail(err, "write `%s`: %s", out_path, archive_error_string(a));
    archive_write_free(a);
    json_decref(dm);
    oci_index_free(&ix);
    cb_strv_free(&done);
    if (r == 0)
        r = cb_atomic_commit(&af, err);
    else
        cb_atomic_abort(&af);
out:
    for (size_t i = 0; i < loaded; i++)
        store_image_free(&ims[i]);
    free(ims);
    cb_strv_free(&names);
    return r;
}

/* ---------- load ---------- */

static int put_layout_blob(store *s, const char *dir, const char *digest, cb_err *err)
{
    if (!cb_digest_valid(digest))
        return cb_fail(err, "invalid digest `%s`", digest);
    if (store_blob_exists(s, digest, NULL))
        return 0;
    cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
    if (!cb_path_exists(p))
        return cb_failc(err, ENOENT, "blob %s is missing from the archive", digest);
    return store_blob_put_file(s, p, digest, NULL, err);
}

static int load_manifest_tree(store *s, const char *dir, const oci_descriptor *d, cb_err *err)
{
    int r = put_layout_blob(s, dir, d->digest, err);
    if (r < 0)
        return r;
    cb_buf b;
    cb_buf_init(&b);
    if ((r = store_blob_get(s, d->digest, &b, err)) < 0) {
        cb_buf_free(&b);
        return r;
    }
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    bool is_index = json_object_get(j, "manifests") != NULL;
    json_decref(j);
    if (is_index) {
        oci_index ix;
        if ((r = oci_index_parse(b.data, b.len, &ix, err)) == 0) {
            for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
                r = load_manifest_tree(s, dir, &ix.manifests[i], err);
                if (r == -ENOENT) { /* other platforms may be absent, as skopeo leaves them */
                    cb_err_clear(err);
                    r = 0;
                }
            }
            oci_index_free(&ix);
        }
    } else {
        oci_manifest m;
        if ((r = oci_manifest_parse(b.data, b.len, &m, err)) == 0) {
            r = put_layout_blob(s, dir, m.config.digest, err);
            for (size_t i = 0; r == 0 && i < m.n_layers; i++)
                r = put_layout_blob(s, dir, m.layers[i].digest, err);
            oci_manifest_free(&m);
        }
    }
    cb_buf_free(&b);
    return r;
}

static int load_oci(store *s, const char *dir, cb_strv *loaded, cb_err *err)
{
    cleanup_free char *ip = xasprintf("%s/index.json", dir);
    cb_buf b;
    cb_buf_init(&b);
    oci_index ix;
    int r = cb_read_file(ip, &b, err);
    if (r == 0)
        r = oci_index_parse(b.data, b.len, &ix, err);
    cb_buf_free(&b);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
        oci_descriptor *d = &ix.manifests[i];
        if ((r = load_manifest_tree(s, dir, d, err)) < 0)
            break;
        const char *name = oci_descriptor_annotation(d, "io.containerd.image.name");
        if (!name)
            name = oci_descriptor_annotation(d, OCI_ANNOT_REF_NAME);
        cleanup_free char *norm = NULL;
        if (name) {
            cb_err e = {0};
            norm = oci_ref_normalize(name, &e);
            if (!norm) /* a bare tag ("latest") names no repository */
                cb_warn("ignoring image name `%s` in the archive: %s", name, e.msg);
        }
        oci_descriptor c;
        oci_descriptor_copy(&c, d);
        json_decref(c.annotations);
        c.annotations = NULL;
        if (norm) {
            r = store_tag_set(s, norm, &c, err);
            cb_strv_push(loaded, norm);
        } else {
            r = store_index_add_untagged(s, &c, err);
            cb_strv_push(loaded, c.digest);
        }
        oci_descriptor_free(&c);
    }
    oci_index_free(&ix);
    return r;
}

/* Docker's legacy `docker save` layout: manifest.json naming Config and Layers files. Long:
 * each image is read, verified, recompressed and committed in one sequence with its clean-up. */
static int load_docker(store *s, const char *dir, cb_strv *loaded, cb_err *err)
{
    cleanup_free char *mp = xasprintf("%s/manifest.json", dir);
    cb_buf b;
    cb_buf_init(&b);
    int r = cb_read_file(mp, &b, err);
    if (r < 0) {
        cb_buf_free(&b);
        return cb_error_wrap(err, "not an OCI archive (no index.json) nor a docker save tar");
    }
    json_t *arr = json_loadb(b.data, b.len, 0, NULL);
    cb_buf_free(&b);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return cb_fail(err, "manifest.json: not a JSON array");
    }
    size_t i;
    json_t *ent;
    json_array_foreach(arr, i, ent)
    {
        const char *cfgf = json_string_value(json_object_get(ent, "Config"));
        json_t *layers = json_object_get(ent, "Layers");
        if (!cfgf || !json_is_array(layers) || strstr(cfgf, "..")) {
            r = cb_fail(err, "manifest.json entry %zu: missing Config or Layers", i);
            break;
        }
        cleanup_free char *cp = xasprintf("%s/%s", dir, cfgf);
        cb_buf cb;
        cb_buf_init(&cb);
        oci_config cfg;
        if ((r = cb_read_file(cp, &cb, err)) < 0 || (r = oci_config_parse(cb.data, cb.len, &cfg, err)) < 0) {
            cb_buf_free(&cb);
            break;
        }
        if (cfg.diff_ids.n != json_array_size(layers)) {
            r = cb_fail(err, "manifest.json entry %zu: %zu layers but the config lists %zu diff_ids", i,
                        json_array_size(layers), cfg.diff_ids.n);
            oci_config_free(&cfg);
            cb_buf_free(&cb);
            break;
        }
        oci_descriptor *ls = xcalloc(json_array_size(layers) + 1, sizeof *ls);
        size_t k;
        json_t *lf;
        json_array_foreach(layers, k, lf)
        {
            const char *f = json_string_value(lf);
            if (!f || strstr(f, "..")) {
                r = cb_fail(err, "manifest.json entry %zu: bad layer path", i);
                break;
            }
            cleanup_free char *lp = xasprintf("%s/%s", dir, f);
            int fd = open(lp, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                r = cb_error(err, errno, "open `%s`", f);
                break;
            }
            unsigned char head[4] = {0};
            ssize_t hn = pread(fd, head, 4, 0);
            oci_compression c = oci_compression_detect(head, hn > 0 ? (size_t)hn : 0);
            char diff[CB_DIGEST_STR_LEN];
            if (c == OCI_COMPRESSION_NONE) {
                oci_layer_result res;
                oci_compress_opts co = {OCI_COMPRESSION_GZIP, 0, 0};
                r = store_layer_put_tar(s, fd, &co, &res, err);
                memcpy(diff, res.diff_id, sizeof diff);
                ls[k].media_type = xstrdup(res.media_type);
                memcpy(ls[k].digest, res.digest, sizeof ls[k].digest);
                ls[k].size = res.size;
            } else {
                /* the diffID is the digest of the decompressed stream */
                char dg[CB_DIGEST_STR_LEN] = "";
                r = oci_decompress_stream(fd, (oci_sink){discard, NULL}, diff, NULL, err);
                if (r == 0)
                    r = store_blob_put_file(s, lp, NULL, dg, err);
                memcpy(ls[k].digest, dg, sizeof dg);
                int64_t sz = 0;
                store_blob_exists(s, dg, &sz);
                ls[k].size = sz;
                ls[k].media_type = xstrdup(oci_compression_media_type(c));
            }
            close(fd);
            if (r == 0 && strcmp(diff, cfg.diff_ids.v[k]))
                r = cb_failc(err, EBADMSG, "layer `%s`: diffID %s does not match the config's %s", f, diff,
                             cfg.diff_ids.v[k]);
            if (r < 0)
                break;
        }
        if (r == 0) {
            json_t *tags = json_object_get(ent, "RepoTags");
            const char *first = json_string_value(json_array_get(tags, 0));
            store_image im;
            r = store_image_commit_raw(s, cb.data, cb.len, ls, json_array_size(layers), first, &im, err);
            if (r == 0) {
                size_t t;
                json_t *tg;
                json_array_foreach(tags, t, tg)
                {
                    oci_descriptor md = {.media_type = (char *)OCI_MT_MANIFEST, .size = (int64_t)im.manifest_len};
                    memcpy(md.digest, im.manifest_digest, sizeof md.digest);
                    if (t > 0 && (r = store_tag_set(s, json_string_value(tg), &md, err)) < 0)
                        break;
                    cleanup_free char *n = oci_ref_normalize(json_string_value(tg), NULL);
                    cb_strv_push(loaded, n ? n : json_string_value(tg));
                }
                if (!first)
                    cb_strv_push(loaded, im.id);
                store_image_free(&im);
            }
        }
        cb_buf_free(&cb);
        for (size_t q = 0; q < json_array_size(layers); q++)
            free(ls[q].media_type);
        free(ls);
        oci_config_free(&cfg);
        if (r < 0)
            break;
    }
    json_decref(arr);
    return r;
}

int store_load_layout(store *s, const char *dir, cb_strv *loaded, cb_err *err)
{
    int r = load_oci(s, dir, loaded, err);
    return r < 0 ? cb_error_wrap(err, "loading the OCI layout `%s`", dir) : 0;
}

int store_load(store *s, const char *path, cb_strv *loaded, cb_err *err)
{
    cleanup_free char *dir = xasprintf("%s/load-XXXXXX", s->ingest);
    if (!mkdtemp(dir))
        return cb_error(err, errno, "create temporary directory in `%s`", s->ingest);
    int r = store_tar_extract_file(path, dir, STORE_EXTRACT_CONFINED_LINKS, err);
    if (r == 0) {
        cleanup_free char *ip = xasprintf("%s/index.json", dir);
        if (cb_path_exists(ip))
            r = load_oci(s, dir, loaded, err);
        else
            r = load_docker(s, dir, loaded, err);
    }
    cb_err e = {0};
    cb_rm_rf(dir, &e);
    return r < 0 ? cb_error_wrap(err, "loading `%s`", path) : 0;
}
