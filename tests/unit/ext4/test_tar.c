/* Layer semantics of tar input: Docker's whiteout and opaque rules across layers, overlay
 * format, errors naming the entry. Tars are made with libarchive in memory. */
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *dir;
static void setup(void) { dir = mk_tmpdir(); }
static void teardown(void) { rm_tmpdir(dir); }
TestSuite(tar, .init = setup, .fini = teardown);

/* spec: "f:path=content", "d:path", "l:path=target", "h:path=target" */
static int mktar(const char *const *spec)
{
    int fd = memfd_create("t", 0);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_fd(a, fd);
    for (size_t i = 0; spec[i]; i++) {
        char *s = xstrdup(spec[i] + 2), *eq = strchr(s, '=');
        const char *val = "";
        if (eq) {
            *eq = 0;
            val = eq + 1;
        }
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, s);
        archive_entry_set_mtime(e, 1600000000, 0);
        switch (spec[i][0]) {
        case 'f':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, (la_int64_t)strlen(val));
            break;
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, val);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_hardlink(e, val);
            break;
        }
        archive_write_header(a, e);
        if (spec[i][0] == 'f')
            archive_write_data(a, val, strlen(val));
        archive_entry_free(e);
        free(s);
    }
    archive_write_close(a);
    archive_write_free(a);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static char *build(enum ext4_mode mode, const char *const *l1, const char *const *l2, int *rc, cb_err *err)
{
    char *img = xasprintf("%s/t.img", dir);
    ext4_options o;
    ext4_options_init(&o);
    o.mode = mode;
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(img, &o, &w, err), 0, "%s", err->msg);
    int fd = mktar(l1);
    *rc = ext4_writer_add_tar_fd(w, fd, "layer1.tar", err);
    close(fd);
    if (*rc == 0 && l2) {
        fd = mktar(l2);
        *rc = ext4_writer_add_tar_fd(w, fd, "layer2.tar", err);
        close(fd);
    }
    if (*rc == 0)
        *rc = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    return img;
}

static char *tree(const char *img)
{
    char *out;
    sh(&out, "mkdir -p %s/x && debugfs -R 'rdump / %s/x' %s >/dev/null 2>&1; cd %s/x && find . -mindepth 1 | sort | tr '\\n' ' '; rm -rf %s/x",
       dir, dir, img, dir, dir);
    return out;
}

Test(tar, opaque_spares_the_current_layer)
{
    const char *l1[] = {"d:a", "f:a/old=o", "f:keep=k", NULL};
    const char *l2[] = {"d:a", "f:a/new=n", "f:a/.wh..wh..opq=", "f:b/.wh..wh..opq=", NULL};
    cb_err err = {0};
    int rc;
    char *img = build(EXT4_MODE_FLATTEN, l1, l2, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(fsck_clean(img), 0);
    char *t = tree(img);
    cr_assert_str_eq(t, "./a ./a/new ./b ./keep ./lost+found ", "%s", t);
    free(t);
    free(img);
}

Test(tar, whiteout_removes_a_directory_with_children)
{
    const char *l1[] = {"f:d/x/y/z=1", "f:d/w=2", "f:e=3", NULL};
    const char *l2[] = {"f:d/.wh.x=", "f:.wh.e=", "f:.wh.missing=", "d:.wh..wh.plnk", NULL};
    cb_err err = {0};
    int rc;
    char *img = build(EXT4_MODE_FLATTEN, l1, l2, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    char *t = tree(img);
    cr_assert_str_eq(t, "./d ./d/w ./lost+found ", "%s", t);
    free(t);
    free(img);
}

Test(tar, overlay_mode_keeps_whiteouts)
{
    const char *l1[] = {"f:d/.wh.x=", "f:d/.wh..wh..opq=", "f:d/y=1", NULL};
    cb_err err = {0};
    int rc;
    char *img = build(EXT4_MODE_OVERLAY, l1, NULL, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(fsck_clean(img), 0);
    char *out;
    sh(&out, "debugfs -R 'stat /upper/d/x' %s", img);
    cr_assert(strstr(out, "Type: character special") && strstr(out, "Device major/minor number: 00:00"), "%s", out);
    free(out);
    sh(&out, "debugfs -R 'ea_list /upper/d' %s", img);
    cr_assert(strstr(out, "trusted.overlay.opaque") && strstr(out, "\"y\""), "%s", out);
    free(out);
    free(img);
}

Test(tar, hard_links_and_errors)
{
    const char *l1[] = {"f:a=data", "h:dir/b=a", "l:s=a", "h:c=s", NULL};
    cb_err err = {0};
    int rc;
    char *img = build(EXT4_MODE_FLATTEN, l1, NULL, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    char *out;
    sh(&out, "debugfs -R 'stat /dir/b' %s", img);
    cr_assert(strstr(out, "Links: 2"), "%s", out);
    free(out);
    sh(&out, "debugfs -R 'stat /c' %s", img);
    cr_assert(strstr(out, "Type: symlink") && strstr(out, "Links: 2"), "a hard link to a symlink links the symlink: %s", out);
    free(out);

    const char *bad[] = {"f:a=x", "f:a/b=y", NULL};
    unlink(img);
    free(img);
    img = build(EXT4_MODE_FLATTEN, bad, NULL, &rc, &err);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(err.msg, "layer1.tar") && strstr(err.msg, "a/b") && strstr(err.msg, "not a directory"), "%s", err.msg);
    cr_assert_neq(access(img, F_OK), 0);
    free(img);
}

Test(tar, empty_and_garbage_input)
{
    const char *none[] = {NULL};
    cb_err err = {0};
    int rc;
    char *img = build(EXT4_MODE_FLATTEN, none, NULL, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(fsck_clean(img), 0);
    free(img);
    img = xasprintf("%s/g.img", dir);
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(img, NULL, &w, &err), 0);
    int fd = memfd_create("g", 0);
    cr_assert_eq(write(fd, "this is not a tar archive at all, just text", 43), 43);
    lseek(fd, 0, SEEK_SET);
    cr_assert_lt(ext4_writer_add_tar_fd(w, fd, "garbage.tar", &err), 0);
    cr_assert(strstr(err.msg, "garbage.tar"), "%s", err.msg);
    close(fd);
    ext4_writer_free(w);
    free(img);
}
