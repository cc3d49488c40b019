/* Tar input (plain, gzip, zstd, xz, bzip2: libarchive detects the filter) with OCI layer
 * semantics: `.wh.NAME` whiteouts, `.wh..wh..opq` opaque directories, aufs `.wh..wh.*`
 * metadata ignored (as Docker does). Contents stream through the writer's sink. */
#include "writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META_PREFIX ".wh..wh."

static struct timespec ts_of(time_t s, long ns) { return (struct timespec){s, ns}; }

typedef struct acl_ent {
    uint16_t tag, perm;
    uint32_t id;
} __attribute__((packed)) acl_ent;

static int acl_cmp(const void *a, const void *b)
{
    const acl_ent *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* POSIX.1e ACLs that libarchive parsed from SCHILY.acl.* become the VFS xattr form. */
static bool acl_to_xattr(struct archive_entry *ae, int type, cb_buf *out)
{
    int n = archive_entry_acl_reset(ae, type);
    if (n <= 0)
        return false;
    acl_ent *v = xcalloc((size_t)n + 4, sizeof(*v));
    size_t k = 0;
    int t, perm, tag, qual;
    const char *name;
    while (k < (size_t)n + 4 && archive_entry_acl_next(ae, type, &t, &perm, &tag, &qual, &name) == ARCHIVE_OK) {
        acl_ent e = {0, (uint16_t)(perm & 7), 0xffffffffu};
        switch (tag) {
        case ARCHIVE_ENTRY_ACL_USER_OBJ: e.tag = ACL_USER_OBJ; break;
        case ARCHIVE_ENTRY_ACL_USER: e.tag = ACL_USER; e.id = (uint32_t)qual; break;
        case ARCHIVE_ENTRY_ACL_GROUP_OBJ: e.tag = ACL_GROUP_OBJ; break;
        case ARCHIVE_ENTRY_ACL_GROUP: e.tag = ACL_GROUP; e.id = (uint32_t)qual; break;
        case ARCHIVE_ENTRY_ACL_MASK: e.tag = ACL_MASK; break;
        case ARCHIVE_ENTRY_ACL_OTHER: e.tag = ACL_OTHER; break;
        default: continue;
        }
        v[k++] = e;
    }
    qsort(v, k, sizeof(*v), acl_cmp);
    uint32_t ver = POSIX_ACL_XATTR_VERSION;
    cb_buf_reset(out);
    cb_buf_append(out, &ver, 4);
    cb_buf_append(out, v, k * sizeof(*v));
    free(v);
    return k > 0;
}

typedef struct tar_ctx {
    ext4_writer *w;
    const char *label;
    struct archive *a;
    ext4_xattr *xa;
    size_t nxa, capxa;
    cb_buf acl_access, acl_default;
    bool has_acl;
} tar_ctx;

/* With an access ACL, the mode's group bits are the ACL mask (libarchive sets them from
 * the group:: entry instead). */
static mode_t acl_mask_mode(const cb_buf *acl, mode_t mode)
{
    for (size_t o = 4; o + sizeof(acl_ent) <= acl->len; o += sizeof(acl_ent)) {
        acl_ent e;
        memcpy(&e, acl->data + o, sizeof(e));
        if (e.tag == ACL_MASK)
            return (mode & ~(mode_t)070) | ((mode_t)(e.perm & 7) << 3);
    }
    return mode;
}

static void collect_xattrs(tar_ctx *c, struct archive_entry *ae)
{
    c->nxa = 0;
    archive_entry_xattr_reset(ae);
    const char *name;
    const void *value;
    size_t size;
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
        if (c->nxa + 3 > c->capxa) {
            c->capxa = c->capxa ? c->capxa * 2 : 16;
            c->xa = xrealloc(c->xa, c->capxa * sizeof(*c->xa));
        }
        c->xa[c->nxa++] = (ext4_xattr){name, value, size};
    }
    if (c->nxa + 3 > c->capxa) {
        c->capxa += 4;
        c->xa = xrealloc(c->xa, c->capxa * sizeof(*c->xa));
    }
    c->has_acl = false;
    if (acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &c->acl_access)) {
        c->xa[c->nxa++] = (ext4_xattr){"system.posix_acl_access", c->acl_access.data, c->acl_access.len};
        c->has_acl = true;
    }
    if (acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, &c->acl_default))
        c->xa[c->nxa++] = (ext4_xattr){"system.posix_acl_default", c->acl_default.data, c->acl_default.len};
}

static int add_regular(tar_ctx *c, const ext4_entry *e, struct archive_entry *ae, cb_err *err)
{
    ext4_sink s;
    int r = ext4_writer_begin_file(c->w, e, c->xa, c->nxa, &s, err);
    if (r < 0)
        return r;
    int64_t size = archive_entry_size(ae);
    if (size < 0)
        return cb_fail(err, "negative size");
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int ar = archive_read_data_block(c->a, &buf, &n, &off);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN)
            return cb_failc(err, EIO, "reading contents: %s", archive_error_string(c->a));
        if (off < 0 || (uint64_t)off + n > (uint64_t)size)
            return cb_fail(err, "data beyond the entry's size %lld", (long long)size);
        if (n) {
            r = ext4_sink_write(c->w, &s, (uint64_t)off, buf, n, err);
            if (r < 0)
                return r;
        }
    }
    return ext4_sink_finish(c->w, &s, (uint64_t)size, err);
}

static int tar_entry(tar_ctx *c, struct archive_entry *ae, const char *path, cb_err *err)
{
    ext4_writer *w = c->w;
    /* split off the last component for whiteout detection */
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/')
        pl--;
    char *p = xstrndup(path, pl);
    char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    int r = 0;
    if (strncmp(base, WH_PREFIX, 4) == 0) {
        char *dir = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup("");
        if (strcmp(base, WH_OPAQUE) == 0) {
            r = ext4_writer_set_opaque(w, dir, err);
        } else if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) {
            r = 0; /* aufs hard-link directory and similar: Docker skips these */
        } else if (base[4] == 0 || strcmp(base + 4, ".") == 0 || strcmp(base + 4, "..") == 0) {
            r = cb_fail(err, "invalid whiteout name `%s`", base);
        } else {
            char *target = xasprintf("%s/%s", dir, base + 4);
            r = ext4_writer_add_whiteout(w, target, err);
            free(target);
        }
        free(dir);
        free(p);
        return r;
    }
    free(p);
    const char *hl = archive_entry_hardlink(ae);
    if (hl)
        return ext4_writer_add_hardlink(w, path, hl, err);
    la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
    if (uid < 0 || uid > 0xFFFFFFFFll || gid < 0 || gid > 0xFFFFFFFFll)
        return cb_fail(err, "uid/gid %lld:%lld out of range", (long long)uid, (long long)gid);
    ext4_entry e = {0};
    e.path = path;
    e.mode = archive_entry_mode(ae);
    e.uid = (uint32_t)uid;
    e.gid = (uint32_t)gid;
    e.rdev = makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
    e.mtime = ts_of(archive_entry_mtime(ae), archive_entry_mtime_nsec(ae));
    e.atime = archive_entry_atime_is_set(ae) ? ts_of(archive_entry_atime(ae), archive_entry_atime_nsec(ae)) : e.mtime;
    e.ctime = archive_entry_ctime_is_set(ae) ? ts_of(archive_entry_ctime(ae), archive_entry_ctime_nsec(ae)) : e.mtime;
    if (archive_entry_birthtime_is_set(ae))
        e.crtime = ts_of(archive_entry_birthtime(ae), archive_entry_birthtime_nsec(ae));
    collect_xattrs(c, ae);
    if (c->has_acl)
        e.mode = acl_mask_mode(&c->acl_access, e.mode);
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        return add_regular(c, &e, ae, err);
    case AE_IFDIR:
        return ext4_writer_add_dir(w, &e, c->xa, c->nxa, err);
    case AE_IFLNK: {
        const char *t = archive_entry_symlink(ae);
        if (!t)
            t = archive_entry_symlink_utf8(ae);
        return ext4_writer_add_symlink(w, &e, t, c->xa, c->nxa, err);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
        return ext4_writer_add_special(w, &e, c->xa, c->nxa, err);
    default:
        return cb_fail(err, "unsupported entry type 0%o", (unsigned)archive_entry_filetype(ae));
    }
}

int ext4_writer_add_tar_fd(ext4_writer *w, int fd, const char *name, cb_err *err)
{
    if (w->finished)
        return cb_fail(err, "%s: writer already finished", w->path);
    const char *label = name ? name : "tar";
    locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_empty(a);
    if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
        int r = cb_failc(err, EIO, "%s: %s", label, archive_error_string(a));
        archive_read_free(a);
        if (loc) {
            uselocale(old);
            freelocale(loc);
        }
        return r;
    }
    ext4_writer_next_layer(w);
    tar_ctx c = {.w = w, .label = label, .a = a};
    cb_buf_init(&c.acl_access);
    cb_buf_init(&c.acl_default);
    int r = 0;
    for (uint64_t idx = 1;; idx++) {
        struct archive_entry *ae;
        int ar = archive_read_next_header(a, &ae);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            r = cb_failc(err, EIO, "%s: entry %llu: %s", label, (unsigned long long)idx, archive_error_string(a));
            break;
        }
        const char *path = archive_entry_pathname(ae);
        if (!path)
            path = archive_entry_pathname_utf8(ae);
        if (!path || !*path) {
            r = cb_fail(err, "%s: entry %llu has no name", label, (unsigned long long)idx);
            break;
        }
        r = tar_entry(&c, ae, path, err);
        if (r < 0) {
            cb_error_wrap(err, "%s: entry `%s`", label, path);
            break;
        }
    }
    free(c.xa);
    cb_buf_free(&c.acl_access);
    cb_buf_free(&c.acl_default);
    archive_read_free(a);
    if (loc) {
        uselocale(old);
        freelocale(loc);
    }
    return r;
}
