/* libFuzzer target for the reader: a RUN step is root inside its VM and can scribble on the
 * upper disk, so the host must survive any image. A small valid image is built once; each
 * input is a list of patches (u32 offset, u8 length, bytes) applied to its non-zero blocks
 * (superblock, descriptors, inode tables, directories, extent and xattr blocks, data); then
 * the image is opened, walked, read, and exported as a tar and as an OCI layer. */
#include "ext4.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char img[64];
static uint8_t *base;
static size_t base_size;
static uint32_t *blocks; /* non-zero 4 KiB blocks of the base image */
static size_t nblocks;

static void build_base(void)
{
    snprintf(img, sizeof img, "/tmp/ext4-imgfuzz-%d.img", (int)getpid());
    ext4_options o;
    ext4_options_init(&o);
    o.seed = "fuzz";
    o.mode = EXT4_MODE_OVERLAY;
    cb_err err = {0};
    ext4_writer *w;
    if (ext4_writer_new(img, &o, &w, &err) < 0)
        abort();
    char path[256], data[9000];
    memset(data, 'd', sizeof data);
    /* long names: 48 entries fill two directory blocks, so dir/ is an htree */
    for (int i = 0; i < 48; i++) {
        snprintf(path, sizeof path, "dir/file-%03d-%0140d", i, i);
        ext4_entry e = {.path = path, .mode = S_IFREG | 0644};
        ext4_xattr x = {"user.attr", "value", 5};
        /* a directory big enough for an htree; most files tiny, a few with extents (speed) */
        size_t len = i % 8 == 0 ? (size_t)(i * 137) % sizeof data : (size_t)(i % 7);
        if (ext4_writer_add_file_buf(w, &e, data, len, i % 3 ? NULL : &x, i % 3 ? 0 : 1, &err) < 0)
            abort();
    }
    ext4_entry l = {.path = "long-link", .mode = S_IFLNK | 0777};
    ext4_writer_add_symlink(w, &l, "a-target-long-enough-to-need-a-block-of-its-own-and-not-fit-inline", NULL, 0, &err);
    ext4_entry s = {.path = "short-link", .mode = S_IFLNK | 0777};
    ext4_writer_add_symlink(w, &s, "dir", NULL, 0, &err);
    ext4_writer_add_whiteout(w, "gone", &err);
    ext4_writer_add_whiteout(w, "dir/gone", &err);
    ext4_writer_set_opaque(w, "opq", &err);
    snprintf(path, sizeof path, "dir/file-%03d-%0140d", 7, 7);
    ext4_writer_add_hardlink(w, "hl", path, &err);
    ext4_entry big = {.path = "sparse", .mode = S_IFREG | 0644};
    ext4_writer_add_file_buf(w, &big, data, 100, NULL, 0, &err);
    if (ext4_writer_finish(w, &err) < 0)
        abort();
    ext4_writer_free(w);
    cb_buf b;
    cb_buf_init(&b);
    if (cb_read_file(img, &b, &err) < 0)
        abort();
    base_size = b.len;
    base = (uint8_t *)cb_buf_steal(&b);
    unlink(img);
    /* from here the image lives in memory (a memfd opened by path), patched in place per input */
    int mfd = memfd_create("ext4-imgfuzz", 0);
    if (mfd < 0 || pwrite(mfd, base, base_size, 0) != (ssize_t)base_size)
        abort();
    snprintf(img, sizeof img, "/proc/self/fd/%d", mfd);
    static const uint8_t zero[4096];
    blocks = malloc(sizeof(uint32_t) * (base_size / 4096 + 1));
    for (size_t i = 0; i < base_size / 4096; i++)
        if (memcmp(base + i * 4096, zero, 4096) != 0)
            blocks[nblocks++] = (uint32_t)i;
}

static int walk_cb(void *ctx, const char *path, const ext4_stat *st)
{
    (void)path;
    ext4_reader *r = ctx;
    cb_err err = {0};
    char buf[4096];
    if (S_ISREG(st->mode))
        ext4_reader_pread(r, st->ino, buf, sizeof buf, 0, &err);
    if (S_ISLNK(st->mode)) {
        char *t;
        if (ext4_reader_readlink(r, st->ino, &t, &err) == 0)
            free(t);
    }
    ext4_xattr *x;
    size_t n;
    if (ext4_reader_xattrs(r, st->ino, &x, &n, &err) == 0)
        ext4_xattrs_free(x, n);
    return 0;
}

static void restore(int fd, const uint8_t *data, size_t size)
{
    size_t p = 0;
    while (p + 5 <= size) {
        uint32_t off;
        memcpy(&off, data + p, 4);
        size_t len = data[p + 4];
        p += 5;
        if (len > size - p)
            len = size - p;
        size_t o = (size_t)blocks[(off >> 12) % nblocks] * 4096 + (off & 4095);
        if (o + len > base_size)
            len = base_size - o;
        if (pwrite(fd, base + o, len, (off_t)o) != (ssize_t)len)
            abort();
        p += len;
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        build_base();
    /* patch the image file in place and undo the patches afterwards: cheaper than rewriting it */
    int fd = open(img, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        abort();
    size_t p = 0;
    while (p + 5 <= size) {
        uint32_t off;
        memcpy(&off, data + p, 4);
        size_t len = data[p + 4];
        p += 5;
        if (len > size - p)
            len = size - p;
        size_t o = (size_t)blocks[(off >> 12) % nblocks] * 4096 + (off & 4095);
        if (o + len > base_size)
            len = base_size - o;
        if (pwrite(fd, data + p, len, (off_t)o) != (ssize_t)len)
            abort();
        p += len;
    }
    cb_err err = {0};
    ext4_reader *r;
    if (ext4_reader_open(img, &r, &err) < 0) {
        if (!err.msg[0])
            abort();
        restore(fd, data, size);
        return 0;
    }
    ext4_reader_walk(r, 2, walk_cb, r, &err);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ext4_export_options eo;
    ext4_export_options_init(&eo);
    /* one export per input, the plain one or the OCI layer of upper/, by the input's first byte */
    if (size && data[0] & 1) {
        eo.oci_layer = true;
        eo.root_subdir = "upper";
    }
    ext4_reader_export_tar(r, out, &eo, &err);
    close(out);
    ext4_reader_free(r);
    restore(fd, data, size);
    return 0;
}
