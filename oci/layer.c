/* Layer tars: PAX via libarchive, streamed through the hashing/compression pipeline. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "compress.h"

void oci_layer_opts_default(oci_layer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->compress.algo = OCI_COMPRESSION_GZIP;
    o->clamp_mtime = oci_source_date_epoch();
}

struct oci_layer_writer {
    struct archive *a;
    oci_pipeline pipe;
    cb_err werr; /* error from the pipeline inside libarchive's callback */
    int64_t clamp;
    bool failed;
    /* hard links seen by add_tree: dev/ino -> first path */
    struct hl {
        dev_t dev;
        ino_t ino;
        char *path;
    } *hl;
    size_t n_hl, cap_hl;
};

static la_ssize_t lw_write(struct archive *a, void *opaque, const void *buf, size_t n)
{
    oci_layer_writer *w = opaque;
    if (oci_pipeline_write(&w->pipe, buf, n, &w->werr) < 0) {
        archive_set_error(a, EIO, "%s", w->werr.msg);
        w->failed = true;
        return -1;
    }
    return (la_ssize_t)n;
}

static int ar_fail(oci_layer_writer *w, const char *what, const char *path, cb_err *err)
{
    w->failed = true;
    if (w->werr.code)
        return cb_failc(err, w->werr.code, "%s `%s`: %s", what, path, w->werr.msg);
    return cb_fail(err, "%s `%s`: %s", what, path, archive_error_string(w->a) ? archive_error_string(w->a) : "libarchive error");
}

int oci_layer_writer_new(const oci_layer_opts *opts, oci_sink sink, oci_layer_writer **out, cb_err *err)
{
    oci_layer_opts def;
    if (!opts) {
        oci_layer_opts_default(&def);
        opts = &def;
    }
    oci_layer_writer *w = xcalloc(1, sizeof *w);
    w->clamp = opts->clamp_mtime;
    int r = oci_pipeline_open(&w->pipe, &opts->compress, sink, err);
    if (r < 0) {
        free(w);
        return r;
    }
    w->a = archive_write_new();
    archive_write_set_format_pax_restricted(w->a);
    archive_write_set_format_option(w->a, "pax", "xattrheader", "SCHILY");
    archive_write_set_bytes_per_block(w->a, 0); /* no padding to 10 KiB records */
    if (archive_write_open2(w->a, w, NULL, lw_write, NULL, NULL) != ARCHIVE_OK) {
        r = cb_fail(err, "libarchive: %s", archive_error_string(w->a));
        oci_layer_writer_free(w);
        return r;
    }
    *out = w;
    return 0;
}

static void set_entry(oci_layer_writer *w, struct archive_entry *ae, const oci_tar_entry *e)
{
    archive_entry_set_pathname(ae, e->path);
    archive_entry_set_uid(ae, e->uid);
    archive_entry_set_gid(ae, e->gid);
    struct timespec m = e->mtime;
    if (w->clamp >= 0 && m.tv_sec >= w->clamp) {
        m.tv_sec = w->clamp;
        m.tv_nsec = 0;
    }
    archive_entry_set_mtime(ae, m.tv_sec, m.tv_nsec);
    if (e->hardlink) {
        archive_entry_set_hardlink(ae, e->linkname);
        archive_entry_set_perm(ae, e->mode & 07777);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, 0);
        archive_entry_unset_size(ae);
    } else {
        archive_entry_set_mode(ae, e->mode);
        if (S_ISLNK(e->mode))
            archive_entry_set_symlink(ae, e->linkname);
        if (S_ISREG(e->mode))
            archive_entry_set_size(ae, e->size);
        else
            archive_entry_set_size(ae, 0);
        if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
            archive_entry_set_rdev(ae, e->rdev);
    }
    for (size_t i = 0; i < e->n_xattrs; i++)
        archive_entry_xattr_add_entry(ae, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].size);
}

int oci_layer_writer_add_header(oci_layer_writer *w, const oci_tar_entry *e, cb_err *err)
{
    if (w->failed)
        return cb_fail(err, "layer writer is in a failed state");
    if (!e->path || !*e->path || e->path[0] == '/')
        return cb_fail(err, "layer entry path `%s` must be relative", e->path ? e->path : "");
    struct archive_entry *ae = archive_entry_new();
    set_entry(w, ae, e);
    int r = 0;
    if (archive_write_header(w->a, ae) < ARCHIVE_WARN)
        r = ar_fail(w, "write tar header for", e->path, err);
    archive_entry_free(ae);
    return r;
}

int oci_layer_writer_write_data(oci_layer_writer *w, const void *data, size_t n, cb_err *err)
{
    if (archive_write_data(w->a, data, n) != (la_ssize_t)n)
        return ar_fail(w, "write tar data for", "entry", err);
    return 0;
}

int oci_layer_writer_add(oci_layer_writer *w, const oci_tar_entry *e, int data_fd, const void *data, cb_err *err)
{
    if (w->failed)
        return cb_fail(err, "layer writer is in a failed state");
    if (!e->path || !*e->path || e->path[0] == '/')
        return cb_fail(err, "layer entry path `%s` must be relative", e->path ? e->path : "");
    struct archive_entry *ae = archive_entry_new();
    set_entry(w, ae, e);
    int r = 0;
    if (archive_write_header(w->a, ae) < ARCHIVE_WARN) {
        r = ar_fail(w, "write tar header for", e->path, err);
        goto out;
    }
    if (S_ISREG(e->mode) && !e->hardlink && e->size > 0) {
        if (data_fd < 0) {
            if (archive_write_data(w->a, data, (size_t)e->size) != (la_ssize_t)e->size)
                r = ar_fail(w, "write tar data for", e->path, err);
            goto out;
        }
        size_t cap = 1 << 18;
        cleanup_free char *buf = xmalloc(cap);
        int64_t left = e->size;
        while (left > 0) {
            size_t want = left < (int64_t)cap ? (size_t)left : cap;
            ssize_t n = read(data_fd, buf, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                r = cb_error(err, errno, "read `%s`", e->path);
                w->failed = true;
                goto out;
            }
            if (n == 0) {
                r = cb_fail(err, "`%s` shrank while being archived (%lld bytes missing)", e->path, (long long)left);
                w->failed = true;
                goto out;
            }
            if (archive_write_data(w->a, buf, (size_t)n) != n) {
                r = ar_fail(w, "write tar data for", e->path, err);
                goto out;
            }
            left -= n;
        }
    }
out:
    archive_entry_free(ae);
    return r;
}

int oci_layer_writer_add_whiteout(oci_layer_writer *w, const char *path, bool opaque, cb_err *err)
{
    cleanup_free char *p = xstrdup(path);
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '/')
        p[--l] = '\0';
    cleanup_free char *wh = NULL;
    if (opaque) {
        wh = xasprintf("%s/.wh..wh..opq", p);
    } else {
        char *slash = strrchr(p, '/');
        if (slash) {
            *slash = '\0';
            wh = xasprintf("%s/.wh.%s", p, slash + 1);
        } else {
            wh = xasprintf(".wh.%s", p);
        }
    }
    int64_t t = w->clamp >= 0 ? w->clamp : 0;
    oci_tar_entry e = {.path = wh, .mode = S_IFREG | 0644, .mtime = {t, 0}};
    return oci_layer_writer_add(w, &e, -1, "", err);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int dot_filter(const struct dirent *d)
{
    return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

static int read_xattrs(const char *path, oci_xattr **out, size_t *n, char **names_out, char ***vals_out, cb_err *err)
{
    *out = NULL;
    *n = 0;
    *names_out = NULL;
    *vals_out = NULL;
    ssize_t len = llistxattr(path, NULL, 0);
    if (len < 0) {
        if (errno == ENOTSUP)
            return 0;
        return cb_error(err, errno, "list xattrs of `%s`", path);
    }
    if (len == 0)
        return 0;
    char *names = xmalloc((size_t)len + 1);
    len = llistxattr(path, names, (size_t)len);
    if (len < 0) {
        free(names);
        return cb_error(err, errno, "list xattrs of `%s`", path);
    }
    size_t cnt = 0;
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
        cnt++;
    oci_xattr *xs = xcalloc(cnt + 1, sizeof *xs);
    char **vals = xcalloc(cnt + 1, sizeof *vals);
    size_t k = 0;
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) {
        const char *nm = names + i;
        ssize_t vl = lgetxattr(path, nm, NULL, 0);
        if (vl < 0)
            continue;
        vals[k] = xmalloc((size_t)vl + 1);
        vl = lgetxattr(path, nm, vals[k], (size_t)vl);
        if (vl < 0) {
            free(vals[k]);
            vals[k] = NULL;
            continue;
        }
        xs[k].name = nm;
        xs[k].value = vals[k];
        xs[k].size = (size_t)vl;
        k++;
    }
    *out = xs;
    *n = k;
    *names_out = names;
    *vals_out = vals;
    return 0;
}

static int add_tree_rec(oci_layer_writer *w, const char *src, const char *dst, cb_err *err)
{
    struct dirent **ents = NULL;
    int n = scandir(src, &ents, dot_filter, name_cmp);
    if (n < 0)
        return cb_error(err, errno, "read directory `%s`", src);
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (r < 0) {
            free(ents[i]);
            continue;
        }
        cleanup_free char *sp = xasprintf("%s/%s", src, ents[i]->d_name);
        cleanup_free char *dp = *dst ? xasprintf("%s/%s", dst, ents[i]->d_name) : xstrdup(ents[i]->d_name);
        free(ents[i]);
        struct stat st;
        if (lstat(sp, &st) < 0) {
            r = cb_error(err, errno, "stat `%s`", sp);
            continue;
        }
        oci_tar_entry e = {.path = dp, .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid, .size = st.st_size,
                           .mtime = st.st_mtim, .rdev = st.st_rdev};
        cleanup_free char *target = NULL;
        if (S_ISLNK(st.st_mode)) {
            target = xmalloc((size_t)st.st_size + 2);
            ssize_t tl = readlink(sp, target, (size_t)st.st_size + 1);
            if (tl < 0) {
                r = cb_error(err, errno, "readlink `%s`", sp);
                continue;
            }
            target[tl] = '\0';
            e.linkname = target;
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            for (size_t k = 0; k < w->n_hl; k++)
                if (w->hl[k].dev == st.st_dev && w->hl[k].ino == st.st_ino) {
                    e.hardlink = true;
                    e.linkname = w->hl[k].path;
                    break;
                }
            if (!e.hardlink) {
                if (w->n_hl == w->cap_hl) {
                    w->cap_hl = w->cap_hl ? 2 * w->cap_hl : 16;
                    w->hl = xrealloc(w->hl, w->cap_hl * sizeof *w->hl);
                }
                w->hl[w->n_hl++] = (struct hl){st.st_dev, st.st_ino, xstrdup(dp)};
            }
        }
        oci_xattr *xs;
        size_t nx;
        char *names;
        char **vals;
        if ((r = read_xattrs(sp, &xs, &nx, &names, &vals, err)) < 0)
            continue;
        e.xattrs = xs;
        e.n_xattrs = nx;
        int fd = -1;
        if (S_ISREG(st.st_mode) && !e.hardlink && st.st_size > 0) {
            fd = open(sp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0)
                r = cb_error(err, errno, "open `%s`", sp);
        }
        if (r == 0)
            r = oci_layer_writer_add(w, &e, fd, NULL, err);
        if (fd >= 0)
            close(fd);
        for (size_t k = 0; vals && k < nx; k++)
            free(vals[k]);
        free(vals);
        free(names);
        free(xs);
        if (r == 0 && S_ISDIR(st.st_mode))
            r = add_tree_rec(w, sp, dp, err);
    }
    free(ents);
    return r;
}

int oci_layer_writer_add_tree(oci_layer_writer *w, const char *src_dir, const char *dest_prefix, cb_err *err)
{
    cleanup_free char *pfx = xstrdup(dest_prefix ? dest_prefix : "");
    while (*pfx == '/')
        memmove(pfx, pfx + 1, strlen(pfx));
    size_t l = strlen(pfx);
    while (l && pfx[l - 1] == '/')
        pfx[--l] = '\0';
    return add_tree_rec(w, src_dir, pfx, err);
}

int oci_layer_writer_finish(oci_layer_writer *w, oci_layer_result *res, cb_err *err)
{
    if (w->failed)
        return cb_fail(err, "layer writer is in a failed state");
    if (archive_write_close(w->a) != ARCHIVE_OK) {
        w->failed = true;
        return cb_fail(err, "finish tar: %s", w->werr.code ? w->werr.msg : archive_error_string(w->a));
    }
    return oci_pipeline_finish(&w->pipe, res, err);
}

void oci_layer_writer_free(oci_layer_writer *w)
{
    if (!w)
        return;
    archive_write_free(w->a);
    oci_pipeline_free(&w->pipe);
    for (size_t i = 0; i < w->n_hl; i++)
        free(w->hl[i].path);
    free(w->hl);
    free(w);
}

/* ---------- reader ---------- */

struct oci_layer_reader {
    struct archive *a;
    oci_xattr *xattrs;
    size_t cap_x;
};

int oci_layer_reader_open_fd(int fd, oci_layer_reader **out, cb_err *err)
{
    oci_layer_reader *r = xcalloc(1, sizeof *r);
    r->a = archive_read_new();
    archive_read_support_filter_gzip(r->a);
    archive_read_support_filter_zstd(r->a);
    archive_read_support_format_tar(r->a);
    if (archive_read_open_fd(r->a, fd, 1 << 17) != ARCHIVE_OK) {
        int rc = cb_fail(err, "open layer tar: %s", archive_error_string(r->a));
        oci_layer_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int oci_layer_reader_next(oci_layer_reader *r, oci_tar_entry *e, cb_err *err)
{
    struct archive_entry *ae;
    int rc = archive_read_next_header(r->a, &ae);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc < ARCHIVE_WARN)
        return cb_fail(err, "read layer tar: %s", archive_error_string(r->a));
    memset(e, 0, sizeof *e);
    e->path = archive_entry_pathname(ae);
    while (e->path && e->path[0] == '.' && e->path[1] == '/')
        e->path += 2;
    while (e->path && e->path[0] == '/')
        e->path++;
    e->mode = archive_entry_mode(ae);
    e->uid = (uid_t)archive_entry_uid(ae);
    e->gid = (gid_t)archive_entry_gid(ae);
    e->size = archive_entry_size(ae);
    e->mtime.tv_sec = archive_entry_mtime(ae);
    e->mtime.tv_nsec = archive_entry_mtime_nsec(ae);
    e->rdev = archive_entry_rdev(ae);
    const char *hl = archive_entry_hardlink(ae);
    if (hl) {
        while (hl[0] == '.' && hl[1] == '/')
            hl += 2;
        while (hl[0] == '/')
            hl++;
        e->hardlink = true;
        e->linkname = hl;
        e->size = 0;
    } else if (S_ISLNK(e->mode)) {
        e->linkname = archive_entry_symlink(ae);
    }
    size_t nx = (size_t)archive_entry_xattr_reset(ae);
    if (nx > r->cap_x) {
        r->cap_x = nx;
        r->xattrs = xrealloc(r->xattrs, nx * sizeof *r->xattrs);
    }
    for (size_t i = 0; i < nx; i++) {
        const char *nm;
        const void *v;
        size_t sz;
        if (archive_entry_xattr_next(ae, &nm, &v, &sz) != ARCHIVE_OK)
            break;
        r->xattrs[i] = (oci_xattr){nm, v, sz};
        e->n_xattrs = i + 1;
    }
    e->xattrs = r->xattrs;
    return 1;
}

ssize_t oci_layer_reader_read(oci_layer_reader *r, void *buf, size_t n, cb_err *err)
{
    la_ssize_t k = archive_read_data(r->a, buf, n);
    if (k < 0)
        return cb_fail(err, "read layer tar data: %s", archive_error_string(r->a));
    return k;
}

void oci_layer_reader_free(oci_layer_reader *r)
{
    if (!r)
        return;
    archive_read_free(r->a);
    free(r->xattrs);
    free(r);
}
