/* Reading ext4 images: superblock and group descriptors, inodes, extent trees (any depth,
 * holes, unwritten extents read as zeros), directories (linear and htree blocks alike, by
 * scanning every block), symlinks and xattrs. Also reads images made by mke2fs with 1-4 KiB
 * blocks and 32-byte descriptors. Every on-disk value is bounds-checked before use. */
#include "reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int rd(ext4_reader *r, void *buf, size_t n, uint64_t off, cb_err *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(r->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return cb_error(err, errno, "read `%s`", r->path);
        }
        if (k == 0)
            return cb_failc(err, EIO, "%s: short read at offset %llu (truncated image?)", r->path,
                            (unsigned long long)(off + done));
        done += (size_t)k;
    }
    return 0;
}

int ext4_reader_read_block(ext4_reader *r, uint64_t blk, void *buf, cb_err *err)
{
    if (blk >= r->blocks)
        return cb_failc(err, EIO, "%s: block %llu beyond the end of the filesystem", r->path, (unsigned long long)blk);
    return rd(r, buf, r->bs, blk * r->bs, err);
}

int ext4_reader_open(const char *img_path, ext4_reader **out, cb_err *err)
{
    int fd = open(img_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", img_path);
    ext4_reader *r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->path = xstrdup(img_path);
    int rc = rd(r, &r->sb, sizeof(r->sb), 1024, err);
    if (rc < 0)
        goto fail;
    if (r->sb.s_magic != EXT4_SUPER_MAGIC) {
        rc = cb_fail(err, "%s: not an ext2/3/4 filesystem (bad superblock magic)", img_path);
        goto fail;
    }
    if (r->sb.s_log_block_size > 6) {
        rc = cb_fail(err, "%s: unsupported block size", img_path);
        goto fail;
    }
    r->bs = 1024u << r->sb.s_log_block_size;
    r->is64 = (r->sb.s_feature_incompat & EXT4_FEATURE_INCOMPAT_64BIT) != 0;
    r->desc_size = r->is64 ? r->sb.s_desc_size : 32;
    r->inode_size = r->sb.s_rev_level ? r->sb.s_inode_size : 128;
    r->ipg = r->sb.s_inodes_per_group;
    r->blocks = r->sb.s_blocks_count_lo | (r->is64 ? (uint64_t)r->sb.s_blocks_count_hi << 32 : 0);
    uint32_t bpg = r->sb.s_blocks_per_group;
    if (r->desc_size < 32 || r->desc_size > 1024 || r->inode_size < 128 || r->inode_size > r->bs || !r->ipg ||
        !bpg || r->blocks <= r->sb.s_first_data_block) {
        rc = cb_fail(err, "%s: corrupt superblock", img_path);
        goto fail;
    }
    uint32_t unsupported = r->sb.s_feature_incompat & ~(uint32_t)(EXT4_FEATURE_INCOMPAT_FILETYPE |
        EXT4_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG |
        0x0004 /* recover */ | 0x0010 /* meta_bg */ | 0x1000 /* largedir */ | 0x2000 /* csum_seed */);
    if (unsupported) {
        rc = cb_fail(err, "%s: unsupported filesystem features (incompat 0x%x)", img_path, unsupported);
        goto fail;
    }
    if (r->sb.s_feature_incompat & 0x0004) {
        /* reading around an unreplayed journal would export stale metadata as if it were the layer */
        rc = cb_fail(err, "%s: the journal needs recovery (the filesystem was not unmounted cleanly); "
                          "run `e2fsck -fy %s` first", img_path, img_path);
        goto fail;
    }
    if (r->sb.s_feature_incompat & 0x0010) {
        rc = cb_fail(err, "%s: meta_bg layouts are not supported", img_path);
        goto fail;
    }
    /* sizes come from the image (a RUN step can write any superblock): they must fit the file
     * before anything is allocated by them */
    struct stat fst;
    if (fstat(fd, &fst) < 0) {
        rc = cb_error(err, errno, "stat `%s`", img_path);
        goto fail;
    }
    if (r->blocks > (uint64_t)fst.st_size / r->bs + 1) {
        rc = cb_fail(err, "%s: corrupt superblock: %llu blocks of %u bytes in an image of %lld bytes", img_path,
                     (unsigned long long)r->blocks, r->bs, (long long)fst.st_size);
        goto fail;
    }
    r->groups = (uint32_t)((r->blocks - r->sb.s_first_data_block + bpg - 1) / bpg);
    r->ninodes = r->sb.s_inodes_count;
    if ((uint64_t)r->ninodes > (uint64_t)r->groups * r->ipg) {
        rc = cb_fail(err, "%s: corrupt superblock: %u inodes in %u groups of %u", img_path, r->ninodes, r->groups,
                     r->ipg);
        goto fail;
    }
    size_t gdt_bytes = (size_t)r->groups * r->desc_size;
    r->gdt = xmalloc(gdt_bytes);
    rc = rd(r, r->gdt, gdt_bytes, (uint64_t)(r->sb.s_first_data_block + 1) * r->bs, err);
    if (rc < 0)
        goto fail;
    r->buf = xmalloc(r->bs);
    *out = r;
    return 0;
fail:
    ext4_reader_free(r);
    return rc;
}

void ext4_reader_free(ext4_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->gdt);
    free(r->buf);
    free(r->path);
    free(r);
}

int ext4_reader_inode(ext4_reader *r, uint32_t ino, struct ext4_inode *raw, cb_err *err)
{
    if (ino == 0 || ino > r->ninodes)
        return cb_failc(err, EIO, "%s: inode %u out of range", r->path, ino);
    uint32_t g = (ino - 1) / r->ipg, idx = (ino - 1) % r->ipg;
    if (g >= r->groups)
        return cb_failc(err, EIO, "%s: inode %u out of range", r->path, ino);
    const struct ext4_group_desc *gd = (const void *)(r->gdt + (size_t)g * r->desc_size);
    uint64_t it = gd->bg_inode_table_lo | (r->desc_size >= 64 ? (uint64_t)gd->bg_inode_table_hi << 32 : 0);
    uint64_t off = it * r->bs + (uint64_t)idx * r->inode_size;
    if (it >= r->blocks)
        return cb_failc(err, EIO, "%s: inode table of group %u beyond the end", r->path, g);
    memset(raw, 0, sizeof(*raw));
    size_t n = r->inode_size < sizeof(*raw) ? r->inode_size : sizeof(*raw);
    int rc = rd(r, raw, n, off, err);
    if (rc < 0)
        return rc;
    if (128u + raw->i_extra_isize > r->inode_size || (raw->i_extra_isize & 3))
        raw->i_extra_isize = 0;
    return 0;
}

uint64_t ext4_inode_size(const struct ext4_inode *in) { return in->i_size_lo | (uint64_t)in->i_size_high << 32; }

int ext4_reader_check_size(ext4_reader *r, uint32_t ino, uint64_t size, cb_err *err)
{
    /* ext4 maps at most 2^32 blocks per file */
    if (size > ((uint64_t)1 << 32) * r->bs)
        return cb_failc(err, EIO, "%s: inode %u claims %llu bytes, beyond ext4's limit (corrupt image)", r->path, ino,
                        (unsigned long long)size);
    return 0;
}

int ext4_reader_stat(ext4_reader *r, uint32_t ino, ext4_stat *st, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, ino, &in, err);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->ino = ino;
    st->mode = in.i_mode;
    st->uid = in.i_uid | (uint32_t)in.i_uid_high << 16;
    st->gid = in.i_gid | (uint32_t)in.i_gid_high << 16;
    st->nlink = in.i_links_count;
    st->size = ext4_inode_size(&in);
    if (S_ISCHR(in.i_mode) || S_ISBLK(in.i_mode)) {
        if (in.i_block[0]) {
            st->rdev = makedev((in.i_block[0] >> 8) & 0xff, in.i_block[0] & 0xff);
        } else {
            uint32_t x = in.i_block[1];
            st->rdev = makedev((x & 0xfff00) >> 8, (x & 0xff) | ((x >> 12) & 0xfff00));
        }
    }
    bool extra = in.i_extra_isize >= 24;
    st->atime = ext4_time_decode(in.i_atime, extra ? in.i_atime_extra : 0);
    st->mtime = ext4_time_decode(in.i_mtime, extra ? in.i_mtime_extra : 0);
    st->ctime = ext4_time_decode(in.i_ctime, extra ? in.i_ctime_extra : 0);
    st->crtime = extra ? ext4_time_decode(in.i_crtime, in.i_crtime_extra) : (struct timespec){0, 0};
    return 0;
}

/* Map logical block lblk: *pblk = 0 for a hole; *run = blocks the answer holds for. */
int ext4_reader_map(ext4_reader *r, const struct ext4_inode *in, uint64_t lblk, uint64_t *pblk, uint64_t *run,
                    bool *unwritten, cb_err *err)
{
    if (!(in->i_flags & EXT4_EXTENTS_FL))
        return cb_fail(err, "%s: block-mapped (non-extent) files are not supported", r->path);
    const uint8_t *node = (const uint8_t *)in->i_block;
    size_t node_size = 60;
    uint8_t *blk = r->buf;
    *unwritten = false;
    uint64_t limit = UINT64_MAX / 2;
    for (int level = 0; level < 8; level++) {
        const struct ext4_extent_header *h = (const void *)node;
        if (h->eh_magic != EXT4_EXT_MAGIC || 12 + (size_t)h->eh_entries * 12 > node_size)
            return cb_failc(err, EIO, "%s: corrupt extent tree", r->path);
        if (h->eh_depth == 0) {
            const struct ext4_extent *e = (const void *)(h + 1);
            uint64_t next = UINT64_MAX;
            for (int i = 0; i < h->eh_entries; i++) {
                uint32_t len = e[i].ee_len > 32768 ? e[i].ee_len - 32768u : e[i].ee_len;
                if (lblk >= e[i].ee_block && lblk < (uint64_t)e[i].ee_block + len) {
                    uint64_t start = e[i].ee_start_lo | (uint64_t)e[i].ee_start_hi << 32;
                    *pblk = start + (lblk - e[i].ee_block);
                    *run = e[i].ee_block + len - lblk;
                    *unwritten = e[i].ee_len > 32768;
                    if (*pblk + *run > r->blocks)
                        return cb_failc(err, EIO, "%s: extent beyond the end of the filesystem", r->path);
                    return 0;
                }
                if (e[i].ee_block > lblk && e[i].ee_block < next)
                    next = e[i].ee_block;
            }
            *pblk = 0;
            if (next > limit)
                next = limit;
            *run = next > lblk ? next - lblk : 1;
            return 0;
        }
        const struct ext4_extent_idx *ix = (const void *)(h + 1);
        int pick = -1;
        for (int i = 0; i < h->eh_entries; i++)
            if (ix[i].ei_block <= lblk)
                pick = i;
        if (pick < 0) {
            *pblk = 0;
            *run = h->eh_entries ? ix[0].ei_block - lblk : UINT64_MAX / 2;
            return 0;
        }
        uint64_t child = ix[pick].ei_leaf_lo | (uint64_t)ix[pick].ei_leaf_hi << 32;
        int rc = ext4_reader_read_block(r, child, blk, err);
        if (rc < 0)
            return rc;
        node = blk;
        node_size = r->bs;
        /* a hole ends where the next index starts */
        if (pick + 1 < h->eh_entries && ix[pick + 1].ei_block < limit)
            limit = ix[pick + 1].ei_block;
    }
    return cb_failc(err, EIO, "%s: extent tree too deep", r->path);
}

ssize_t ext4_reader_pread_raw(ext4_reader *r, const struct ext4_inode *in, void *buf, size_t n, uint64_t off, cb_err *err)
{
    uint64_t size = ext4_inode_size(in);
    if (off >= size)
        return 0;
    if (n > size - off)
        n = (size_t)(size - off);
    size_t done = 0;
    while (done < n) {
        uint64_t pos = off + done;
        uint64_t lblk = pos / r->bs, boff = pos % r->bs;
        uint64_t pblk, run;
        bool unwritten;
        int rc = ext4_reader_map(r, in, lblk, &pblk, &run, &unwritten, err);
        if (rc < 0)
            return rc;
        if (run > (1u << 20))
            run = 1u << 20;
        uint64_t avail = run * r->bs - boff;
        size_t take = n - done < avail ? n - done : (size_t)avail;
        if (pblk == 0 || unwritten) {
            memset((uint8_t *)buf + done, 0, take);
        } else {
            rc = rd(r, (uint8_t *)buf + done, take, pblk * r->bs + boff, err);
            if (rc < 0)
                return rc;
        }
        done += take;
    }
    return (ssize_t)done;
}

ssize_t ext4_reader_pread(ext4_reader *r, uint32_t ino, void *buf, size_t n, uint64_t off, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, ino, &in, err);
    if (rc < 0)
        return rc;
    if (!S_ISREG(in.i_mode) && !S_ISDIR(in.i_mode) && !S_ISLNK(in.i_mode))
        return cb_fail(err, "%s: inode %u has no data", r->path, ino);
    return ext4_reader_pread_raw(r, &in, buf, n, off, err);
}

int ext4_reader_copy_to_fd(ext4_reader *r, uint32_t ino, int fd, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, ino, &in, err);
    if (rc < 0)
        return rc;
    if (!S_ISREG(in.i_mode))
        return cb_fail(err, "%s: inode %u is not a regular file", r->path, ino);
    if (ext4_reader_check_size(r, ino, ext4_inode_size(&in), err) < 0)
        return -EIO;
    size_t cap = 1 << 20;
    uint8_t *buf = xmalloc(cap);
    uint64_t size = ext4_inode_size(&in), off = 0;
    while (off < size) {
        ssize_t k = ext4_reader_pread_raw(r, &in, buf, cap, off, err);
        if (k <= 0) {
            free(buf);
            return k < 0 ? (int)k : cb_failc(err, EIO, "%s: short file", r->path);
        }
        int w = cb_write_all(fd, buf, (size_t)k);
        if (w < 0) {
            free(buf);
            return cb_error(err, -w, "write");
        }
        off += (uint64_t)k;
    }
    free(buf);
    return 0;
}

int ext4_reader_readlink(ext4_reader *r, uint32_t ino, char **out, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, ino, &in, err);
    if (rc < 0)
        return rc;
    if (!S_ISLNK(in.i_mode))
        return cb_failc(err, EINVAL, "%s: inode %u is not a symlink", r->path, ino);
    uint64_t size = ext4_inode_size(&in);
    if (size >= r->bs)
        return cb_failc(err, EIO, "%s: symlink inode %u too long", r->path, ino);
    char *t = xmalloc(size + 1);
    if (!(in.i_flags & EXT4_EXTENTS_FL) && size < 60) {
        memcpy(t, in.i_block, size);
    } else {
        ssize_t k = ext4_reader_pread_raw(r, &in, t, size, 0, err);
        if (k < 0) {
            free(t);
            return (int)k;
        }
    }
    t[size] = 0;
    *out = t;
    return 0;
}

int ext4_reader_readdir(ext4_reader *r, uint32_t dir_ino, ext4_dirent_fn fn, void *ctx, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, dir_ino, &in, err);
    if (rc < 0)
        return rc;
    if (!S_ISDIR(in.i_mode))
        return cb_failc(err, ENOTDIR, "%s: inode %u is not a directory", r->path, dir_ino);
    if (in.i_flags & 0x10000000)
        return cb_fail(err, "%s: inline-data directories are not supported", r->path);
    uint64_t size = ext4_inode_size(&in);
    uint8_t *blk = xmalloc(r->bs);
    char name[256];
    for (uint64_t off = 0; off < size; off += r->bs) {
        ssize_t k = ext4_reader_pread_raw(r, &in, blk, r->bs, off, err);
        if (k < 0) {
            free(blk);
            return (int)k;
        }
        if ((size_t)k < r->bs)
            memset(blk + k, 0, r->bs - (size_t)k);
        size_t p = 0;
        while (p + 8 <= r->bs) {
            const struct ext4_dir_entry_2 *d = (const void *)(blk + p);
            if (d->rec_len < 8 || p + d->rec_len > r->bs || (size_t)d->name_len + 8 > d->rec_len) {
                free(blk);
                return cb_failc(err, EIO, "%s: corrupt directory entry in inode %u", r->path, dir_ino);
            }
            if (d->inode && d->name_len &&
                !(d->name_len == 1 && d->name[0] == '.') &&
                !(d->name_len == 2 && d->name[0] == '.' && d->name[1] == '.')) {
                memcpy(name, d->name, d->name_len);
                name[d->name_len] = 0;
                int cr = fn(ctx, name, d->inode, d->file_type);
                if (cr) {
                    free(blk);
                    return cr;
                }
            }
            p += d->rec_len;
        }
    }
    free(blk);
    return 0;
}

typedef struct find_ctx {
    const char *name;
    size_t len;
    uint32_t ino;
} find_ctx;

static int find_cb(void *c, const char *name, uint32_t ino, unsigned ft)
{
    (void)ft;
    find_ctx *f = c;
    if (strlen(name) == f->len && memcmp(name, f->name, f->len) == 0) {
        f->ino = ino;
        return 1;
    }
    return 0;
}

int ext4_reader_lookup(ext4_reader *r, const char *path, uint32_t *ino, cb_err *err)
{
    const char *comp[1024];
    size_t lens[1024];
    int n = ext4_path_split(path, comp, lens, 1024);
    if (n < 0)
        return cb_failc(err, ENAMETOOLONG, "`%s`: path too long", path);
    uint32_t cur = EXT4_ROOT_INO;
    for (int i = 0; i < n; i++) {
        find_ctx f = {comp[i], lens[i], 0};
        int rc = ext4_reader_readdir(r, cur, find_cb, &f, err);
        if (rc < 0) {
            if (rc == -ENOTDIR)
                return cb_failc(err, ENOTDIR, "%s: `%s`: not a directory on the way", r->path, path);
            return rc;
        }
        if (!f.ino)
            return cb_failc(err, ENOENT, "%s: `%s`: no such file or directory", r->path, path);
        cur = f.ino;
    }
    *ino = cur;
    return 0;
}

typedef struct xa_ctx {
    ext4_xattr *v;
    size_t n;
} xa_ctx;

static int xa_cb(void *c, const char *name, const void *value, size_t size)
{
    xa_ctx *x = c;
    x->v = xrealloc(x->v, (x->n + 1) * sizeof(*x->v));
    void *cp = xmalloc(size ? size : 1);
    if (size)
        memcpy(cp, value, size);
    x->v[x->n++] = (ext4_xattr){xstrdup(name), cp, size};
    return 0;
}

int ext4_reader_xattrs(ext4_reader *r, uint32_t ino, ext4_xattr **out, size_t *n, cb_err *err)
{
    struct ext4_inode in;
    int rc = ext4_reader_inode(r, ino, &in, err);
    if (rc < 0)
        return rc;
    xa_ctx x = {NULL, 0};
    size_t ib = 128 + (size_t)in.i_extra_isize;
    if (in.i_extra_isize && ib + 4 <= r->inode_size && ib + 4 <= sizeof(in)) {
        const uint8_t *raw = (const uint8_t *)&in;
        uint32_t magic;
        memcpy(&magic, raw + ib, 4);
        size_t end = r->inode_size < sizeof(in) ? r->inode_size : sizeof(in);
        if (magic == EXT4_XATTR_MAGIC) {
            rc = ext4_xattr_decode(raw + ib + 4, raw + end, raw + ib + 4, end - ib - 4, xa_cb, &x, err);
            if (rc < 0)
                goto fail;
        }
    }
    uint64_t xb = in.i_file_acl_lo | (uint64_t)in.i_file_acl_high << 32;
    if (xb) {
        uint8_t *blk = xmalloc(r->bs);
        rc = ext4_reader_read_block(r, xb, blk, err);
        if (rc == 0) {
            const struct ext4_xattr_header *h = (const void *)blk;
            if (h->h_magic != EXT4_XATTR_MAGIC || h->h_blocks != 1)
                rc = cb_failc(err, EIO, "%s: corrupt xattr block %llu", r->path, (unsigned long long)xb);
            else
                rc = ext4_xattr_decode(blk + sizeof(*h), blk + r->bs, blk, r->bs, xa_cb, &x, err);
        }
        free(blk);
        if (rc < 0)
            goto fail;
    }
    *out = x.v;
    *n = x.n;
    return 0;
fail:
    ext4_xattrs_free(x.v, x.n);
    return rc;
}

void ext4_xattrs_free(ext4_xattr *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)x[i].name);
        free((void *)x[i].value);
    }
    free(x);
}

typedef struct walk_ent {
    char *name;
    uint32_t ino;
} walk_ent;

typedef struct list_ctx {
    walk_ent *v;
    size_t n, cap;
} list_ctx;

static int list_cb(void *c, const char *name, uint32_t ino, unsigned ft)
{
    (void)ft;
    list_ctx *l = c;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (walk_ent){xstrdup(name), ino};
    return 0;
}

static int walk_cmp(const void *a, const void *b)
{
    return strcmp(((const walk_ent *)a)->name, ((const walk_ent *)b)->name);
}

static int walk_rec(ext4_reader *r, uint32_t dir, const char *prefix, int depth, uint8_t *seen, ext4_walk_fn fn,
                    void *ctx, cb_err *err)
{
    if (depth > 2048)
        return cb_failc(err, ELOOP, "%s: directory tree too deep", r->path);
    /* a corrupt image may link a directory twice or into its own subtree: visit each once */
    if (dir > r->ninodes || (seen[dir >> 3] & (1u << (dir & 7))))
        return cb_failc(err, ELOOP, "%s: directory inode %u is linked more than once (corrupt image)", r->path, dir);
    seen[dir >> 3] |= (uint8_t)(1u << (dir & 7));
    list_ctx l = {0};
    int rc = ext4_reader_readdir(r, dir, list_cb, &l, err);
    if (rc == 0 && l.n)
        qsort(l.v, l.n, sizeof(*l.v), walk_cmp);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        char *p = *prefix ? xasprintf("%s/%s", prefix, l.v[i].name) : xstrdup(l.v[i].name);
        ext4_stat st;
        rc = ext4_reader_stat(r, l.v[i].ino, &st, err);
        if (rc == 0)
            rc = fn(ctx, p, &st);
        if (rc == 0 && S_ISDIR(st.mode))
            rc = walk_rec(r, l.v[i].ino, p, depth + 1, seen, fn, ctx, err);
        free(p);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    return rc;
}

int ext4_reader_walk(ext4_reader *r, uint32_t dir_ino, ext4_walk_fn fn, void *ctx, cb_err *err)
{
    uint8_t *seen = xcalloc(1, (size_t)r->ninodes / 8 + 1);
    int rc = walk_rec(r, dir_ino, "", 0, seen, fn, ctx, err);
    free(seen);
    return rc;
}
