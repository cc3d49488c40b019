/* Reader state, shared by reader.c and export.c. Internal. */
#ifndef CB_EXT4_READER_H
#define CB_EXT4_READER_H

#include "internal.h"

struct ext4_reader {
    int fd;
    char *path;
    struct ext4_super_block sb;
    uint32_t bs, ipg, inode_size, desc_size, groups, ninodes;
    uint64_t blocks;
    bool is64;
    uint8_t *gdt;
    uint8_t *buf; /* one block of scratch for extent walks */
};

int ext4_reader_inode(ext4_reader *r, uint32_t ino, struct ext4_inode *raw, cb_err *err);
int ext4_reader_read_block(ext4_reader *r, uint64_t blk, void *buf, cb_err *err);
uint64_t ext4_inode_size(const struct ext4_inode *in);
int ext4_reader_check_size(ext4_reader *r, uint32_t ino, uint64_t size, cb_err *err);
int ext4_reader_map(ext4_reader *r, const struct ext4_inode *in, uint64_t lblk, uint64_t *pblk, uint64_t *run,
                    bool *unwritten, cb_err *err);
ssize_t ext4_reader_pread_raw(ext4_reader *r, const struct ext4_inode *in, void *buf, size_t n, uint64_t off, cb_err *err);

#endif
