/* A merged, read-only view of a chain of overlay layer images (each keeps its tree under
 * upper/): what the container sees, computed the way overlayfs does (whiteouts are 0:0
 * character devices, trusted.overlay.opaque=y hides the layers below). Used by COPY/ADD for
 * destinations, --from sources and --chown names, without booting a VM. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bl_rootfs {
    ext4_reader **r;
    size_t n;
};

int bl_rootfs_open(const cb_strv *images, bl_rootfs **out, cb_err *err)
{
    bl_rootfs *v = xcalloc(1, sizeof *v);
    v->r = xcalloc(images->n ? images->n : 1, sizeof *v->r);
    for (size_t i = 0; i < images->n; i++) {
        int rc = ext4_reader_open(images->v[i], &v->r[i], err);
        if (rc < 0) {
            bl_rootfs_free(v);
            return rc;
        }
        v->n++;
    }
    *out = v;
    return 0;
}

void bl_rootfs_free(bl_rootfs *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        ext4_reader_free(v->r[i]);
    free(v->r);
    free(v);
}

static bool is_whiteout(const ext4_stat *st)
{
    return S_ISCHR(st->mode) && st->rdev == 0;
}

static bool is_opaque(ext4_reader *r, uint32_t ino)
{
    ext4_xattr *x = NULL;
    size_t n = 0;
    cb_err e;
    if (ext4_reader_xattrs(r, ino, &x, &n, &e) < 0)
        return false;
    bool op = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(x[i].name, "trusted.overlay.opaque") && x[i].size >= 1 &&
            ((const char *)x[i].value)[0] == 'y')
            op = true;
    ext4_xattrs_free(x, n);
    return op;
}

char *bl_path_clean(const char *p)
{
    cb_strv parts;
    cb_strv_init(&parts);
    char *c = xstrdup(p ? p : "");
    char *save = NULL;
    for (char *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, "."))
            continue;
        if (!strcmp(t, "..")) {
            if (parts.n) {
                free(parts.v[--parts.n]);
                parts.v[parts.n] = NULL;
            }
            continue;
        }
        cb_strv_push(&parts, t);
    }
    free(c);
    cb_buf b;
    cb_buf_init(&b);
    for (size_t i = 0; i < parts.n; i++) {
        cb_buf_putc(&b, '/');
        cb_buf_puts(&b, parts.v[i]);
    }
    if (!b.len)
        cb_buf_putc(&b, '/');
    cb_strv_free(&parts);
    return cb_buf_steal(&b);
}

/* Split a path into clean components. */
static void split(const char *path, cb_strv *out)
{
    char *c = bl_path_clean(path);
    char *save = NULL;
    for (char *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save))
        cb_strv_push(out, t);
    free(c);
}

static char *layer_path(const cb_strv *comp, size_t upto)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, BL_LAYER_ROOT);
    for (size_t i = 0; i < upto; i++) {
        if (b.len)
            cb_buf_putc(&b, '/');
        cb_buf_puts(&b, comp->v[i]);
    }
    if (!b.len)
        cb_buf_putc(&b, '/');
    return cb_buf_steal(&b);
}

static void root_node(bl_node *out)
{
    memset(out, 0, sizeof *out);
    out->layer = -1;
    out->st.mode = S_IFDIR | 0755;
    out->st.nlink = 2;
}

static int lookup_comp(bl_rootfs *v, const cb_strv *comp, bl_node *out, cb_err *err)
{
    if (comp->n == 0) {
        /* the root: the topmost layer's upper/ carries its metadata */
        root_node(out);
        for (size_t li = v->n; li-- > 0;) {
            uint32_t ino;
            cb_err e;
            cleanup_free char *rootp = layer_path(comp, 0);
            if (ext4_reader_lookup(v->r[li], rootp, &ino, &e) == 0 &&
                ext4_reader_stat(v->r[li], ino, &out->st, &e) == 0) {
                out->layer = (int)li;
                out->ino = ino;
                break;
            }
        }
        return 0;
    }
    /* Top-down: the first layer that has the full path (and isn't hidden) wins. A layer that
     * whites out or replaces a prefix with a non-directory, or has an opaque prefix
     * directory, ends the search. */
    for (size_t li = v->n; li-- > 0;) {
        ext4_reader *r = v->r[li];
        bool stop = false;
        for (size_t k = 1; k <= comp->n; k++) {
            cleanup_free char *p = layer_path(comp, k);
            uint32_t ino;
            cb_err e;
            if (ext4_reader_lookup(r, p, &ino, &e) < 0)
                break; /* not in this layer: look below unless an opaque prefix hid it */
            ext4_stat st;
            int rc = ext4_reader_stat(r, ino, &st, err);
            if (rc < 0)
                return rc;
            if (is_whiteout(&st))
                return -ENOENT;
            if (k == comp->n) {
                out->layer = (int)li;
                out->ino = ino;
                out->st = st;
                return 0;
            }
            if (!S_ISDIR(st.mode))
                return S_ISLNK(st.mode) ? -ENOENT : -ENOTDIR;
            if (is_opaque(r, ino))
                stop = true;
        }
        if (stop)
            return -ENOENT;
    }
    return -ENOENT;
}

int bl_rootfs_lookup(bl_rootfs *v, const char *path, bl_node *out, cb_err *err)
{
    cb_strv comp;
    cb_strv_init(&comp);
    split(path, &comp);
    int rc = lookup_comp(v, &comp, out, err);
    cb_strv_free(&comp);
    return rc;
}

int bl_rootfs_resolve(bl_rootfs *v, const char *path, bool follow_final, char **resolved, bl_node *out,
                      cb_err *err)
{
    cb_strv todo, cur;
    cb_strv_init(&todo);
    cb_strv_init(&cur);
    split(path, &todo);
    /* todo is consumed from the front; symlink targets are spliced in */
    size_t pos = 0;
    int links = 0, rc = 0;
    bl_node n;
    root_node(&n);
    while (pos < todo.n) {
        const char *c = todo.v[pos++];
        if (!strcmp(c, "..")) {
            if (cur.n) {
                free(cur.v[--cur.n]);
                cur.v[cur.n] = NULL;
            }
            continue;
        }
        cb_strv_push(&cur, c);
        rc = lookup_comp(v, &cur, &n, err);
        if (rc < 0)
            break;
        bool last = pos == todo.n;
        if (S_ISLNK(n.st.mode) && (!last || follow_final)) {
            if (++links > 40) {
                rc = cb_failc(err, ELOOP, "too many levels of symbolic links resolving %s", path);
                break;
            }
            char *target = NULL;
            rc = bl_rootfs_readlink(v, &n, &target, err);
            if (rc < 0)
                break;
            free(cur.v[--cur.n]);
            cur.v[cur.n] = NULL;
            if (target[0] == '/') {
                cb_strv_free(&cur);
                cb_strv_init(&cur);
            }
            cb_strv rest, tcomp;
            cb_strv_init(&rest);
            cb_strv_init(&tcomp);
            /* split keeps ".." only when not cleaned away: split manually */
            char *save = NULL;
            for (char *t = strtok_r(target, "/", &save); t; t = strtok_r(NULL, "/", &save))
                if (strcmp(t, "."))
                    cb_strv_push(&tcomp, t);
            free(target);
            for (size_t i = 0; i < tcomp.n; i++)
                cb_strv_push(&rest, tcomp.v[i]);
            for (size_t i = pos; i < todo.n; i++)
                cb_strv_push(&rest, todo.v[i]);
            cb_strv_free(&tcomp);
            cb_strv_free(&todo);
            todo = rest;
            pos = 0;
            if (cur.n == 0)
                root_node(&n);
            else
                lookup_comp(v, &cur, &n, err);
        }
    }
    if (resolved) {
        cb_buf b;
        cb_buf_init(&b);
        for (size_t i = 0; i < cur.n; i++) {
            cb_buf_putc(&b, '/');
            cb_buf_puts(&b, cur.v[i]);
        }
        for (size_t i = pos; i < todo.n; i++) {
            cb_buf_putc(&b, '/');
            cb_buf_puts(&b, todo.v[i]);
        }
        if (!b.len)
            cb_buf_putc(&b, '/');
        *resolved = cb_buf_steal(&b);
    }
    if (rc == 0 && out)
        *out = n;
    cb_strv_free(&todo);
    cb_strv_free(&cur);
    return rc;
}

typedef struct rd_ctx {
    cb_strv *names;
    cb_strv *hidden;
    ext4_reader *r;
    uint32_t dir;
    cb_strv layer_names;
} rd_ctx;

static int rd_cb(void *opaque, const char *name, uint32_t ino, unsigned file_type)
{
    (void)ino;
    (void)file_type;
    rd_ctx *c = opaque;
    cb_strv_push(&c->layer_names, name);
    return 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bl_rootfs_readdir(bl_rootfs *v, const char *dir, cb_strv *names, cb_err *err)
{
    cb_strv comp, hidden;
    cb_strv_init(&comp);
    cb_strv_init(&hidden);
    split(dir, &comp);
    int rc = 0;
    for (size_t li = v->n; li-- > 0;) {
        ext4_reader *r = v->r[li];
        /* the directory must exist in this layer as a directory, with no hiding prefix */
        bool present = true, opaque = false, blocked = false;
        uint32_t ino = 0;
        for (size_t k = 0; k <= comp.n; k++) {
            cleanup_free char *p = layer_path(&comp, k);
            cb_err e;
            if (ext4_reader_lookup(r, p, &ino, &e) < 0) {
                present = false;
                break;
            }
            ext4_stat st;
            if (ext4_reader_stat(r, ino, &st, &e) < 0 || !S_ISDIR(st.mode)) {
                present = false;
                blocked = true; /* whiteout or non-directory hides everything below */
                break;
            }
            if (k > 0 && is_opaque(r, ino))
                opaque = true;
        }
        if (blocked)
            break;
        if (present) {
            rd_ctx c = {.names = names, .r = r, .dir = ino};
            cb_strv_init(&c.layer_names);
            rc = ext4_reader_readdir(r, ino, rd_cb, &c, err);
            if (rc < 0) {
                cb_strv_free(&c.layer_names);
                break;
            }
            for (size_t i = 0; i < c.layer_names.n; i++) {
                const char *nm = c.layer_names.v[i];
                /* the image's own lost+found when layers keep their tree at the root */
                if (comp.n == 0 && !*BL_LAYER_ROOT && !strcmp(nm, "lost+found"))
                    continue;
                if (cb_strv_contains(&hidden, nm) || cb_strv_contains(names, nm))
                    continue;
                cleanup_free char *full = xasprintf("%s/%s", dir, nm);
                uint32_t cino;
                ext4_stat st;
                cb_err e;
                cleanup_free char *lp = NULL;
                {
                    cb_strv c2;
                    cb_strv_init(&c2);
                    split(full, &c2);
                    lp = layer_path(&c2, c2.n);
                    cb_strv_free(&c2);
                }
                if (ext4_reader_lookup(r, lp, &cino, &e) == 0 && ext4_reader_stat(r, cino, &st, &e) == 0 &&
                    is_whiteout(&st)) {
                    cb_strv_push(&hidden, nm);
                    continue;
                }
                cb_strv_push(names, nm);
                cb_strv_push(&hidden, nm);
            }
            cb_strv_free(&c.layer_names);
            if (opaque)
                break;
        }
    }
    if (comp.n == 0) {
        /* lost+found of each layer image is not part of the tree: it is outside upper/ */
    }
    cb_strv_free(&comp);
    cb_strv_free(&hidden);
    if (rc == 0 && names->n > 1)
        qsort(names->v, names->n, sizeof *names->v, cmpstr);
    return rc;
}

static ext4_reader *node_reader(bl_rootfs *v, const bl_node *n)
{
    return n->layer >= 0 ? v->r[n->layer] : NULL;
}

int bl_rootfs_read(bl_rootfs *v, const bl_node *n, cb_buf *out, cb_err *err)
{
    ext4_reader *r = node_reader(v, n);
    if (!r || !S_ISREG(n->st.mode))
        return cb_fail(err, "not a regular file");
    char buf[65536];
    uint64_t off = 0;
    for (;;) {
        ssize_t k = ext4_reader_pread(r, n->ino, buf, sizeof buf, off, err);
        if (k < 0)
            return (int)k;
        if (k == 0)
            break;
        cb_buf_append(out, buf, (size_t)k);
        off += (uint64_t)k;
    }
    return 0;
}

int bl_rootfs_copy_to_fd(bl_rootfs *v, const bl_node *n, int fd, cb_err *err)
{
    ext4_reader *r = node_reader(v, n);
    if (!r)
        return cb_fail(err, "not a regular file");
    return ext4_reader_copy_to_fd(r, n->ino, fd, err);
}

int bl_rootfs_readlink(bl_rootfs *v, const bl_node *n, char **out, cb_err *err)
{
    ext4_reader *r = node_reader(v, n);
    if (!r)
        return cb_fail(err, "not a symlink");
    return ext4_reader_readlink(r, n->ino, out, err);
}

int bl_rootfs_xattrs(bl_rootfs *v, const bl_node *n, ext4_xattr **out, size_t *nx, cb_err *err)
{
    ext4_reader *r = node_reader(v, n);
    *out = NULL;
    *nx = 0;
    if (!r)
        return 0;
    return ext4_reader_xattrs(r, n->ino, out, nx, err);
}

/* ---------- users and groups ---------- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Find field 0 == name (or field 2 == number when byid) in a passwd/group file. */
static bool db_find(const char *text, const char *name, cb_strv *fields)
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        cleanup_free char *line = xstrndup(p, len);
        p = nl ? nl + 1 : NULL;
        if (!*line || line[0] == '#')
            continue;
        cb_strv f;
        cb_strv_init(&f);
        char *s = line;
        for (;;) {
            char *c = strchr(s, ':');
            if (c)
                *c = 0;
            cb_strv_push(&f, s);
            if (!c)
                break;
            s = c + 1;
        }
        if (f.n >= 3 && !strcmp(f.v[0], name)) {
            *fields = f;
            return true;
        }
        cb_strv_free(&f);
    }
    return false;
}

static int read_etc(bl_rootfs *v, const char *path, cb_buf *out)
{
    bl_node n;
    cb_err e;
    if (bl_rootfs_resolve(v, path, true, NULL, &n, &e) < 0 || !S_ISREG(n.st.mode))
        return -ENOENT;
    return bl_rootfs_read(v, &n, out, &e);
}

int bl_rootfs_resolve_user(bl_rootfs *v, const char *spec, uint32_t *uid, uint32_t *gid, cb_err *err)
{
    cleanup_free char *user = xstrdup(spec);
    char *group = strchr(user, ':');
    if (group)
        *group++ = 0;
    cb_buf passwd, groupf;
    cb_buf_init(&passwd);
    cb_buf_init(&groupf);
    int rc = 0;
    bool have_passwd = read_etc(v, "/etc/passwd", &passwd) == 0;
    bool have_group = read_etc(v, "/etc/group", &groupf) == 0;
    if (all_digits(user)) {
        *uid = (uint32_t)strtoul(user, NULL, 10);
        *gid = *uid; /* Docker: a numeric user without group gets gid = uid */
    } else {
        cb_strv f;
        if (!have_passwd || !db_find(passwd.data, user, &f)) {
            rc = cb_failc(err, ENOENT, "unable to find user %s: no matching entries in passwd file", user);
            goto out;
        }
        *uid = (uint32_t)strtoul(f.v[2], NULL, 10);
        *gid = f.n > 3 ? (uint32_t)strtoul(f.v[3], NULL, 10) : 0;
        cb_strv_free(&f);
    }
    if (group) {
        if (all_digits(group)) {
            *gid = (uint32_t)strtoul(group, NULL, 10);
        } else {
            cb_strv f;
            if (!have_group || !db_find(groupf.data, group, &f)) {
                rc = cb_failc(err, ENOENT, "unable to find group %s: no matching entries in group file",
                              group);
                goto out;
            }
            *gid = (uint32_t)strtoul(f.v[2], NULL, 10);
            cb_strv_free(&f);
        }
    }
out:
    cb_buf_free(&passwd);
    cb_buf_free(&groupf);
    return rc;
}
