/* The merged view over overlay layer images (builder/rootfs.c), on images written with the
 * ext4 writer: whiteouts hide lower entries, opaque directories hide lower contents,
 * symlinks resolve inside the root, users and groups come from the view's /etc files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static char dir[] = "/tmp/cbuild-rootfs-test.XXXXXX";
static cb_strv images;

static void entry(ext4_writer *w, const char *path, mode_t mode, const char *data)
{
    cb_err err;
    ext4_entry e = {.path = path, .mode = mode};
    int rc;
    if (S_ISDIR(mode))
        rc = ext4_writer_add_dir(w, &e, NULL, 0, &err);
    else if (S_ISLNK(mode))
        rc = ext4_writer_add_symlink(w, &e, data, NULL, 0, &err);
    else
        rc = ext4_writer_add_file_buf(w, &e, data, strlen(data), NULL, 0, &err);
    cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
}

static const char *new_image(const char *name, ext4_writer **w)
{
    char *p = xasprintf("%s/%s.ext4", dir, name);
    ext4_options o;
    ext4_options_init(&o);
    o.mode = EXT4_MODE_OVERLAY;
    o.root_subdir = BL_LAYER_ROOT;
    cb_err err;
    cr_assert_eq(ext4_writer_new(p, &o, w, &err), 0, "%s", err.msg);
    cb_strv_push_owned(&images, p);
    return p;
}

static void finish(ext4_writer *w)
{
    cb_err err;
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
}

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    cb_strv_init(&images);
    ext4_writer *w;
    cb_err err;
    new_image("lower", &w);
    entry(w, "a", S_IFDIR | 0755, NULL);
    entry(w, "a/x", S_IFREG | 0644, "x-lower");
    entry(w, "a/y", S_IFREG | 0644, "y-lower");
    entry(w, "d", S_IFDIR | 0755, NULL);
    entry(w, "d/f", S_IFREG | 0644, "f");
    entry(w, "l", S_IFLNK | 0777, "a");
    entry(w, "abs", S_IFLNK | 0777, "/../../a/y");
    entry(w, "etc", S_IFDIR | 0755, NULL);
    entry(w, "etc/passwd", S_IFREG | 0644,
          "root:x:0:0:root:/root:/bin/sh\nweb:x:33:34:web:/var/www:/bin/false\n");
    entry(w, "etc/group", S_IFREG | 0644, "root:x:0:\nstaff:x:50:\n");
    finish(w);
    new_image("upper", &w);
    entry(w, "a", S_IFDIR | 0700, NULL);
    cr_assert_eq(ext4_writer_add_whiteout(w, "a/x", &err), 0, "%s", err.msg);
    entry(w, "a/z", S_IFREG | 0644, "z-upper");
    cr_assert_eq(ext4_writer_set_opaque(w, "d", &err), 0, "%s", err.msg);
    entry(w, "d/g", S_IFREG | 0644, "g");
    finish(w);
}

static void teardown(void)
{
    cb_err err;
    cb_rm_rf(dir, &err);
    cb_strv_free(&images);
}

TestSuite(rootfs, .init = setup, .fini = teardown);

static char *names(bl_rootfs *v, const char *d)
{
    cb_strv n;
    cb_strv_init(&n);
    cb_err err;
    cr_assert_eq(bl_rootfs_readdir(v, d, &n, &err), 0, "%s", err.msg);
    cb_buf b;
    cb_buf_init(&b);
    for (size_t i = 0; i < n.n; i++)
        cb_buf_printf(&b, "%s%s", i ? " " : "", n.v[i]);
    cb_strv_free(&n);
    return cb_buf_steal(&b);
}

Test(rootfs, whiteouts_opaque_dirs_and_upper_metadata)
{
    bl_rootfs *v;
    cb_err err;
    cr_assert_eq(bl_rootfs_open(&images, &v, &err), 0, "%s", err.msg);
    bl_node n;
    cr_assert_eq(bl_rootfs_lookup(v, "/a/x", &n, &err), -ENOENT);
    cr_assert_eq(bl_rootfs_lookup(v, "/a/y", &n, &err), 0);
    cb_buf b;
    cb_buf_init(&b);
    cr_assert_eq(bl_rootfs_read(v, &n, &b, &err), 0);
    cr_assert_str_eq(b.data, "y-lower");
    cb_buf_free(&b);
    cr_assert_eq(bl_rootfs_lookup(v, "a", &n, &err), 0);
    cr_assert_eq(n.st.mode & 07777, 0700, "the upper directory's metadata wins");
    char *s = names(v, "/a");
    cr_assert_str_eq(s, "y z");
    free(s);
    s = names(v, "/d");
    cr_assert_str_eq(s, "g", "opaque directory hides the lower's files");
    free(s);
    cr_assert_eq(bl_rootfs_lookup(v, "/d/f", &n, &err), -ENOENT);
    s = names(v, "/");
    cr_assert_str_eq(s, "a abs d etc l", "root listing without lost+found: %s", s);
    free(s);
    bl_rootfs_free(v);
}

Test(rootfs, symlinks_resolve_inside_the_root)
{
    bl_rootfs *v;
    cb_err err;
    cr_assert_eq(bl_rootfs_open(&images, &v, &err), 0, "%s", err.msg);
    bl_node n;
    char *res = NULL;
    cr_assert_eq(bl_rootfs_resolve(v, "/l/z", true, &res, &n, &err), 0, "%s", err.msg);
    cr_assert_str_eq(res, "/a/z");
    free(res);
    res = NULL;
    cr_assert_eq(bl_rootfs_resolve(v, "/abs", true, &res, &n, &err), 0, "%s", err.msg);
    cr_assert_str_eq(res, "/a/y", "\"..\" above / stays at /");
    free(res);
    res = NULL;
    cr_assert_eq(bl_rootfs_resolve(v, "/l", false, &res, &n, &err), 0);
    cr_assert(S_ISLNK(n.st.mode));
    free(res);
    res = NULL;
    cr_assert_eq(bl_rootfs_resolve(v, "/l/missing", true, &res, &n, &err), -ENOENT);
    cr_assert_str_eq(res, "/a/missing", "a missing leaf still gets its resolved path");
    free(res);
    bl_rootfs_free(v);
}

Test(rootfs, users_and_groups)
{
    bl_rootfs *v;
    cb_err err;
    cr_assert_eq(bl_rootfs_open(&images, &v, &err), 0, "%s", err.msg);
    uint32_t uid, gid;
    cr_assert_eq(bl_rootfs_resolve_user(v, "web", &uid, &gid, &err), 0, "%s", err.msg);
    cr_assert_eq(uid, 33);
    cr_assert_eq(gid, 34);
    cr_assert_eq(bl_rootfs_resolve_user(v, "web:staff", &uid, &gid, &err), 0);
    cr_assert_eq(gid, 50);
    cr_assert_eq(bl_rootfs_resolve_user(v, "1234", &uid, &gid, &err), 0);
    cr_assert_eq(uid, 1234);
    cr_assert_eq(gid, 1234);
    cr_assert_lt(bl_rootfs_resolve_user(v, "nobody", &uid, &gid, &err), 0);
    cr_assert(strstr(err.msg, "unable to find user nobody"));
    cr_assert_lt(bl_rootfs_resolve_user(v, "web:nogroup", &uid, &gid, &err), 0);
    cr_assert(strstr(err.msg, "unable to find group nogroup"));
    bl_rootfs_free(v);
}
