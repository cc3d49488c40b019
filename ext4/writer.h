/* Writer state shared by writer.c (entries, data), finish.c (layout at the end), tar.c and
 * hostdir.c (inputs). Internal. */
#ifndef CB_EXT4_WRITER_H
#define CB_EXT4_WRITER_H

#include "wtree.h"

#define EXT4_READ_CHUNK (1u << 20)
#define EXT4_MAX_FILE_SIZE ((uint64_t)0xFFFFFFFFu * EXT4_BLOCK_SIZE)

struct ext4_writer {
    int fd;                /* af.fd until finish commits */
    cb_atomic_file af;
    char *path;
    bool finished;
    ext4_options o;
    uint64_t size_blocks;  /* 0 = automatic */
    uint32_t gdt_reserve;  /* blocks kept after each superblock copy for the GDT */
    uint64_t cursor;       /* next block to allocate */
    /* write combining */
    uint8_t *wbuf;
    size_t wlen;
    uint64_t wstart;
    uint8_t *rbuf;         /* read chunk for fd input */
    uint8_t *sinkbuf;      /* partial block of the file being written */
    /* tree */
    wnode *iroot;          /* image root */
    wnode *root;           /* tree root (root_subdir or the image root) */
    wnode *lost_found_hint;
    wnode **ht;
    size_t htcap, htused, htlive;
    uint32_t gen;
    uint64_t ninodes_alloc;
    char *scratch_name;
    cb_sha256 *digest;
    /* finish: block ranges in use besides inode data (wextent.lblk unused) */
    wextent *used;
    size_t nused, capused;
};

typedef struct ext4_sink {
    winode *in;
    uint8_t *blk;
    uint64_t cur;
    bool dirty;
} ext4_sink;

/* Start a regular file (placing it in the tree); then stream its bytes with sink_write at
 * increasing or sparse offsets and end with sink_finish(size). */
int ext4_writer_begin_file(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs, size_t nxattrs,
                           ext4_sink *s, cb_err *err);
int ext4_sink_write(ext4_writer *w, ext4_sink *s, uint64_t off, const void *data, size_t len, cb_err *err);
int ext4_sink_finish(ext4_writer *w, ext4_sink *s, uint64_t size, cb_err *err);
/* Entries from now on belong to a new layer (opaque whiteouts spare the current layer). */
void ext4_writer_next_layer(ext4_writer *w);

/* writer.c helpers used by finish.c */
int ext4_w_alloc_run(ext4_writer *w, uint64_t want, uint64_t *start, uint64_t *got, cb_err *err);
int ext4_w_alloc_contig(ext4_writer *w, uint64_t n, uint64_t *start, cb_err *err);
int ext4_w_write_blocks(ext4_writer *w, uint64_t pblk, const void *data, size_t nblocks, cb_err *err);
int ext4_w_flush(ext4_writer *w, cb_err *err);
void ext4_w_used_add(ext4_writer *w, uint64_t start, uint64_t len);
void ext4_w_extent_add(winode *in, uint32_t lblk, uint64_t pblk, uint32_t len);
bool ext4_group_has_super(uint64_t g);
wnode *ext4_w_lookup(ext4_writer *w, wnode *parent, const char *name, size_t len);
wnode *ext4_w_mknode(ext4_writer *w, wnode *parent, const char *name, mode_t mode);

/* extent.c: fill in->iblock and write tree blocks when more than 4 extents */
int ext4_extent_tree_build(ext4_writer *w, winode *in, uint32_t csum_seed, cb_err *err);
/* htree.c: a directory's blocks (linear or htree) */
int ext4_dir_build(const wnode *dir, uint32_t self, uint32_t parent, uint32_t seed, const uint32_t hseed[4],
                   int hver, cb_buf *out, bool *indexed, cb_err *err);

#endif
