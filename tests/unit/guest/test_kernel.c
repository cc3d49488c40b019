/* guest/kernel.c and initramfs.c: vmlinux extraction from a synthetic bzImage, and the
 * initramfs's module selection and dependency order from a synthetic modules tree. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

static char *tmpdir(void)
{
    char *t = xstrdup("/tmp/cbuild-guest-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(t));
    return t;
}

/* An ELF64 with one PT_NOTE segment; with_pvh adds Xen's PHYS32_ENTRY note. */
static void fake_elf(cb_buf *b, bool with_pvh)
{
    uint8_t e[64 + 56 + 64] = {0};
    memcpy(e, "\177ELF", 4);
    e[4] = 2;
    e[5] = 1;
    uint64_t phoff = 64;
    uint16_t phentsize = 56, phnum = 1;
    memcpy(e + 32, &phoff, 8);
    memcpy(e + 54, &phentsize, 2);
    memcpy(e + 56, &phnum, 2);
    uint8_t *ph = e + 64;
    uint32_t type = 4;
    uint64_t off = 120, filesz = 20;
    memcpy(ph, &type, 4);
    memcpy(ph + 8, &off, 8);
    memcpy(ph + 32, &filesz, 8);
    uint8_t *note = e + 120;
    uint32_t namesz = 4, descsz = 4, ntype = with_pvh ? 18 : 1;
    memcpy(note, &namesz, 4);
    memcpy(note + 4, &descsz, 4);
    memcpy(note + 8, &ntype, 4);
    memcpy(note + 12, "Xen", 4);
    cb_buf_append(b, e, sizeof e);
    for (int i = 0; i < 5000; i++) cb_buf_printf(b, "kernel text %d\n", i);
}

static void gzip_buf(const cb_buf *in, cb_buf *out)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong bound = deflateBound(&z, in->len) + 64;
    cb_buf_reserve(out, bound);
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += z.total_out;
    deflateEnd(&z);
}

/* bzImage: setup sectors, "HdrS" v2.15, the version string, the payload + appended size. */
static void fake_bzimage(const char *path, bool with_pvh, cb_buf *elf)
{
    cb_buf_init(elf);
    fake_elf(elf, with_pvh);
    cb_buf gz;
    cb_buf_init(&gz);
    gzip_buf(elf, &gz);
    uint32_t isize = (uint32_t)elf->len;
    cb_buf_append(&gz, &isize, 4);
    size_t setup_sects = 3, start = (setup_sects + 1) * 512, poff = 0x100;
    cb_buf img;
    cb_buf_init(&img);
    cb_buf_reserve(&img, start + poff + gz.len);
    memset(img.data, 0, start + poff);
    img.len = start + poff;
    img.data[0x1f1] = (char)setup_sects;
    memcpy(img.data + 0x202, "HdrS", 4);
    uint16_t ver = 0x020f, vptr = 0x300;
    memcpy(img.data + 0x206, &ver, 2);
    memcpy(img.data + 0x20e, &vptr, 2);
    strcpy(img.data + 0x200 + vptr, "6.9.9-test (builder@example) #1");
    uint32_t po = (uint32_t)poff, pl = (uint32_t)gz.len;
    memcpy(img.data + 0x248, &po, 4);
    memcpy(img.data + 0x24c, &pl, 4);
    cb_buf_append(&img, gz.data, gz.len);
    cr_assert_eq(cb_write_file_atomic(path, img.data, img.len, 0644, NULL), 0);
    cb_buf_free(&gz);
    cb_buf_free(&img);
}

Test(kernel, extract_vmlinux_with_pvh_note)
{
    cleanup_free char *d = tmpdir();
    cleanup_free char *bz = cb_path_join(d, "vmlinuz");
    cleanup_free char *out = cb_path_join(d, "vmlinux");
    cb_buf elf;
    fake_bzimage(bz, true, &elf);
    cleanup_free char *ver = guest_bzimage_version(bz);
    cr_assert_str_eq(ver, "6.9.9-test");
    cb_err err = {0};
    cr_assert_eq(guest_extract_vmlinux(bz, out, &err), 0, "%s", err.msg);
    cb_buf got;
    cb_buf_init(&got);
    cr_assert_eq(cb_read_file(out, &got, NULL), 0);
    cr_assert_eq(got.len, elf.len);
    cr_assert(memcmp(got.data, elf.data, elf.len) == 0);
    cb_buf_free(&got);
    cb_buf_free(&elf);
    cb_rm_rf(d, NULL);
}

Test(kernel, no_pvh_note_means_boot_the_bzimage)
{
    cleanup_free char *d = tmpdir();
    cleanup_free char *bz = cb_path_join(d, "vmlinuz");
    cleanup_free char *out = cb_path_join(d, "vmlinux");
    cb_buf elf;
    fake_bzimage(bz, false, &elf);
    cr_assert_eq(guest_extract_vmlinux(bz, out, NULL), -ENOTSUP);
    cr_assert_not(cb_path_exists(out));
    cb_buf_free(&elf);
    cb_rm_rf(d, NULL);
}

Test(kernel, not_a_kernel)
{
    cleanup_free char *d = tmpdir();
    cleanup_free char *f = cb_path_join(d, "junk");
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    cb_write_file_atomic(f, junk, sizeof junk, 0644, NULL);
    cleanup_free char *out = cb_path_join(d, "vmlinux");
    cr_assert_eq(guest_extract_vmlinux(f, out, NULL), -ENOTSUP);
    cr_assert_null(guest_bzimage_version(f));
    cb_rm_rf(d, NULL);
}

static void write_module(const char *dir, const char *rel, const char *depends)
{
    cleanup_free char *p = xasprintf("%s/%s", dir, rel);
    cleanup_free char *parent = xstrdup(p);
    *strrchr(parent, '/') = 0;
    cr_assert_eq(cb_mkdir_p(parent, 0755, NULL), 0);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_append(&b, "\177ELF fake module\0license=GPL\0", 30);
    cb_buf_printf(&b, "depends=%s", depends);
    cb_buf_putc(&b, 0);
    cb_buf_append(&b, "name=x\0", 7);
    cr_assert_eq(cb_write_file_atomic(p, b.data, b.len, 0644, NULL), 0);
    cb_buf_free(&b);
}

static int read_cpio(const char *path, cb_strv *names, cb_buf *order)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_cpio(a);
    cr_assert_eq(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        cb_strv_push(names, archive_entry_pathname(e));
        if (!strcmp(archive_entry_pathname(e), "modules/order")) {
            char buf[4096];
            la_ssize_t n;
            while ((n = archive_read_data(a, buf, sizeof buf)) > 0) cb_buf_append(order, buf, (size_t)n);
        }
        if (!strcmp(archive_entry_pathname(e), "dev/console")) {
            cr_assert(S_ISCHR(archive_entry_mode(e)));
            cr_assert_eq(archive_entry_rdevmajor(e), 5);
            cr_assert_eq(archive_entry_rdevminor(e), 1);
        }
    }
    archive_read_free(a);
    return 0;
}

static long line_of(const char *text, const char *line)
{
    const char *p = strstr(text, line);
    return p ? (long)(p - text) : -1;
}

Test(initramfs, modules_in_dependency_order_and_groups)
{
    cleanup_free char *root = tmpdir();
    cleanup_free char *mods = cb_path_join(root, "modules");
    write_module(mods, "kernel/drivers/virtio/virtio.ko", "");
    write_module(mods, "kernel/drivers/virtio/virtio_ring.ko", "");
    write_module(mods, "kernel/drivers/virtio/virtio_mmio.ko", "virtio_ring,virtio");
    write_module(mods, "kernel/drivers/char/virtio_console.ko", "virtio,virtio_ring");
    write_module(mods, "kernel/drivers/block/virtio_blk.ko", "virtio_ring,virtio");
    write_module(mods, "kernel/net/core/failover.ko", "");
    write_module(mods, "kernel/drivers/net/net_failover.ko", "failover");
    write_module(mods, "kernel/drivers/net/virtio_net.ko", "virtio_ring,virtio,net_failover");
    write_module(mods, "kernel/drivers/scsi/scsi_mod.ko", "scsi_common");
    write_module(mods, "kernel/drivers/scsi/scsi_common.ko", "");
    write_module(mods, "kernel/drivers/scsi/virtio_scsi.ko", "scsi_mod,virtio_ring,virtio");
    write_module(mods, "kernel/drivers/scsi/sd_mod.ko", "scsi_mod");
    write_module(mods, "kernel/sound/unrelated.ko", "");
    /* overlay is built in */
    cleanup_free char *builtin = cb_path_join(mods, "modules.builtin");
    cb_write_file_atomic(builtin, "kernel/fs/overlayfs/overlay.ko\n", 31, 0644, NULL);
    cleanup_free char *kdir = cb_path_join(root, "kernel");
    cb_mkdir_p(kdir, 0755, NULL);

    char *out = NULL;
    cb_err err = {0};
    cr_assert_eq(guest_initramfs_build(root, mods, &out, &err), 0, "%s", err.msg);
    cb_strv names;
    cb_strv_init(&names);
    cb_buf order;
    cb_buf_init(&order);
    read_cpio(out, &names, &order);
    cr_assert(cb_strv_contains(&names, "init"));
    cr_assert(cb_strv_contains(&names, "dev/console"));
    cr_assert(cb_strv_contains(&names, "modules/virtio_net.ko"));
    cr_assert_not(cb_strv_contains(&names, "modules/unrelated.ko"), "only what vminitd loads");
    cr_assert_not(cb_strv_contains(&names, "modules/overlay.ko"), "built-in modules are skipped");
    const char *o = order.data;
    cr_assert_str_eq(o, "base virtio_ring.ko\nbase virtio.ko\nbase virtio_mmio.ko\nbase virtio_console.ko\n"
                        "blk virtio_blk.ko\nscsi scsi_common.ko\nscsi scsi_mod.ko\nscsi virtio_scsi.ko\n"
                        "scsi sd_mod.ko\nnet failover.ko\nnet net_failover.ko\nnet virtio_net.ko\n");
    cr_assert_gt(line_of(o, "net virtio_net.ko"), line_of(o, "net net_failover.ko"));

    /* cached: same inputs, same file, not rewritten */
    struct stat st1, st2;
    stat(out, &st1);
    char *again = NULL;
    cr_assert_eq(guest_initramfs_build(root, mods, &again, &err), 0);
    cr_assert_str_eq(again, out);
    stat(again, &st2);
    cr_assert_eq(st1.st_ino, st2.st_ino);
    /* a changed module makes a new initramfs: the cheap index notices a changed tree (here:
     * the kernel/ directory's identity), the content digest then names a new file */
    write_module(mods, "kernel/drivers/block/virtio_blk.ko", "virtio_ring,virtio,extra_dep_missing");
    cleanup_free char *kern = cb_path_join(mods, "kernel");
    struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    utimensat(AT_FDCWD, kern, ts, 0);
    char *third = NULL;
    cr_assert_eq(guest_initramfs_build(root, mods, &third, &err), 0, "%s", err.msg);
    cr_assert_str_neq(third, out);
    free(out);
    free(again);
    free(third);
    cb_strv_free(&names);
    cb_buf_free(&order);
    cb_rm_rf(root, NULL);
}

Test(initramfs, kernel_without_modules)
{
    cleanup_free char *root = tmpdir();
    cleanup_free char *kdir = cb_path_join(root, "kernel");
    cb_mkdir_p(kdir, 0755, NULL);
    char *out = NULL;
    cb_err err = {0};
    cr_assert_eq(guest_initramfs_build(root, NULL, &out, &err), 0, "%s", err.msg);
    cb_strv names;
    cb_strv_init(&names);
    cb_buf order;
    cb_buf_init(&order);
    read_cpio(out, &names, &order);
    cr_assert(cb_strv_contains(&names, "init"));
    cr_assert_not(cb_strv_contains(&names, "modules/order"));
    free(out);
    cb_strv_free(&names);
    cb_buf_free(&order);
    cb_rm_rf(root, NULL);
}
