/* cbuild kernel export DIR: the guest kernel this store boots (cbuild's own when built), for
 * any VMM: the uncompressed vmlinux (PVH/ELF entry, Firecracker and cloud-hypervisor boot it),
 * the bzImage and the kernel's config, written into DIR. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "guest.h"

static int copy_into(const char *src, const char *dir, const char *name, cb_err *err)
{
    cb_buf b;
    cb_buf_init(&b);
    int rc = cb_read_file(src, &b, err);
    cleanup_free char *dst = cb_path_join(dir, name);
    if (rc == 0) rc = cb_write_file_atomic(dst, b.data, b.len, 0644, err);
    cb_buf_free(&b);
    if (rc == 0) printf("%s\n", dst);
    return rc;
}

static int kernel_export(cli_ctx *ctx, const char *dir, cb_err *err)
{
    guest_paths p;
    int rc = guest_setup(ctx->root, NULL, &p, err);
    if (rc < 0) return rc;
    if (!p.vmlinux) {
        guest_paths_free(&p);
        return cb_failc(err, ENOTSUP, "kernel `%s` has no vmlinux with a PVH entry to export", p.kernel);
    }
    rc = cb_mkdir_p(dir, 0755, err);
    if (rc == 0) rc = copy_into(p.vmlinux, dir, "vmlinux", err);
    if (rc == 0) rc = copy_into(p.kernel, dir, "bzImage", err);
    cleanup_free char *kdir = xstrdup(p.kernel);
    char *slash = strrchr(kdir, '/');
    if (slash) *slash = 0;
    cleanup_free char *cfg = cb_path_join(kdir, "config");
    cleanup_free char *cfgv = p.version ? xasprintf("%s/config-%s", kdir, p.version) : NULL;
    if (rc == 0 && cb_path_exists(cfg)) rc = copy_into(cfg, dir, "config", err);
    else if (rc == 0 && cfgv && cb_path_exists(cfgv)) rc = copy_into(cfgv, dir, "config", err);
    guest_paths_free(&p);
    return rc;
}

int cli_cmd_kernel(cli_ctx *ctx, int argc, char **argv)
{
    const cli_cmd_spec spec = {"kernel", "export DIR",
                               "Write the guest kernel (vmlinux, bzImage, config) into DIR for other VMMs", NULL, false,
                               2, 2};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) return cli_call_end(&v, rc);
    if (strcmp(v.pos.v[0], "export") != 0) {
        fprintf(stderr, "error: unknown kernel command `%s` (expected: export)\n", v.pos.v[0]);
        return cli_call_end(&v, 125);
    }
    rc = kernel_export(ctx, v.pos.v[1], &v.err) < 0 ? cli_report(&v.err) : 0;
    return cli_call_end(&v, rc);
}
