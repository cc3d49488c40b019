/* The internal jbd2 journal (inode 8): an empty, clean journal is a superblock followed by
 * zeroed blocks; s_start == 0 tells the kernel there is nothing to replay. */
#include "internal.h"

#include <endian.h>

uint32_t ext4_journal_default_blocks(uint64_t fs_blocks)
{
    /* e2fsprogs' ext2fs_default_journal_size(), with 1024 blocks as the floor so even tiny
     * images can be mounted read-write with a journal. */
    if (fs_blocks < 32768)
        return 1024;
    if (fs_blocks < 256 * 1024)
        return 4096;
    if (fs_blocks < 512 * 1024)
        return 8192;
    if (fs_blocks < 4096 * 1024)
        return 16384;
    if (fs_blocks < 8192 * 1024)
        return 32768;
    if (fs_blocks < 16384 * 1024)
        return 65536;
    if (fs_blocks < 32768 * 1024)
        return 131072;
    return 262144;
}

void ext4_journal_superblock(uint8_t block[EXT4_BLOCK_SIZE], uint32_t blocks, const uint8_t uuid[16])
{
    memset(block, 0, EXT4_BLOCK_SIZE);
    struct jbd2_superblock *j = (struct jbd2_superblock *)block;
    j->h_magic = htobe32(JBD2_MAGIC);
    j->h_blocktype = htobe32(JBD2_SUPERBLOCK_V2);
    j->s_blocksize = htobe32(EXT4_BLOCK_SIZE);
    j->s_maxlen = htobe32(blocks);
    j->s_first = htobe32(1);
    j->s_sequence = htobe32(1);
    j->s_start = 0;
    j->s_feature_incompat = htobe32(JBD2_FEATURE_INCOMPAT_64BIT | JBD2_FEATURE_INCOMPAT_CSUM_V3);
    memcpy(j->s_uuid, uuid, 16);
    j->s_nr_users = htobe32(1);
    j->s_checksum_type = JBD2_CRC32C_CHKSUM;
    j->s_checksum = 0;
    j->s_checksum = htobe32(ext4_crc32c(~0u, j, sizeof(*j)));
}
