/* cbuild info: what this cbuild runs on, like `docker info`: versions, the store, the guest
 * kernel, the accelerator and why, QEMU and the RUN network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "guest.h"

/* First line of `PROG --version`, or NULL when PROG cannot be run. */
static char *first_line_of(const char *prog, const char *arg)
{
    cleanup_free char *cmd = xasprintf("%s %s 2>/dev/null", prog, arg);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    char line[256] = "";
    char *got = fgets(line, sizeof line, p);
    pclose(p);
    if (!got || !*line) return NULL;
    line[strcspn(line, "\n")] = 0;
    return xstrdup(line);
}

static void kv(const char *k, const char *v) { printf(" %-12s %s\n", k, v && *v ? v : "-"); }

/* The arm64 VM section, when an arm64 kernel is installed (`cbuild setup --arch arm64`). */
static int info_arm64(cli_ctx *ctx)
{
    if (!guest_kernel_present(ctx->root, "arm64")) return 0;
    printf("VM (linux/arm64):\n");
    const char *qemu = getenv("CBUILD_QEMU_AARCH64");
    cleanup_free char *qv = first_line_of(qemu && *qemu ? qemu : "qemu-system-aarch64", "--version");
    kv("QEMU:", qv ? qv : "not found (apt-get install qemu-system-arm)");
    cb_err err = {0};
    guest_paths paths;
    if (guest_setup_arch(ctx->root, "arm64", NULL, &paths, &err) < 0) {
        kv("Kernel:", err.msg);
        return 1;
    }
    kv("Kernel:", paths.kernel);
    kv("Version:", paths.version);
    kv("Modules:", paths.modules_dir ? paths.modules_dir : "none (built in)");
    kv("Initramfs:", paths.initramfs);
    char accel[8], why[256];
    int rc = guest_accel(ctx->root, &paths, accel, why, &err);
    kv("Accel:", rc < 0 ? err.msg : accel);
    if (rc == 0 && why[0]) kv("Why:", why);
    guest_paths_free(&paths);
    return rc < 0 ? 1 : 0;
}

int cli_cmd_info(cli_ctx *ctx, int argc, char **argv)
{
    const cli_cmd_spec spec = {"info", "", "Show versions, the store, the guest kernel and the accelerator", NULL,
                               false, 0, 0};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    cb_strv_free(&pos);
    if (rc >= 0) return rc;

    struct utsname u;
    uname(&u);
    printf("Client:\n");
    kv("Version:", CB_VERSION);
    kv("Host:", u.machine);
    cleanup_free char *cpus = xasprintf("%ld", sysconf(_SC_NPROCESSORS_ONLN));
    kv("CPUs:", cpus);
    printf("Store:\n");
    kv("Root:", ctx->root);
    printf("VM:\n");
    const char *qemu = getenv("CBUILD_QEMU");
    cleanup_free char *qv = first_line_of(qemu && *qemu ? qemu : "qemu-system-x86_64", "--version");
    kv("QEMU:", qv ? qv : "not found (apt-get install qemu-system-x86)");
    cleanup_free char *pv = first_line_of("passt", "--version");
    kv("passt:", pv ? pv : "not found (apt-get install passt)");
    cb_err err = {0};
    guest_paths paths;
    if (guest_setup(ctx->root, NULL, &paths, &err) < 0) {
        kv("Kernel:", err.msg);
        return 1;
    }
    kv("Kernel:", paths.kernel);
    kv("Version:", paths.version);
    kv("Own kernel:", paths.own ? "yes (guest/kernel/config-x86_64)" : "no (Debian's; `cbuild setup --build-kernel`)");
    kv("Boot image:", paths.vmlinux ? paths.vmlinux : paths.kernel);
    kv("Devices:", paths.acpi ? "ACPI" : "virtio-mmio on the command line");
    kv("Modules:", paths.modules_dir ? paths.modules_dir : "none (built in)");
    kv("Initramfs:", paths.initramfs);
    char accel[8], why[256];
    if (guest_accel(ctx->root, &paths, accel, why, &err) < 0) {
        guest_paths_free(&paths);
        kv("Accel:", err.msg);
        return 1;
    }
    kv("Accel:", accel);
    if (why[0]) kv("Why:", why);
    guest_paths_free(&paths);
    return info_arm64(ctx);
}
