/* Extent trees: up to 4 extents live in the inode's i_block; more go to leaf blocks of 340
 * extents, indexed from the inode (up to 4 entries) through as many index levels as needed.
 * Every tree block ends with a crc32c tail seeded with the inode's checksum seed. */
#include "writer.h"

#define EXT_PER_BLOCK ((EXT4_BLOCK_SIZE - sizeof(struct ext4_extent_header)) / sizeof(struct ext4_extent))

static void tree_block_csum(uint8_t *blk, uint32_t seed)
{
    uint32_t off = (uint32_t)(sizeof(struct ext4_extent_header) + EXT_PER_BLOCK * sizeof(struct ext4_extent));
    uint32_t c = ext4_crc32c(seed, blk, off);
    memcpy(blk + off, &c, 4);
}

typedef struct { uint32_t lblk; uint64_t pblk; } child_ref;

/* Long: the tree is built bottom-up in one pass (leaves, then each index level, then the
 * inode's root), the levels sharing their block accounting. */
int ext4_extent_tree_build(ext4_writer *w, winode *in, uint32_t seed, cb_err *err)
{
    uint32_t n = in->next;
    wextent *ex = winode_extents(in);
    memset(in->iblock, 0, sizeof(in->iblock));
    struct ext4_extent_header *rh = (struct ext4_extent_header *)in->iblock;
    rh->eh_magic = EXT4_EXT_MAGIC;
    rh->eh_max = 4;
    in->ntree = 0;
    if (n <= 4) {
        rh->eh_entries = (uint16_t)n;
        struct ext4_extent *e = (struct ext4_extent *)(rh + 1);
        for (uint32_t i = 0; i < n; i++) {
            e[i].ee_block = ex[i].lblk;
            e[i].ee_len = (uint16_t)ex[i].len;
            e[i].ee_start_hi = (uint16_t)(ex[i].pblk >> 32);
            e[i].ee_start_lo = (uint32_t)ex[i].pblk;
        }
        return 0;
    }
    uint8_t blk[EXT4_BLOCK_SIZE];
    size_t nchild = (n + EXT_PER_BLOCK - 1) / EXT_PER_BLOCK;
    child_ref *kids = xmalloc(nchild * sizeof(*kids));
    /* leaves */
    for (size_t b = 0; b < nchild; b++) {
        memset(blk, 0, sizeof(blk));
        struct ext4_extent_header *h = (struct ext4_extent_header *)blk;
        h->eh_magic = EXT4_EXT_MAGIC;
        h->eh_max = EXT_PER_BLOCK;
        h->eh_depth = 0;
        struct ext4_extent *e = (struct ext4_extent *)(h + 1);
        size_t first = b * EXT_PER_BLOCK, cnt = n - first < EXT_PER_BLOCK ? n - first : EXT_PER_BLOCK;
        for (size_t i = 0; i < cnt; i++) {
            const wextent *x = &ex[first + i];
            e[i].ee_block = x->lblk;
            e[i].ee_len = (uint16_t)x->len;
            e[i].ee_start_hi = (uint16_t)(x->pblk >> 32);
            e[i].ee_start_lo = (uint32_t)x->pblk;
        }
        h->eh_entries = (uint16_t)cnt;
        tree_block_csum(blk, seed);
        uint64_t pb, got;
        int r = ext4_w_alloc_run(w, 1, &pb, &got, err);
        if (r == 0)
            r = ext4_w_write_blocks(w, pb, blk, 1, err);
        if (r < 0) {
            free(kids);
            return r;
        }
        ext4_w_used_add(w, pb, 1);
        in->ntree++;
        kids[b].lblk = ex[first].lblk;
        kids[b].pblk = pb;
    }
    uint16_t depth = 1;
    while (nchild > 4) {
        size_t nparent = (nchild + EXT_PER_BLOCK - 1) / EXT_PER_BLOCK;
        child_ref *up = xmalloc(nparent * sizeof(*up));
        for (size_t b = 0; b < nparent; b++) {
            memset(blk, 0, sizeof(blk));
            struct ext4_extent_header *h = (struct ext4_extent_header *)blk;
            h->eh_magic = EXT4_EXT_MAGIC;
            h->eh_max = EXT_PER_BLOCK;
            h->eh_depth = depth;
            struct ext4_extent_idx *ix = (struct ext4_extent_idx *)(h + 1);
            size_t first = b * EXT_PER_BLOCK, cnt = nchild - first < EXT_PER_BLOCK ? nchild - first : EXT_PER_BLOCK;
            for (size_t i = 0; i < cnt; i++) {
                ix[i].ei_block = kids[first + i].lblk;
                ix[i].ei_leaf_lo = (uint32_t)kids[first + i].pblk;
                ix[i].ei_leaf_hi = (uint16_t)(kids[first + i].pblk >> 32);
            }
            h->eh_entries = (uint16_t)cnt;
            tree_block_csum(blk, seed);
            uint64_t pb, got;
            int r = ext4_w_alloc_run(w, 1, &pb, &got, err);
            if (r == 0)
                r = ext4_w_write_blocks(w, pb, blk, 1, err);
            if (r < 0) {
                free(up);
                free(kids);
                return r;
            }
            ext4_w_used_add(w, pb, 1);
            in->ntree++;
            up[b].lblk = kids[first].lblk;
            up[b].pblk = pb;
        }
        free(kids);
        kids = up;
        nchild = nparent;
        depth++;
    }
    rh->eh_depth = depth;
    rh->eh_entries = (uint16_t)nchild;
    struct ext4_extent_idx *ix = (struct ext4_extent_idx *)(rh + 1);
    for (size_t i = 0; i < nchild; i++) {
        ix[i].ei_block = kids[i].lblk;
        ix[i].ei_leaf_lo = (uint32_t)kids[i].pblk;
        ix[i].ei_leaf_hi = (uint16_t)(kids[i].pblk >> 32);
    }
    free(kids);
    return 0;
}
