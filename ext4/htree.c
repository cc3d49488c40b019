/* Directory name hashes for dir_index (htree), as the kernel's fs/ext4/hash.c computes them.
 * Images set EXT2_FLAGS_SIGNED_HASH like mke2fs on x86, so names are hashed with signed
 * chars; e2fsck and the kernel then agree with us. */
#include "wtree.h"

#include <errno.h>
#include <stdlib.h>

#define DELTA 0x9E3779B9u

static inline uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> (32 - s)); }

static void tea_transform(uint32_t buf[4], const uint32_t in[4])
{
    uint32_t sum = 0, b0 = buf[0], b1 = buf[1];
    uint32_t a = in[0], b = in[1], c = in[2], d = in[3];
    int n = 16;
    do {
        sum += DELTA;
        b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b);
        b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d);
    } while (--n);
    buf[0] += b0;
    buf[1] += b1;
}

#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) (((x) & (y)) + (((x) ^ (y)) & (z)))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define ROUND(f, a, b, c, d, x, s) (a += f(b, c, d) + (x), a = rol32(a, s))
#define K1 0u
#define K2 013240474631u
#define K3 015666365641u

static void half_md4_transform(uint32_t buf[4], const uint32_t in[8])
{
    uint32_t a = buf[0], b = buf[1], c = buf[2], d = buf[3];
    ROUND(F, a, b, c, d, in[0] + K1, 3);
    ROUND(F, d, a, b, c, in[1] + K1, 7);
    ROUND(F, c, d, a, b, in[2] + K1, 11);
    ROUND(F, b, c, d, a, in[3] + K1, 19);
    ROUND(F, a, b, c, d, in[4] + K1, 3);
    ROUND(F, d, a, b, c, in[5] + K1, 7);
    ROUND(F, c, d, a, b, in[6] + K1, 11);
    ROUND(F, b, c, d, a, in[7] + K1, 19);
    ROUND(G, a, b, c, d, in[1] + K2, 3);
    ROUND(G, d, a, b, c, in[3] + K2, 5);
    ROUND(G, c, d, a, b, in[5] + K2, 9);
    ROUND(G, b, c, d, a, in[7] + K2, 13);
    ROUND(G, a, b, c, d, in[0] + K2, 3);
    ROUND(G, d, a, b, c, in[2] + K2, 5);
    ROUND(G, c, d, a, b, in[4] + K2, 9);
    ROUND(G, b, c, d, a, in[6] + K2, 13);
    ROUND(H, a, b, c, d, in[3] + K3, 3);
    ROUND(H, d, a, b, c, in[7] + K3, 9);
    ROUND(H, c, d, a, b, in[2] + K3, 11);
    ROUND(H, b, c, d, a, in[6] + K3, 15);
    ROUND(H, a, b, c, d, in[1] + K3, 3);
    ROUND(H, d, a, b, c, in[5] + K3, 9);
    ROUND(H, c, d, a, b, in[0] + K3, 11);
    ROUND(H, b, c, d, a, in[4] + K3, 15);
    buf[0] += a;
    buf[1] += b;
    buf[2] += c;
    buf[3] += d;
}

static uint32_t dx_hack_hash(const char *name, size_t len, bool sign)
{
    uint32_t hash, hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
    while (len--) {
        int c = sign ? (int)(signed char)*name : (int)(unsigned char)*name;
        name++;
        hash = hash1 + (hash0 ^ (uint32_t)(c * 7152373));
        if (hash & 0x80000000u)
            hash -= 0x7fffffff;
        hash1 = hash0;
        hash0 = hash;
    }
    return hash0 << 1;
}

static void str2hashbuf(const char *msg, size_t len, uint32_t *buf, int num, bool sign)
{
    uint32_t pad = (uint32_t)len | ((uint32_t)len << 8);
    pad |= pad << 16;
    uint32_t val = pad;
    if (len > (size_t)num * 4)
        len = (size_t)num * 4;
    for (size_t i = 0; i < len; i++) {
        int c = sign ? (int)(signed char)msg[i] : (int)(unsigned char)msg[i];
        val = (uint32_t)c + (val << 8);
        if ((i % 4) == 3) {
            *buf++ = val;
            val = pad;
            num--;
        }
    }
    if (--num >= 0)
        *buf++ = val;
    while (--num >= 0)
        *buf++ = pad;
}

void ext4_dirhash(int version, const uint32_t seed[4], const char *name, size_t len,
                  uint32_t *hash_out, uint32_t *minor_out)
{
    uint32_t buf[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    uint32_t in[8], hash = 0, minor = 0;
    if (seed && (seed[0] | seed[1] | seed[2] | seed[3]))
        memcpy(buf, seed, sizeof(buf));
    bool sign = version < DX_HASH_LEGACY_UNSIGNED;
    const char *p = name;
    ssize_t left = (ssize_t)len;
    switch (version) {
    case DX_HASH_LEGACY:
    case DX_HASH_LEGACY_UNSIGNED:
        hash = dx_hack_hash(name, len, sign);
        break;
    case DX_HASH_HALF_MD4:
    case DX_HASH_HALF_MD4_UNSIGNED:
        while (left > 0) {
            str2hashbuf(p, (size_t)left, in, 8, sign);
            half_md4_transform(buf, in);
            left -= 32;
            p += 32;
        }
        minor = buf[2];
        hash = buf[1];
        break;
    case DX_HASH_TEA:
    case DX_HASH_TEA_UNSIGNED:
    default:
        while (left > 0) {
            str2hashbuf(p, (size_t)left, in, 4, sign);
            tea_transform(buf, in);
            left -= 16;
            p += 16;
        }
        hash = buf[0];
        minor = buf[1];
        break;
    }
    hash &= ~1u;
    if (hash == (0x7fffffffu << 1))
        hash = (0x7fffffffu - 1) << 1;
    *hash_out = hash;
    if (minor_out)
        *minor_out = minor;
}

/* ------------------------------------------------------------------ directory blocks */

#define DIR_TAIL_OFF (EXT4_BLOCK_SIZE - sizeof(struct ext4_dir_entry_tail))
#define DX_ROOT_LIMIT ((EXT4_BLOCK_SIZE - 32 - sizeof(struct dx_tail)) / sizeof(struct dx_entry))
#define DX_NODE_LIMIT ((EXT4_BLOCK_SIZE - 8 - sizeof(struct dx_tail)) / sizeof(struct dx_entry))

static inline size_t dirent_len(size_t namelen) { return (8 + namelen + 3) & ~(size_t)3; }

static void put_dirent(uint8_t *p, uint32_t ino, size_t rl, const char *name, size_t nl, unsigned ft)
{
    struct ext4_dir_entry_2 *d = (struct ext4_dir_entry_2 *)p;
    d->inode = ino;
    d->rec_len = (uint16_t)rl;
    d->name_len = (uint8_t)nl;
    d->file_type = (uint8_t)ft;
    memcpy(d->name, name, nl);
}

static void leaf_tail(uint8_t *blk, uint32_t seed)
{
    struct ext4_dir_entry_tail *t = (struct ext4_dir_entry_tail *)(blk + DIR_TAIL_OFF);
    t->det_reserved_zero1 = 0;
    t->det_rec_len = sizeof(*t);
    t->det_reserved_zero2 = 0;
    t->det_reserved_ft = EXT4_DIR_TAIL_FT;
    t->det_checksum = ext4_crc32c(seed, blk, DIR_TAIL_OFF);
}

static void dx_csum(uint8_t *blk, size_t count_off, unsigned count, unsigned limit, uint32_t seed)
{
    struct dx_tail *t = (struct dx_tail *)(blk + count_off + limit * sizeof(struct dx_entry));
    t->dt_reserved = 0;
    t->dt_checksum = 0;
    uint32_t c = ext4_crc32c(seed, blk, count_off + count * sizeof(struct dx_entry));
    c = ext4_crc32c(c, t, sizeof(*t));
    t->dt_checksum = c;
}

typedef struct dent {
    uint32_t hash, minor;
    const wnode *n;
} dent;

static int dent_cmp(const void *a, const void *b)
{
    const dent *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->minor != y->minor)
        return x->minor < y->minor ? -1 : 1;
    size_t l = x->n->namelen < y->n->namelen ? x->n->namelen : y->n->namelen;
    int c = memcmp(x->n->name, y->n->name, l);
    return c ? c : (int)x->n->namelen - (int)y->n->namelen;
}

static void dx_entries_fill(uint8_t *blk, size_t count_off, unsigned limit, const uint32_t *hashes,
                            const uint32_t *blocks, unsigned count)
{
    struct dx_countlimit *cl = (struct dx_countlimit *)(blk + count_off);
    cl->limit = (uint16_t)limit;
    cl->count = (uint16_t)count;
    struct dx_entry *e = (struct dx_entry *)(blk + count_off);
    e[0].block = blocks[0];
    for (unsigned i = 1; i < count; i++) {
        e[i].hash = hashes[i];
        e[i].block = blocks[i];
    }
}

/* Build a directory's blocks into out (whole blocks). One linear block when everything
 * fits, otherwise an htree: root, optional second index level, leaves sorted by hash. */
int ext4_dir_build(const wnode *dir, uint32_t self, uint32_t parent, uint32_t seed, const uint32_t hseed[4],
                   int hver, cb_buf *out, bool *indexed, cb_err *err)
{
    size_t need = dirent_len(1) + dirent_len(2);
    for (const wnode *c = dir->first; c; c = c->next)
        need += dirent_len(c->namelen);
    cb_buf_reset(out);
    if (need <= DIR_TAIL_OFF) {
        *indexed = false;
        cb_buf_reserve(out, EXT4_BLOCK_SIZE);
        uint8_t *blk = (uint8_t *)out->data;
        memset(blk, 0, EXT4_BLOCK_SIZE);
        size_t o = 0;
        put_dirent(blk, self, 12, ".", 1, EXT4_FT_DIR);
        o = 12;
        size_t dd = dir->first ? 12 : DIR_TAIL_OFF - 12;
        put_dirent(blk + o, parent, dd, "..", 2, EXT4_FT_DIR);
        o += 12;
        for (const wnode *c = dir->first; c; c = c->next) {
            size_t rl = c->next ? dirent_len(c->namelen) : DIR_TAIL_OFF - o;
            put_dirent(blk + o, c->in->ino, rl, c->name, c->namelen, ext4_mode_to_ft(c->in->mode));
            o += rl;
        }
        leaf_tail(blk, seed);
        out->len = EXT4_BLOCK_SIZE;
        return 0;
    }
    *indexed = true;
    size_t n = dir->nchildren;
    dent *d = xmalloc(n * sizeof(*d));
    size_t k = 0;
    for (const wnode *c = dir->first; c; c = c->next, k++) {
        d[k].n = c;
        ext4_dirhash(hver, hseed, c->name, c->namelen, &d[k].hash, &d[k].minor);
    }
    qsort(d, n, sizeof(*d), dent_cmp);
    /* leaves: first entry index of each */
    size_t capl = 64, nl = 0;
    size_t *lstart = xmalloc(capl * sizeof(*lstart));
    size_t used = DIR_TAIL_OFF;
    for (size_t i = 0; i < n; i++) {
        size_t rl = dirent_len(d[i].n->namelen);
        if (used + rl > DIR_TAIL_OFF) {
            if (nl == capl) {
                capl *= 2;
                lstart = xrealloc(lstart, capl * sizeof(*lstart));
            }
            lstart[nl++] = i;
            used = 0;
        }
        used += rl;
    }
    size_t nodes = 0;
    if (nl > DX_ROOT_LIMIT) {
        nodes = (nl + DX_NODE_LIMIT - 1) / DX_NODE_LIMIT;
        if (nodes > DX_ROOT_LIMIT) {
            free(d);
            free(lstart);
            return cb_failc(err, EFBIG, "directory with %zu entries is too large for a two-level htree", n);
        }
    }
    size_t nblocks = 1 + nodes + nl;
    cb_buf_reserve(out, nblocks * EXT4_BLOCK_SIZE);
    memset(out->data, 0, nblocks * EXT4_BLOCK_SIZE);
    out->len = nblocks * EXT4_BLOCK_SIZE;
    uint8_t *base = (uint8_t *)out->data;
    uint32_t *lhash = xmalloc(nl * sizeof(uint32_t));
    uint32_t *lblock = xmalloc(nl * sizeof(uint32_t));
    for (size_t l = 0; l < nl; l++) {
        size_t s = lstart[l], e = l + 1 < nl ? lstart[l + 1] : n;
        uint8_t *blk = base + (1 + nodes + l) * EXT4_BLOCK_SIZE;
        size_t o = 0;
        for (size_t i = s; i < e; i++) {
            size_t rl = i + 1 < e ? dirent_len(d[i].n->namelen) : DIR_TAIL_OFF - o;
            put_dirent(blk + o, d[i].n->in->ino, rl, d[i].n->name, d[i].n->namelen, ext4_mode_to_ft(d[i].n->in->mode));
            o += rl;
        }
        leaf_tail(blk, seed);
        lhash[l] = d[s].hash;
        if (l > 0 && d[s].hash == d[s - 1].hash)
            lhash[l] |= 1; /* hash collision continues from the previous leaf */
        lblock[l] = (uint32_t)(1 + nodes + l);
    }
    uint8_t *root = base;
    put_dirent(root, self, 12, ".", 1, EXT4_FT_DIR);
    put_dirent(root + 12, parent, EXT4_BLOCK_SIZE - 12, "..", 2, EXT4_FT_DIR);
    struct dx_root_info *info = (struct dx_root_info *)(root + 24);
    info->hash_version = (uint8_t)hver;
    info->info_length = 8;
    info->indirect_levels = nodes ? 1 : 0;
    if (!nodes) {
        dx_entries_fill(root, 32, DX_ROOT_LIMIT, lhash, lblock, (unsigned)nl);
        dx_csum(root, 32, (unsigned)nl, DX_ROOT_LIMIT, seed);
    } else {
        uint32_t *nhash = xmalloc(nodes * sizeof(uint32_t));
        uint32_t *nblock = xmalloc(nodes * sizeof(uint32_t));
        for (size_t m = 0; m < nodes; m++) {
            uint8_t *blk = base + (1 + m) * EXT4_BLOCK_SIZE;
            struct ext4_dir_entry_2 *fake = (struct ext4_dir_entry_2 *)blk;
            fake->inode = 0;
            fake->rec_len = EXT4_BLOCK_SIZE;
            size_t s = m * DX_NODE_LIMIT, cnt = nl - s < DX_NODE_LIMIT ? nl - s : DX_NODE_LIMIT;
            dx_entries_fill(blk, 8, DX_NODE_LIMIT, lhash + s, lblock + s, (unsigned)cnt);
            dx_csum(blk, 8, (unsigned)cnt, DX_NODE_LIMIT, seed);
            nhash[m] = lhash[s];
            nblock[m] = (uint32_t)(1 + m);
        }
        dx_entries_fill(root, 32, DX_ROOT_LIMIT, nhash, nblock, (unsigned)nodes);
        dx_csum(root, 32, (unsigned)nodes, DX_ROOT_LIMIT, seed);
        free(nhash);
        free(nblock);
    }
    free(lhash);
    free(lblock);
    free(lstart);
    free(d);
    return 0;
}
