/* vminitd internals: PID 1 of the build VM. Static musl, libc only. */
#ifndef VMINITD_H
#define VMINITD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../protocol.h"

#define NEWROOT "/newroot"

/* ---------- small utilities (util.c) ---------- */
void trace(const char *stage);
extern bool tracing; /* `cbuild.trace` on the kernel command line */
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vlog with another name before the message (the standalone init says cbuild-init) */
void vlog_as(const char *who, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void *xzalloc(size_t n);
char *xstrndup0(const uint8_t *p, size_t n);
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_all(int fd, const void *p, size_t n);
int write_file(const char *path, const void *data, size_t n, mode_t mode);
int mkdir_p(const char *path, mode_t mode);
int read_small_file(const char *path, char *buf, size_t cap); /* bytes or -errno; NUL-terminated, trimmed */
void sleep_ms(long ms);

/* ---------- control channel (ctl.c) ---------- */
extern int ctl_fd;  /* the virtio-serial port to the host, -1 until ctl_open */
int ctl_open(void); /* the port's fd (also in ctl_fd), or -1 when it did not appear */
int port_open(const char *name); /* a virtio-serial port by name: its fd, or -1 */
/* An ssh-agent socket at path (mode, owner) relayed to the port name by a child process. */
int ssh_agent_serve(const char *path, const char *port, uint32_t mode, uint32_t uid, uint32_t gid);
int ctl_send(uint16_t type, const void *payload, size_t len);
int ctl_send_error(uint32_t kind, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---------- configuration from the host (config.c) ---------- */
typedef struct disk {
    char *id;
    char *serial;  /* virtio-blk */
    int lun;       /* virtio-scsi, -1 when blk */
    char dev[300]; /* /dev/vdX once found */
} disk;

typedef struct vmount {
    uint32_t kind; /* enum guest_mount_kind */
    char *target;
    char *disk;
    char *source;
    bool ro;
    uint64_t size;
    uint8_t *data;
    size_t data_len;
    uint32_t mode, uid, gid;
    char *staging; /* where the disk or secret lives in vminitd's namespace */
} vmount;

typedef struct vrlimit {
    uint32_t resource;   /* RLIMIT_* */
    uint64_t soft, hard; /* RLIM_INFINITY = ~0 */
} vrlimit;

typedef struct config {
    char *hostname;
    uint32_t network;
    disk *disks;
    size_t n_disks;
    char **lowers;
    size_t n_lowers;
    char *upper;
    char *lower_subdir; /* NULL = detect */
    vmount *mounts;
    size_t n_mounts;
    char *hosts, *resolv;
    uint8_t entropy[256]; /* restored from a template: reseed, set the clock, rescan */
    size_t entropy_len;
    uint64_t wallclock_ns;
    bool rescan;
    uint64_t shm_size; /* 0 = 64 MiB */
    uint64_t memory_max; /* the command's cgroup memory.max; 0 = max */
    vrlimit rlimits[GUEST_RLIMIT_MAX]; /* docker --ulimit, set just before the command's exec */
    size_t n_rlimits;
} config;

/* After a template restore: fresh entropy into the RNG, the host's time, new disks probed. */
int restore_refresh(const config *c);

typedef struct execspec {
    char **argv;
    size_t argc;
    char **env;
    size_t envc;
    char *cwd;
    char *user;
    bool tty;
    bool stdin_open;
    bool build_groups;
    bool default_caps;
    unsigned rows, cols;
} execspec;

int config_parse(const uint8_t *p, size_t len, config *c);
int execspec_parse(const uint8_t *p, size_t len, execspec *e);
/* Both free what a parse allocated, also after a failed parse. */
void config_free(config *c);
void execspec_free(execspec *e);

/* ---------- guest setup (setup.c) ---------- */
/* Paths created in the overlay only to serve as mount points; removed after the run. */
typedef struct created_list {
    char **paths;
    bool *is_dir;
    size_t n;
} created_list;

extern int modules_dirfd; /* /modules of the initramfs, kept open across the root move */
extern int oldroot_fd;    /* vminitd's own root, to come back from a chroot */
int modules_load_group(const char *group);
int rootfs_assemble(config *c);
int net_configure(const config *c);
void rootfs_teardown(config *c, created_list *created, uint32_t *flags);
void make_pty_dir(void);

/* ---------- the command (exec.c) ---------- */
typedef struct child {
    pid_t pid;
    int pidfd;
    int in_fd;   /* write end of stdin, or pty master; -1 when closed */
    int out_fd;  /* stdout read end or pty master */
    int err_fd;  /* stderr read end, -1 with tty */
    int errpipe; /* exec error report (read end), -1 when done */
} child;

int child_start(const config *c, const execspec *e, child *ch, created_list *created);
/* In the child: the user, groups, environment defaults, resource limits (n of them) and working
 * directory of e, then exec. */
void child_become(const execspec *e, const char *hostname, bool tty, const vrlimit *rlimits, size_t n)
    __attribute__((noreturn));

/* ---------- booted on its own from a bootable ext4 (standalone.c) ---------- */
/* The image's command from STANDALONE_CONFIG; the console gets its output and the exit status. */
void standalone_main(void) __attribute__((noreturn));
#define STANDALONE_CONFIG "/etc/cbuild-init.conf"
#define STANDALONE_STATUS "/etc/cbuild-init.status"

#endif
