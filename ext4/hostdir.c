/* Host directory input: walk without following symlinks, in bytewise name order so the
 * image is reproducible; hard links by (dev, inode); xattrs with l*xattr. */
#include "writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

typedef struct hl_ent {
    dev_t dev;
    ino_t ino;
    char *path;
} hl_ent;

typedef struct host_ctx {
    ext4_writer *w;
    hl_ent *hl;
    size_t nhl, caphl;
    cb_buf xnames;
    cb_buf xvals;
} host_ctx;

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int read_xattrs(host_ctx *h, const char *full, ext4_xattr **out, size_t *n, cb_err *err)
{
    *out = NULL;
    *n = 0;
    ssize_t len = llistxattr(full, NULL, 0);
    if (len < 0) {
        if (errno == ENOTSUP || errno == ENODATA)
            return 0;
        return cb_error(err, errno, "list xattrs of `%s`", full);
    }
    if (len == 0)
        return 0;
    cb_buf_reset(&h->xnames);
    cb_buf_reserve(&h->xnames, (size_t)len + 1);
    len = llistxattr(full, h->xnames.data, (size_t)len);
    if (len < 0)
        return cb_error(err, errno, "list xattrs of `%s`", full);
    size_t cnt = 0;
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(h->xnames.data + i) + 1)
        cnt++;
    ext4_xattr *x = xcalloc(cnt, sizeof(*x));
    size_t k = 0;
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(h->xnames.data + i) + 1) {
        const char *nm = h->xnames.data + i;
        ssize_t vl = lgetxattr(full, nm, NULL, 0);
        if (vl < 0)
            continue;
        void *v = xmalloc((size_t)vl + 1);
        vl = lgetxattr(full, nm, v, (size_t)vl);
        if (vl < 0) {
            free(v);
            continue;
        }
        x[k].name = xstrdup(nm);
        x[k].value = v;
        x[k].size = (size_t)vl;
        k++;
    }
    *out = x;
    *n = k;
    return 0;
}

static void free_xattrs(ext4_xattr *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)x[i].name);
        free((void *)x[i].value);
    }
    free(x);
}

static int host_walk(host_ctx *h, const char *full, const char *rel, cb_err *err);

static int host_entry(host_ctx *h, const char *full, const char *rel, cb_err *err)
{
    struct stat st;
    if (lstat(full, &st) < 0)
        return cb_error(err, errno, "stat `%s`", full);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        for (size_t i = 0; i < h->nhl; i++)
            if (h->hl[i].dev == st.st_dev && h->hl[i].ino == st.st_ino)
                return ext4_writer_add_hardlink(h->w, rel, h->hl[i].path, err);
        if (h->nhl == h->caphl) {
            h->caphl = h->caphl ? h->caphl * 2 : 64;
            h->hl = xrealloc(h->hl, h->caphl * sizeof(*h->hl));
        }
        h->hl[h->nhl++] = (hl_ent){st.st_dev, st.st_ino, xstrdup(rel)};
    }
    ext4_entry e = {.path = rel, .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid, .rdev = st.st_rdev,
                    .atime = st.st_atim, .mtime = st.st_mtim, .ctime = st.st_ctim};
    ext4_xattr *xa;
    size_t nxa;
    int r = read_xattrs(h, full, &xa, &nxa, err);
    if (r < 0)
        return r;
    if (S_ISREG(st.st_mode)) {
        int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            r = cb_error(err, errno, "open `%s`", full);
        else {
            r = ext4_writer_add_file_fd(h->w, &e, fd, (uint64_t)st.st_size, xa, nxa, err);
            close(fd);
        }
    } else if (S_ISDIR(st.st_mode)) {
        r = ext4_writer_add_dir(h->w, &e, xa, nxa, err);
        if (r == 0)
            r = host_walk(h, full, rel, err);
    } else if (S_ISLNK(st.st_mode)) {
        char *t = xmalloc((size_t)st.st_size + 2);
        ssize_t n = readlink(full, t, (size_t)st.st_size + 1);
        if (n < 0)
            r = cb_error(err, errno, "readlink `%s`", full);
        else {
            t[n] = 0;
            r = ext4_writer_add_symlink(h->w, &e, t, xa, nxa, err);
        }
        free(t);
    } else {
        r = ext4_writer_add_special(h->w, &e, xa, nxa, err);
    }
    free_xattrs(xa, nxa);
    return r;
}

static int host_walk(host_ctx *h, const char *full, const char *rel, cb_err *err)
{
    DIR *d = opendir(full);
    if (!d)
        return cb_error(err, errno, "open directory `%s`", full);
    cb_strv names;
    cb_strv_init(&names);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cb_strv_push(&names, de->d_name);
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof(char *), name_cmp);
    int r = 0;
    for (size_t i = 0; i < names.n && r == 0; i++) {
        char *f = xasprintf("%s/%s", full, names.v[i]);
        char *rl = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
        r = host_entry(h, f, rl, err);
        free(f);
        free(rl);
    }
    cb_strv_free(&names);
    return r;
}

int ext4_writer_add_host_dir(ext4_writer *w, const char *dir, cb_err *err)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return cb_error(err, errno, "stat `%s`", dir);
    if (!S_ISDIR(st.st_mode))
        return cb_failc(err, ENOTDIR, "`%s` is not a directory", dir);
    host_ctx h = {.w = w};
    cb_buf_init(&h.xnames);
    cb_buf_init(&h.xvals);
    ext4_writer_next_layer(w);
    ext4_entry root = {.path = "", .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid,
                       .atime = st.st_atim, .mtime = st.st_mtim, .ctime = st.st_ctim};
    int r = ext4_writer_add_dir(w, &root, NULL, 0, err);
    if (r == 0)
        r = host_walk(&h, dir, "", err);
    for (size_t i = 0; i < h.nhl; i++)
        free(h.hl[i].path);
    free(h.hl);
    cb_buf_free(&h.xnames);
    cb_buf_free(&h.xvals);
    return r;
}
