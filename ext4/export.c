/* Export an image's tree as a deterministic pax tar: entries in bytewise path order, only
 * mtime (optionally clamped), no user/group names, hard links as links. As an OCI layer
 * from an overlayfs upper: 0:0 character devices become `.wh.NAME` files (each on its own,
 * also when the kernel made them hard links of one inode), trusted.overlay.opaque=y becomes
 * `DIR/.wh..wh..opq`, and other trusted.overlay.* attributes are dropped. */
#include "reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

void ext4_export_options_init(ext4_export_options *o)
{
    memset(o, 0, sizeof(*o));
    o->source_date_epoch = -1;
    o->skip_lost_found = true;
}

/* holes are written from one shared zero buffer; data is copied in EXPORT_BUF chunks (no
 * per-export megabyte allocations: exports of small trees stay cheap) */
static const uint8_t export_zero[1 << 16];
#define EXPORT_BUF (256u << 10)

typedef struct hl_map {
    uint32_t ino;
    char *path;
} hl_map;

typedef struct exp_ctx {
    ext4_reader *r;
    const ext4_export_options *o;
    struct archive *a;
    cb_err *err;
    hl_map *hl;
    size_t nhl, caphl;
    uint8_t *buf;
} exp_ctx;

typedef struct seg {
    uint64_t off, len;
} seg;

/* Byte ranges of a file that hold data (written extents), in order, clipped to size. */
static int data_segments(ext4_reader *r, const struct ext4_inode *in, uint64_t size, seg **out, size_t *n, cb_err *err)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    uint64_t nblocks = (size + r->bs - 1) / r->bs;
    for (uint64_t lb = 0; lb < nblocks;) {
        uint64_t pblk, run;
        bool unwritten;
        int rc = ext4_reader_map(r, in, lb, &pblk, &run, &unwritten, err);
        if (rc < 0) {
            free(*out);
            *out = NULL;
            return rc;
        }
        if (run > nblocks - lb)
            run = nblocks - lb;
        if (pblk && !unwritten) {
            uint64_t off = lb * r->bs, end = (lb + run) * r->bs;
            if (end > size)
                end = size;
            if (*n && (*out)[*n - 1].off + (*out)[*n - 1].len == off) {
                (*out)[*n - 1].len += end - off;
            } else {
                if (*n == cap) {
                    cap = cap ? cap * 2 : 8;
                    *out = xrealloc(*out, cap * sizeof(**out));
                }
                (*out)[(*n)++] = (seg){off, end - off};
            }
        }
        lb += run;
    }
    return 0;
}

static const char *hl_find(exp_ctx *c, uint32_t ino)
{
    for (size_t i = 0; i < c->nhl; i++)
        if (c->hl[i].ino == ino)
            return c->hl[i].path;
    return NULL;
}

static int arch_err(exp_ctx *c, const char *path)
{
    return cb_failc(c->err, EIO, "export `%s`: %s", path, archive_error_string(c->a));
}

static int64_t clamp(const exp_ctx *c, int64_t t)
{
    return c->o->source_date_epoch >= 0 && t > c->o->source_date_epoch ? c->o->source_date_epoch : t;
}

static int emit_marker(exp_ctx *c, const char *path, const ext4_stat *st)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, clamp(c, st->mtime.tv_sec), c->o->source_date_epoch >= 0 && st->mtime.tv_sec >= c->o->source_date_epoch ? 0 : st->mtime.tv_nsec);
    int r = archive_write_header(c->a, e) < ARCHIVE_OK ? arch_err(c, path) : 0;
    archive_entry_free(e);
    return r;
}

/* Long: one tar entry per inode kind (whiteout, opaque dir, hard link, file, link, device) in
 * the order the OCI layer spec needs; splitting it would scatter the per-entry state. */
static int export_cb(void *vc, const char *path, const ext4_stat *st)
{
    exp_ctx *c = vc;
    ext4_reader *r = c->r;
    if (c->o->skip_lost_found && strcmp(path, "lost+found") == 0 && S_ISDIR(st->mode))
        return 0;
    if (c->o->oci_layer && S_ISCHR(st->mode) && st->rdev == 0) {
        const char *slash = strrchr(path, '/');
        char *wh = slash ? xasprintf("%.*s/.wh.%s", (int)(slash - path), path, slash + 1) : xasprintf(".wh.%s", path);
        int rc = emit_marker(c, wh, st);
        free(wh);
        return rc;
    }
    if (S_ISSOCK(st->mode)) {
        cb_warn("export: skipping socket `%s` (tar cannot hold sockets)", path);
        return 0;
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, st->mode);
    archive_entry_set_uid(e, st->uid);
    archive_entry_set_gid(e, st->gid);
    bool clamped = c->o->source_date_epoch >= 0 && st->mtime.tv_sec >= c->o->source_date_epoch;
    archive_entry_set_mtime(e, clamp(c, st->mtime.tv_sec), clamped ? 0 : st->mtime.tv_nsec);
    int rc = 0;
    bool opaque = false;
    seg *segs = NULL;
    size_t nsegs = 0;
    ext4_xattr *xa = NULL;
    size_t nxa = 0;
    rc = ext4_reader_xattrs(r, st->ino, &xa, &nxa, c->err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < nxa; i++) {
        if (c->o->oci_layer && strncmp(xa[i].name, "trusted.overlay.", 16) == 0) {
            if (!strcmp(xa[i].name, "trusted.overlay.opaque") && xa[i].size == 1 && ((const char *)xa[i].value)[0] == 'y')
                opaque = true;
            continue;
        }
        archive_entry_xattr_add_entry(e, xa[i].name, xa[i].value, xa[i].size);
    }
    const char *first = (!S_ISDIR(st->mode) && st->nlink > 1) ? hl_find(c, st->ino) : NULL;
    if (first) {
        archive_entry_set_hardlink(e, first);
        archive_entry_set_size(e, 0);
        if (archive_write_header(c->a, e) < ARCHIVE_OK)
            rc = arch_err(c, path);
        goto out;
    }
    if (!S_ISDIR(st->mode) && st->nlink > 1) {
        if (c->nhl == c->caphl) {
            c->caphl = c->caphl ? c->caphl * 2 : 64;
            c->hl = xrealloc(c->hl, c->caphl * sizeof(*c->hl));
        }
        c->hl[c->nhl++] = (hl_map){st->ino, xstrdup(path)};
    }
    if (S_ISLNK(st->mode)) {
        char *t;
        rc = ext4_reader_readlink(r, st->ino, &t, c->err);
        if (rc < 0)
            goto out;
        archive_entry_set_symlink(e, t);
        free(t);
    } else if (S_ISCHR(st->mode) || S_ISBLK(st->mode)) {
        archive_entry_set_rdev(e, st->rdev);
    }
    struct ext4_inode in;
    if (S_ISREG(st->mode)) {
        archive_entry_set_size(e, (la_int64_t)st->size);
        if ((rc = ext4_reader_check_size(r, st->ino, st->size, c->err)) < 0 ||
            (rc = ext4_reader_inode(r, st->ino, &in, c->err)) < 0 ||
            (rc = data_segments(r, &in, st->size, &segs, &nsegs, c->err)) < 0)
            goto out;
        uint64_t data = 0;
        for (size_t i = 0; i < nsegs; i++)
            data += segs[i].len;
        /* holes travel as a GNU sparse map (pax 1.0) so a 5 GiB sparse file stays small */
        if (data < st->size) {
            for (size_t i = 0; i < nsegs; i++)
                archive_entry_sparse_add_entry(e, (la_int64_t)segs[i].off, (la_int64_t)segs[i].len);
            if (nsegs == 0 || segs[nsegs - 1].off + segs[nsegs - 1].len < st->size)
                archive_entry_sparse_add_entry(e, (la_int64_t)st->size, 0);
        }
    }
    if (archive_write_header(c->a, e) < ARCHIVE_OK) {
        rc = arch_err(c, path);
        goto out;
    }
    if (S_ISREG(st->mode)) {
        /* libarchive wants the whole stream; it skips the bytes that fall in holes */
        uint64_t off = 0;
        for (size_t i = 0; rc == 0 && i <= nsegs; i++) {
            uint64_t end = i < nsegs ? segs[i].off : st->size;
            while (rc == 0 && off < end) {
                size_t n = end - off > sizeof export_zero ? sizeof export_zero : (size_t)(end - off);
                if (archive_write_data(c->a, export_zero, n) != (la_ssize_t)n)
                    rc = arch_err(c, path);
                off += n;
            }
            if (i == nsegs)
                break;
            uint64_t dend = segs[i].off + segs[i].len;
            while (rc == 0 && off < dend) {
                size_t want = dend - off > EXPORT_BUF ? EXPORT_BUF : (size_t)(dend - off);
                ssize_t k = ext4_reader_pread_raw(r, &in, c->buf, want, off, c->err);
                if (k <= 0) {
                    rc = k < 0 ? (int)k : cb_failc(c->err, EIO, "`%s`: short file", path);
                    break;
                }
                if (archive_write_data(c->a, c->buf, (size_t)k) != k)
                    rc = arch_err(c, path);
                off += (uint64_t)k;
            }
        }
    }
    if (rc == 0 && opaque) {
        char *m = xasprintf("%s/.wh..wh..opq", path);
        rc = emit_marker(c, m, st);
        free(m);
    }
out:
    free(segs);
    ext4_xattrs_free(xa, nxa);
    archive_entry_free(e);
    return rc;
}

static ssize_t fd_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    int fd = *(int *)ud;
    int r = cb_write_all(fd, buf, n);
    return r < 0 ? -1 : (ssize_t)n;
}

int ext4_reader_export_tar(ext4_reader *r, int fd, const ext4_export_options *o, cb_err *err)
{
    ext4_export_options def;
    if (!o) {
        ext4_export_options_init(&def);
        o = &def;
    }
    uint32_t start = EXT4_ROOT_INO;
    if (o->root_subdir && *o->root_subdir) {
        int rc = ext4_reader_lookup(r, o->root_subdir, &start, err);
        if (rc < 0)
            return rc;
    }
    ext4_export_options eo = *o;
    if (o->root_subdir && *o->root_subdir)
        eo.skip_lost_found = false;
    exp_ctx c = {.r = r, .o = &eo, .err = err};
    /* names are bytes (UTF-8 in practice): a UTF-8 locale keeps libarchive from failing to
     * "translate" them; uselocale() changes only this thread */
    locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    c.a = archive_write_new();
    archive_write_set_format_pax(c.a);
    /* SCHILY.xattr.* only, as Docker and GNU tar write them */
    archive_write_set_format_option(c.a, "pax", "xattrheader", "SCHILY");
    archive_write_set_bytes_per_block(c.a, 10240);
    archive_write_set_bytes_in_last_block(c.a, 1);
    int *fdp = &fd;
    if (archive_write_open(c.a, fdp, NULL, fd_write_cb, NULL) != ARCHIVE_OK) {
        int rc = cb_failc(err, EIO, "tar output: %s", archive_error_string(c.a));
        archive_write_free(c.a);
        return rc;
    }
    c.buf = xmalloc(EXPORT_BUF);
    int rc = ext4_reader_walk(r, start, export_cb, &c, err);
    if (rc > 0)
        rc = -EIO;
    if (archive_write_close(c.a) != ARCHIVE_OK && rc == 0)
        rc = cb_failc(err, EIO, "tar output: %s", archive_error_string(c.a));
    archive_write_free(c.a);
    for (size_t i = 0; i < c.nhl; i++)
        free(c.hl[i].path);
    free(c.hl);
    free(c.buf);
    if (loc) {
        uselocale(old);
        freelocale(loc);
    }
    return rc < 0 ? cb_error_wrap(err, "export %s", r->path) : 0;
}

int ext4_upper_to_oci_layer(const char *img_path, const char *root_subdir, int fd, int64_t source_date_epoch,
                            cb_err *err)
{
    ext4_reader *r;
    int rc = ext4_reader_open(img_path, &r, err);
    if (rc < 0)
        return rc;
    ext4_export_options o;
    ext4_export_options_init(&o);
    o.root_subdir = root_subdir ? root_subdir : EXT4_OVERLAY_UPPER_DIR;
    o.oci_layer = true;
    o.source_date_epoch = source_date_epoch;
    rc = ext4_reader_export_tar(r, fd, &o, err);
    ext4_reader_free(r);
    return rc;
}
