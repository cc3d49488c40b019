/* guest/accel.c: KVM when it really works, TCG otherwise.
 *
 * /dev/kvm opening is not enough: on nested or paravirtualised hosts (kvm_pvm) a stock kernel
 * is emulated instruction by instruction and looks hung. So KVM is probed once per kernel
 * with a real boot up to vminitd's HELLO under a watchdog, and the outcome is cached in the
 * store with the reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define KVM_PROBE_WATCHDOG 10.0

int guest_accel(const char *root, const guest_paths *paths, char accel[8], char why[256], cb_err *err)
{
    char whybuf[256];
    if (!why)
        why = whybuf;
    why[0] = 0;
    const char *mode = getenv("CBUILD_ACCEL");
    if (!mode || !*mode)
        mode = "auto";
    if (strcmp(mode, "tcg") == 0) {
        snprintf(accel, 8, "tcg");
        snprintf(why, 256, "CBUILD_ACCEL=tcg");
        return 0;
    }
    if (strcmp(mode, "kvm") != 0 && strcmp(mode, "auto") != 0)
        return cb_fail(err, "CBUILD_ACCEL=%s: expected kvm, tcg or auto", mode);
    const char *arch = guest_arch_canon(paths->arch);
    if (arch && strcmp(arch, guest_host_arch()) != 0) {
        /* KVM runs only guests of the host's own architecture */
        if (strcmp(mode, "kvm") == 0)
            return cb_failc(err, ENOTSUP, "CBUILD_ACCEL=kvm but %s VMs cannot use KVM on this %s host", arch,
                            guest_host_arch());
        snprintf(accel, 8, "tcg");
        snprintf(why, 256, "%s guest, %s host", arch, guest_host_arch());
        return 0;
    }
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (strcmp(mode, "kvm") == 0)
            return cb_error(err, e, "CBUILD_ACCEL=kvm but /dev/kvm cannot be opened");
        snprintf(accel, 8, "tcg");
        snprintf(why, 256, "/dev/kvm: %s", strerror(e));
        return 0;
    }
    close(fd);
    if (strcmp(mode, "kvm") == 0) {
        snprintf(accel, 8, "kvm");
        return 0;
    }
    char key[17];
    int rc = guest_file_key(paths->vmlinux ? paths->vmlinux : paths->kernel, key, err);
    if (rc < 0)
        return rc;
    cleanup_free char *cache = xasprintf("%s/kernel/accel-%s", root, key);
    cb_buf b;
    cb_buf_init(&b);
    if (cb_read_file(cache, &b, NULL) == 0 && b.len >= 3) {
        snprintf(accel, 8, "%.3s", b.data);
        if (b.len > 4)
            snprintf(why, 256, "%.*s", (int)strcspn(b.data + 4, "\n"), b.data + 4);
        cb_buf_free(&b);
        if (strcmp(accel, "kvm") == 0 || strcmp(accel, "tcg") == 0)
            return 0;
    }
    cb_buf_free(&b);
    cb_info("probing KVM with a test boot (once; the result is kept in %s)", cache);
    cb_err perr = {0};
    double t = cb_now();
    /* CBUILD_KVM_PROBE_TIMEOUT: nested KVM under TCG (tests/e2e/guest/kvm.sh) boots slowly */
    const char *pt = getenv("CBUILD_KVM_PROBE_TIMEOUT");
    double watchdog = pt && atof(pt) > 0 ? atof(pt) : KVM_PROBE_WATCHDOG;
    rc = guest_vm_probe(root, paths, "kvm", watchdog, &perr);
    if (rc == 0) {
        snprintf(accel, 8, "kvm");
    } else {
        snprintf(accel, 8, "tcg");
        /* first line only: the console tail follows */
        char *nl = strchr(perr.msg, '\n');
        snprintf(why, 256, "KVM test boot failed: %.*s", nl ? (int)(nl - perr.msg) : (int)strlen(perr.msg),
                 perr.msg);
    }
    cb_debug("KVM probe took %.0f ms: %s %s", (cb_now() - t) * 1000, accel, why);
    cleanup_free char *content = xasprintf("%s\n%s\n", accel, why);
    cb_write_file_atomic(cache, content, strlen(content), 0644, NULL);
    return 0;
}
