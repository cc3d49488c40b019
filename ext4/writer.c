/* The streaming writer: entries arrive by calls (from tar.c, hostdir.c or users); file data is
 * written at once at a sequential block cursor; the tree of metadata is laid out at finish
 * (directories, xattr blocks, extent trees, journal, then bitmaps and inode tables after all
 * data, which flex_bg allows anywhere). Superblock and group descriptor copies sit at their
 * fixed places in groups 0, 1 and powers of 3, 5, 7 (sparse_super); the cursor skips them. */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define WBUF_SIZE (8u << 20)
#define AUTO_MAX_GROUPS 8192u /* auto-sized images up to 1 TiB: GDT space reserved for this */

void ext4_options_init(ext4_options *o)
{
    memset(o, 0, sizeof(*o));
    o->source_date_epoch = -1;
}

/* ------------------------------------------------------------------ paths */

int ext4_path_split(const char *path, const char **comp, size_t *lens, int max)
{
    int n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - s);
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (n > 0)
                n--;
            continue;
        }
        if (l > 255)
            return -1;
        if (n >= max)
            return -2;
        comp[n] = s;
        lens[n] = l;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ name hash map */

static uint64_t node_key(const wnode *parent, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

#define HT_TOMB ((wnode *)1)

static void ht_grow(ext4_writer *w)
{
    size_t ncap = w->htcap ? w->htcap * 2 : 1024;
    if (w->htlive * 4 < w->htcap)
        ncap = w->htcap; /* only tombstones: rehash in place size */
    wnode **nt = xcalloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < w->htcap; i++) {
        wnode *n = w->ht[i];
        if (!n || n == HT_TOMB)
            continue;
        size_t j = node_key(n->parent, n->name, n->namelen) & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = n;
    }
    free(w->ht);
    w->ht = nt;
    w->htcap = ncap;
    w->htused = w->htlive;
}

static wnode *ht_find(ext4_writer *w, const wnode *parent, const char *name, size_t len, size_t *slot)
{
    if (!w->htcap)
        return NULL;
    size_t j = node_key(parent, name, len) & (w->htcap - 1);
    for (;;) {
        wnode *n = w->ht[j];
        if (!n)
            return NULL;
        if (n != HT_TOMB && n->parent == parent && n->namelen == len && memcmp(n->name, name, len) == 0) {
            if (slot)
                *slot = j;
            return n;
        }
        j = (j + 1) & (w->htcap - 1);
    }
}

static void ht_insert(ext4_writer *w, wnode *n)
{
    if ((w->htused + 1) * 4 >= w->htcap * 3)
        ht_grow(w);
    size_t j = node_key(n->parent, n->name, n->namelen) & (w->htcap - 1);
    while (w->ht[j] && w->ht[j] != HT_TOMB)
        j = (j + 1) & (w->htcap - 1);
    if (!w->ht[j])
        w->htused++;
    w->ht[j] = n;
    w->htlive++;
}

static void ht_remove(ext4_writer *w, wnode *n)
{
    size_t slot;
    if (ht_find(w, n->parent, n->name, n->namelen, &slot) == n) {
        w->ht[slot] = HT_TOMB;
        w->htlive--;
    }
}

/* ------------------------------------------------------------------ inodes and nodes */

static winode *winode_new(ext4_writer *w, mode_t mode)
{
    winode *in = xcalloc(1, sizeof(*in));
    in->mode = mode;
    w->ninodes_alloc++;
    return in;
}

static void winode_unref(ext4_writer *w, winode *in)
{
    if (--in->refs > 0)
        return;
    if (in->capext > 1)
        free(in->ext);
    free(in->link);
    for (uint32_t i = 0; i < in->nxa; i++)
        ext4_xattr_item_free(&in->xa[i]);
    free(in->xa);
    free(in);
    w->ninodes_alloc--;
}

static wnode *wnode_new(ext4_writer *w, wnode *parent, const char *name, size_t len, winode *in)
{
    wnode *n = xcalloc(1, sizeof(*n) + len + 1);
    n->parent = parent;
    n->namelen = (uint8_t)len;
    memcpy(n->name, name, len);
    n->in = in;
    n->gen = w->gen;
    in->refs++;
    if (parent) {
        n->prev = parent->last;
        if (parent->last)
            parent->last->next = n;
        else
            parent->first = n;
        parent->last = n;
        parent->nchildren++;
        ht_insert(w, n);
    }
    return n;
}

static void wnode_remove(ext4_writer *w, wnode *n)
{
    while (n->first)
        wnode_remove(w, n->first);
    wnode *p = n->parent;
    if (p) {
        ht_remove(w, n);
        if (n->prev)
            n->prev->next = n->next;
        else
            p->first = n->next;
        if (n->next)
            n->next->prev = n->prev;
        else
            p->last = n->prev;
        p->nchildren--;
    }
    winode_unref(w, n->in);
    free(n);
}

static bool is_dir(const wnode *n) { return S_ISDIR(n->in->mode); }

static struct timespec clamp_ts(const ext4_writer *w, struct timespec t)
{
    if (w->o.source_date_epoch >= 0 && t.tv_sec >= w->o.source_date_epoch) {
        if (t.tv_sec > w->o.source_date_epoch || t.tv_nsec > 0) {
            t.tv_sec = w->o.source_date_epoch;
            t.tv_nsec = 0;
        }
    }
    if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000)
        t.tv_nsec = 0;
    return t;
}

static void winode_set_meta(ext4_writer *w, winode *in, const ext4_entry *e)
{
    in->mode = e->mode;
    in->uid = e->uid;
    in->gid = e->gid;
    in->rmajor = major(e->rdev);
    in->rminor = minor(e->rdev);
    in->at = clamp_ts(w, e->atime);
    in->mt = clamp_ts(w, e->mtime);
    in->ct = clamp_ts(w, e->ctime);
    in->crt = (e->crtime.tv_sec || e->crtime.tv_nsec) ? clamp_ts(w, e->crtime) : in->mt;
}

static void digest_entry(ext4_writer *w, const char *kind, const char *path, const ext4_entry *e, uint64_t size)
{
    if (!w->digest)
        return;
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "\n%o %u %u %lld %llu\n", e ? (unsigned)e->mode : 0u, e ? e->uid : 0u,
                     e ? e->gid : 0u, e ? (long long)e->mtime.tv_sec : 0LL, (unsigned long long)size);
    cb_sha256_update(w->digest, kind, strlen(kind) + 1);
    cb_sha256_update(w->digest, path, strlen(path) + 1);
    cb_sha256_update(w->digest, buf, n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : 0);
}

/* Resolve the parent directory of `path` inside the tree root. Symlinks in parent
 * components are followed but stay inside the root (containerd's fs.RootPath); missing
 * directories are created when `create`. Sets name and namelen to the final component;
 * returns 0, or 1 when the parent is missing and !create, or <0. path empty => *dirp=NULL. */
static int resolve_parent(ext4_writer *w, const char *path, bool create, const ext4_entry *tmpl,
                          wnode **dirp, const char **name, size_t *namelen, cb_err *err)
{
    enum { MAXC = 2048 };
    const char **comp = xmalloc(sizeof(char *) * MAXC);
    size_t *lens = xmalloc(sizeof(size_t) * MAXC);
    int n = ext4_path_split(path, comp, lens, MAXC);
    int rc = 0;
    char **owned = NULL; /* symlink-expanded paths kept alive while walking */
    size_t nowned = 0;
    if (n == -1) {
        rc = cb_failc(err, ENAMETOOLONG, "`%s`: a path component is longer than 255 bytes", path);
        goto out;
    }
    if (n < 0) {
        rc = cb_failc(err, ENAMETOOLONG, "`%s`: path too deep", path);
        goto out;
    }
    if (n == 0) {
        *dirp = NULL;
        goto out;
    }
    wnode *cur = w->root;
    int i = 0, links = 0;
    while (i < n - 1) {
        wnode *c = ht_find(w, cur, comp[i], lens[i], NULL);
        if (!c) {
            if (!create) {
                rc = 1;
                goto out;
            }
            winode *in = winode_new(w, S_IFDIR | 0755);
            ext4_entry e = {0};
            e.mode = S_IFDIR | 0755;
            if (tmpl) {
                e.atime = tmpl->mtime;
                e.mtime = tmpl->mtime;
                e.ctime = tmpl->mtime;
            }
            winode_set_meta(w, in, &e);
            c = wnode_new(w, cur, comp[i], lens[i], in);
        }
        if (S_ISLNK(c->in->mode)) {
            if (++links > 40) {
                rc = cb_failc(err, ELOOP, "`%s`: too many levels of symbolic links", path);
                goto out;
            }
            /* splice the link target in place of this component */
            cb_buf nb;
            cb_buf_init(&nb);
            const char *t = c->in->link ? c->in->link : "";
            if (t[0] != '/') {
                /* relative to the directory holding the link: rebuild the path to cur */
                wnode *chain[MAXC];
                int d = 0;
                for (wnode *x = cur; x && x != w->root && d < MAXC; x = x->parent)
                    chain[d++] = x;
                while (d > 0) {
                    d--;
                    cb_buf_append(&nb, chain[d]->name, chain[d]->namelen);
                    cb_buf_putc(&nb, '/');
                }
            }
            cb_buf_puts(&nb, t);
            for (int k = i + 1; k < n; k++) {
                cb_buf_putc(&nb, '/');
                cb_buf_append(&nb, comp[k], lens[k]);
            }
            owned = xrealloc(owned, sizeof(char *) * (nowned + 1));
            owned[nowned++] = cb_buf_steal(&nb);
            int m = ext4_path_split(owned[nowned - 1], comp, lens, MAXC);
            if (m < 0) {
                rc = cb_failc(err, ENAMETOOLONG, "`%s`: path too deep after following symlinks", path);
                goto out;
            }
            if (m == 0) {
                /* the whole path resolved to the root itself */
                *dirp = NULL;
                goto out;
            }
            n = m;
            i = 0;
            cur = w->root;
            continue;
        }
        if (!is_dir(c)) {
            rc = cb_failc(err, ENOTDIR, "`%s`: `%.*s` is not a directory", path, (int)lens[i], comp[i]);
            goto out;
        }
        cur = c;
        i++;
    }
    *dirp = cur;
    *name = comp[n - 1];
    *namelen = lens[n - 1];
    /* the final name may point into `owned`: copy it into the writer's scratch */
    if (nowned) {
        free(w->scratch_name);
        w->scratch_name = xstrndup(*name, *namelen);
        *name = w->scratch_name;
    }
out:
    for (size_t k = 0; k < nowned; k++)
        free(owned[k]);
    free(owned);
    free(comp);
    free(lens);
    return rc;
}

/* Place a new entry: returns the node to fill. A directory over a directory keeps the
 * existing node (children survive); anything else replaces the old entry wholesale. */
static int place(ext4_writer *w, const ext4_entry *e, winode **inp, wnode **nodep, cb_err *err)
{
    wnode *dir;
    const char *name;
    size_t nl;
    int r = resolve_parent(w, e->path, true, e, &dir, &name, &nl, err);
    if (r < 0)
        return r;
    if (!dir) {
        /* the tree root itself ("./"): only a directory can describe it */
        if (!S_ISDIR(e->mode))
            return cb_fail(err, "`%s`: the root can only be a directory", e->path);
        winode_set_meta(w, w->root->in, e);
        w->root->gen = w->gen;
        *inp = w->root->in;
        *nodep = w->root;
        return 0;
    }
    wnode *old = ht_find(w, dir, name, nl, NULL);
    if (old && S_ISDIR(e->mode) && is_dir(old)) {
        winode_set_meta(w, old->in, e);
        old->gen = w->gen;
        *inp = old->in;
        *nodep = old;
        return 0;
    }
    if (old && old == w->lost_found_hint)
        w->lost_found_hint = NULL;
    if (old)
        wnode_remove(w, old);
    winode *in = winode_new(w, e->mode);
    winode_set_meta(w, in, e);
    *nodep = wnode_new(w, dir, name, nl, in);
    *inp = in;
    return 0;
}

static int set_xattrs(winode *in, const ext4_xattr *x, size_t n, const char *path, cb_err *err)
{
    for (uint32_t i = 0; i < in->nxa; i++)
        ext4_xattr_item_free(&in->xa[i]);
    free(in->xa);
    in->xa = NULL;
    in->nxa = 0;
    if (!n)
        return 0;
    in->xa = xcalloc(n, sizeof(*in->xa));
    for (size_t i = 0; i < n; i++) {
        ext4_xattr_item it;
        int r = ext4_xattr_item_from(&x[i], &it, err);
        if (r < 0)
            return cb_error_wrap(err, "`%s`", path);
        /* a repeated name: the last value wins */
        bool dup = false;
        for (uint32_t k = 0; k < in->nxa; k++) {
            if (in->xa[k].index == it.index && in->xa[k].name_len == it.name_len &&
                memcmp(in->xa[k].name, it.name, it.name_len) == 0) {
                ext4_xattr_item_free(&in->xa[k]);
                in->xa[k] = it;
                dup = true;
                break;
            }
        }
        if (!dup)
            in->xa[in->nxa++] = it;
    }
    ext4_xattr_sort(in->xa, in->nxa);
    size_t need = ext4_xattr_block_need(in->xa, in->nxa);
    if (need > EXT4_BLOCK_SIZE)
        return cb_fail(err, "`%s`: extended attributes need %zu bytes, more than one 4 KiB block", path, need);
    return 0;
}

/* ------------------------------------------------------------------ block allocation */

static bool group_has_super(uint64_t g)
{
    if (g <= 1)
        return true;
    if (!(g & 1))
        return false;
    for (uint64_t p = 3; p <= 7; p += 2) {
        uint64_t x = g;
        while (x % p == 0)
            x /= p;
        if (x == 1)
            return true;
    }
    return false;
}

/* A contiguous run of up to `want` free blocks at the cursor (never across a group
 * boundary or over a superblock copy). */
static int alloc_run(ext4_writer *w, uint64_t want, uint64_t *start, uint64_t *got, cb_err *err)
{
    uint64_t b = w->cursor;
    uint64_t g = b / EXT4_BLOCKS_PER_GROUP, off = b % EXT4_BLOCKS_PER_GROUP;
    if (off < 1 + w->gdt_reserve && group_has_super(g))
        b = g * EXT4_BLOCKS_PER_GROUP + 1 + w->gdt_reserve;
    uint64_t end = (g + 1) * EXT4_BLOCKS_PER_GROUP;
    if (b + want < end)
        end = b + want;
    if (w->size_blocks && end > w->size_blocks)
        return cb_failc(err, ENOSPC, "%s: the content does not fit in %llu bytes (--size)", w->path,
                        (unsigned long long)w->size_blocks * EXT4_BLOCK_SIZE);
    *start = b;
    *got = end - b;
    w->cursor = end;
    return 0;
}

/* n contiguous blocks (n < a group), skipping ahead when the run would be split. */
static int alloc_contig(ext4_writer *w, uint64_t n, uint64_t *start, cb_err *err)
{
    for (;;) {
        uint64_t s, got;
        uint64_t save = w->cursor;
        int r = alloc_run(w, n, &s, &got, err);
        if (r < 0)
            return r;
        if (got == n) {
            *start = s;
            return 0;
        }
        (void)save;
        /* run cut short by the group end: the cursor now sits at the next group */
    }
}

static void used_add(ext4_writer *w, uint64_t start, uint64_t len)
{
    if (w->nused == w->capused) {
        w->capused = w->capused ? w->capused * 2 : 256;
        w->used = xrealloc(w->used, w->capused * sizeof(*w->used));
    }
    w->used[w->nused].pblk = start;
    w->used[w->nused].lblk = 0;
    w->used[w->nused].len = (uint32_t)len;
    w->nused++;
}

static int wbuf_flush(ext4_writer *w, cb_err *err)
{
    if (!w->wlen)
        return 0;
    size_t done = 0;
    while (done < w->wlen) {
        ssize_t r = pwrite(w->fd, w->wbuf + done, w->wlen - done, (off_t)(w->wstart * EXT4_BLOCK_SIZE + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cb_error(err, errno, "write `%s`", w->path);
        }
        done += (size_t)r;
    }
    w->wlen = 0;
    return 0;
}

static int write_blocks(ext4_writer *w, uint64_t pblk, const void *data, size_t nblocks, cb_err *err)
{
    size_t bytes = nblocks * EXT4_BLOCK_SIZE;
    if (w->wlen && (pblk != w->wstart + w->wlen / EXT4_BLOCK_SIZE || w->wlen + bytes > WBUF_SIZE)) {
        int r = wbuf_flush(w, err);
        if (r < 0)
            return r;
    }
    if (bytes > WBUF_SIZE) {
        for (size_t done = 0; done < bytes;) {
            ssize_t r = pwrite(w->fd, (const uint8_t *)data + done, bytes - done, (off_t)(pblk * EXT4_BLOCK_SIZE + done));
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return cb_error(err, errno, "write `%s`", w->path);
            }
            done += (size_t)r;
        }
        return 0;
    }
    if (!w->wlen)
        w->wstart = pblk;
    memcpy(w->wbuf + w->wlen, data, bytes);
    w->wlen += bytes;
    return 0;
}

static void extent_add(winode *in, uint32_t lblk, uint64_t pblk, uint32_t len)
{
    if (in->next) {
        wextent *x = &winode_extents(in)[in->next - 1];
        if (x->lblk + x->len == lblk && x->pblk + x->len == pblk && x->len + len <= EXT4_EXT_MAX_LEN) {
            x->len += len;
            return;
        }
        if (x->lblk + x->len == lblk && x->pblk + x->len == pblk && x->len < EXT4_EXT_MAX_LEN) {
            uint32_t take = EXT4_EXT_MAX_LEN - x->len;
            x->len += take;
            lblk += take;
            pblk += take;
            len -= take;
        }
    }
    if (in->next == 0 && in->capext == 0) {
        in->capext = 1;
    } else if (in->next == in->capext) {
        uint32_t nc = in->capext * 2;
        wextent *ne = xmalloc(nc * sizeof(*ne));
        memcpy(ne, winode_extents(in), in->next * sizeof(*ne));
        if (in->capext > 1)
            free(in->ext);
        in->ext = ne;
        in->capext = nc;
    }
    wextent *x = &winode_extents(in)[in->next++];
    x->lblk = lblk;
    x->pblk = pblk;
    x->len = len;
}

/* p need not be aligned (file data comes at any offset of a tar's buffer): memcpy loads */
static bool block_is_zero(const uint8_t *p)
{
    for (size_t i = 0; i < EXT4_BLOCK_SIZE; i += 32) {
        uint64_t q[4];
        memcpy(q, p + i, sizeof q);
        if (q[0] | q[1] | q[2] | q[3])
            return false;
    }
    return true;
}

/* Store nblocks of file data starting at logical block lblk; zero blocks become holes. */
static int data_blocks(ext4_writer *w, winode *in, uint64_t lblk, const uint8_t *data, size_t nblocks, cb_err *err)
{
    size_t i = 0;
    while (i < nblocks) {
        if (block_is_zero(data + i * EXT4_BLOCK_SIZE)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < nblocks && !block_is_zero(data + j * EXT4_BLOCK_SIZE))
            j++;
        /* blocks i..j-1 hold data */
        while (i < j) {
            uint64_t s, got;
            int r = alloc_run(w, j - i, &s, &got, err);
            if (r < 0)
                return r;
            r = write_blocks(w, s, data + i * EXT4_BLOCK_SIZE, got, err);
            if (r < 0)
                return r;
            extent_add(in, (uint32_t)(lblk + i), s, (uint32_t)got);
            i += got;
        }
    }
    return 0;
}

int ext4_sink_write(ext4_writer *w, ext4_sink *s, uint64_t off, const void *data, size_t len, cb_err *err)
{
    const uint8_t *p = data;
    if (off + len > EXT4_MAX_FILE_SIZE)
        return cb_failc(err, EFBIG, "file larger than ext4's 16 TiB limit");
    while (len) {
        uint64_t lb = off / EXT4_BLOCK_SIZE;
        size_t bo = off % EXT4_BLOCK_SIZE;
        if (s->dirty && lb != s->cur) {
            int r = data_blocks(w, s->in, s->cur, s->blk, 1, err);
            if (r < 0)
                return r;
            s->dirty = false;
        }
        if (!s->dirty && bo == 0 && len >= EXT4_BLOCK_SIZE) {
            size_t nb = len / EXT4_BLOCK_SIZE;
            int r = data_blocks(w, s->in, lb, p, nb, err);
            if (r < 0)
                return r;
            p += nb * EXT4_BLOCK_SIZE;
            off += nb * EXT4_BLOCK_SIZE;
            len -= nb * EXT4_BLOCK_SIZE;
            continue;
        }
        if (!s->dirty) {
            memset(s->blk, 0, EXT4_BLOCK_SIZE);
            s->cur = lb;
            s->dirty = true;
        }
        size_t n = EXT4_BLOCK_SIZE - bo;
        if (n > len)
            n = len;
        memcpy(s->blk + bo, p, n);
        p += n;
        off += n;
        len -= n;
        if (bo + n == EXT4_BLOCK_SIZE) {
            int r = data_blocks(w, s->in, s->cur, s->blk, 1, err);
            if (r < 0)
                return r;
            s->dirty = false;
        }
    }
    return 0;
}

int ext4_sink_finish(ext4_writer *w, ext4_sink *s, uint64_t size, cb_err *err)
{
    if (s->dirty) {
        int r = data_blocks(w, s->in, s->cur, s->blk, 1, err);
        if (r < 0)
            return r;
        s->dirty = false;
    }
    if (size > EXT4_MAX_FILE_SIZE)
        return cb_failc(err, EFBIG, "file larger than ext4's 16 TiB limit");
    s->in->size = size;
    return 0;
}

/* ------------------------------------------------------------------ public add_* */

static int check_entry(ext4_writer *w, const ext4_entry *e, cb_err *err)
{
    if (w->finished)
        return cb_fail(err, "%s: writer already finished", w->path);
    if (!e || !e->path)
        return cb_fail(err, "entry without a path");
    return 0;
}

int ext4_writer_begin_file(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs, size_t nxattrs,
                           ext4_sink *s, cb_err *err)
{
    int r = check_entry(w, e, err);
    if (r < 0)
        return r;
    ext4_entry e2 = *e;
    e2.mode = (e->mode & 07777) | S_IFREG;
    winode *in;
    wnode *node;
    r = place(w, &e2, &in, &node, err);
    if (r < 0)
        return r;
    r = set_xattrs(in, xattrs, nxattrs, e->path, err);
    if (r < 0)
        return r;
    memset(s, 0, sizeof(*s));
    s->in = in;
    s->blk = w->sinkbuf;
    digest_entry(w, "f", e->path, e, 0);
    return 0;
}

int ext4_writer_add_file_fd(ext4_writer *w, const ext4_entry *e, int fd, uint64_t size,
                            const ext4_xattr *xattrs, size_t nxattrs, cb_err *err)
{
    ext4_sink s;
    int r = ext4_writer_begin_file(w, e, xattrs, nxattrs, &s, err);
    if (r < 0)
        return r;
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off > EXT4_READ_CHUNK ? EXT4_READ_CHUNK : (size_t)(size - off);
        ssize_t n = cb_read_full(fd, w->rbuf, want);
        if (n < 0)
            return cb_error(err, (int)-n, "`%s`: read", e->path);
        if (n == 0)
            return cb_fail(err, "`%s`: input ended after %llu of %llu bytes", e->path,
                           (unsigned long long)off, (unsigned long long)size);
        r = ext4_sink_write(w, &s, off, w->rbuf, (size_t)n, err);
        if (r < 0)
            return cb_error_wrap(err, "`%s`", e->path);
        off += (uint64_t)n;
    }
    r = ext4_sink_finish(w, &s, size, err);
    return r < 0 ? cb_error_wrap(err, "`%s`", e->path) : 0;
}

int ext4_writer_add_file_buf(ext4_writer *w, const ext4_entry *e, const void *data, size_t size,
                             const ext4_xattr *xattrs, size_t nxattrs, cb_err *err)
{
    ext4_sink s;
    int r = ext4_writer_begin_file(w, e, xattrs, nxattrs, &s, err);
    if (r < 0)
        return r;
    r = ext4_sink_write(w, &s, 0, data, size, err);
    if (r == 0)
        r = ext4_sink_finish(w, &s, size, err);
    return r < 0 ? cb_error_wrap(err, "`%s`", e->path) : 0;
}

int ext4_writer_add_dir(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs, size_t nxattrs, cb_err *err)
{
    int r = check_entry(w, e, err);
    if (r < 0)
        return r;
    ext4_entry e2 = *e;
    e2.mode = (e->mode & 07777) | S_IFDIR;
    winode *in;
    wnode *node;
    r = place(w, &e2, &in, &node, err);
    if (r < 0)
        return r;
    digest_entry(w, "d", e->path, e, 0);
    return set_xattrs(in, xattrs, nxattrs, e->path, err);
}

int ext4_writer_add_symlink(ext4_writer *w, const ext4_entry *e, const char *target,
                            const ext4_xattr *xattrs, size_t nxattrs, cb_err *err)
{
    int r = check_entry(w, e, err);
    if (r < 0)
        return r;
    size_t tl = target ? strlen(target) : 0;
    if (tl == 0)
        return cb_fail(err, "`%s`: symlink with an empty target", e->path);
    if (tl >= EXT4_BLOCK_SIZE)
        return cb_failc(err, ENAMETOOLONG, "`%s`: symlink target of %zu bytes (ext4 allows up to 4095)", e->path, tl);
    ext4_entry e2 = *e;
    e2.mode = S_IFLNK | 0777; /* like symlink(2): permissions of a link are meaningless */
    winode *in;
    wnode *node;
    r = place(w, &e2, &in, &node, err);
    if (r < 0)
        return r;
    in->link = xstrdup(target);
    in->size = tl;
    if (tl >= 60) {
        ext4_sink s = {.in = in, .blk = w->sinkbuf};
        r = ext4_sink_write(w, &s, 0, target, tl, err);
        if (r == 0)
            r = ext4_sink_finish(w, &s, tl, err);
        if (r < 0)
            return r;
    }
    digest_entry(w, target, e->path, e, tl);
    return set_xattrs(in, xattrs, nxattrs, e->path, err);
}

int ext4_writer_add_special(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs, size_t nxattrs, cb_err *err)
{
    int r = check_entry(w, e, err);
    if (r < 0)
        return r;
    mode_t t = e->mode & S_IFMT;
    if (t != S_IFCHR && t != S_IFBLK && t != S_IFIFO && t != S_IFSOCK)
        return cb_fail(err, "`%s`: mode 0%o is not a device, FIFO or socket", e->path, (unsigned)e->mode);
    winode *in;
    wnode *node;
    r = place(w, e, &in, &node, err);
    if (r < 0)
        return r;
    digest_entry(w, "s", e->path, e, e->rdev);
    return set_xattrs(in, xattrs, nxattrs, e->path, err);
}

int ext4_writer_add_hardlink(ext4_writer *w, const char *path, const char *target, cb_err *err)
{
    if (w->finished)
        return cb_fail(err, "%s: writer already finished", w->path);
    wnode *tdir;
    const char *tname;
    size_t tnl;
    int r = resolve_parent(w, target, false, NULL, &tdir, &tname, &tnl, err);
    if (r < 0)
        return cb_error_wrap(err, "hard link `%s`", path);
    wnode *t = NULL;
    if (r == 0 && tdir)
        t = ht_find(w, tdir, tname, tnl, NULL);
    if (!t)
        return cb_failc(err, ENOENT, "hard link `%s`: target `%s` does not exist in the tree", path, target);
    if (is_dir(t))
        return cb_failc(err, EPERM, "hard link `%s`: target `%s` is a directory", path, target);
    winode *in = t->in;
    if (in->refs >= 65000)
        return cb_failc(err, EMLINK, "hard link `%s`: `%s` already has 65000 links", path, target);
    in->refs++; /* keep the inode alive while the path is placed (it may replace `t`) */
    wnode *dir;
    const char *name;
    size_t nl;
    ext4_entry tmpl = {.path = path, .mtime = in->mt};
    r = resolve_parent(w, path, true, &tmpl, &dir, &name, &nl, err);
    if (r < 0 || !dir) {
        winode_unref(w, in);
        return r < 0 ? r : cb_fail(err, "hard link `%s`: cannot replace the root", path);
    }
    wnode *old = ht_find(w, dir, name, nl, NULL);
    if (old && old->in == in) {
        winode_unref(w, in);
        return 0;
    }
    if (old)
        wnode_remove(w, old);
    wnode_new(w, dir, name, nl, in);
    winode_unref(w, in);
    digest_entry(w, target, path, NULL, 1);
    return 0;
}

int ext4_writer_remove(ext4_writer *w, const char *path, cb_err *err)
{
    wnode *dir;
    const char *name;
    size_t nl;
    int r = resolve_parent(w, path, false, NULL, &dir, &name, &nl, err);
    if (r < 0)
        return r;
    if (r == 1 || !dir)
        return 0;
    wnode *old = ht_find(w, dir, name, nl, NULL);
    if (old)
        wnode_remove(w, old);
    digest_entry(w, "rm", path, NULL, 0);
    return 0;
}

int ext4_writer_add_whiteout(ext4_writer *w, const char *path, cb_err *err)
{
    if (w->o.mode == EXT4_MODE_FLATTEN)
        return ext4_writer_remove(w, path, err);
    ext4_entry e = {.path = path, .mode = S_IFCHR};
    e.mtime.tv_sec = w->o.source_date_epoch >= 0 ? w->o.source_date_epoch : 0;
    e.atime = e.ctime = e.mtime;
    return ext4_writer_add_special(w, &e, NULL, 0, err);
}

static int add_opaque_xattr(winode *in, cb_err *err)
{
    for (uint32_t i = 0; i < in->nxa; i++)
        if (in->xa[i].index == 4 && in->xa[i].name_len == 14 && !memcmp(in->xa[i].name, "overlay.opaque", 14)) {
            free(in->xa[i].value);
            in->xa[i].value = xstrdup("y");
            in->xa[i].size = 1;
            return 0;
        }
    ext4_xattr x = {"trusted.overlay.opaque", "y", 1};
    ext4_xattr_item it;
    int r = ext4_xattr_item_from(&x, &it, err);
    if (r < 0)
        return r;
    in->xa = xrealloc(in->xa, (in->nxa + 1) * sizeof(*in->xa));
    in->xa[in->nxa++] = it;
    ext4_xattr_sort(in->xa, in->nxa);
    return 0;
}

int ext4_writer_set_opaque(ext4_writer *w, const char *path, cb_err *err)
{
    wnode *dir;
    const char *name;
    size_t nl;
    ext4_entry tmpl = {.path = path};
    int r = resolve_parent(w, path, true, &tmpl, &dir, &name, &nl, err);
    if (r < 0)
        return r;
    wnode *d = dir ? ht_find(w, dir, name, nl, NULL) : w->root;
    if (!d || !is_dir(d)) {
        ext4_entry e = {.path = path, .mode = S_IFDIR | 0755};
        winode *in;
        r = place(w, &e, &in, &d, err);
        if (r < 0)
            return r;
    }
    digest_entry(w, "opq", path, NULL, 0);
    if (w->o.mode == EXT4_MODE_OVERLAY)
        return add_opaque_xattr(d->in, err);
    /* Docker: an opaque directory hides what lower layers put there, not this layer's own entries */
    for (wnode *c = d->first; c;) {
        wnode *nx = c->next;
        if (c->gen != w->gen)
            wnode_remove(w, c);
        c = nx;
    }
    return 0;
}

void ext4_writer_next_layer(ext4_writer *w)
{
    w->gen++;
}

/* ------------------------------------------------------------------ new / free */

int ext4_writer_new(const char *out_path, const ext4_options *opts, ext4_writer **out, cb_err *err)
{
    ext4_options def;
    if (!opts) {
        ext4_options_init(&def);
        opts = &def;
    }
    if (opts->block_size && opts->block_size != EXT4_BLOCK_SIZE)
        return cb_fail(err, "%s: only 4096-byte blocks are supported (asked for %u)", out_path, opts->block_size);
    if (opts->label && strlen(opts->label) > 16)
        return cb_fail(err, "%s: volume label `%s` is longer than 16 bytes", out_path, opts->label);
    /* write beside the target and rename at finish: a failed build never destroys an
     * existing image */
    struct stat pst;
    if (stat(out_path, &pst) == 0 && !S_ISREG(pst.st_mode))
        return cb_failc(err, EEXIST, "refusing to replace `%s`: not a regular file", out_path);
    cb_atomic_file af;
    if (cb_atomic_open(&af, out_path, 0644, err) < 0)
        return -EIO;
    ext4_writer *w = xcalloc(1, sizeof(*w));
    w->af = af;
    w->fd = af.fd;
    w->path = xstrdup(out_path);
    w->o = *opts;
    w->o.seed = opts->seed ? xstrdup(opts->seed) : NULL;
    w->o.label = opts->label ? xstrdup(opts->label) : NULL;
    w->gen = 1;
    if (!opts->seed)
        w->digest = cb_sha256_new();
    if (opts->size) {
        w->size_blocks = opts->size / EXT4_BLOCK_SIZE;
        uint64_t groups = (w->size_blocks + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
        w->gdt_reserve = (uint32_t)((groups * EXT4_DESC_SIZE + EXT4_BLOCK_SIZE - 1) / EXT4_BLOCK_SIZE);
        if (w->size_blocks < 2048) {
            ext4_writer_free(w);
            return cb_fail(err, "%s: size %llu bytes is too small for an ext4 image with a journal (minimum 8 MiB)",
                           out_path, (unsigned long long)opts->size);
        }
    } else {
        w->gdt_reserve = AUTO_MAX_GROUPS * EXT4_DESC_SIZE / EXT4_BLOCK_SIZE;
    }
    w->cursor = 1 + w->gdt_reserve;
    w->wbuf = xmalloc(WBUF_SIZE);
    w->rbuf = xmalloc(EXT4_READ_CHUNK);
    w->sinkbuf = xmalloc(EXT4_BLOCK_SIZE);

    struct timespec t0 = {opts->source_date_epoch >= 0 ? opts->source_date_epoch : 0, 0};
    ext4_entry re = {.path = "", .mode = S_IFDIR | 0755, .atime = t0, .mtime = t0, .ctime = t0};
    winode *rin = winode_new(w, re.mode);
    winode_set_meta(w, rin, &re);
    w->iroot = wnode_new(w, NULL, "", 0, rin);
    winode *lin = winode_new(w, S_IFDIR | 0700);
    re.mode = S_IFDIR | 0700;
    winode_set_meta(w, lin, &re);
    w->lost_found_hint = wnode_new(w, w->iroot, "lost+found", 10, lin);
    w->lost_found_hint->gen = 0;

    const char *sub = opts->root_subdir;
    if (!sub && opts->mode == EXT4_MODE_OVERLAY)
        sub = EXT4_OVERLAY_UPPER_DIR;
    w->root = w->iroot;
    if (sub && *sub) {
        const char *comp[64];
        size_t lens[64];
        int n = ext4_path_split(sub, comp, lens, 64);
        if (n <= 0) {
            ext4_writer_free(w);
            return cb_fail(err, "%s: bad root_subdir `%s`", out_path, sub);
        }
        for (int i = 0; i < n; i++) {
            winode *in = winode_new(w, S_IFDIR | 0755);
            re.mode = S_IFDIR | 0755;
            winode_set_meta(w, in, &re);
            w->root = wnode_new(w, w->root, comp[i], lens[i], in);
            w->root->gen = 0;
        }
    }
    *out = w;
    return 0;
}

static void free_tree(ext4_writer *w, wnode *n)
{
    wnode *c = n->first;
    while (c) {
        wnode *nx = c->next;
        free_tree(w, c);
        c = nx;
    }
    winode_unref(w, n->in);
    free(n);
}

void ext4_writer_free(ext4_writer *w)
{
    if (!w)
        return;
    if (w->iroot)
        free_tree(w, w->iroot);
    if (!w->finished)
        cb_atomic_abort(&w->af); /* closes and removes the temporary file */
    if (w->digest)
        cb_sha256_free(w->digest);
    free(w->ht);
    free(w->used);
    free(w->wbuf);
    free(w->rbuf);
    free(w->sinkbuf);
    free(w->scratch_name);
    free((char *)w->o.seed);
    free((char *)w->o.label);
    free(w->path);
    free(w);
}

/* ------------------------------------------------------------------ for finish.c */

int ext4_w_alloc_run(ext4_writer *w, uint64_t want, uint64_t *start, uint64_t *got, cb_err *err)
{
    return alloc_run(w, want, start, got, err);
}
int ext4_w_alloc_contig(ext4_writer *w, uint64_t n, uint64_t *start, cb_err *err)
{
    return alloc_contig(w, n, start, err);
}
int ext4_w_write_blocks(ext4_writer *w, uint64_t pblk, const void *data, size_t nblocks, cb_err *err)
{
    return write_blocks(w, pblk, data, nblocks, err);
}
int ext4_w_flush(ext4_writer *w, cb_err *err) { return wbuf_flush(w, err); }
void ext4_w_used_add(ext4_writer *w, uint64_t start, uint64_t len) { used_add(w, start, len); }
void ext4_w_extent_add(winode *in, uint32_t lblk, uint64_t pblk, uint32_t len) { extent_add(in, lblk, pblk, len); }
bool ext4_group_has_super(uint64_t g) { return group_has_super(g); }
wnode *ext4_w_lookup(ext4_writer *w, wnode *parent, const char *name, size_t len)
{
    return ht_find(w, parent, name, len, NULL);
}
wnode *ext4_w_mknode(ext4_writer *w, wnode *parent, const char *name, mode_t mode)
{
    struct timespec t0 = {w->o.source_date_epoch >= 0 ? w->o.source_date_epoch : 0, 0};
    ext4_entry e = {.path = name, .mode = mode, .atime = t0, .mtime = t0, .ctime = t0};
    winode *in = winode_new(w, mode);
    winode_set_meta(w, in, &e);
    return wnode_new(w, parent, name, strlen(name), in);
}
