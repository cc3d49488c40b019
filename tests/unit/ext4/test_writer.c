/* Writer through the call API; judged by e2fsck -fn and debugfs (independent of our reader). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *dir;
static void setup(void) { dir = mk_tmpdir(); }
static void teardown(void) { rm_tmpdir(dir); }
TestSuite(writer, .init = setup, .fini = teardown);

static char *img(const char *name) { return xasprintf("%s/%s", dir, name); }

static void build_sample(const char *path, const ext4_options *o)
{
    cb_err err = {0};
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(path, o, &w, &err), 0, "%s", err.msg);
    ext4_entry e = ent("etc", S_IFDIR | 0755);
    cr_assert_eq(ext4_writer_add_dir(w, &e, NULL, 0, &err), 0, "%s", err.msg);
    e = ent("etc/hostname", S_IFREG | 0644);
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "box\n", 4, NULL, 0, &err), 0, "%s", err.msg);
    e = ent("bin/sh", S_IFLNK | 0777);
    cr_assert_eq(ext4_writer_add_symlink(w, &e, "busybox", NULL, 0, &err), 0, "%s", err.msg);
    e = ent("dev/null", S_IFCHR | 0666);
    e.rdev = makedev(1, 3);
    cr_assert_eq(ext4_writer_add_special(w, &e, NULL, 0, &err), 0, "%s", err.msg);
    e = ent("run/fifo", S_IFIFO | 0600);
    cr_assert_eq(ext4_writer_add_special(w, &e, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_add_hardlink(w, "etc/hostname2", "etc/hostname", &err), 0, "%s", err.msg);
    ext4_xattr x[] = {{"user.k", "v", 1}, {"security.capability", "\1\0\0\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20}};
    e = ent("usr/bin/ping", S_IFREG | 04755);
    e.uid = 100000;
    e.gid = 70000;
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "ELF", 3, x, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
}

Test(writer, api_entries_pass_e2fsck_and_debugfs)
{
    char *p = img("a.img");
    build_sample(p, NULL);
    cr_assert_eq(fsck_clean(p), 0);
    char *out;
    cr_assert_eq(sh(&out, "debugfs -R 'stat /usr/bin/ping' %s", p), 0);
    cr_assert(strstr(out, "User: 100000") && strstr(out, "Group: 70000"), "%s", out);
    cr_assert(strstr(out, "Mode:  04755"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "debugfs -R 'ea_list /usr/bin/ping' %s", p), 0);
    cr_assert(strstr(out, "user.k") && strstr(out, "security.capability"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "debugfs -R 'cat /etc/hostname2' %s", p), 0);
    cr_assert(strstr(out, "box"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "debugfs -R 'stat /dev/null' %s", p), 0);
    cr_assert(strstr(out, "Device major/minor number: 01:03"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "dumpe2fs -h %s", p), 0);
    cr_assert(strstr(out, "metadata_csum") && strstr(out, "64bit") && strstr(out, "has_journal") &&
              strstr(out, "dir_index") && strstr(out, "flex_bg") && strstr(out, "huge_file") && strstr(out, "dir_nlink") &&
              strstr(out, "extra_isize") && strstr(out, "Filesystem state:         clean"), "%s", out);
    free(out);
    free(p);
}

Test(writer, deterministic_and_seeded)
{
    char *a = img("a.img"), *b = img("b.img"), *c = img("c.img");
    ext4_options o;
    ext4_options_init(&o);
    build_sample(a, &o);
    build_sample(b, &o);
    cr_assert_eq(sh(NULL, "cmp -s %s %s", a, b), 0, "same input must give identical images");
    o.seed = "sha256:other";
    build_sample(c, &o);
    cr_assert_neq(sh(NULL, "cmp -s %s %s", a, c), 0, "a different seed gives a different UUID");
    free(a);
    free(b);
    free(c);
}

Test(writer, source_date_epoch_clamps)
{
    char *p = img("a.img");
    ext4_options o;
    ext4_options_init(&o);
    o.source_date_epoch = 1500000000;
    build_sample(p, &o);
    char *out;
    cr_assert_eq(sh(&out, "debugfs -R 'stat /etc/hostname' %s", p), 0);
    cr_assert(strstr(out, "mtime: 0x59682f00:00000000"), "%s", out);
    free(out);
    free(p);
}

Test(writer, fixed_size_and_too_small)
{
    char *p = img("a.img");
    ext4_options o;
    ext4_options_init(&o);
    o.size = 300ull << 20;
    build_sample(p, &o);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_size, 300ll << 20);
    cr_assert(st.st_blocks * 512 < 64ll << 20, "image must be sparse (%lld bytes allocated)", (long long)st.st_blocks * 512);
    cr_assert_eq(fsck_clean(p), 0);

    o.size = 8ull << 20;
    cb_err err = {0};
    ext4_writer *w;
    free(p);
    p = img("small.img");
    cr_assert_eq(ext4_writer_new(p, &o, &w, &err), 0, "%s", err.msg);
    char *big = xcalloc(1, 16 << 20);
    memset(big, 'x', 16 << 20);
    ext4_entry e = ent("big", S_IFREG | 0644);
    cr_assert_lt(ext4_writer_add_file_buf(w, &e, big, 16 << 20, NULL, 0, &err), 0);
    cr_assert(strstr(err.msg, "does not fit"), "%s", err.msg);
    ext4_writer_free(w);
    cr_assert_neq(access(p, F_OK), 0, "a failed image is removed");
    free(big);
    free(p);
}

Test(writer, create_empty_upper_disk)
{
    char *p = img("upper.img");
    cb_err err = {0};
    const char *dirs[] = {EXT4_OVERLAY_UPPER_DIR, EXT4_OVERLAY_WORK_DIR, NULL};
    cr_assert_eq(ext4_create_empty(p, 1ull << 30, dirs, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(fsck_clean(p), 0);
    char *out;
    cr_assert_eq(sh(&out, "debugfs -R 'ls -l /' %s", p), 0);
    cr_assert(strstr(out, "upper") && strstr(out, "work") && strstr(out, "lost+found"), "%s", out);
    free(out);
    cr_assert_eq(sh(&out, "dumpe2fs -h %s | grep -E 'Block count|Free inodes'", p), 0);
    cr_assert(strstr(out, "Block count:              262144"), "%s", out);
    free(out);
    free(p);
}

Test(writer, whiteouts_flatten_and_overlay)
{
    char *f = img("flat.img"), *o2 = img("ovl.img");
    for (int mode = 0; mode < 2; mode++) {
        ext4_options o;
        ext4_options_init(&o);
        o.mode = mode ? EXT4_MODE_OVERLAY : EXT4_MODE_FLATTEN;
        cb_err err = {0};
        ext4_writer *w;
        cr_assert_eq(ext4_writer_new(mode ? o2 : f, &o, &w, &err), 0, "%s", err.msg);
        ext4_entry e = ent("d/a", S_IFREG | 0644);
        cr_assert_eq(ext4_writer_add_file_buf(w, &e, "a", 1, NULL, 0, &err), 0, "%s", err.msg);
        cr_assert_eq(ext4_writer_add_whiteout(w, "d/a", &err), 0, "%s", err.msg);
        cr_assert_eq(ext4_writer_set_opaque(w, "d", &err), 0, "%s", err.msg);
        cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
        ext4_writer_free(w);
    }
    cr_assert_eq(fsck_clean(f), 0);
    cr_assert_eq(fsck_clean(o2), 0);
    char *out;
    sh(&out, "debugfs -R 'ls -l /d' %s", f);
    cr_assert_null(strstr(out, " a\n"), "flatten: whiteout removes: %s", out);
    free(out);
    sh(&out, "debugfs -R 'stat /upper/d/a' %s", o2);
    cr_assert(strstr(out, "Type: character special") && strstr(out, "Mode:  0000"), "overlay whiteout: %s", out);
    free(out);
    sh(&out, "debugfs -R 'ea_get /upper/d trusted.overlay.opaque' %s", o2);
    cr_assert(strstr(out, "y"), "opaque xattr: %s", out);
    free(out);
    free(f);
    free(o2);
}

Test(writer, bad_calls_give_clear_errors)
{
    char *p = img("a.img");
    cb_err err = {0};
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(p, NULL, &w, &err), 0, "%s", err.msg);
    cr_assert_lt(ext4_writer_add_hardlink(w, "x", "missing", &err), 0);
    cr_assert(strstr(err.msg, "missing"), "%s", err.msg);
    ext4_entry e = ent("f", S_IFREG | 0644);
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "", 0, NULL, 0, &err), 0, "%s", err.msg);
    e = ent("f/g", S_IFREG | 0644);
    cr_assert_lt(ext4_writer_add_file_buf(w, &e, "", 0, NULL, 0, &err), 0);
    cr_assert(strstr(err.msg, "not a directory"), "%s", err.msg);
    e = ent("d", S_IFDIR | 0755);
    cr_assert_eq(ext4_writer_add_dir(w, &e, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_lt(ext4_writer_add_hardlink(w, "x", "d", &err), 0);
    cr_assert(strstr(err.msg, "directory"), "%s", err.msg);
    ext4_xattr bad = {"os2.weird", "v", 1};
    e = ent("x", S_IFREG | 0644);
    cr_assert_lt(ext4_writer_add_file_buf(w, &e, "", 0, &bad, 1, &err), 0);
    cr_assert(strstr(err.msg, "os2.weird"), "%s", err.msg);
    char *name = xcalloc(1, 300);
    memset(name, 'n', 299);
    e = ent(name, S_IFREG | 0644);
    cr_assert_lt(ext4_writer_add_file_buf(w, &e, "", 0, NULL, 0, &err), 0);
    cr_assert(strstr(err.msg, "255"), "%s", err.msg);
    free(name);
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
    cr_assert_eq(fsck_clean(p), 0);
    free(p);
}

Test(writer, host_dir_input)
{
    char *src = xasprintf("%s/src", dir), *p = img("d.img");
    cr_assert_eq(sh(NULL, "mkdir -p %s/a/b && echo hi > %s/a/f && ln -s f %s/a/l && ln %s/a/f %s/a/b/h && mkfifo %s/p",
                    src, src, src, src, src, src), 0);
    ext4_writer *w;
    cb_err err = {0};
    cr_assert_eq(ext4_writer_new(p, NULL, &w, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_add_host_dir(w, src, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
    cr_assert_eq(fsck_clean(p), 0);
    char *out;
    sh(&out, "debugfs -R 'stat /a/b/h' %s", p);
    cr_assert(strstr(out, "Links: 2"), "%s", out);
    free(out);
    free(src);
    free(p);
}
