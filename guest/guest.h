/* guest/: the throwaway VM every RUN step (and `cbuild run`) executes in.
 *
 * Host side of the VM layer: installs a guest kernel into the store, assembles and caches
 * the initramfs (vminitd + the kernel modules it needs), and runs one command in a fresh
 * QEMU VM whose root is an overlay of read-only ext4 layer images plus one writable upper
 * ext4 image. After a successful run the upper image holds exactly what the command changed
 * (overlay format: whiteouts are 0:0 char devices, opaque dirs carry trusted.overlay.opaque)
 * — it is the step's layer.
 *
 * The wire protocol between this library and vminitd is in guest/protocol.h (internal). */
#ifndef CB_GUEST_H
#define CB_GUEST_H

#include <signal.h>

#include "common.h"

/* ---------- kernel and initramfs ---------- */

/* Files a VM boots from. All paths are owned by the struct (free with guest_paths_free). */
typedef struct guest_paths {
    char *kernel;      /* the kernel as installed or given (bzImage) */
    char *vmlinux;     /* uncompressed ELF extracted from it for direct PVH boot (cached
                        * beside it), or NULL when the kernel is not a bzImage with a payload */
    char *modules_dir; /* <...>/lib/modules/<version>, or NULL when the kernel has none */
    char *initramfs;   /* cached uncompressed newc cpio, named by its content digest */
    char *version;     /* kernel release, e.g. "6.1.0-56-cloud-amd64" */
    bool acpi;         /* the kernel finds devices through ACPI (else: virtio_mmio.device= on
                        * the command line, QEMU's microvm with acpi=off) */
    bool own;          /* cbuild's own kernel (guest/kernel/), not Debian's */
    char arch[8];      /* the guest's architecture: "amd64" or "arm64" (OCI GOARCH names) */
} guest_paths;

/* Make sure a guest kernel and a matching initramfs exist under `<root>/kernel/` and fill
 * `paths`. The kernel is, in order of preference: `kernel_override` (a bzImage path, from
 * `cbuild setup --kernel FILE`), $CBUILD_KERNEL, cbuild's own kernel when one was built
 * (`cbuild setup --build-kernel`: `<root>/kernel/own/current/`), a kernel already installed in the store,
 * or Debian's cloud kernel, installed on first use with `apt-get download` of the package
 * `apt-cache depends linux-image-cloud-amd64` names and `dpkg -x`. An override kernel's
 * modules are taken from $CBUILD_KERNEL_MODULES, else /lib/modules/<its version> when that
 * exists, else it must have virtio, ext4 and overlay built in.
 * Safe to call for every run: when everything is cached it only stats files. */
int guest_setup(const char *root, const char *kernel_override, guest_paths *paths, cb_err *err);
/* The same for VMs of `arch` (OCI GOARCH: "amd64", "arm64"; NULL or "" = the host's):
 * guest_setup is guest_setup_arch(root, NULL, ...). arm64 uses `<root>/kernel/arm64/`: the
 * kernel is `kernel_override`, else $CBUILD_KERNEL_ARM64 (an arm64 Image, gzipped or not), else
 * Debian's linux-image-cloud-arm64 installed on first use (after `dpkg --add-architecture
 * arm64 && apt-get update`, which cbuild runs itself when root), and the initramfs holds the
 * aarch64 vminitd. Fails with a message naming the package when this cbuild was built without
 * gcc-aarch64-linux-gnu (no arm64 vminitd), or for another architecture. */
int guest_setup_arch(const char *root, const char *arch, const char *kernel_override, guest_paths *paths,
                     cb_err *err);
/* Is a kernel for `arch` there without installing one ($CBUILD_KERNEL_ARM64 or the store's)? */
bool guest_kernel_present(const char *root, const char *arch);
/* "amd64" or "arm64" for an OCI GOARCH name (or x86_64/aarch64; NULL/"" = the host's), NULL when
 * cbuild has no VM for it. */
const char *guest_arch_canon(const char *arch);
/* Build cbuild's own guest kernel (guest/kernel/build.sh over Debian's linux-source) into
 * `<root>/kernel/own/` unless one for the same config and source is there, and make it the
 * store's kernel. The kernel's folder goes to *dir. */
int guest_kernel_build(const char *root, char **dir, cb_err *err);
void guest_paths_free(guest_paths *paths);
/* vminitd itself (a static binary), for a bootable ext4's /sbin/cbuild-init: started under
 * that name it runs /etc/cbuild-init.conf's command on its own (guest/vminitd/standalone.c). */
const unsigned char *guest_vminitd_binary(size_t *len);

/* ---------- one VM run ---------- */

enum guest_network {
    /* eth0 10.0.2.15/24, gw 10.0.2.2, DNS 10.0.2.3 in both user-mode networks: */
    GUEST_NET_DEFAULT = 0, /* passt --no-map-gw: outbound NAT, the host's loopback unreachable;
                            * fails when passt is not installed (never falls back to slirp) */
    GUEST_NET_NONE,        /* loopback only */
    GUEST_NET_HOST,        /* QEMU's slirp: 10.0.2.2 is the host's 127.0.0.1 (network.host) */
};

/* RUN --mount kinds. */
enum guest_mount_kind {
    GUEST_MOUNT_EXT4_RO = 0, /* bind (read-only): an ext4 image (a stage or the context); `source`
                              * is the path inside the image to mount, "" or NULL for its root */
    GUEST_MOUNT_EXT4_RW,     /* cache mount: a persistent ext4 image, mounted read-write at its
                              * root (or `source`, created when missing); changes persist */
    GUEST_MOUNT_TMPFS,       /* tmpfs of `size` bytes (0 = kernel default, half of RAM) */
    GUEST_MOUNT_SECRET,      /* `data`/`data_len` bytes as a file at `target` (on a tmpfs),
                              * with mode/uid/gid; also used for type=ssh sockets' stand-ins */
    GUEST_MOUNT_SSH_AGENT,   /* a unix socket at `target` (mode/uid/gid) forwarded to the host's
                              * ssh-agent socket `agent` over its own virtio-serial port */
    GUEST_MOUNT_HOSTDIR,     /* the host directory `source` shared through virtio-fs (one
                              * virtiofsd per share, only that tree visible), `readonly` honoured
                              * by the guest mount and, when the host allows it, by virtiofsd's view */
};

typedef struct guest_mount {
    enum guest_mount_kind kind;
    const char *target; /* absolute path in the container; created when missing (and
                         * removed again afterwards so it does not end up in the layer) */
    const char *image;  /* EXT4_RO / EXT4_RW: the ext4 image file */
    const char *source; /* EXT4_RO / EXT4_RW: path inside the image, NULL = its root;
                         * HOSTDIR: the host directory (absolute, existing) */
    bool readonly;      /* EXT4_RW / TMPFS: mount read-only anyway */
    uint64_t size;      /* TMPFS */
    const void *data;   /* SECRET */
    size_t data_len;    /* SECRET */
    uint32_t mode;      /* SECRET: file mode (0 = 0400); TMPFS: dir mode (0 = 01777) */
    uint32_t uid, gid;  /* SECRET file / TMPFS dir owner */
    const char *agent;  /* SSH_AGENT: the host's agent socket */
} guest_mount;

/* A published port (docker run -p): the host's host_ip:host_port forwards to the guest's
 * guest_port, through passt (-t/-u) on the default network, slirp's hostfwd on host. */
typedef struct guest_port {
    const char *host_ip; /* NULL or "" = 127.0.0.1 */
    unsigned short host_port, guest_port;
    bool udp;
} guest_port;

/* Output callback: stream is 1 (stdout) or 2 (stderr). With cfg->output_lines, each call
 * carries one line including its '\n' (the last piece of a stream may lack it; lines longer
 * than 64 KiB are cut into pieces); otherwise the data as it arrives. With a TTY everything
 * arrives as stream 1. */
typedef void (*guest_output_fn)(void *opaque, int stream, const char *data, size_t len);

/* A resource limit for the command (docker's --ulimit), set with setrlimit() just before its exec. */
#define GUEST_RLIMITS_MAX 16
typedef struct guest_rlimit {
    char name[12];      /* docker's name: "nofile", "nproc", … */
    uint32_t resource;  /* Linux's RLIMIT_* number (the same on amd64 and arm64) */
    int64_t soft, hard; /* -1: unlimited (RLIM_INFINITY) */
} guest_rlimit;

/* docker's --ulimit NAME=SOFT[:HARD] (go-units ParseUlimit): SOFT alone sets both, -1 or
 * "infinity" is unlimited; err gets docker's message ("invalid ulimit type: foo", "ulimit soft
 * limit must be less than or equal to hard limit: 2 > 1", "invalid ulimit argument: …", strconv's). */
int guest_rlimit_parse(const char *val, guest_rlimit *out, cb_err *err);
/* Parse val into list (*n entries, sorted by name, as docker lists them): a name given again
 * replaces the earlier value, as docker's map of ulimits does. */
int guest_rlimits_set(guest_rlimit list[GUEST_RLIMITS_MAX], size_t *n, const char *val, cb_err *err);
/* "nofile=1024:2048" (go-units' Ulimit.String: -1 for unlimited) */
void guest_rlimit_format(const guest_rlimit *r, char *buf, size_t cap);

typedef struct guest_run_config {
    const char *root;         /* store root (kernel, initramfs, accel probe cache) */
    const guest_paths *paths; /* NULL (or set up for another arch): guest_setup_arch(root, arch, NULL, ...)
                               * is called */
    /* The guest's architecture, an OCI GOARCH name: "amd64" or "arm64"; NULL or "" = the
     * host's. A foreign one runs under TCG (qemu-system-aarch64 -M virt for arm64). */
    const char *arch;

    /* Root filesystem: overlay of the lowers (ext4 images in overlay format, bottom first;
     * up to 400, more than Docker's 127) and the upper. */
    const char *const *lowers;
    size_t n_lowers;
    /* Where a lower image keeps its tree: NULL = detect (an image whose root holds only
     * upper/, plus lost+found and work/, is used at upper/, as ext4/ writes overlay layer
     * images and as a finished upper looks; any other image at its root); "" = always the
     * image root; "upper" (any name) = always that directory. */
    const char *lower_subdir;
    /* Writable upper: an empty ext4 image made by the caller (sparse; its size is the step's
     * disk budget). vminitd creates upper/ and work/ in it, and removes work/ at the end, so
     * after the run the image holds the layer in `upper/`. NULL: a tmpfs upper that is
     * thrown away (cbuild run). */
    const char *upper;

    char *const *argv;                 /* required, argv[0] resolved with the env's PATH */
    char *const *env;                  /* "K=V" strings; PATH defaults to Docker's when absent;
                                        * HOSTNAME and HOME are set as Docker does when absent */
    const char *cwd;                   /* NULL = "/"; created when missing (owned by root, 0755) */
    const char *user;                  /* NULL/"" = root; "name", "uid", "name:group", "uid:gid" */
    bool build_groups; /* BuildKit's RUN groups (containerd WithAdditionalGIDs), not docker run's */
    bool default_caps; /* the command's bounding set is Docker's default one; false: all (--security=insecure) */
    const char *hostname;              /* NULL = a random 12-hex-digit name, as Docker does */
    char *const *extra_hosts;          /* "name:ip" lines added to /etc/hosts (--add-host) */
    bool tty;                          /* allocate a pty; stdout and stderr merge into stream 1 */
    unsigned short tty_rows, tty_cols; /* initial window size when tty (0 = 24x80) */
    enum guest_network network;
    uint64_t memory; /* guest RAM in bytes; 0 = 1 GiB */
    int cpus;        /* 0 = 1 */
    uint64_t shm_size; /* /dev/shm in bytes; 0 = 64 MiB, as Docker */
    uint64_t memory_max; /* the command's cgroup memory.max (docker --memory); 0 = max */
    const guest_rlimit *rlimits; /* docker --ulimit, at most GUEST_RLIMITS_MAX; the rest keep the VM's */
    size_t n_rlimits;
    double timeout;  /* seconds for the whole run incl. boot; 0 = none */

    const guest_mount *mounts;
    size_t n_mounts;
    const guest_port *ports; /* not with GUEST_NET_NONE */
    size_t n_ports;

    /* The VM's serial console goes here (appended) instead of a temp file (cbuild run -d keeps
     * it in the container's folder). NULL = temp. */
    const char *console_log;
    /* Called once when the command has started, with the VMM's pid (cbuild run -d records it). */
    void (*started)(void *opaque, pid_t vmm_pid);
    void *started_opaque;

    /* stdio. stdin_fd: -1 = no stdin (reads see EOF), else forwarded until EOF. When
     * `output` is set it gets stdout/stderr and the fds are ignored; otherwise data goes to
     * stdout_fd / stderr_fd (-1 = discard). */
    int stdin_fd, stdout_fd, stderr_fd;
    guest_output_fn output;
    void *output_opaque;
    bool output_lines;

    /* Optional, polled at least every 100 ms: *cancel non-zero kills the VM (the run fails
     * with res->cancelled); *forward_signal non-zero is delivered to the command as that
     * signal and reset to 0 (docker run's signal proxy: a PID 1 without a handler for it
     * ignores it, as in Docker); before the command started it kills the VM instead. */
    volatile sig_atomic_t *cancel;
    volatile sig_atomic_t *forward_signal;
} guest_run_config;

/* Fills in the defaults above (fds -1 except stdout_fd 1 and stderr_fd 2). */
void guest_run_config_init(guest_run_config *cfg);

typedef struct guest_run_result {
    int exit_code;      /* the command's exit status; 128+signal when killed by a signal
                         * (as Docker reports); 126/127 when it could not be executed */
    int signal;         /* terminating signal, or 0 */
    bool timed_out;     /* cfg->timeout expired and the VM was killed */
    bool cancelled;     /* killed through cfg->cancel */
    bool upper_full;    /* the upper disk ran out of space or inodes during the run */
    double boot_ms;     /* QEMU start until vminitd was ready to run the command */
    double run_ms;      /* the command, from exec to exit */
    double shutdown_ms; /* exit until QEMU was gone (sync and unmount included) */
    char accel[8];      /* "kvm" or "tcg" */
    char *console_tail; /* last console lines when something went wrong, else NULL */
} guest_run_result;

/* Boot a VM, run cfg->argv in it and shut it down. Returns 0 when the command ran (whatever
 * its exit status: see res->exit_code); a negative errno with `err` set when it could not
 * run: QEMU missing, kernel missing, boot failure (with the last console lines), command not
 * found or not executable in the image (res->exit_code is 127/126 too), timeout,
 * cancellation, upper disk full (the layer would be incomplete). Temporary files are always
 * removed. */
int guest_run(const guest_run_config *cfg, guest_run_result *res, cb_err *err);
void guest_run_result_free(guest_run_result *res);

/* Which accelerator runs VMs: $CBUILD_ACCEL (kvm|tcg|auto, default auto). With auto, KVM
 * is probed once with a real boot and a watchdog and the outcome (and why KVM was not used)
 * cached in `<root>/kernel/accel-<kernel digest>`. `why` (may be NULL) receives the reason
 * for TCG. */
int guest_accel(const char *root, const guest_paths *paths, char accel[8], char why[256], cb_err *err);

#endif
