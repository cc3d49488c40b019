/* The writer's in-memory metadata tree: only metadata is held, file contents go straight
 * to the image as they stream in. Internal to writer.c, tar.c and dir.c. */
#ifndef CB_EXT4_WTREE_H
#define CB_EXT4_WTREE_H

#include "internal.h"

typedef struct wextent {
    uint64_t pblk;
    uint32_t lblk;
    uint32_t len;
} wextent;

typedef struct winode {
    uint32_t ino;       /* assigned at finish */
    uint32_t refs;      /* tree nodes (names) pointing here */
    uint32_t mode;
    uint32_t uid, gid;
    uint32_t rmajor, rminor;
    uint32_t next, capext;
    uint32_t nxa;
    uint32_t subdirs;   /* finish: child directories */
    uint32_t ntree;     /* finish: extent tree blocks */
    uint32_t flags;     /* finish: i_flags */
    uint64_t size;
    uint64_t xattr_blk; /* finish */
    struct timespec at, mt, ct, crt;
    wextent *ext;       /* when capext > 1 */
    wextent ext1;       /* the common single extent, no allocation */
    char *link;         /* symlink target */
    ext4_xattr_item *xa;
    uint8_t iblock[60]; /* finish: extent root */
} winode;

typedef struct wnode {
    struct wnode *parent, *first, *last, *prev, *next;
    winode *in;
    uint32_t nchildren;
    uint32_t gen;       /* layer that placed this entry */
    uint8_t namelen;
    char name[];
} wnode;

static inline wextent *winode_extents(winode *in)
{
    return in->capext > 1 ? in->ext : &in->ext1;
}

#endif
