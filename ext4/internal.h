/* ext4/ internals shared by the writer, tar input, reader and export. Not installed. */
#ifndef CB_EXT4_INTERNAL_H
#define CB_EXT4_INTERNAL_H

#include "ext4.h"
#include "layout.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <string.h>

uint32_t ext4_crc32c(uint32_t crc, const void *data, size_t n);

/* htree.c: directory name hashes as fs/ext4/hash.c computes them */
void ext4_dirhash(int version, const uint32_t seed[4], const char *name, size_t len,
                  uint32_t *hash, uint32_t *minor);

/* xattr.c */
typedef struct ext4_xattr_item {
    uint8_t index;     /* name index (1 user, 2 acl access, 3 acl default, 4 trusted, 6 security, 7 system) */
    uint8_t name_len;
    char *name;        /* suffix after the prefix, not NUL-counted in name_len */
    void *value;       /* on-disk form (ACLs already converted) */
    uint32_t size;
} ext4_xattr_item;

/* Split a full name into index + suffix and convert ACL values to the on-disk form. */
int ext4_xattr_item_from(const ext4_xattr *x, ext4_xattr_item *out, cb_err *err);
void ext4_xattr_item_free(ext4_xattr_item *it);
/* Sort order the kernel expects in xattr blocks. */
void ext4_xattr_sort(ext4_xattr_item *items, size_t n);
/* Bytes needed in the in-inode area / in a block for these items. */
size_t ext4_xattr_ibody_need(const ext4_xattr_item *items, size_t n);
size_t ext4_xattr_block_need(const ext4_xattr_item *items, size_t n);
/* Encode into the inode's xattr space (after i_extra_isize); area is `size` bytes. */
void ext4_xattr_ibody_encode(const ext4_xattr_item *items, size_t n, uint8_t *area, size_t size);
/* Encode a full block (checksum filled by the caller via ext4_xattr_block_csum). */
void ext4_xattr_block_encode(const ext4_xattr_item *items, size_t n, uint8_t *block);
void ext4_xattr_block_csum(uint8_t *block, uint32_t csum_seed, uint64_t blocknr);
/* Decode: calls fn for each entry (name is the full name; value already in VFS form). */
typedef int (*ext4_xattr_decode_fn)(void *ctx, const char *name, const void *value, size_t size);
int ext4_xattr_decode(const uint8_t *entries, const uint8_t *end, const uint8_t *value_base,
                      size_t value_area, ext4_xattr_decode_fn fn, void *ctx, cb_err *err);

/* journal.c: fill the jbd2 superblock for an internal journal of `blocks` blocks. */
void ext4_journal_superblock(uint8_t block[EXT4_BLOCK_SIZE], uint32_t blocks, const uint8_t uuid[16]);
uint32_t ext4_journal_default_blocks(uint64_t fs_blocks);

/* inode timestamps */
static inline void ext4_time_encode(const struct timespec *ts, uint32_t *lo, uint32_t *extra)
{
    int64_t s = ts->tv_sec;
    *lo = (uint32_t)s;
    uint32_t epoch = (uint32_t)(((s - (int32_t)(uint32_t)s) >> 32) & 3);
    *extra = ((uint32_t)ts->tv_nsec << 2) | epoch;
}
static inline struct timespec ext4_time_decode(uint32_t lo, uint32_t extra)
{
    struct timespec ts;
    int64_t s = (int32_t)lo;
    if (extra & 3)
        s += (int64_t)(extra & 3) << 32;
    ts.tv_sec = s;
    ts.tv_nsec = extra >> 2;
    return ts;
}

static inline uint32_t ext4_inode_csum_seed(uint32_t fs_seed, uint32_t ino, uint32_t gen)
{
    uint32_t c = ext4_crc32c(fs_seed, &ino, 4);
    return ext4_crc32c(c, &gen, 4);
}
void ext4_inode_set_csum(struct ext4_inode *in, uint32_t fs_seed, uint32_t ino);

static inline unsigned ext4_mode_to_ft(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return EXT4_FT_REG_FILE;
    case S_IFDIR: return EXT4_FT_DIR;
    case S_IFCHR: return EXT4_FT_CHRDEV;
    case S_IFBLK: return EXT4_FT_BLKDEV;
    case S_IFIFO: return EXT4_FT_FIFO;
    case S_IFSOCK: return EXT4_FT_SOCK;
    case S_IFLNK: return EXT4_FT_SYMLINK;
    }
    return EXT4_FT_UNKNOWN;
}

/* Normalize a tar/user path into components inside the root: "" and "." dropped, ".."
 * pops (never above the root). Returns the number of components written to comp/lens
 * (max `max`), or -1 when a component is longer than 255 bytes, -2 when too deep. */
int ext4_path_split(const char *path, const char **comp, size_t *lens, int max);

#endif
