/* Layers: chains, their overlay ext4 images in the store, and the writer that produces a
 * new layer as a compressed tar blob and an overlay ext4 image in one pass. */
#include "internal.h"
#include "cache-io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------- utilities ---------- */

int64_t bl_now(void)
{
    return (int64_t)time(NULL);
}

void bl_time_str(int64_t t, char out[32])
{
    oci_time_format(t, out);
}

char *bl_step_tmp(bl_build *b, const char *what)
{
    static int counter;
    pthread_mutex_lock(&b->lock);
    int k = ++counter;
    pthread_mutex_unlock(&b->lock);
    return xasprintf("%s/%s-%d", b->tmpdir, what, k);
}

/* ---------- chains ---------- */

void bl_chain_copy(bl_chain *dst, const bl_chain *src)
{
    dst->n = src->n;
    dst->v = src->n ? xmalloc(src->n * sizeof *dst->v) : NULL;
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof *dst->v);
}

void bl_chain_push(bl_chain *c, const bl_layer *l)
{
    c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
    c->v[c->n++] = *l;
}

void bl_chain_free(bl_chain *c)
{
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static int fetch_lazy(void *ud, store *s, const char *digest, cb_err *err)
{
    (void)ud;
    return bl_cache_io_blob(s, digest, err); /* cache import: fetched on first need */
}

/* The chain's layer images, made (verified against their diff_ids) by cache/ on first use. */
int bl_chain_images(store *s, const bl_chain *c, cb_strv *paths, cb_err *err)
{
    for (size_t i = 0; i < c->n; i++) {
        const bl_layer *l = &c->v[i];
        oci_descriptor d = {0};
        snprintf(d.digest, sizeof d.digest, "%s", l->digest);
        char *path = NULL;
        int rc = store_layer_image_ensure(s, &d, l->diff_id, fetch_lazy, NULL, &path, err);
        if (rc < 0)
            return cb_error_wrap(err, "layer %s", l->digest);
        cb_strv_push_owned(paths, path);
    }
    return 0;
}

/* The layer read entry by entry and written again with times clamped to epoch (BuildKit's
 * converter with rewriteTimestampInTarHeader); whiteouts and hard links pass as entries. */
int bl_layer_rewrite_timestamp(store *s, const bl_layer *in, int64_t epoch, bl_layer *out, cb_err *err)
{
    *out = *in;
    int fd;
    int rc = store_blob_open(s, in->digest, &fd, err);
    if (rc < 0)
        return rc;
    oci_layer_reader *rd;
    if ((rc = oci_layer_reader_open_fd(fd, &rd, err)) < 0) {
        close(fd);
        return rc;
    }
    oci_layer_opts lopts;
    oci_layer_opts_default(&lopts);
    lopts.clamp_mtime = epoch;
    store_layer_writer *w;
    if ((rc = store_layer_writer_open(s, &lopts, &w, err)) < 0) {
        oci_layer_reader_free(rd);
        return rc;
    }
    oci_layer_writer *tw = store_layer_writer_tar(w);
    char buf[1 << 16];
    oci_tar_entry e;
    while ((rc = oci_layer_reader_next(rd, &e, err)) == 1) {
        if (!*e.path || !strcmp(e.path, ".") || !strcmp(e.path, "./"))
            continue; /* the root: never an entry of a layer cbuild writes */
        if ((rc = oci_layer_writer_add_header(tw, &e, err)) < 0)
            break;
        ssize_t k = 0;
        while (S_ISREG(e.mode) && !e.hardlink && (k = oci_layer_reader_read(rd, buf, sizeof buf, err)) > 0)
            if ((rc = oci_layer_writer_write_data(tw, buf, (size_t)k, err)) < 0)
                break;
        if (rc < 0 || k < 0) {
            rc = rc < 0 ? rc : (int)k;
            break;
        }
    }
    oci_layer_reader_free(rd);
    close(fd);
    if (rc < 0) {
        store_layer_writer_abort(w);
        return cb_error_wrap(err, "rewriting layer %s with source-date-epoch %lld", in->digest, (long long)epoch);
    }
    oci_layer_result res;
    if ((rc = store_layer_writer_commit(w, &res, err)) < 0)
        return rc;
    /* the same tar (a layer cbuild clamped when it wrote it): the blob the build made */
    if (strcmp(res.diff_id, in->diff_id)) {
        memcpy(out->diff_id, res.diff_id, sizeof out->diff_id);
        memcpy(out->digest, res.digest, sizeof out->digest);
        out->size = res.size;
        snprintf(out->media_type, sizeof out->media_type, "%s", res.media_type);
    }
    snprintf(out->rewritten, sizeof out->rewritten, "%lld", (long long)epoch);
    return 0;
}

int bl_layer_recompress(store *s, const bl_layer *in, const oci_compress_opts *co, bl_layer *out, cb_err *err)
{
    bl_layer l = *in;
    int fd;
    int rc = store_blob_open(s, in->digest, &fd, err);
    if (rc < 0)
        return cb_error_wrap(err, "layer %s", in->digest);
    store_blob_writer *w;
    if ((rc = store_blob_writer_open(s, NULL, &w, err)) < 0) {
        close(fd);
        return rc;
    }
    oci_layer_result res;
    rc = oci_recompress_stream(fd, co, store_blob_writer_sink(w), &res, err);
    close(fd);
    if (rc == 0 && strcmp(res.diff_id, in->diff_id))
        rc = cb_failc(err, EBADMSG, "layer %s: its content has diffID %s, not %s", in->digest, res.diff_id,
                      in->diff_id);
    if (rc < 0) {
        store_blob_writer_abort(w, false);
        return cb_error_wrap(err, "compressing layer %s with %s", in->digest, oci_compression_name(co->algo));
    }
    if ((rc = store_blob_writer_commit(w, NULL, err)) < 0)
        return rc;
    memcpy(l.digest, res.digest, sizeof l.digest);
    l.size = res.size;
    snprintf(l.media_type, sizeof l.media_type, "%s", res.media_type);
    *out = l;
    return 0;
}

/* ---------- layer writer ---------- */

int bl_layer_out_open(bl_build *b, bl_layer_out *lo, cb_err *err)
{
    memset(lo, 0, sizeof *lo);
    lo->b = b;
    oci_layer_opts lopts;
    oci_layer_opts_default(&lopts);
    lopts.clamp_mtime = b->epoch;
    int rc = store_layer_writer_open(b->st, &lopts, &lo->tw, err);
    if (rc < 0)
        return rc;
    lo->img_tmp = bl_step_tmp(b, "layer.ext4");
    ext4_options o;
    ext4_options_init(&o);
    o.mode = EXT4_MODE_OVERLAY;
    o.root_subdir = BL_LAYER_ROOT;
    o.source_date_epoch = b->epoch;
    rc = ext4_writer_new(lo->img_tmp, &o, &lo->ew, err);
    if (rc < 0) {
        store_layer_writer_abort(lo->tw);
        lo->tw = NULL;
        free(lo->img_tmp);
        lo->img_tmp = NULL;
        return rc;
    }
    return 0;
}

int bl_layer_out_add(bl_layer_out *lo, const oci_tar_entry *e, int fd, const void *buf, cb_err *err)
{
    /* The root itself is never a layer entry (containerd's differ skips "/" too): COPY x / */
    if (!e->path || !*e->path || !strcmp(e->path, "."))
        return 0;
    int rc = oci_layer_writer_add(store_layer_writer_tar(lo->tw), e, fd, buf, err);
    if (rc < 0)
        return rc;
    ext4_entry ee = {.path = e->path,
                     .mode = e->mode,
                     .uid = (uint32_t)e->uid,
                     .gid = (uint32_t)e->gid,
                     .rdev = e->rdev,
                     .atime = e->mtime,
                     .mtime = e->mtime,
                     .ctime = e->mtime};
    if (lo->b->epoch >= 0 && ee.mtime.tv_sec > lo->b->epoch) {
        ee.mtime.tv_sec = ee.atime.tv_sec = ee.ctime.tv_sec = lo->b->epoch;
        ee.mtime.tv_nsec = ee.atime.tv_nsec = ee.ctime.tv_nsec = 0;
    }
    ext4_xattr *xs = NULL;
    if (e->n_xattrs) {
        xs = xcalloc(e->n_xattrs, sizeof *xs);
        for (size_t i = 0; i < e->n_xattrs; i++)
            xs[i] = (ext4_xattr){e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].size};
    }
    if (e->hardlink)
        rc = ext4_writer_add_hardlink(lo->ew, e->path, e->linkname, err);
    else if (S_ISREG(e->mode) && fd >= 0) {
        if (lseek(fd, 0, SEEK_SET) < 0)
            rc = cb_error(err, errno, "seek %s", e->path);
        else
            rc = ext4_writer_add_file_fd(lo->ew, &ee, fd, (uint64_t)e->size, xs, e->n_xattrs, err);
    } else if (S_ISREG(e->mode))
        rc = ext4_writer_add_file_buf(lo->ew, &ee, buf, (size_t)e->size, xs, e->n_xattrs, err);
    else if (S_ISDIR(e->mode))
        rc = ext4_writer_add_dir(lo->ew, &ee, xs, e->n_xattrs, err);
    else if (S_ISLNK(e->mode))
        rc = ext4_writer_add_symlink(lo->ew, &ee, e->linkname, xs, e->n_xattrs, err);
    else
        rc = ext4_writer_add_special(lo->ew, &ee, xs, e->n_xattrs, err);
    free(xs);
    return rc;
}

int bl_layer_out_commit(bl_layer_out *lo, bl_layer *out, cb_err *err)
{
    oci_layer_result res;
    int rc = store_layer_writer_commit(lo->tw, &res, err);
    lo->tw = NULL;
    if (rc < 0) {
        bl_layer_out_abort(lo);
        return rc;
    }
    rc = ext4_writer_finish(lo->ew, err);
    if (rc < 0) {
        bl_layer_out_abort(lo);
        return rc;
    }
    ext4_writer_free(lo->ew);
    lo->ew = NULL;
    memset(out, 0, sizeof *out);
    memcpy(out->diff_id, res.diff_id, sizeof out->diff_id);
    memcpy(out->digest, res.digest, sizeof out->digest);
    out->size = res.size;
    snprintf(out->media_type, sizeof out->media_type, "%s", res.media_type);
    if (!store_layer_image_exists(lo->b->st, out->diff_id)) {
        cleanup_free char *dst = store_layer_image_tmp_path(lo->b->st, out->diff_id);
        if (rename(lo->img_tmp, dst) < 0) {
            rc = cb_error(err, errno, "rename %s", lo->img_tmp);
        } else {
            rc = store_layer_image_commit(lo->b->st, out->diff_id, dst, err);
        }
    }
    unlink(lo->img_tmp);
    free(lo->img_tmp);
    lo->img_tmp = NULL;
    if (rc == 0) {
        pthread_mutex_lock(&lo->b->lock);
        lo->b->layers_written++;
        pthread_mutex_unlock(&lo->b->lock);
    }
    return rc;
}

void bl_layer_out_abort(bl_layer_out *lo)
{
    if (lo->tw)
        store_layer_writer_abort(lo->tw);
    lo->tw = NULL;
    if (lo->ew)
        ext4_writer_free(lo->ew);
    lo->ew = NULL;
    if (lo->img_tmp) {
        unlink(lo->img_tmp);
        free(lo->img_tmp);
    }
    lo->img_tmp = NULL;
}

int bl_layer_out_parents(bl_layer_out *lo, bl_rootfs *view, const char *path, mode_t mode, uint32_t uid,
                         uint32_t gid, cb_strv *done, cb_err *err)
{
    cleanup_free char *clean = bl_path_clean(path);
    /* every proper prefix of clean */
    for (char *p = clean + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (!cb_strv_contains(done, clean)) {
            cb_strv_push(done, clean);
            bl_node n;
            cb_err e;
            oci_tar_entry te = {.path = clean + 1};
            if (view && bl_rootfs_lookup(view, clean, &n, &e) == 0 && S_ISDIR(n.st.mode)) {
                te.mode = n.st.mode;
                te.uid = n.st.uid;
                te.gid = n.st.gid;
                te.mtime = n.st.mtime;
            } else {
                te.mode = S_IFDIR | (mode & 07777);
                te.uid = uid;
                te.gid = gid;
                te.mtime.tv_sec = lo->b->epoch >= 0 ? lo->b->epoch : bl_now();
            }
            int rc = bl_layer_out_add(lo, &te, -1, NULL, err);
            if (rc < 0) {
                *p = '/';
                return rc;
            }
        }
        *p = '/';
    }
    return 0;
}

void bl_emit_line(bl_build *b, int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf s;
    cb_buf_init(&s);
    cb_buf_vprintf(&s, fmt, ap);
    va_end(ap);
    progress_status(b->prog, id, "%s", s.data ? s.data : "");
    cb_buf_free(&s);
}
