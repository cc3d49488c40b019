/* Reader and export on images from mke2fs -d (an independent writer) and from ours. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static void setup(void) { dir = mk_tmpdir(); }
static void teardown(void) { rm_tmpdir(dir); }
TestSuite(reader, .init = setup, .fini = teardown);

typedef struct seen {
    int n;
    char paths[64][64];
} seen;

static int walk_cb(void *ctx, const char *path, const ext4_stat *st)
{
    (void)st;
    seen *s = ctx;
    if (s->n < 64)
        snprintf(s->paths[s->n++], 64, "%s", path);
    return 0;
}

Test(reader, reads_mke2fs_image)
{
    char *out = NULL;
    int rc = sh(&out, "cd %s && mkdir src && mkdir src/d && printf hello > src/d/f && ln -s d/f src/l && "
                      "head -c 100000 /dev/urandom > src/r && truncate -s 10M src/sparse && printf end >> src/sparse && "
                      "setfattr -n user.x -v yes src/r && mke2fs -q -t ext4 -b 1024 -d src img 16M",
                dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char *img = xasprintf("%s/img", dir);
    ext4_reader *r;
    cb_err err = {0};
    cr_assert_eq(ext4_reader_open(img, &r, &err), 0, "%s", err.msg);
    uint32_t ino;
    cr_assert_eq(ext4_reader_lookup(r, "/d/f", &ino, &err), 0, "%s", err.msg);
    char buf[16] = {0};
    cr_assert_eq(ext4_reader_pread(r, ino, buf, sizeof buf, 0, &err), 5);
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(ext4_reader_lookup(r, "l", &ino, &err), 0, "%s", err.msg);
    char *t;
    cr_assert_eq(ext4_reader_readlink(r, ino, &t, &err), 0, "%s", err.msg);
    cr_assert_str_eq(t, "d/f");
    free(t);
    cr_assert_eq(ext4_reader_lookup(r, "sparse", &ino, &err), 0, "%s", err.msg);
    char tail[8] = {0};
    cr_assert_eq(ext4_reader_pread(r, ino, tail, 3, 10 << 20, &err), 3);
    cr_assert_str_eq(tail, "end");
    cr_assert_eq(ext4_reader_pread(r, ino, tail, 3, 5 << 20, &err), 3);
    cr_assert(!tail[0] && !tail[1] && !tail[2], "holes read as zeros");
    cr_assert_eq(ext4_reader_lookup(r, "r", &ino, &err), 0, "%s", err.msg);
    ext4_xattr *xa;
    size_t n;
    cr_assert_eq(ext4_reader_xattrs(r, ino, &xa, &n, &err), 0, "%s", err.msg);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= !strcmp(xa[i].name, "user.x") && xa[i].size == 3 && !memcmp(xa[i].value, "yes", 3);
    cr_assert(found);
    ext4_xattrs_free(xa, n);
    /* copy the 100000 random bytes out and compare with the source */
    char *copy = xasprintf("%s/copy", dir);
    int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_eq(ext4_reader_copy_to_fd(r, ino, fd, &err), 0, "%s", err.msg);
    close(fd);
    cr_assert_eq(sh(NULL, "cmp %s %s/src/r", copy, dir), 0);
    cr_assert_lt(ext4_reader_lookup(r, "d/f/x", &ino, &err), 0);
    cr_assert_lt(ext4_reader_lookup(r, "nope", &ino, &err), 0);
    cr_assert(strstr(err.msg, "nope"), "%s", err.msg);
    seen s = {0};
    cr_assert_eq(ext4_reader_walk(r, 2, walk_cb, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, 6, "lost+found d d/f l r sparse");
    cr_assert_str_eq(s.paths[0], "d");
    cr_assert_str_eq(s.paths[1], "d/f");
    cr_assert_str_eq(s.paths[2], "l");
    ext4_reader_free(r);
    free(copy);
    free(img);
}

Test(reader, rejects_garbage)
{
    char *img = xasprintf("%s/garbage", dir);
    cr_assert_eq(sh(NULL, "head -c 1M /dev/urandom > %s", img), 0);
    ext4_reader *r;
    cb_err err = {0};
    cr_assert_lt(ext4_reader_open(img, &r, &err), 0);
    cr_assert(strstr(err.msg, "not an ext2/3/4 filesystem"), "%s", err.msg);
    free(img);
}

Test(reader, export_oci_layer_from_overlay_image)
{
    char *img = xasprintf("%s/ovl.img", dir), *tar = xasprintf("%s/layer.tar", dir);
    ext4_options o;
    ext4_options_init(&o);
    o.mode = EXT4_MODE_OVERLAY;
    cb_err err = {0};
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(img, &o, &w, &err), 0, "%s", err.msg);
    ext4_entry e = ent("etc/new", S_IFREG | 0644);
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "n", 1, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_add_whiteout(w, "etc/gone", &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_add_whiteout(w, "gone2", &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_set_opaque(w, "var", &err), 0, "%s", err.msg);
    ext4_xattr ox = {"trusted.overlay.origin", "xyz", 3};
    e = ent("etc/origin", S_IFREG | 0644);
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "o", 1, &ox, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_eq(ext4_upper_to_oci_layer(img, NULL, fd, 1000, &err), 0, "%s", err.msg);
    close(fd);
    char *out;
    cr_assert_eq(sh(&out, "tar --full-time -tvf %s", tar), 0);
    cr_assert(strstr(out, "etc/.wh.gone") && strstr(out, " .wh.gone2") && strstr(out, "var/.wh..wh..opq") &&
              strstr(out, "etc/new") && strstr(out, "1970-01-01 00:16:40"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "tar --xattrs --xattrs-include='*' -xvvf %s -C %s --to-stdout etc/origin >/dev/null; "
                          "strings %s | grep -c trusted.overlay", tar, dir, tar), 1, "no trusted.overlay xattrs: %s", out);
    free(out);
    free(img);
    free(tar);
}

Test(reader, refuses_an_unrecovered_journal)
{
    char *img = xasprintf("%s/rec.img", dir);
    cb_err err = {0};
    cr_assert_eq(ext4_create_empty(img, 16 << 20, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(sh(NULL, "python3 -c \"import sys; f=open('%s','r+b'); f.seek(1024+0x60); b=f.read(1); f.seek(1024+0x60); "
                          "f.write(bytes([b[0] | 4]))\"", img), 0);
    ext4_reader *r;
    cr_assert_lt(ext4_reader_open(img, &r, &err), 0);
    cr_assert(strstr(err.msg, "needs recovery"), "%s", err.msg);
    free(img);
}
