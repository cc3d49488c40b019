/* cbuild setup: install the guest kernel, build the initramfs, decide KVM or TCG. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "guest.h"

int cli_cmd_setup(cli_ctx *ctx, int argc, char **argv)
{
    const char *kernel = NULL, *arch = NULL;
    bool build_kernel = false;
    const cli_opt opts[] = {
        {"kernel", 0, CLI_STRING, &kernel, "FILE", "use this kernel (bzImage) instead of Debian's cloud kernel"},
        {"arch", 0, CLI_STRING, &arch, "ARCH",
         "set up VMs of this architecture: amd64 (default: the host's) or arm64 (Debian's cloud-arm64 kernel)"},
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
    if (arch && !guest_arch_canon(arch)) {
        fprintf(stderr, "cbuild setup: --arch %s: expected amd64 or arm64\n", arch);
        return CLI_EXIT_USAGE;
    }
    if (build_kernel && arch && strcmp(guest_arch_canon(arch), "amd64") != 0) {
        fprintf(stderr, "cbuild setup: --build-kernel builds an amd64 kernel only\n");
        return CLI_EXIT_USAGE;
    }
    if (guest_setup_arch(ctx->root, arch, kernel, &paths, &err) < 0) return cli_report(&err);
    char accel[8], why[256];
    if (guest_accel(ctx->root, &paths, accel, why, &err) < 0) {
        guest_paths_free(&paths);
        return cli_report(&err);
    }
    if (arch) printf("arch:       %s\n", paths.arch);
    printf("kernel:     %s\n", paths.kernel);
    printf("version:    %s\n", paths.version ? paths.version : "unknown");
    printf("boot image: %s\n", paths.vmlinux ? paths.vmlinux : paths.kernel);
    printf("modules:    %s\n", paths.modules_dir ? paths.modules_dir : "(none: built into the kernel)");
    printf("own kernel: %s\n", paths.own ? "yes (guest/kernel/config-x86_64)" : "no");
    if (!strcmp(paths.arch, "arm64"))
        printf("devices:    virtio-mmio in the device tree (qemu-system-aarch64 -M virt)\n");
    else
        printf("devices:    %s\n", paths.acpi ? "ACPI" : "virtio-mmio on the command line (no ACPI)");
    printf("initramfs:  %s\n", paths.initramfs);
    printf("accel:      %s%s%s%s\n", accel, why[0] ? " (" : "", why, why[0] ? ")" : "");
    guest_paths_free(&paths);
    return 0;
}
