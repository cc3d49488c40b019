/* Flattening an image's layers into one filesystem tar (whiteouts applied). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext4.h"
#include "internal.h"

/* A small string set (open addressing). */
typedef struct strset {
    char **slot;
    size_t cap, n;
} strset;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static bool strset_has(const strset *t, const char *s)
{
    if (!t->cap)
        return false;
    for (size_t i = str_hash(s) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slot[i])
            return false;
        if (!strcmp(t->slot[i], s))
            return true;
    }
}

static void strset_add(strset *t, const char *s)
{
    if (strset_has(t, s))
        return;
    if ((t->n + 1) * 2 > t->cap) {
        strset old = *t;
        t->cap = old.cap ? old.cap * 2 : 256;
        t->slot = xcalloc(t->cap, sizeof *t->slot);
        t->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slot[i]) {
                size_t j = str_hash(old.slot[i]) & (t->cap - 1);
                while (t->slot[j])
                    j = (j + 1) & (t->cap - 1);
                t->slot[j] = old.slot[i];
                t->n++;
            }
        free(old.slot);
    }
    size_t j = str_hash(s) & (t->cap - 1);
    while (t->slot[j])
        j = (j + 1) & (t->cap - 1);
    t->slot[j] = xstrdup(s);
    t->n++;
}

static void strset_free(strset *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slot[i]);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Hidden by a whiteout of the path or of an ancestor, or by an opaque ancestor directory. */
static bool hidden(const strset *wh, const strset *opq, const char *path)
{
    if (strset_has(wh, path))
        return true;
    cleanup_free char *p = xstrdup(path);
    for (char *sl = strrchr(p, '/'); sl; sl = strrchr(p, '/')) {
        *sl = '\0';
        if (strset_has(wh, p) || strset_has(opq, p))
            return true;
    }
    return strset_has(opq, "");
}

/* Long: the layers are merged top first in one pass (whiteouts and opaque dirs of a layer hide
 * what lies below, hard links to later entries are written last), sharing the path sets. */
int store_export_tar(store *s, const char *ref, oci_sink sink, cb_err *err)
{
    store_image im;
    int r = store_image_resolve(s, ref, &im, err);
    if (r < 0)
        return r;
    oci_layer_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.compress.algo = OCI_COMPRESSION_NONE;
    lo.clamp_mtime = -1;
    oci_layer_writer *w;
    if ((r = oci_layer_writer_new(&lo, sink, &w, err)) < 0) {
        store_image_free(&im);
        return r;
    }
    strset seen = {0}, wh = {0}, opq = {0};
    cb_strv late_links;
    cb_strv_init(&late_links);
    size_t cap = 1 << 17;
    cleanup_free char *buf = xmalloc(cap);
    /* top layer first: the first time a path is seen wins */
    for (size_t li = im.manifest.n_layers; r == 0 && li-- > 0;) {
        const char *dg = im.manifest.layers[li].digest;
        int fd;
        if ((r = store_blob_open(s, dg, &fd, err)) < 0)
            break;
        oci_layer_reader *rd;
        if ((r = oci_layer_reader_open_fd(fd, &rd, err)) < 0) {
            close(fd);
            break;
        }
        strset lwh = {0}, lopq = {0};
        oci_tar_entry e;
        while (r == 0 && (r = oci_layer_reader_next(rd, &e, err)) == 1) {
            r = 0;
            cleanup_free char *path = xstrdup(e.path);
            size_t l = strlen(path);
            while (l > 0 && path[l - 1] == '/')
                path[--l] = '\0';
            if (!l)
                continue;
            const char *base = strrchr(path, '/');
            base = base ? base + 1 : path;
            if (cb_str_has_prefix(base, ".wh.")) {
                cleanup_free char *dir = xstrndup(path, (size_t)(base - path) ? (size_t)(base - path) - 1 : 0);
                if (!strcmp(base, ".wh..wh..opq"))
                    strset_add(&lopq, dir);
                else {
                    cleanup_free char *t = *dir ? xasprintf("%s/%s", dir, base + 4) : xstrdup(base + 4);
                    strset_add(&lwh, t);
                }
                continue;
            }
            if (strset_has(&seen, path) || hidden(&wh, &opq, path))
                continue;
            strset_add(&seen, path);
            oci_tar_entry o = e;
            o.path = path;
            if (e.hardlink && !strset_has(&seen, e.linkname)) {
                /* its target comes from a lower layer, written later: link at the end */
                cb_strv_push(&late_links, path);
                cb_strv_push(&late_links, e.linkname);
                continue;
            }
            if ((r = oci_layer_writer_add_header(w, &o, err)) < 0)
                break;
            if (S_ISREG(e.mode) && !e.hardlink && e.size > 0) {
                for (;;) {
                    ssize_t k = oci_layer_reader_read(rd, buf, cap, err);
                    if (k <= 0) {
                        r = (int)k;
                        break;
                    }
                    if ((r = oci_layer_writer_write_data(w, buf, (size_t)k, err)) < 0)
                        break;
                }
            }
        }
        oci_layer_reader_free(rd);
        close(fd);
        for (size_t i = 0; i < lwh.cap; i++)
            if (lwh.slot[i])
                strset_add(&wh, lwh.slot[i]);
        for (size_t i = 0; i < lopq.cap; i++)
            if (lopq.slot[i])
                strset_add(&opq, lopq.slot[i]);
        strset_free(&lwh);
        strset_free(&lopq);
        if (r < 0)
            cb_error_wrap(err, "layer %s", dg);
    }
    for (size_t i = 0; r == 0 && i + 1 < late_links.n; i += 2) {
        if (!strset_has(&seen, late_links.v[i + 1]))
            continue; /* target hidden by a whiteout: nothing to link to */
        oci_tar_entry e = {.path = late_links.v[i], .mode = S_IFREG | 0644, .hardlink = true,
                           .linkname = late_links.v[i + 1]};
        r = oci_layer_writer_add_header(w, &e, err);
    }
    cb_strv_free(&late_links);
    if (r == 0) {
        oci_layer_result res;
        r = oci_layer_writer_finish(w, &res, err);
    }
    oci_layer_writer_free(w);
    strset_free(&seen);
    strset_free(&wh);
    strset_free(&opq);
    store_image_free(&im);
    return r < 0 ? cb_error_wrap(err, "exporting %s", ref) : 0;
}

int store_export_ext4(store *s, const char *ref, const char *out_path, uint64_t extra_free, cb_err *err)
{
    store_image im;
    int r = store_image_resolve(s, ref, &im, err);
    if (r < 0)
        return r;
    ext4_options o;
    ext4_options_init(&o);
    o.mode = EXT4_MODE_FLATTEN;
    o.extra_free_space = extra_free;
    o.source_date_epoch = oci_source_date_epoch();
    o.seed = im.manifest_digest;
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", out_path, (int)getpid());
    ext4_writer *w;
    if ((r = ext4_writer_new(tmp, &o, &w, err)) < 0) {
        store_image_free(&im);
        return cb_error_wrap(err, "exporting %s", ref);
    }
    for (size_t i = 0; r == 0 && i < im.manifest.n_layers; i++) {
        const char *dg = im.manifest.layers[i].digest;
        int fd;
        if ((r = store_blob_open(s, dg, &fd, err)) < 0)
            break;
        r = ext4_writer_add_tar_fd(w, fd, dg, err);
        close(fd);
    }
    if (r == 0)
        r = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    if (r == 0 && rename(tmp, out_path) < 0)
        r = cb_error(err, errno, "rename `%s` to `%s`", tmp, out_path);
    if (r < 0)
        unlink(tmp);
    store_image_free(&im);
    return r < 0 ? cb_error_wrap(err, "exporting %s as ext4", ref) : 0;
}
