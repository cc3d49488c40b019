/* ext4_writer_finish: number the inodes, write directories, xattr blocks, extent trees and
 * the journal after the data, then size the filesystem, place bitmaps and inode tables
 * (flex_bg lets them live anywhere) and write group descriptors and superblocks. */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define XATTR_IBODY_SPACE (EXT4_INODE_SIZE - 128 - EXT4_EXTRA_ISIZE)
#define XATTR_DEDUP_MAX 4096
#define INODE_RATIO 16384u
#define AUTO_MAX_GROUPS_FIN 8192u

typedef struct fin {
    ext4_writer *w;
    uint8_t uuid[16];
    uint32_t hash_seed[4];
    uint32_t csum_seed;
    uint32_t t;           /* filesystem timestamps */
    winode **inodes;      /* by number, [0] unused */
    uint32_t ninodes;     /* highest used inode number */
    wnode **dirs;
    size_t ndirs;
    winode journal;
    uint64_t total;       /* blocks */
    uint32_t groups, ipg, gdtb;
    uint64_t *bb, *ib, *it; /* per group: block bitmap, inode bitmap, inode table */
} fin;

static void derive_ids(fin *f)
{
    ext4_writer *w = f->w;
    uint8_t h[32];
    cb_sha256 *s = cb_sha256_new();
    cb_sha256_update(s, "cbuild-ext4\n", 12);
    if (w->o.seed) {
        cb_sha256_update(s, w->o.seed, strlen(w->o.seed));
    } else {
        uint8_t d[32];
        cb_sha256_final_raw(w->digest, d);
        w->digest = NULL;
        cb_sha256_update(s, d, 32);
    }
    cb_sha256_final_raw(s, h);
    memcpy(f->uuid, h, 16);
    f->uuid[6] = (uint8_t)((f->uuid[6] & 0x0f) | 0x40);
    f->uuid[8] = (uint8_t)((f->uuid[8] & 0x3f) | 0x80);
    memcpy(f->hash_seed, h + 16, 16);
    f->csum_seed = ext4_crc32c(~0u, f->uuid, 16);
}

static uint32_t ino_seed(const fin *f, uint32_t ino) { return ext4_inode_csum_seed(f->csum_seed, ino, 0); }

static int number_inodes(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    size_t capd = 1024;
    f->dirs = xmalloc(capd * sizeof(*f->dirs));
    f->ndirs = 0;
    f->dirs[f->ndirs++] = w->iroot;
    size_t cap = 1024;
    f->inodes = xcalloc(cap, sizeof(*f->inodes));
    uint32_t next = EXT4_FIRST_INO + 1;
    w->iroot->in->ino = EXT4_ROOT_INO;
    f->inodes[EXT4_ROOT_INO] = w->iroot->in;
    wnode *lf = ext4_w_lookup(w, w->iroot, "lost+found", 10);
    lf->in->ino = EXT4_FIRST_INO;
    f->inodes[EXT4_FIRST_INO] = lf->in;
    for (size_t di = 0; di < f->ndirs; di++) {
        wnode *d = f->dirs[di];
        uint32_t subdirs = 0;
        for (wnode *c = d->first; c; c = c->next) {
            if (!c->in->ino) {
                if (next == 0xFFFFFFFFu)
                    return cb_failc(err, ENOSPC, "more than 2^32 inodes");
                c->in->ino = next++;
                if (c->in->ino >= cap) {
                    size_t nc = cap * 2;
                    f->inodes = xrealloc(f->inodes, nc * sizeof(*f->inodes));
                    memset(f->inodes + cap, 0, (nc - cap) * sizeof(*f->inodes));
                    cap = nc;
                }
                f->inodes[c->in->ino] = c->in;
            }
            if (S_ISDIR(c->in->mode)) {
                subdirs++;
                if (f->ndirs == capd) {
                    capd *= 2;
                    f->dirs = xrealloc(f->dirs, capd * sizeof(*f->dirs));
                }
                f->dirs[f->ndirs++] = c;
            }
        }
        d->in->subdirs = subdirs;
    }
    f->ninodes = next - 1;
    return 0;
}

static int write_dirs(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    cb_buf b;
    cb_buf_init(&b);
    int r = 0;
    for (size_t i = 0; i < f->ndirs && r == 0; i++) {
        wnode *d = f->dirs[i];
        winode *in = d->in;
        uint32_t parent = d->parent ? d->parent->in->ino : EXT4_ROOT_INO;
        bool indexed;
        r = ext4_dir_build(d, in->ino, parent, ino_seed(f, in->ino), f->hash_seed, DX_HASH_HALF_MD4, &b, &indexed, err);
        if (r < 0)
            break;
        size_t nb = b.len / EXT4_BLOCK_SIZE, done = 0;
        in->next = 0;
        while (done < nb) {
            uint64_t s, got;
            r = ext4_w_alloc_run(w, nb - done, &s, &got, err);
            if (r < 0)
                break;
            r = ext4_w_write_blocks(w, s, b.data + done * EXT4_BLOCK_SIZE, got, err);
            if (r < 0)
                break;
            ext4_w_extent_add(in, (uint32_t)done, s, (uint32_t)got);
            done += got;
        }
        in->size = (uint64_t)nb * EXT4_BLOCK_SIZE;
        in->flags = EXT4_EXTENTS_FL | (indexed ? EXT4_INDEX_FL : 0);
    }
    cb_buf_free(&b);
    return r;
}

typedef struct xuniq {
    uint8_t *blk;
    uint64_t pblk;
    uint32_t refs, key;
} xuniq;

static int write_xattr_blocks(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    size_t cap = 1024, nu = 0;
    xuniq *u = xmalloc(cap * sizeof(*u));
    size_t hcap = 2 * XATTR_DEDUP_MAX;
    int32_t *hidx = xmalloc(hcap * sizeof(*hidx));
    memset(hidx, 0xff, hcap * sizeof(*hidx));
    uint8_t blk[EXT4_BLOCK_SIZE];
    int r = 0;
    for (uint32_t ino = 1; ino <= f->ninodes && r == 0; ino++) {
        winode *in = f->inodes[ino];
        if (!in || !in->nxa || ext4_xattr_ibody_need(in->xa, in->nxa) <= XATTR_IBODY_SPACE)
            continue;
        ext4_xattr_block_encode(in->xa, in->nxa, blk);
        uint32_t key = ext4_crc32c(~0u, blk, EXT4_BLOCK_SIZE);
        size_t j = key % hcap;
        while (hidx[j] >= 0) {
            xuniq *x = &u[hidx[j]];
            if (x->key == key && memcmp(x->blk, blk, EXT4_BLOCK_SIZE) == 0)
                break;
            j = (j + 1) % hcap;
        }
        if (hidx[j] >= 0) {
            u[hidx[j]].refs++;
            in->xattr_blk = u[hidx[j]].pblk;
            continue;
        }
        uint64_t pb, got;
        r = ext4_w_alloc_run(w, 1, &pb, &got, err);
        if (r < 0)
            break;
        ext4_w_used_add(w, pb, 1);
        in->xattr_blk = pb;
        if (nu >= XATTR_DEDUP_MAX) {
            /* past the dedup table: write it as a block of its own */
            ext4_xattr_block_csum(blk, f->csum_seed, pb);
            r = ext4_w_write_blocks(w, pb, blk, 1, err);
            continue;
        }
        if (nu == cap) {
            cap *= 2;
            u = xrealloc(u, cap * sizeof(*u));
        }
        u[nu].blk = xmalloc(EXT4_BLOCK_SIZE);
        memcpy(u[nu].blk, blk, EXT4_BLOCK_SIZE);
        u[nu].pblk = pb;
        u[nu].refs = 1;
        u[nu].key = key;
        hidx[j] = (int32_t)nu;
        nu++;
    }
    for (size_t i = 0; i < nu; i++) {
        if (r == 0) {
            ((struct ext4_xattr_header *)u[i].blk)->h_refcount = u[i].refs;
            ext4_xattr_block_csum(u[i].blk, f->csum_seed, u[i].pblk);
            r = ext4_w_write_blocks(w, u[i].pblk, u[i].blk, 1, err);
        }
        free(u[i].blk);
    }
    free(u);
    free(hidx);
    return r;
}

static int build_trees(fin *f, cb_err *err)
{
    for (uint32_t ino = 1; ino <= f->ninodes; ino++) {
        winode *in = f->inodes[ino];
        if (!in)
            continue;
        bool uses_extents = S_ISREG(in->mode) || S_ISDIR(in->mode) || (S_ISLNK(in->mode) && in->size >= 60);
        if (!uses_extents)
            continue;
        in->flags |= EXT4_EXTENTS_FL;
        int r = ext4_extent_tree_build(f->w, in, ino_seed(f, ino), err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int make_journal(fin *f, uint64_t est_total, cb_err *err)
{
    ext4_writer *w = f->w;
    winode *j = &f->journal;
    memset(j, 0, sizeof(*j));
    uint32_t jb = ext4_journal_default_blocks(est_total);
    j->mode = S_IFREG | 0600;
    j->refs = 1;
    j->ino = EXT4_JOURNAL_INO;
    j->size = (uint64_t)jb * EXT4_BLOCK_SIZE;
    j->at.tv_sec = j->mt.tv_sec = j->ct.tv_sec = j->crt.tv_sec = f->t;
    uint64_t done = 0;
    uint8_t sb[EXT4_BLOCK_SIZE];
    ext4_journal_superblock(sb, jb, f->uuid);
    while (done < jb) {
        uint64_t s, got;
        int r = ext4_w_alloc_run(w, jb - done, &s, &got, err);
        if (r < 0)
            return r;
        if (done == 0) {
            r = ext4_w_write_blocks(w, s, sb, 1, err);
            if (r < 0)
                return r;
        }
        ext4_w_extent_add(j, (uint32_t)done, s, (uint32_t)got);
        done += got;
    }
    j->flags = EXT4_EXTENTS_FL;
    int r = ext4_extent_tree_build(w, j, ino_seed(f, EXT4_JOURNAL_INO), err);
    if (r < 0)
        return r;
    f->inodes[EXT4_JOURNAL_INO] = j;
    return 0;
}

static uint32_t roundup16(uint64_t x) { return (uint32_t)((x + 15) & ~(uint64_t)15); }

/* Place bitmaps and inode tables for `groups` groups from the cursor. */
static int place_metadata(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    uint32_t itb = f->ipg * EXT4_INODE_SIZE / EXT4_BLOCK_SIZE;
    free(f->bb);
    free(f->ib);
    free(f->it);
    f->bb = xmalloc(f->groups * sizeof(uint64_t));
    f->ib = xmalloc(f->groups * sizeof(uint64_t));
    f->it = xmalloc(f->groups * sizeof(uint64_t));
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t g = 0; g < f->groups;) {
            uint64_t s, got;
            int r = ext4_w_alloc_run(w, f->groups - g, &s, &got, err);
            if (r < 0)
                return r;
            for (uint64_t k = 0; k < got; k++)
                (pass ? f->ib : f->bb)[g + k] = s + k;
            g += (uint32_t)got;
        }
    }
    for (uint32_t g = 0; g < f->groups; g++) {
        int r = ext4_w_alloc_contig(w, itb, &f->it[g], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int layout(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    uint64_t free_blocks = w->size_blocks ? 0 : (w->o.extra_free_space + EXT4_BLOCK_SIZE - 1) / EXT4_BLOCK_SIZE;
    uint64_t want_inodes = (uint64_t)f->ninodes + w->o.extra_free_inodes;
    if (!w->size_blocks)
        want_inodes += w->o.extra_free_space / INODE_RATIO;
    uint64_t start = w->cursor;
    if (w->size_blocks) {
        uint64_t total = w->size_blocks;
        uint64_t groups = (total + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
        uint64_t last = total - (groups - 1) * EXT4_BLOCKS_PER_GROUP;
        if (groups > 1 && last < 1 + w->gdt_reserve + 64) {
            groups--;
            total = groups * EXT4_BLOCKS_PER_GROUP;
        }
        uint64_t ratio = (total * EXT4_BLOCK_SIZE / INODE_RATIO + groups - 1) / groups;
        uint64_t need = (want_inodes + groups - 1) / groups;
        uint64_t ipg = roundup16(need > ratio ? need : ratio);
        if (ipg > EXT4_BLOCKS_PER_GROUP) {
            if (need > EXT4_BLOCKS_PER_GROUP)
                return cb_failc(err, ENOSPC, "%s: %llu inodes do not fit in %llu bytes (--size)", w->path,
                                (unsigned long long)want_inodes, (unsigned long long)w->o.size);
            ipg = EXT4_BLOCKS_PER_GROUP;
        }
        f->total = total;
        f->groups = (uint32_t)groups;
        f->ipg = (uint32_t)ipg;
        w->size_blocks = total;
        int r = place_metadata(f, err);
        if (r < 0)
            return cb_error_wrap(err, "%s: no room for the inode tables", w->path);
    } else {
        uint64_t groups = (start + free_blocks + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
        if (groups == 0)
            groups = 1;
        for (int iter = 0;; iter++) {
            if (want_inodes > groups * EXT4_BLOCKS_PER_GROUP)
                groups = (want_inodes + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
            if (groups > AUTO_MAX_GROUPS_FIN)
                return cb_failc(err, EFBIG, "%s: content needs more than 1 TiB; give --size", w->path);
            uint64_t ipg = roundup16((want_inodes + groups - 1) / groups);
            if (ipg < 16)
                ipg = 16;
            f->groups = (uint32_t)groups;
            f->ipg = (uint32_t)ipg;
            w->cursor = start;
            int r = place_metadata(f, err);
            if (r < 0)
                return r;
            uint64_t total = w->cursor + free_blocks;
            uint64_t g2 = (total + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
            if (g2 > groups && iter < 16) {
                groups = g2;
                continue;
            }
            /* every group must exist: at least reach into the last one */
            uint64_t minimum = (groups - 1) * EXT4_BLOCKS_PER_GROUP + 1;
            if (total < minimum)
                total = minimum;
            uint64_t lastg = groups - 1, last = total - lastg * EXT4_BLOCKS_PER_GROUP;
            if (ext4_group_has_super(lastg) && last < 1 + w->gdt_reserve + 64)
                total = lastg * EXT4_BLOCKS_PER_GROUP + 1 + w->gdt_reserve + 64;
            if (total > groups * EXT4_BLOCKS_PER_GROUP)
                total = groups * EXT4_BLOCKS_PER_GROUP;
            f->total = total;
            break;
        }
    }
    f->gdtb = (uint32_t)(((uint64_t)f->groups * EXT4_DESC_SIZE + EXT4_BLOCK_SIZE - 1) / EXT4_BLOCK_SIZE);
    if (f->gdtb > w->gdt_reserve)
        return cb_failc(err, EFBIG, "%s: too many block groups (%u)", w->path, f->groups);
    if (w->cursor > f->total)
        return cb_failc(err, ENOSPC, "%s: the content needs %llu MiB, more than the %llu MiB image (--size)", w->path,
                        (unsigned long long)(w->cursor * EXT4_BLOCK_SIZE >> 20),
                        (unsigned long long)(f->total * EXT4_BLOCK_SIZE >> 20));
    return 0;
}

void ext4_inode_set_csum(struct ext4_inode *raw, uint32_t fs_seed, uint32_t ino)
{
    raw->i_checksum_lo = 0;
    raw->i_checksum_hi = 0;
    uint32_t c = ext4_crc32c(ext4_inode_csum_seed(fs_seed, ino, raw->i_generation), raw, EXT4_INODE_SIZE);
    raw->i_checksum_lo = (uint16_t)c;
    raw->i_checksum_hi = (uint16_t)(c >> 16);
}

static uint64_t inode_blocks(const winode *in)
{
    uint64_t n = in->ntree + (in->xattr_blk ? 1 : 0);
    if (S_ISREG(in->mode) || S_ISDIR(in->mode) || S_ISLNK(in->mode)) {
        const wextent *x = winode_extents((winode *)in);
        for (uint32_t i = 0; i < in->next; i++)
            n += x[i].len;
    }
    return n;
}

static void encode_inode(const fin *f, uint32_t ino, const winode *in, struct ext4_inode *raw)
{
    memset(raw, 0, sizeof(*raw));
    raw->i_extra_isize = EXT4_EXTRA_ISIZE;
    if (!in) {
        ext4_inode_set_csum(raw, f->csum_seed, ino);
        return;
    }
    raw->i_mode = (uint16_t)in->mode;
    raw->i_uid = (uint16_t)in->uid;
    raw->i_uid_high = (uint16_t)(in->uid >> 16);
    raw->i_gid = (uint16_t)in->gid;
    raw->i_gid_high = (uint16_t)(in->gid >> 16);
    raw->i_size_lo = (uint32_t)in->size;
    raw->i_size_high = (uint32_t)(in->size >> 32);
    ext4_time_encode(&in->at, &raw->i_atime, &raw->i_atime_extra);
    ext4_time_encode(&in->mt, &raw->i_mtime, &raw->i_mtime_extra);
    ext4_time_encode(&in->ct, &raw->i_ctime, &raw->i_ctime_extra);
    ext4_time_encode(&in->crt, &raw->i_crtime, &raw->i_crtime_extra);
    if (S_ISDIR(in->mode)) {
        uint32_t l = 2 + in->subdirs;
        raw->i_links_count = (uint16_t)(l >= 65000 ? 1 : l);
    } else {
        raw->i_links_count = (uint16_t)in->refs;
    }
    uint64_t blocks512 = inode_blocks(in) * (EXT4_BLOCK_SIZE / 512);
    raw->i_blocks_lo = (uint32_t)blocks512;
    raw->i_blocks_high = (uint16_t)(blocks512 >> 32);
    raw->i_flags = in->flags;
    if (in->flags & EXT4_EXTENTS_FL) {
        memcpy(raw->i_block, in->iblock, 60);
    } else if (S_ISLNK(in->mode)) {
        memcpy(raw->i_block, in->link, in->size);
    } else if (S_ISCHR(in->mode) || S_ISBLK(in->mode)) {
        if (in->rmajor < 256 && in->rminor < 256) {
            raw->i_block[0] = (in->rmajor << 8) | in->rminor;
        } else {
            raw->i_block[1] = (in->rminor & 0xff) | (in->rmajor << 8) | ((in->rminor & ~0xffu) << 12);
        }
    }
    raw->i_file_acl_lo = (uint32_t)in->xattr_blk;
    raw->i_file_acl_high = (uint16_t)(in->xattr_blk >> 32);
    if (in->nxa && !in->xattr_blk)
        ext4_xattr_ibody_encode(in->xa, in->nxa, raw->i_xattr_space, sizeof(raw->i_xattr_space));
    ext4_inode_set_csum(raw, f->csum_seed, ino);
}

static int pwrite_all(ext4_writer *w, const void *buf, size_t n, uint64_t off, cb_err *err)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = pwrite(w->fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cb_error(err, errno, "write `%s`", w->path);
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int write_inode_tables(fin *f, cb_err *err)
{
    size_t per = f->ipg;
    struct ext4_inode *buf = xmalloc(per * sizeof(*buf));
    int r = 0;
    for (uint32_t g = 0; g < f->groups && r == 0; g++) {
        uint64_t first = (uint64_t)g * f->ipg + 1;
        if (first > f->ninodes)
            break;
        uint64_t cnt = f->ninodes - first + 1;
        if (cnt > per)
            cnt = per;
        for (uint64_t k = 0; k < cnt; k++) {
            uint32_t ino = (uint32_t)(first + k);
            encode_inode(f, ino, f->inodes[ino], &buf[k]);
        }
        size_t bytes = (size_t)cnt * EXT4_INODE_SIZE;
        bytes = (bytes + EXT4_BLOCK_SIZE - 1) & ~(size_t)(EXT4_BLOCK_SIZE - 1);
        if (bytes > cnt * EXT4_INODE_SIZE)
            memset((uint8_t *)buf + cnt * EXT4_INODE_SIZE, 0, bytes - cnt * EXT4_INODE_SIZE);
        r = pwrite_all(f->w, buf, bytes, f->it[g] * EXT4_BLOCK_SIZE, err);
    }
    free(buf);
    return r;
}

static inline void bm_set_range(uint8_t *bm, uint64_t s, uint64_t n)
{
    while (n && (s & 7)) {
        bm[s >> 3] |= (uint8_t)(1u << (s & 7));
        s++;
        n--;
    }
    if (n >= 8) {
        memset(bm + (s >> 3), 0xff, n >> 3);
        s += n & ~(uint64_t)7;
        n &= 7;
    }
    while (n) {
        bm[s >> 3] |= (uint8_t)(1u << (s & 7));
        s++;
        n--;
    }
}

/* Long: bitmaps, group descriptors and superblock copies are written per flex group in the
 * on-disk order, with their checksums computed from the same counters. */
static int write_bitmaps_gdt_sb(fin *f, cb_err *err)
{
    ext4_writer *w = f->w;
    uint64_t gbytes = (uint64_t)f->groups * EXT4_BLOCKS_PER_GROUP / 8;
    uint8_t *bm = xcalloc(1, gbytes);
    for (uint32_t g = 0; g < f->groups; g++)
        if (ext4_group_has_super(g))
            bm_set_range(bm, (uint64_t)g * EXT4_BLOCKS_PER_GROUP, 1 + f->gdtb);
    for (size_t i = 0; i < w->nused; i++)
        bm_set_range(bm, w->used[i].pblk, w->used[i].len);
    for (uint32_t g = 0; g < f->groups; g++) {
        bm_set_range(bm, f->bb[g], 1);
        bm_set_range(bm, f->ib[g], 1);
        bm_set_range(bm, f->it[g], f->ipg * EXT4_INODE_SIZE / EXT4_BLOCK_SIZE);
    }
    for (uint32_t ino = 1; ino <= f->ninodes; ino++) {
        winode *in = f->inodes[ino];
        if (!in || !(S_ISREG(in->mode) || S_ISDIR(in->mode) || S_ISLNK(in->mode)))
            continue;
        const wextent *x = winode_extents(in);
        for (uint32_t i = 0; i < in->next; i++)
            bm_set_range(bm, x[i].pblk, x[i].len);
    }
    uint64_t end = (uint64_t)f->groups * EXT4_BLOCKS_PER_GROUP;
    if (f->total < end)
        bm_set_range(bm, f->total, end - f->total);

    struct ext4_group_desc *gd = xcalloc(f->gdtb * EXT4_BLOCK_SIZE / EXT4_DESC_SIZE, sizeof(*gd));
    uint8_t *ibm = xmalloc(EXT4_BLOCK_SIZE);
    uint64_t free_total = 0, free_inodes_total = 0;
    int r = 0;
    for (uint32_t g = 0; g < f->groups && r == 0; g++) {
        uint8_t *gb = bm + (uint64_t)g * EXT4_BLOCKS_PER_GROUP / 8;
        uint64_t used = 0;
        for (size_t k = 0; k < EXT4_BLOCKS_PER_GROUP / 64; k++) {
            uint64_t v;
            memcpy(&v, gb + k * 8, 8);
            used += (uint64_t)__builtin_popcountll(v);
        }
        uint32_t freeb = (uint32_t)(EXT4_BLOCKS_PER_GROUP - used);
        free_total += freeb;
        uint64_t first = (uint64_t)g * f->ipg + 1;
        uint32_t iused = first > f->ninodes ? 0 : (uint32_t)((f->ninodes - first + 1) > f->ipg ? f->ipg : f->ninodes - first + 1);
        memset(ibm, 0, EXT4_BLOCK_SIZE);
        bm_set_range(ibm, 0, iused);
        bm_set_range(ibm, f->ipg, EXT4_BLOCK_SIZE * 8 - f->ipg);
        uint32_t dirs = 0;
        for (uint32_t k = 0; k < iused; k++) {
            winode *in = f->inodes[first + k];
            if (in && S_ISDIR(in->mode))
                dirs++;
        }
        free_inodes_total += f->ipg - iused;
        struct ext4_group_desc *d = &gd[g];
        d->bg_block_bitmap_lo = (uint32_t)f->bb[g];
        d->bg_block_bitmap_hi = (uint32_t)(f->bb[g] >> 32);
        d->bg_inode_bitmap_lo = (uint32_t)f->ib[g];
        d->bg_inode_bitmap_hi = (uint32_t)(f->ib[g] >> 32);
        d->bg_inode_table_lo = (uint32_t)f->it[g];
        d->bg_inode_table_hi = (uint32_t)(f->it[g] >> 32);
        d->bg_free_blocks_count_lo = (uint16_t)freeb;
        d->bg_free_blocks_count_hi = (uint16_t)(freeb >> 16);
        d->bg_free_inodes_count_lo = (uint16_t)(f->ipg - iused);
        d->bg_free_inodes_count_hi = (uint16_t)((f->ipg - iused) >> 16);
        d->bg_used_dirs_count_lo = (uint16_t)dirs;
        d->bg_used_dirs_count_hi = (uint16_t)(dirs >> 16);
        d->bg_itable_unused_lo = (uint16_t)(f->ipg - iused);
        d->bg_itable_unused_hi = (uint16_t)((f->ipg - iused) >> 16);
        d->bg_flags = EXT4_BG_INODE_ZEROED | (iused ? 0 : EXT4_BG_INODE_UNINIT);
        uint32_t bc = ext4_crc32c(f->csum_seed, gb, EXT4_BLOCKS_PER_GROUP / 8);
        d->bg_block_bitmap_csum_lo = (uint16_t)bc;
        d->bg_block_bitmap_csum_hi = (uint16_t)(bc >> 16);
        uint32_t ic = ext4_crc32c(f->csum_seed, ibm, f->ipg / 8);
        d->bg_inode_bitmap_csum_lo = (uint16_t)ic;
        d->bg_inode_bitmap_csum_hi = (uint16_t)(ic >> 16);
        d->bg_checksum = 0;
        uint32_t c = ext4_crc32c(f->csum_seed, &g, 4);
        c = ext4_crc32c(c, d, EXT4_DESC_SIZE);
        d->bg_checksum = (uint16_t)c;
        r = ext4_w_write_blocks(w, f->bb[g], gb, 1, err);
        if (r == 0)
            r = ext4_w_write_blocks(w, f->ib[g], ibm, 1, err);
    }
    free(ibm);
    if (r == 0)
        r = ext4_w_flush(w, err);

    struct ext4_super_block sb;
    memset(&sb, 0, sizeof(sb));
    sb.s_inodes_count = f->ipg * f->groups;
    sb.s_blocks_count_lo = (uint32_t)f->total;
    sb.s_blocks_count_hi = (uint32_t)(f->total >> 32);
    sb.s_free_blocks_count_lo = (uint32_t)free_total;
    sb.s_free_blocks_count_hi = (uint32_t)(free_total >> 32);
    sb.s_free_inodes_count = (uint32_t)free_inodes_total;
    sb.s_first_data_block = 0;
    sb.s_log_block_size = EXT4_BLOCK_BITS - 10;
    sb.s_log_cluster_size = EXT4_BLOCK_BITS - 10;
    sb.s_blocks_per_group = EXT4_BLOCKS_PER_GROUP;
    sb.s_clusters_per_group = EXT4_BLOCKS_PER_GROUP;
    sb.s_inodes_per_group = f->ipg;
    sb.s_wtime = f->t;
    sb.s_max_mnt_count = -1;
    sb.s_magic = EXT4_SUPER_MAGIC;
    sb.s_state = 1;  /* clean */
    sb.s_errors = 1; /* continue */
    sb.s_lastcheck = f->t;
    sb.s_rev_level = 1;
    sb.s_first_ino = EXT4_FIRST_INO;
    sb.s_inode_size = EXT4_INODE_SIZE;
    sb.s_feature_compat = EXT4_FEATURE_COMPAT_HAS_JOURNAL | EXT4_FEATURE_COMPAT_EXT_ATTR | EXT4_FEATURE_COMPAT_DIR_INDEX;
    sb.s_feature_incompat = EXT4_FEATURE_INCOMPAT_FILETYPE | EXT4_FEATURE_INCOMPAT_EXTENTS |
                            EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG;
    sb.s_feature_ro_compat = EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT4_FEATURE_RO_COMPAT_LARGE_FILE |
                             EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
                             EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
    memcpy(sb.s_uuid, f->uuid, 16);
    if (w->o.label)
        memcpy(sb.s_volume_name, w->o.label, strlen(w->o.label));
    sb.s_journal_inum = EXT4_JOURNAL_INO;
    memcpy(sb.s_hash_seed, f->hash_seed, 16);
    sb.s_def_hash_version = DX_HASH_HALF_MD4;
    sb.s_jnl_backup_type = 1; /* EXT3_JNL_BACKUP_BLOCKS */
    sb.s_desc_size = EXT4_DESC_SIZE;
    sb.s_default_mount_opts = EXT4_DEFM_XATTR_USER | EXT4_DEFM_ACL;
    sb.s_mkfs_time = f->t;
    memcpy(sb.s_jnl_blocks, f->journal.iblock, 60);
    sb.s_jnl_blocks[15] = (uint32_t)(f->journal.size >> 32);
    sb.s_jnl_blocks[16] = (uint32_t)f->journal.size;
    sb.s_min_extra_isize = EXT4_EXTRA_ISIZE;
    sb.s_want_extra_isize = EXT4_EXTRA_ISIZE;
    sb.s_flags = EXT4_FLAGS_SIGNED_HASH;
    sb.s_log_groups_per_flex = EXT4_LOG_GROUPS_PER_FLEX;
    sb.s_checksum_type = 1; /* crc32c */
    for (uint32_t g = 0; g < f->groups && r == 0; g++) {
        if (!ext4_group_has_super(g))
            continue;
        uint64_t gstart = (uint64_t)g * EXT4_BLOCKS_PER_GROUP;
        sb.s_block_group_nr = (uint16_t)g;
        sb.s_checksum = ext4_crc32c(~0u, &sb, offsetof(struct ext4_super_block, s_checksum));
        r = pwrite_all(w, &sb, sizeof(sb), g == 0 ? 1024 : gstart * EXT4_BLOCK_SIZE, err);
        if (r == 0)
            r = pwrite_all(w, gd, f->gdtb * EXT4_BLOCK_SIZE, (gstart + 1) * EXT4_BLOCK_SIZE, err);
    }
    free(gd);
    free(bm);
    return r;
}

int ext4_writer_finish(ext4_writer *w, cb_err *err)
{
    if (w->finished)
        return cb_fail(err, "%s: writer already finished", w->path);
    fin f;
    memset(&f, 0, sizeof(f));
    f.w = w;
    f.t = w->o.source_date_epoch >= 0 ? (uint32_t)w->o.source_date_epoch : 0;
    int r = 0;
    /* e2fsck wants /lost+found; an opaque root or the input may have removed it */
    wnode *lf = ext4_w_lookup(w, w->iroot, "lost+found", 10);
    if (lf && !S_ISDIR(lf->in->mode)) {
        r = cb_fail(err, "%s: the input puts a non-directory at /lost+found, which ext4 reserves", w->path);
        goto out;
    }
    if (!lf)
        ext4_w_mknode(w, w->iroot, "lost+found", S_IFDIR | 0700);
    derive_ids(&f);
    if ((r = number_inodes(&f, err)) < 0)
        goto out;
    if ((r = write_dirs(&f, err)) < 0)
        goto out;
    if ((r = write_xattr_blocks(&f, err)) < 0)
        goto out;
    if ((r = build_trees(&f, err)) < 0)
        goto out;
    uint64_t est = w->size_blocks ? w->size_blocks
                                  : w->cursor + w->o.extra_free_space / EXT4_BLOCK_SIZE + f.ninodes / 16;
    if ((r = make_journal(&f, est, err)) < 0)
        goto out;
    if ((r = layout(&f, err)) < 0)
        goto out;
    if ((r = ext4_w_flush(w, err)) < 0)
        goto out;
    if ((r = write_inode_tables(&f, err)) < 0)
        goto out;
    if ((r = write_bitmaps_gdt_sb(&f, err)) < 0)
        goto out;
    uint64_t file_size = w->o.size ? w->o.size : f.total * EXT4_BLOCK_SIZE;
    if (ftruncate(w->fd, (off_t)file_size) < 0) {
        r = cb_error(err, errno, "truncate `%s`", w->path);
        goto out;
    }
    if ((r = cb_atomic_commit(&w->af, err)) < 0)
        goto out;
    w->fd = -1;
    w->finished = true;
out:
    if (f.journal.capext > 1)
        free(f.journal.ext);
    free(f.inodes);
    free(f.dirs);
    free(f.bb);
    free(f.ib);
    free(f.it);
    return r;
}
