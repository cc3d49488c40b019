/* Extended attributes: name prefixes to indexes, in-inode and block encodings (fs/ext4/
 * xattr.c), and POSIX ACLs between the VFS xattr form (version 2, 8-byte entries) and
 * ext4's compact on-disk form (version 1, 4-byte entries for the *_OBJ/MASK/OTHER tags). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static const struct {
    uint8_t index;
    const char *prefix;
} xattr_prefixes[] = {
    {2, "system.posix_acl_access"}, /* full names: suffix is empty */
    {3, "system.posix_acl_default"},
    {1, "user."},
    {4, "trusted."},
    {6, "security."},
    {7, "system."},
};

static const char *xattr_prefix_of(uint8_t index)
{
    for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++)
        if (xattr_prefixes[i].index == index)
            return xattr_prefixes[i].prefix;
    return NULL;
}

struct vfs_acl_entry {
    uint16_t tag, perm;
    uint32_t id;
} __attribute__((packed));

static int acl_vfs_to_disk(const void *v, size_t n, void **out, uint32_t *outn, const char *name, cb_err *err)
{
    if (n < 4 || (n - 4) % 8 != 0 || *(const uint32_t *)v != POSIX_ACL_XATTR_VERSION)
        return cb_fail(err, "xattr %s: not a POSIX ACL in the xattr format (version 2)", name);
    size_t cnt = (n - 4) / 8;
    uint8_t *d = xmalloc(4 + cnt * 8);
    uint32_t ver = EXT4_ACL_VERSION;
    memcpy(d, &ver, 4);
    size_t o = 4;
    const struct vfs_acl_entry *e = (const void *)((const uint8_t *)v + 4);
    for (size_t i = 0; i < cnt; i++) {
        struct vfs_acl_entry x;
        memcpy(&x, &e[i], sizeof(x));
        switch (x.tag) {
        case ACL_USER_OBJ: case ACL_GROUP_OBJ: case ACL_MASK: case ACL_OTHER:
            memcpy(d + o, &x.tag, 2);
            memcpy(d + o + 2, &x.perm, 2);
            o += 4;
            break;
        case ACL_USER: case ACL_GROUP:
            memcpy(d + o, &x, 8);
            o += 8;
            break;
        default:
            free(d);
            return cb_fail(err, "xattr %s: unknown ACL tag 0x%x", name, x.tag);
        }
    }
    *out = d;
    *outn = (uint32_t)o;
    return 0;
}

static int acl_disk_to_vfs(const uint8_t *v, size_t n, void **out, size_t *outn)
{
    uint32_t ver;
    if (n < 4 || (memcpy(&ver, v, 4), ver != EXT4_ACL_VERSION))
        return -EINVAL;
    cb_buf b;
    cb_buf_init(&b);
    uint32_t vv = POSIX_ACL_XATTR_VERSION;
    cb_buf_append(&b, &vv, 4);
    size_t o = 4;
    while (o < n) {
        struct vfs_acl_entry x = {0, 0, 0xffffffffu};
        if (o + 4 > n)
            goto bad;
        memcpy(&x.tag, v + o, 2);
        memcpy(&x.perm, v + o + 2, 2);
        if (x.tag == ACL_USER || x.tag == ACL_GROUP) {
            if (o + 8 > n)
                goto bad;
            memcpy(&x.id, v + o + 4, 4);
            o += 8;
        } else {
            o += 4;
        }
        cb_buf_append(&b, &x, sizeof(x));
    }
    *outn = b.len;
    *out = cb_buf_steal(&b);
    return 0;
bad:
    cb_buf_free(&b);
    return -EINVAL;
}

int ext4_xattr_item_from(const ext4_xattr *x, ext4_xattr_item *out, cb_err *err)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(xattr_prefixes) / sizeof(xattr_prefixes[0]); i++) {
        const char *p = xattr_prefixes[i].prefix;
        size_t pl = strlen(p);
        if (strncmp(x->name, p, pl) != 0)
            continue;
        if (xattr_prefixes[i].index <= 3 && xattr_prefixes[i].index >= 2 && x->name[pl] != 0)
            continue;
        const char *suffix = x->name + pl;
        size_t sl = strlen(suffix);
        if (sl > 255)
            return cb_fail(err, "xattr name `%s` is longer than 255 bytes after its prefix", x->name);
        if (sl == 0 && xattr_prefixes[i].index != 2 && xattr_prefixes[i].index != 3)
            return cb_fail(err, "xattr name `%s` is only a namespace prefix", x->name);
        if (x->size > EXT4_BLOCK_SIZE - 32 - 16 - EXT4_XATTR_ROUND(sl) - 4)
            return cb_fail(err, "xattr `%s`: value of %zu bytes does not fit in one 4 KiB block", x->name, x->size);
        out->index = xattr_prefixes[i].index;
        out->name_len = (uint8_t)sl;
        out->name = xstrndup(suffix, sl);
        if (out->index == 2 || out->index == 3) {
            int r = acl_vfs_to_disk(x->value, x->size, &out->value, &out->size, x->name, err);
            if (r < 0) {
                free(out->name);
                out->name = NULL;
                return r;
            }
        } else {
            out->value = xmalloc(x->size ? x->size : 1);
            if (x->size)
                memcpy(out->value, x->value, x->size);
            out->size = (uint32_t)x->size;
        }
        return 0;
    }
    return cb_fail(err, "xattr `%s`: namespace not supported by ext4 (user., trusted., security., system.)", x->name);
}

void ext4_xattr_item_free(ext4_xattr_item *it)
{
    free(it->name);
    free(it->value);
    it->name = NULL;
    it->value = NULL;
}

static int xattr_cmp(const void *a, const void *b)
{
    const ext4_xattr_item *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return memcmp(x->name, y->name, x->name_len);
}

void ext4_xattr_sort(ext4_xattr_item *items, size_t n)
{
    qsort(items, n, sizeof(*items), xattr_cmp);
}

static size_t xattr_need(const ext4_xattr_item *items, size_t n)
{
    size_t s = 4; /* terminating zero word */
    for (size_t i = 0; i < n; i++)
        s += EXT4_XATTR_ENTRY_LEN(items[i].name_len) + EXT4_XATTR_ROUND(items[i].size);
    return s;
}

size_t ext4_xattr_ibody_need(const ext4_xattr_item *items, size_t n)
{
    return n ? 4 /* magic */ + xattr_need(items, n) : 0;
}

size_t ext4_xattr_block_need(const ext4_xattr_item *items, size_t n)
{
    return sizeof(struct ext4_xattr_header) + xattr_need(items, n);
}

static uint32_t xattr_hash_entry(const ext4_xattr_item *it)
{
    uint32_t hash = 0;
    for (size_t i = 0; i < it->name_len; i++)
        hash = (hash << 5) ^ (hash >> 27) ^ (uint8_t)it->name[i];
    size_t words = (it->size + 3) / 4;
    const uint8_t *v = it->value;
    for (size_t i = 0; i < words; i++) {
        uint32_t w = 0;
        size_t take = it->size - i * 4 < 4 ? it->size - i * 4 : 4;
        memcpy(&w, v + i * 4, take);
        hash = (hash << 16) ^ (hash >> 16) ^ w;
    }
    return hash;
}

/* Entries grow up from `first`, values down from `end`; value offsets are relative to
 * `base` (the first entry in the inode, the block start in a block). */
static void xattr_encode(const ext4_xattr_item *items, size_t n, uint8_t *first, uint8_t *base,
                         uint8_t *end, uint32_t *block_hash)
{
    uint8_t *e = first, *v = end;
    uint32_t bh = 0;
    for (size_t i = 0; i < n; i++) {
        struct ext4_xattr_entry *ent = (struct ext4_xattr_entry *)e;
        size_t vs = EXT4_XATTR_ROUND(items[i].size);
        v -= vs;
        memset(v, 0, vs);
        if (items[i].size)
            memcpy(v, items[i].value, items[i].size);
        ent->e_name_len = items[i].name_len;
        ent->e_name_index = items[i].index;
        ent->e_value_offs = items[i].size ? (uint16_t)(v - base) : 0;
        ent->e_value_inum = 0;
        ent->e_value_size = items[i].size;
        ent->e_hash = xattr_hash_entry(&items[i]);
        memcpy(ent->e_name, items[i].name, items[i].name_len);
        size_t el = EXT4_XATTR_ENTRY_LEN(items[i].name_len);
        memset(e + sizeof(*ent) + items[i].name_len, 0, el - sizeof(*ent) - items[i].name_len);
        bh = (bh << 16) ^ (bh >> 16) ^ ent->e_hash;
        e += el;
    }
    memset(e, 0, 4);
    if (block_hash)
        *block_hash = bh;
}

void ext4_xattr_ibody_encode(const ext4_xattr_item *items, size_t n, uint8_t *area, size_t size)
{
    memset(area, 0, size);
    if (!n)
        return;
    uint32_t magic = EXT4_XATTR_MAGIC;
    memcpy(area, &magic, 4);
    xattr_encode(items, n, area + 4, area + 4, area + size, NULL);
}

void ext4_xattr_block_encode(const ext4_xattr_item *items, size_t n, uint8_t *block)
{
    memset(block, 0, EXT4_BLOCK_SIZE);
    struct ext4_xattr_header *h = (struct ext4_xattr_header *)block;
    h->h_magic = EXT4_XATTR_MAGIC;
    h->h_refcount = 1;
    h->h_blocks = 1;
    uint32_t bh;
    xattr_encode(items, n, block + sizeof(*h), block, block + EXT4_BLOCK_SIZE, &bh);
    h->h_hash = bh;
}

void ext4_xattr_block_csum(uint8_t *block, uint32_t csum_seed, uint64_t blocknr)
{
    struct ext4_xattr_header *h = (struct ext4_xattr_header *)block;
    h->h_checksum = 0;
    uint32_t c = ext4_crc32c(csum_seed, &blocknr, 8);
    h->h_checksum = ext4_crc32c(c, block, EXT4_BLOCK_SIZE);
}

int ext4_xattr_decode(const uint8_t *entries, const uint8_t *end, const uint8_t *value_base,
                      size_t value_area, ext4_xattr_decode_fn fn, void *ctx, cb_err *err)
{
    const uint8_t *e = entries;
    while (e + 4 <= end && *(const uint32_t *)e != 0) {
        if (e + sizeof(struct ext4_xattr_entry) > end)
            return cb_fail(err, "corrupt xattr entry");
        const struct ext4_xattr_entry *ent = (const void *)e;
        size_t el = EXT4_XATTR_ENTRY_LEN(ent->e_name_len);
        if (e + el > end)
            return cb_fail(err, "corrupt xattr entry name");
        if (ent->e_value_inum)
            return cb_fail(err, "xattr values in separate inodes (ea_inode) are not supported");
        if ((size_t)ent->e_value_offs + ent->e_value_size > value_area)
            return cb_fail(err, "corrupt xattr value offset");
        const char *prefix = xattr_prefix_of(ent->e_name_index);
        if (!prefix) {
            e += el;
            continue;
        }
        char *name = xasprintf("%s%.*s", prefix, ent->e_name_len, ent->e_name);
        const uint8_t *val = value_base + ent->e_value_offs;
        int r;
        if (ent->e_name_index == 2 || ent->e_name_index == 3) {
            void *conv;
            size_t cn;
            if (acl_disk_to_vfs(val, ent->e_value_size, &conv, &cn) < 0) {
                r = cb_fail(err, "corrupt ACL in xattr %s", name);
                free(name);
                return r;
            }
            r = fn(ctx, name, conv, cn);
            free(conv);
        } else {
            r = fn(ctx, name, val, ent->e_value_size);
        }
        free(name);
        if (r)
            return r;
        e += el;
    }
    return 0;
}
