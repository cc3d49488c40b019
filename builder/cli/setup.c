/* cbuild setup: install the guest kernel, build the initramfs, decide KVM or TCG. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "guest.h"

int cli_cmd_setup(cli_ctx *ctx, int argc, char **argv)
{
    const char *kernel = NULL;
    bool build_kernel = false;
    const cli_opt opts[] = {
        {"kernel", 0, CLI_STRING, &kernel, "FILE", "use this kernel (bzImage) instead of Debian's cloud kernel"},
        {"build-kernel", 0, CLI_BOOL, &build_kernel, NULL,
         "build cbuild's own guest kernel from Debian's linux-source (once per config) and use it"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"setup", "[OPTIONS]",
                               "Install the guest kernel and initramfs for build VMs (done on first use too)", opts,
                               false, 0, 0};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    cb_strv_free(&pos);
    if (rc >= 0) return rc;

    cb_err err = {0};
    if (build_kernel) {
        char *dir = NULL;
        fprintf(stderr, "building the guest kernel (guest/kernel/build.sh; minutes, once per config)\n");
        if (guest_kernel_build(ctx->root, &dir, &err) < 0) return cli_report(&err);
        free(dir);
    }
    guest_paths paths;
    if (guest_setup(ctx->root, kernel, &paths, &err) < 0) return cli_report(&err);
    char accel[8], why[256];
    if (guest_accel(ctx->root, &paths, accel, why, &err) < 0) {
        guest_paths_free(&paths);
        return cli_report(&err);
    }
    printf("kernel:     %s\n", paths.kernel);
    printf("version:    %s\n", paths.version ? paths.version : "unknown");
    printf("boot image: %s\n", paths.vmlinux ? paths.vmlinux : paths.kernel);
    printf("modules:    %s\n", paths.modules_dir ? paths.modules_dir : "(none: built into the kernel)");
    printf("own kernel: %s\n", paths.own ? "yes (guest/kernel/config-x86_64)" : "no");
    printf("devices:    %s\n", paths.acpi ? "ACPI" : "virtio-mmio on the command line (no ACPI)");
    printf("initramfs:  %s\n", paths.initramfs);
    printf("accel:      %s%s%s%s\n", accel, why[0] ? " (" : "", why, why[0] ? ")" : "");
    guest_paths_free(&paths);
    return 0;
}
