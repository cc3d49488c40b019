/* guest/vm-backend.h: what the VMM-neutral run loop (vm.c) needs from a VMM backend.
 * vm-qemu.c has two: x86-64 microvm and aarch64 `-M virt`; template restore (`-incoming`) is
 * a machine field here, not a branch in vm.c. */
#ifndef CB_GUEST_VM_BACKEND_H
#define CB_GUEST_VM_BACKEND_H

#include <sys/types.h>

#include "internal.h"

typedef struct vdisk {
    char id[24];
    const char *file;
    bool readonly;
    int lun; /* -1: its own virtio-blk with serial=id; else a LUN behind one virtio-scsi */
} vdisk;

/* A host directory shared through virtio-fs: virtiofsd serves `dir` on a socket in the VM's
 * temp dir, the guest mounts tag `id`. */
typedef struct vshare {
    char id[24];
    const char *dir;
    bool readonly;
} vshare;

/* What to boot: everything a backend needs to start one VM. */
typedef struct vm_machine {
    const guest_paths *paths;
    const char *accel; /* "kvm" or "tcg" */
    int cpus;
    uint64_t memory;
    enum guest_network network;
    const vdisk *disks;
    size_t n_disks;
    const vshare *shares; /* RAM becomes a shared memfd (vhost-user needs it): never a template */
    size_t n_shares;
    const guest_port *ports;
    size_t n_ports;
    /* Template snapshots (vm.c): `template_layout` gives the machine the fixed devices a
     * snapshot can be restored into (control port, SCSI controller, NIC when networked; every
     * disk a SCSI LUN); `restore` names the snapshot to start from; `monitor` asks for a
     * control monitor so that `save` can snapshot the VM. */
    bool template_layout;
    const char *restore;
    bool monitor;
    /* per mount index: the relay socket of an ssh-agent mount (its own virtio-serial port,
     * GUEST_SSH_PORT_PREFIX "<i>"), else NULL */
    char *const *ssh_socks;
    size_t n_ssh_socks;
} vm_machine;

/* A started VM's processes and its private temp dir (console log, control socket). */
typedef struct vm_proc {
    char *tmpdir, *sock, *console, *log, *monitor;
    int lock_fd, pidfd;
    int restore_fd; /* the snapshot, open for the VMM to inherit while it starts */
    pid_t pid;      /* the VMM */
    pid_t net_pid;  /* the user-mode network helper (passt), or 0 */
    pid_t *fs_pids; /* one virtiofsd per share */
    size_t n_fs;
    bool exited;
    int status;
} vm_proc;

typedef struct vm_backend {
    const char *name;
    size_t device_slots; /* transports for the control port, the NIC and the disks */
    /* without ACPI: microvm has no second IOAPIC then, and only 8 virtio-mmio transports */
    size_t device_slots_noacpi;
    /* Create the temp dir and name the control socket (vm.c listens on it before start). */
    int (*prepare)(vm_proc *p, cb_err *err);
    int (*start)(const vm_machine *m, vm_proc *p, cb_err *err);
    /* SIGKILL and reap the VMM and its helpers; safe to call twice. */
    void (*kill)(vm_proc *p);
    /* kill, then remove the temp dir and free the strings. */
    void (*cleanup)(vm_proc *p);
    /* Snapshot a running VM started with `monitor` into `out` (atomically); the VM stops. */
    int (*save)(vm_proc *p, const char *out, double deadline, cb_err *err);
    /* A key for what a snapshot depends on besides the machine: the VMM binary. */
    int (*snapshot_key)(char key[17], cb_err *err);
} vm_backend;

#define VM_PROC_INIT                                                                                         \
    {                                                                                                        \
        .lock_fd = -1, .pidfd = -1, .restore_fd = -1                                                         \
    }

extern const vm_backend guest_backend_qemu_x86;
extern const vm_backend guest_backend_qemu_arm64;

#endif
