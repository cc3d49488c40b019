/* guest/ internals shared by kernel.c, initramfs.c, accel.c, run.c, vm.c and vm-qemu.c.
 * Calls go run.c -> accel.c -> vm.c -> vm-qemu.c and kernel.c -> initramfs.c, never back. */
#ifndef CB_GUEST_INTERNAL_H
#define CB_GUEST_INTERNAL_H

#include "guest.h"

extern const unsigned char guest_vminitd_data[];
extern const unsigned char guest_vminitd_end[];
/* empty (data == end) when cbuild was built without the aarch64 cross compiler */
extern const unsigned char guest_vminitd_arm64_data[];
extern const unsigned char guest_vminitd_arm64_end[];

typedef struct guest_blob {
    const unsigned char *data;
    size_t len;
} guest_blob;

/* The embedded vminitd for `arch` ("amd64" or "arm64"); an error naming the package to
 * install when this build has none for arm64. */
int guest_vminitd_blob(const char *arch, guest_blob *out, cb_err *err);

/* The running host's architecture as an OCI GOARCH name ("amd64", "arm64", or uname's). */
const char *guest_host_arch(void);

/* Run a program (argv[0] looked up in PATH) with cwd; its stdout+stderr are captured into
 * `out` (may be NULL). Returns its exit status (0..255), or a negative errno with err set
 * when it could not be started or was killed. */
int guest_spawn_capture(char *const argv[], const char *cwd, cb_buf *out, cb_err *err);

/* Find a program in PATH; NULL when missing. */
char *guest_which(const char *name);

/* Kernel release from a bzImage header, or NULL. */
char *guest_bzimage_version(const char *path);
/* Extract the uncompressed ELF vmlinux from a bzImage into `out` (atomically). Returns 0,
 * -ENOTSUP when the payload cannot be extracted or lacks a PVH entry note (boot the
 * bzImage then), or another negative errno with err set. */
int guest_extract_vmlinux(const char *bzimage, const char *out, cb_err *err);

/* Build the initramfs for `modules_dir` (may be NULL) into `<root>/kernel/initramfs-<d>.cpio`
 * unless cached; returns its path in *out. */
int guest_initramfs_build(const char *root, const char *modules_dir, char **out, cb_err *err);
/* The same with the vminitd built for `arch` ("amd64" or "arm64"). */
int guest_initramfs_build_arch(const char *root, const char *arch, const char *modules_dir, char **out,
                               cb_err *err);

/* A short key for a file (initramfs.c): sha256 of path, size, mtime and inode (16 hex digits). */
int guest_file_key(const char *path, char key[17], cb_err *err);

/* Host TSC frequency in kHz for tsc_early_khz= (0 when unknown). */
unsigned long guest_host_tsc_khz(void);

/* One VM run with the accelerator already chosen (guest_run minus setup and accel). */
int guest_vm_run(const guest_run_config *cfg, const guest_paths *paths, const char *accel,
                 guest_run_result *res, cb_err *err);

/* Probe boot for guest_accel: boots with `accel` and waits up to `watchdog` seconds for
 * vminitd's HELLO. 0 when it arrived; otherwise a negative errno with err saying why. */
int guest_vm_probe(const char *root, const guest_paths *paths, const char *accel, double watchdog,
                   cb_err *err);

#endif
