/* guest/vm.c: one QEMU microvm run. The host listens on a unix socket before QEMU starts
 * (QEMU connects as the client of the virtio-serial port), speaks guest/protocol.h with
 * vminitd, streams stdio, enforces timeouts and cancellation, and always removes its temp
 * directory and reaps QEMU. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "protocol.h"

#define VIRTIO_MMIO_SLOTS 24 /* QEMU microvm's virtio-mmio transports */

void guest_run_config_init(guest_run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stdin_fd = -1;
    cfg->stdout_fd = 1;
    cfg->stderr_fd = 2;
}

void guest_run_result_free(guest_run_result *res)
{
    if (!res) return;
    free(res->console_tail);
    res->console_tail = NULL;
}

/* ---------- message building (host side) ---------- */
static void hb_bytes(cb_buf *b, uint16_t tag, const void *data, size_t n)
{
    uint8_t h[6];
    guest_put_u16(h, tag);
    guest_put_u32(h + 2, (uint32_t)n);
    cb_buf_append(b, h, 6);
    if (n) cb_buf_append(b, data, n);
}
static void hb_str(cb_buf *b, uint16_t tag, const char *s) { hb_bytes(b, tag, s, strlen(s)); }
static void hb_u32(cb_buf *b, uint16_t tag, uint32_t v)
{
    uint8_t x[4];
    guest_put_u32(x, v);
    hb_bytes(b, tag, x, 4);
}
static void hb_u64(cb_buf *b, uint16_t tag, uint64_t v)
{
    uint8_t x[8];
    guest_put_u64(x, v);
    hb_bytes(b, tag, x, 8);
}

/* ---------- disks ---------- */
typedef struct vdisk {
    char id[24];
    const char *file;
    bool readonly;
    int lun; /* -1: virtio-blk with serial=id */
} vdisk;

typedef struct vm {
    const guest_run_config *cfg;
    char *tmpdir, *sock, *console, *qemu_log;
    int listen_fd, conn, pidfd, lock_fd;
    pid_t pid;
    bool qemu_exited;
    int qemu_status;
    double t0;
    cb_buf outq;
    size_t outq_off;
    uint8_t *rbuf;
    size_t rlen, rcap;
    cb_buf line[2]; /* partial lines per stream for output_lines */
    bool restored;  /* started from a template snapshot: no HELLO comes */
} vm;

static void vm_send(vm *v, uint16_t type, const void *payload, size_t len)
{
    uint8_t h[GUEST_HDR_LEN];
    guest_hdr_encode(h, type, (uint32_t)len);
    cb_buf_append(&v->outq, h, sizeof h);
    if (len) cb_buf_append(&v->outq, payload, len);
}

static bool is_tty(int fd) { return fd >= 0 && isatty(fd); }

static const char *default_qemu(void)
{
    const char *q = getenv("CBUILD_QEMU");
    return q && *q ? q : "qemu-system-x86_64";
}

/* Kernel arguments measured in VM-NOTES.md: quiet boot, no KASLR, one UART, no crypto
 * self-tests, and the TSC rate given (microvm otherwise hangs in 1 of 3 boots calibrating). */
static char *kernel_cmdline(const vdisk *disks, size_t nd, bool net)
{
    unsigned long khz = guest_host_tsc_khz();
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "console=ttyS0 quiet panic=-1 reboot=t nokaslr 8250.nr_uarts=1 cryptomgr.notests random.trust_cpu=on rcupdate.rcu_expedited=1");
    if (khz) cb_buf_printf(&b, " tsc_early_khz=%lu", khz);
    const char *trace = getenv("CBUILD_VM_TRACE");
    if (trace && *trace && strcmp(trace, "0") != 0) cb_buf_puts(&b, " cbuild.trace");
    bool blk = false, scsi = false;
    for (size_t i = 0; i < nd; i++) {
        if (disks[i].lun >= 0) scsi = true;
        else blk = true;
    }
    cb_buf_printf(&b, " cbuild.preload=%s%soverlay%s", blk ? "blk," : "", scsi ? "scsi," : "", net ? ",net" : "");
    return cb_buf_steal(&b);
}

static void argv_net(cb_strv *a)
{
    cb_strv_push(a, "-netdev");
    cb_strv_push(a, "user,id=n0");
    cb_strv_push(a, "-device");
    cb_strv_push(a, "virtio-net-device,netdev=n0");
}

/* The machine of one VM. `tmpl`: the template layout (virtio-serial, a virtio-scsi controller,
 * virtio-net when `net`, in that order, every disk a SCSI LUN), which a snapshot restore
 * needs: the restored machine must have the snapshot's virtio-mmio devices, and SCSI disks can
 * be added behind the controller. `incoming`: restore this snapshot file. `qmp`: a QMP socket. */
static void build_argv(cb_strv *a, const char *qemu, const guest_paths *paths, const char *accel, int cpus,
                       uint64_t memory, bool net, const vm *v, const vdisk *disks, size_t nd, bool tmpl,
                       const char *incoming, const char *qmp)
{
    cb_strv_push(a, qemu);
    cb_strv_push(a, "-M");
    cb_strv_push(a, paths->acpi ? "microvm,x-option-roms=off" : "microvm,x-option-roms=off,acpi=off");
    cb_strv_push(a, "-accel");
    cb_strv_push(a, accel);
    cb_strv_push(a, "-cpu");
    cb_strv_push(a, strcmp(accel, "kvm") == 0 ? "host,-arch-capabilities" : "max");
    cb_strv_push(a, "-m");
    cb_strv_push_owned(a, xasprintf("%lluM", (unsigned long long)(memory >> 20)));
    cb_strv_push(a, "-smp");
    cb_strv_push_owned(a, xasprintf("%d", cpus));
    cb_strv_push(a, "-nodefaults");
    cb_strv_push(a, "-no-user-config");
    cb_strv_push(a, "-display");
    cb_strv_push(a, "none");
    cb_strv_push(a, "-no-reboot");
    cb_strv_push(a, "-kernel");
    cb_strv_push(a, paths->vmlinux ? paths->vmlinux : paths->kernel);
    cb_strv_push(a, "-initrd");
    cb_strv_push(a, paths->initramfs);
    cb_strv_push(a, "-append");
    cb_strv_push_owned(a, kernel_cmdline(disks, nd, net));
    cb_strv_push(a, "-chardev");
    cb_strv_push_owned(a, xasprintf("file,id=con,path=%s", v->console));
    cb_strv_push(a, "-serial");
    cb_strv_push(a, "chardev:con");
    cb_strv_push(a, "-device");
    cb_strv_push(a, "virtio-serial-device,max_ports=2");
    cb_strv_push(a, "-chardev");
    cb_strv_push_owned(a, xasprintf("socket,id=ctl,path=%s", v->sock));
    cb_strv_push(a, "-device");
    cb_strv_push(a, "virtserialport,chardev=ctl,name=" GUEST_PORT_NAME);
    bool scsi = tmpl;
    for (size_t i = 0; i < nd; i++) scsi |= disks[i].lun >= 0;
    if (scsi) {
        cb_strv_push(a, "-device");
        cb_strv_push(a, "virtio-scsi-device,id=scsi0");
    }
    /* a template's virtio-mmio devices are serial, scsi, net in this order: its disks come after */
    if (net && tmpl) argv_net(a);
    for (size_t i = 0; i < nd; i++) {
        const vdisk *d = &disks[i];
        /* cache=unsafe: flushes are not needed for a throwaway VM, QEMU completes every
         * write before it exits; read-only lowers may be shared by concurrent VMs. */
        cb_strv_push(a, "-drive");
        cb_strv_push_owned(a, xasprintf("if=none,id=%s,file=%s,format=raw,cache=unsafe%s", d->id, d->file,
                                        d->readonly ? ",readonly=on,file.locking=off" : ""));
        cb_strv_push(a, "-device");
        if (d->lun < 0) cb_strv_push_owned(a, xasprintf("virtio-blk-device,drive=%s,serial=%s", d->id, d->id));
        else cb_strv_push_owned(a, xasprintf("scsi-hd,drive=%s,bus=scsi0.0,channel=0,scsi-id=0,lun=%d", d->id, d->lun));
    }
    if (net && !tmpl) argv_net(a);
    if (qmp) {
        cb_strv_push(a, "-qmp");
        cb_strv_push_owned(a, xasprintf("unix:%s,server=on,wait=off", qmp));
    }
    if (incoming) {
        cb_strv_push(a, "-incoming");
        cb_strv_push_owned(a, xasprintf("exec:cat '%s'", incoming));
    }
}

/* ---------- process ---------- */
/* Temp dirs of cbuild processes that were killed outright (SIGKILL, power loss) are swept
 * by the next run: a live run holds an flock on <dir>/lock; a dir whose lock can be taken,
 * or that has none after a minute, is stale. flock works across PID namespaces. */
static void sweep_stale_tmpdirs(const char *t)
{
    DIR *d = opendir(t);
    if (!d) return;
    struct dirent *de;
    time_t now = time(NULL);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "cbuild-vm-", 10) != 0) continue;
        cleanup_free char *dir = xasprintf("%s/%s", t, de->d_name);
        cleanup_free char *lock = xasprintf("%s/lock", dir);
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        bool stale;
        if (fd < 0) {
            stale = now - st.st_mtime > 60;
        } else {
            stale = flock(fd, LOCK_EX | LOCK_NB) == 0 && now - st.st_mtime > 5;
            close(fd);
        }
        if (stale) {
            cb_debug("removing stale VM temp dir %s", dir);
            cb_rm_rf(dir, NULL);
        }
    }
    closedir(d);
}

static int vm_tmpdir(vm *v, cb_err *err)
{
    const char *t = getenv("TMPDIR");
    /* the socket path must fit in sun_path */
    if (!t || !*t || strlen(t) > 80) t = "/tmp";
    sweep_stale_tmpdirs(t);
    v->tmpdir = xasprintf("%s/cbuild-vm-XXXXXX", t);
    if (!mkdtemp(v->tmpdir)) {
        int e = errno;
        free(v->tmpdir);
        v->tmpdir = NULL;
        return cb_error(err, e, "creating a temporary directory in `%s`", t);
    }
    cleanup_free char *lock = xasprintf("%s/lock", v->tmpdir);
    v->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (v->lock_fd < 0 || flock(v->lock_fd, LOCK_EX) < 0) return cb_error(err, errno, "locking `%s`", lock);
    v->sock = xasprintf("%s/ctl.sock", v->tmpdir);
    v->console = xasprintf("%s/console.log", v->tmpdir);
    v->qemu_log = xasprintf("%s/qemu.log", v->tmpdir);
    return 0;
}

static int vm_listen(vm *v, cb_err *err)
{
    v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (v->listen_fd < 0) return cb_error(err, errno, "socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->sock);
    if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) return cb_error(err, errno, "bind `%s`", v->sock);
    if (listen(v->listen_fd, 1) < 0) return cb_error(err, errno, "listen `%s`", v->sock);
    return 0;
}

static int vm_spawn(vm *v, const char *qemu_path, cb_strv *argv, cb_err *err)
{
    int logfd = open(v->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) return cb_error(err, errno, "open `%s`", v->qemu_log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return cb_error(err, errno, "fork");
    }
    if (pid == 0) {
        /* own process group: a terminal's Ctrl-C goes to cbuild, which decides; and QEMU
         * dies with cbuild whatever kills it */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(qemu_path, argv->v);
        _exit(127);
    }
    close(logfd);
    v->pid = pid;
    v->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (v->pidfd < 0) return cb_error(err, errno, "pidfd_open");
    return 0;
}

static void vm_kill(vm *v)
{
    if (v->pid > 0 && !v->qemu_exited) {
        kill(v->pid, SIGKILL);
        while (waitpid(v->pid, &v->qemu_status, 0) < 0 && errno == EINTR) {}
        v->qemu_exited = true;
    }
}

static void vm_cleanup(vm *v)
{
    vm_kill(v);
    if (v->pidfd >= 0) close(v->pidfd);
    if (v->listen_fd >= 0) close(v->listen_fd);
    if (v->conn >= 0) close(v->conn);
    if (v->tmpdir) cb_rm_rf(v->tmpdir, NULL);
    if (v->lock_fd >= 0) close(v->lock_fd);
    free(v->tmpdir);
    free(v->sock);
    free(v->console);
    free(v->qemu_log);
    free(v->rbuf);
    cb_buf_free(&v->outq);
    cb_buf_free(&v->line[0]);
    cb_buf_free(&v->line[1]);
}

/* Last `maxlines` lines of a log file, or NULL. */
static char *file_tail(const char *path, int maxlines)
{
    cb_buf b;
    cb_buf_init(&b);
    if (!path || cb_read_file(path, &b, NULL) < 0 || b.len == 0) {
        cb_buf_free(&b);
        return NULL;
    }
    size_t end = b.len;
    while (end && (b.data[end - 1] == '\n' || b.data[end - 1] == '\r')) end--;
    size_t start = end;
    int lines = 0;
    while (start > 0) {
        if (b.data[start - 1] == '\n' && ++lines >= maxlines) break;
        start--;
    }
    cb_buf out;
    cb_buf_init(&out);
    for (size_t i = start; i < end; i++)
        if (b.data[i] != '\r') cb_buf_putc(&out, b.data[i]);
    cb_buf_free(&b);
    return cb_buf_steal(&out);
}

/* ---------- output ---------- */
static void deliver(vm *v, int stream, const char *data, size_t len)
{
    const guest_run_config *cfg = v->cfg;
    if (!cfg->output) {
        int fd = stream == 1 ? cfg->stdout_fd : cfg->stderr_fd;
        if (fd >= 0) cb_write_all(fd, data, len);
        return;
    }
    if (!cfg->output_lines) {
        cfg->output(cfg->output_opaque, stream, data, len);
        return;
    }
    cb_buf *lb = &v->line[stream - 1];
    cb_buf_append(lb, data, len);
    size_t start = 0;
    for (size_t i = 0; i < lb->len; i++) {
        if (lb->data[i] == '\n' || i - start + 1 >= 65536) {
            cfg->output(cfg->output_opaque, stream, lb->data + start, i - start + 1);
            start = i + 1;
        }
    }
    memmove(lb->data, lb->data + start, lb->len - start);
    lb->len -= start;
    if (lb->data) lb->data[lb->len] = 0;
}

static void flush_lines(vm *v)
{
    for (int s = 0; s < 2; s++) {
        if (v->cfg->output && v->cfg->output_lines && v->line[s].len)
            v->cfg->output(v->cfg->output_opaque, s + 1, v->line[s].data, v->line[s].len);
        cb_buf_reset(&v->line[s]);
    }
}

/* ---------- the conversation ---------- */
typedef struct run_state {
    bool hello, ready, started, exited, done, stdin_eof;
    double t_hello, t_ready, t_exit, t_done;
    uint32_t done_flags;
    int err_kind, err_errno;
    char *err_msg;
    unsigned short rows, cols;
} run_state;

static void send_config(vm *v, const vdisk *disks, size_t nd)
{
    const guest_run_config *cfg = v->cfg;
    cb_buf b;
    cb_buf_init(&b);
    char hostname[64];
    if (cfg->hostname && *cfg->hostname) {
        snprintf(hostname, sizeof hostname, "%s", cfg->hostname);
    } else {
        /* Docker names a container's host after the first 12 hex digits of its ID */
        unsigned char rnd[6] = {0};
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, rnd, sizeof rnd) < 0) memset(rnd, 0, sizeof rnd);
            close(fd);
        }
        snprintf(hostname, sizeof hostname, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    }
    hb_str(&b, GUEST_F_HOSTNAME, hostname);
    hb_u32(&b, GUEST_F_NETWORK, cfg->network == GUEST_NET_NONE ? 1 : 0);
    for (size_t i = 0; i < nd; i++) {
        cb_buf d;
        cb_buf_init(&d);
        hb_str(&d, GUEST_F_DISK_ID, disks[i].id);
        if (disks[i].lun >= 0) hb_u32(&d, GUEST_F_DISK_LUN, (uint32_t)disks[i].lun);
        else hb_str(&d, GUEST_F_DISK_SERIAL, disks[i].id);
        hb_bytes(&b, GUEST_F_DISK, d.data, d.len);
        cb_buf_free(&d);
    }
    for (size_t i = 0; i < cfg->n_lowers; i++) {
        char id[24];
        snprintf(id, sizeof id, "l%zu", i);
        hb_str(&b, GUEST_F_LOWER, id);
    }
    if (cfg->lower_subdir) hb_str(&b, GUEST_F_LOWER_SUBDIR, cfg->lower_subdir);
    if (cfg->upper) hb_str(&b, GUEST_F_UPPER, "u");
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        cb_buf d;
        cb_buf_init(&d);
        hb_u32(&d, GUEST_F_MOUNT_KIND, (uint32_t)m->kind);
        hb_str(&d, GUEST_F_MOUNT_TARGET, m->target);
        if (m->kind == GUEST_MOUNT_EXT4_RO || m->kind == GUEST_MOUNT_EXT4_RW) {
            char id[24];
            snprintf(id, sizeof id, "m%zu", i);
            hb_str(&d, GUEST_F_MOUNT_DISK, id);
            if (m->source) hb_str(&d, GUEST_F_MOUNT_SOURCE, m->source);
        }
        hb_u32(&d, GUEST_F_MOUNT_RO, m->readonly);
        if (m->size) hb_u64(&d, GUEST_F_MOUNT_SIZE, m->size);
        if (m->kind == GUEST_MOUNT_SECRET) hb_bytes(&d, GUEST_F_MOUNT_DATA, m->data, m->data_len);
        hb_u32(&d, GUEST_F_MOUNT_MODE, m->mode);
        hb_u32(&d, GUEST_F_MOUNT_UID, m->uid);
        hb_u32(&d, GUEST_F_MOUNT_GID, m->gid);
        hb_bytes(&b, GUEST_F_MOUNT, d.data, d.len);
        cb_buf_free(&d);
    }
    /* /etc/hosts and /etc/resolv.conf as Docker writes them for a bridge network */
    cb_buf h;
    cb_buf_init(&h);
    cb_buf_puts(&h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    for (char *const *e = cfg->extra_hosts; e && *e; e++) {
        const char *colon = strchr(*e, ':');
        if (colon) cb_buf_printf(&h, "%s\t%.*s\n", colon + 1, (int)(colon - *e), *e);
    }
    if (cfg->network != GUEST_NET_NONE) cb_buf_printf(&h, "10.0.2.15\t%s\n", hostname);
    hb_str(&b, GUEST_F_HOSTS, h.data);
    cb_buf_free(&h);
    hb_str(&b, GUEST_F_RESOLV, cfg->network == GUEST_NET_NONE ? "" : "nameserver 10.0.2.3\n");
    if (v->restored) {
        uint8_t rnd[64];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) abort(); /* never on Linux >= 3.17 */
        hb_bytes(&b, GUEST_F_ENTROPY, rnd, sizeof rnd);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        hb_u64(&b, GUEST_F_WALLCLOCK, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
        hb_u32(&b, GUEST_F_RESCAN, 1);
        memset(rnd, 0, sizeof rnd);
    }
    vm_send(v, GUEST_MSG_CONFIG, b.data, b.len);
    cb_buf_free(&b);
}

static void send_exec(vm *v, run_state *st)
{
    const guest_run_config *cfg = v->cfg;
    cb_buf b;
    cb_buf_init(&b);
    for (char *const *a = cfg->argv; *a; a++) hb_str(&b, GUEST_F_ARG, *a);
    for (char *const *e = cfg->env; e && *e; e++) hb_str(&b, GUEST_F_ENV, *e);
    if (cfg->cwd) hb_str(&b, GUEST_F_CWD, cfg->cwd);
    if (cfg->user) hb_str(&b, GUEST_F_USER, cfg->user);
    hb_u32(&b, GUEST_F_TTY, cfg->tty);
    hb_u32(&b, GUEST_F_STDIN, cfg->stdin_fd >= 0);
    if (cfg->tty) {
        hb_u32(&b, GUEST_F_ROWS, st->rows ? st->rows : 24);
        hb_u32(&b, GUEST_F_COLS, st->cols ? st->cols : 80);
    }
    vm_send(v, GUEST_MSG_EXEC, b.data, b.len);
    cb_buf_free(&b);
}

static uint32_t field_u32(const uint8_t *p, uint32_t len, uint16_t want, uint32_t dflt)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *val;
    uint32_t n, u;
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &val, &n))
        if (tag == want && guest_field_u32(val, n, &u)) return u;
    return dflt;
}

static int handle_msg(vm *v, run_state *st, guest_run_result *res, uint16_t type, const uint8_t *p, uint32_t len,
                      const vdisk *disks, size_t nd, cb_err *err)
{
    double now = cb_now();
    switch (type) {
    case GUEST_MSG_HELLO: {
        uint32_t ver = field_u32(p, len, GUEST_F_VERSION, 0);
        if (ver != GUEST_PROTO_VERSION)
            return cb_failc(err, EPROTO, "vminitd speaks protocol version %u, this cbuild speaks %u", ver,
                            GUEST_PROTO_VERSION);
        st->hello = true;
        st->t_hello = now;
        if (getenv("CBUILD_VM_TEST_GARBAGE")) {
            /* test hook (tests/e2e/guest/setup.sh): vminitd must answer malformed and
             * unexpected messages with an error and carry on */
            static const uint8_t junk[] = {0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x41};
            vm_send(v, 200, junk, sizeof junk);
            vm_send(v, GUEST_MSG_SIGNAL, junk, sizeof junk);
            vm_send(v, GUEST_MSG_STDOUT, NULL, 0);
        }
        send_config(v, disks, nd);
        send_exec(v, st);
        return 0;
    }
    case GUEST_MSG_READY:
        st->ready = true;
        st->t_ready = now;
        return 0;
    case GUEST_MSG_STARTED:
        st->started = true;
        if (getenv("CBUILD_VM_TEST_GARBAGE")) {
            static const uint8_t junk[] = {0x20, 0x00, 0x03, 0x00, 0x00, 0x00, 1, 2, 3};
            vm_send(v, GUEST_MSG_SIGNAL, junk, sizeof junk);
            vm_send(v, GUEST_MSG_RESIZE, junk, 3);
            vm_send(v, GUEST_MSG_CONFIG, NULL, 0);
        }
        return 0;
    case GUEST_MSG_STDOUT:
    case GUEST_MSG_STDERR:
        deliver(v, type == GUEST_MSG_STDOUT ? 1 : 2, (const char *)p, len);
        return 0;
    case GUEST_MSG_EXIT:
        st->exited = true;
        st->t_exit = now;
        res->exit_code = (int)field_u32(p, len, GUEST_F_CODE, 255);
        res->signal = (int)field_u32(p, len, GUEST_F_SIGNAL, 0);
        return 0;
    case GUEST_MSG_DONE:
        st->done = true;
        st->t_done = now;
        st->done_flags = field_u32(p, len, GUEST_F_FLAGS, 0);
        return 0;
    case GUEST_MSG_ERROR: {
        guest_fields f;
        uint16_t tag;
        const uint8_t *val;
        uint32_t n;
        const uint8_t *msg = NULL;
        uint32_t mlen = 0;
        guest_fields_init(&f, p, len);
        while (guest_fields_next(&f, &tag, &val, &n))
            if (tag == GUEST_F_MESSAGE) {
                msg = val;
                mlen = n;
            }
        uint32_t kind = field_u32(p, len, GUEST_F_KIND, GUEST_ERR_SETUP);
        cb_debug("vminitd error: %.*s", (int)mlen, msg ? (const char *)msg : "");
        if (kind == GUEST_ERR_PROTOCOL) {
            /* vminitd ignored a message it could not use; the run goes on (a host bug) */
            cb_warn("vminitd rejected a message: %.*s", (int)mlen, msg ? (const char *)msg : "");
            return 0;
        }
        if (!st->err_msg) {
            st->err_kind = (int)field_u32(p, len, GUEST_F_KIND, GUEST_ERR_SETUP);
            st->err_errno = (int)field_u32(p, len, GUEST_F_ERRNO, 0);
            st->err_msg = xstrndup(msg ? (const char *)msg : "unknown error", mlen);
        }
        return 0;
    }
    default:
        return cb_failc(err, EPROTO, "unexpected message type %u from vminitd", type);
    }
}

static int read_conn(vm *v, run_state *st, guest_run_result *res, const vdisk *disks, size_t nd, bool *eof, cb_err *err)
{
    if (v->rcap - v->rlen < 65536 + GUEST_HDR_LEN) {
        v->rcap = v->rcap ? v->rcap * 2 : 262144;
        v->rbuf = xrealloc(v->rbuf, v->rcap);
    }
    ssize_t n = read(v->conn, v->rbuf + v->rlen, v->rcap - v->rlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return 0;
        *eof = true;
        return 0;
    }
    if (n == 0) {
        *eof = true;
        return 0;
    }
    v->rlen += (size_t)n;
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && v->rlen - off >= GUEST_HDR_LEN) {
        uint32_t l = guest_get_u32(v->rbuf + off);
        if (l > GUEST_MSG_MAX) {
            rc = cb_failc(err, EPROTO, "vminitd sent a frame of %u bytes: stream out of sync", l);
            break;
        }
        if (v->rlen - off < GUEST_HDR_LEN + (size_t)l) break;
        uint16_t type = guest_get_u16(v->rbuf + off + 4);
        rc = handle_msg(v, st, res, type, v->rbuf + off + GUEST_HDR_LEN, l, disks, nd, err);
        off += GUEST_HDR_LEN + l;
    }
    memmove(v->rbuf, v->rbuf + off, v->rlen - off);
    v->rlen -= off;
    return rc;
}

static void plan_disks(const guest_run_config *cfg, bool all_scsi, vdisk **out, size_t *nout)
{
    size_t n_mount_disks = 0;
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (cfg->mounts[i].kind == GUEST_MOUNT_EXT4_RO || cfg->mounts[i].kind == GUEST_MOUNT_EXT4_RW) n_mount_disks++;
    size_t total = cfg->n_lowers + (cfg->upper ? 1 : 0) + n_mount_disks;
    size_t slots = VIRTIO_MMIO_SLOTS - 1 /* serial */ - (cfg->network == GUEST_NET_NONE ? 0 : 1);
    bool scsi = all_scsi || total > slots; /* lowers go behind one virtio-scsi controller */
    vdisk *d = xcalloc(total + 1, sizeof *d);
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_lowers; i++, n++) {
        snprintf(d[n].id, sizeof d[n].id, "l%zu", i);
        d[n].file = cfg->lowers[i];
        d[n].readonly = true;
        d[n].lun = scsi ? (int)i : -1;
    }
    if (cfg->upper) {
        snprintf(d[n].id, sizeof d[n].id, "u");
        d[n].file = cfg->upper;
        d[n].lun = all_scsi ? (int)n : -1;
        n++;
    }
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        if (m->kind != GUEST_MOUNT_EXT4_RO && m->kind != GUEST_MOUNT_EXT4_RW) continue;
        snprintf(d[n].id, sizeof d[n].id, "m%zu", i);
        d[n].file = m->image;
        d[n].readonly = m->kind == GUEST_MOUNT_EXT4_RO;
        d[n].lun = all_scsi ? (int)n : -1;
        n++;
    }
    *out = d;
    *nout = n;
}

static int validate(const guest_run_config *cfg, cb_err *err)
{
    if (!cfg->argv || !cfg->argv[0]) return cb_fail(err, "no command to run");
    if (!cfg->root) return cb_fail(err, "no store root");
    for (size_t i = 0; i < cfg->n_lowers; i++)
        if (access(cfg->lowers[i], R_OK) < 0) return cb_error(err, errno, "layer image `%s`", cfg->lowers[i]);
    if (cfg->upper && access(cfg->upper, R_OK | W_OK) < 0) return cb_error(err, errno, "upper image `%s`", cfg->upper);
    /* overlayfs stacks at most 500 lowers, and their list must fit in one page of mount options */
    if (cfg->n_lowers > 400) return cb_fail(err, "%zu layers: at most 400 are supported (Docker allows 127)", cfg->n_lowers);
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        if (!m->target || m->target[0] != '/') return cb_fail(err, "mount target `%s` is not absolute", m->target ? m->target : "");
        if ((m->kind == GUEST_MOUNT_EXT4_RO || m->kind == GUEST_MOUNT_EXT4_RW) &&
            (!m->image || access(m->image, m->kind == GUEST_MOUNT_EXT4_RO ? R_OK : R_OK | W_OK) < 0))
            return cb_error(err, m->image ? errno : EINVAL, "image for mount %s `%s`", m->target, m->image ? m->image : "");
        if (m->kind == GUEST_MOUNT_SECRET && m->data_len > (GUEST_MSG_MAX / 2))
            return cb_fail(err, "secret for %s is %zu bytes: at most %u are supported", m->target, m->data_len,
                           GUEST_MSG_MAX / 2);
    }
    if (cfg->cwd && cfg->cwd[0] != '/') return cb_fail(err, "working directory `%s` is not absolute", cfg->cwd);
    return 0;
}

static double boot_timeout(const char *accel)
{
    const char *e = getenv("CBUILD_BOOT_TIMEOUT");
    if (e && *e && atof(e) > 0) return atof(e);
    return strcmp(accel, "kvm") == 0 ? 30 : 120;
}

static void fail_with_console(vm *v, guest_run_result *res, cb_err *err)
{
    free(res->console_tail);
    res->console_tail = file_tail(v->console, 25);
    if (res->console_tail && err) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "\nlast console lines:\n%s", res->console_tail);
    }
}

/* ---------- template snapshots ----------
 * A RUN VM restored from a snapshot skips the kernel's boot: a template VM is booted once per
 * (kernel, initramfs, QEMU, accelerator, CPUs, memory, network device) up to vminitd's HELLO,
 * with no disk attached, and saved with QEMU's migration into <root>/kernel/. Every VM is a new
 * QEMU process restoring that pristine state; vminitd then reseeds its RNG with fresh bytes
 * from the host, sets the clock and scans for this step's disks (protocol.h). Only cbuild's own
 * kernel is restored this way (the layout it was tested with); CBUILD_VM_TEMPLATE=0 turns it off. */
static bool template_wanted(const guest_paths *paths)
{
    const char *e = getenv("CBUILD_VM_TEMPLATE");
    if (e && !strcmp(e, "0")) return false;
    return paths->own && paths->vmlinux;
}

static char *template_path(const char *root, const guest_paths *paths, const char *qemu, const char *accel, int cpus,
                           uint64_t memory, bool net, cb_err *err)
{
    char kkey[17], ikey[17], qkey[17];
    if (guest_file_key(paths->vmlinux, kkey, err) < 0 || guest_file_key(paths->initramfs, ikey, err) < 0 ||
        guest_file_key(qemu, qkey, err) < 0)
        return NULL;
    cleanup_free char *id = xasprintf("v1 %s %s %s %s %d %llu %d", kkey, ikey, qkey, accel, cpus,
                                      (unsigned long long)memory, net);
    char hex[CB_DIGEST_STR_LEN];
    cb_sha256 *h = cb_sha256_new();
    cb_sha256_update(h, id, strlen(id));
    cb_sha256_final(h, hex);
    return xasprintf("%s/kernel/template-%.16s.vmstate", root, hex + 7);
}

/* One QMP command on an open monitor; the reply line in *reply (malloc'd). */
static int qmp_cmd(FILE *f, const char *json, char **reply, cb_err *err)
{
    if (fprintf(f, "%s\n", json) < 0 || fflush(f) != 0) return cb_error(err, errno, "QMP write");
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (getline(&line, &cap, f) < 0) {
            free(line);
            return cb_failc(err, EIO, "QMP: QEMU closed the monitor");
        }
        if (strstr(line, "\"return\"") || strstr(line, "\"error\"")) break; /* skip events */
    }
    if (strstr(line, "\"error\"")) {
        int rc = cb_failc(err, EIO, "QMP %s: %s", json, line);
        free(line);
        return rc;
    }
    if (reply) *reply = line;
    else free(line);
    return 0;
}

static FILE *qmp_open(const char *path, double deadline, cb_err *err)
{
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            FILE *f = fdopen(fd, "r+");
            char *greet = NULL;
            size_t cap = 0;
            if (f && getline(&greet, &cap, f) > 0 && qmp_cmd(f, "{\"execute\":\"qmp_capabilities\"}", NULL, err) == 0) {
                free(greet);
                return f;
            }
            free(greet);
            if (f) fclose(f);
            return NULL;
        }
        if (fd >= 0) close(fd);
        if (cb_now() > deadline) {
            cb_failc(err, ETIMEDOUT, "QMP socket `%s` did not open", path);
            return NULL;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Boot the template VM, wait for HELLO, migrate it into `out` (atomically). */
static int template_make(const guest_run_config *cfg, const guest_paths *paths, const char *qemu, const char *accel,
                         int cpus, uint64_t memory, bool net, const char *out, cb_err *err)
{
    vm v = {.cfg = cfg, .listen_fd = -1, .conn = -1, .pidfd = -1, .lock_fd = -1};
    cb_buf_init(&v.outq);
    cb_buf_init(&v.line[0]);
    cb_buf_init(&v.line[1]);
    cb_strv argv;
    cb_strv_init(&argv);
    cleanup_free char *qmp = NULL;
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", out, (int)getpid());
    cleanup_free char *cmd = NULL;
    cleanup_close int tfd = -1;
    FILE *mon = NULL;
    int rc = vm_tmpdir(&v, err);
    if (rc == 0) rc = vm_listen(&v, err);
    if (rc < 0) goto out;
    qmp = xasprintf("%s/qmp.sock", v.tmpdir);
    build_argv(&argv, qemu, paths, accel, cpus, memory, net, &v, NULL, 0, true, NULL, qmp);
    v.t0 = cb_now();
    double deadline = v.t0 + boot_timeout(accel);
    if ((rc = vm_spawn(&v, qemu, &argv, err)) < 0) goto out;
    /* HELLO: the guest is booted and vminitd waits for its configuration */
    bool hello = false;
    while (!hello) {
        if (cb_now() > deadline) {
            rc = cb_failc(err, ETIMEDOUT, "the template VM did not boot within %g s", boot_timeout(accel));
            goto out;
        }
        int fd = v.conn >= 0 ? v.conn : v.listen_fd;
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {v.pidfd, POLLIN, 0}};
        if (poll(pf, 2, 100) < 0 && errno != EINTR) {
            rc = cb_error(err, errno, "poll");
            goto out;
        }
        if (pf[1].revents) {
            cleanup_free char *qlog = file_tail(v.qemu_log, 10);
            rc = cb_failc(err, EIO, "the template VM exited during boot%s%s", qlog ? ": " : "", qlog ? qlog : "");
            goto out;
        }
        if (!pf[0].revents) continue;
        if (v.conn < 0) {
            v.conn = accept4(v.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            continue;
        }
        uint8_t h[GUEST_HDR_LEN];
        ssize_t n = recv(v.conn, h, sizeof h, MSG_PEEK);
        if (n <= 0) {
            rc = cb_failc(err, EIO, "the template VM closed its control port");
            goto out;
        }
        if (n == GUEST_HDR_LEN && guest_get_u16(h + 4) == GUEST_MSG_HELLO) hello = true;
        else if (n == GUEST_HDR_LEN) {
            rc = cb_failc(err, EPROTO, "the template VM sent message %u before HELLO", guest_get_u16(h + 4));
            goto out;
        }
    }
    mon = qmp_open(qmp, deadline, err);
    if (!mon) {
        rc = -EIO;
        goto out;
    }
    /* migrate while running: the restored VM then runs at once (no QMP needed there) */
    cmd = xasprintf("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > '%s'\"}}", tmp);
    if ((rc = qmp_cmd(mon, cmd, NULL, err)) < 0) goto out;
    for (;;) {
        char *r = NULL;
        if ((rc = qmp_cmd(mon, "{\"execute\":\"query-migrate\"}", &r, err)) < 0) goto out;
        bool done = strstr(r, "\"completed\"") != NULL, failed = strstr(r, "\"failed\"") != NULL;
        if (failed) rc = cb_failc(err, EIO, "saving the template VM failed: %s", r);
        free(r);
        if (failed) goto out;
        if (done) break;
        if (cb_now() > deadline + 60) {
            rc = cb_failc(err, ETIMEDOUT, "saving the template VM did not finish");
            goto out;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    tfd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (tfd < 0 || fsync(tfd) < 0 || rename(tmp, out) < 0) rc = cb_error(err, errno, "committing `%s`", out);
out:
    if (mon) fclose(mon);
    if (rc < 0) unlink(tmp);
    cb_strv_free(&argv);
    vm_cleanup(&v);
    return rc;
}

/* The template snapshot for this machine, made on first use (one maker per store at a time). */
static char *template_ensure(const guest_run_config *cfg, const guest_paths *paths, const char *qemu,
                             const char *accel, int cpus, uint64_t memory, bool net, cb_err *err)
{
    char *path = template_path(cfg->root, paths, qemu, accel, cpus, memory, net, err);
    if (!path) return NULL;
    if (cb_path_exists(path)) return path;
    cleanup_free char *lock = xasprintf("%s.lock", path);
    cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        cb_error(err, errno, "lock `%s`", lock);
        free(path);
        return NULL;
    }
    if (cb_path_exists(path)) return path;
    double t = cb_now();
    if (template_make(cfg, paths, qemu, accel, cpus, memory, net, path, err) < 0) {
        free(path);
        return NULL;
    }
    cb_debug("made VM template %s in %.0f ms", path, (cb_now() - t) * 1000);
    return path;
}

/* probe: stop after HELLO (guest_vm_probe). */
static int vm_run(const guest_run_config *cfg, const guest_paths *paths, const char *accel, bool probe, double watchdog,
                  guest_run_result *res, cb_err *err)
{
    vm v = {.cfg = cfg, .listen_fd = -1, .conn = -1, .pidfd = -1, .lock_fd = -1};
    cb_buf_init(&v.outq);
    cb_buf_init(&v.line[0]);
    cb_buf_init(&v.line[1]);
    run_state st = {0};
    vdisk *disks = NULL;
    size_t nd = 0;
    cb_strv argv;
    cb_strv_init(&argv);
    struct termios saved_tio;
    bool raw = false;
    int rc;
    cleanup_free char *tmpl = NULL; /* before the first goto: the cleanup runs at out */
    cleanup_free char *qemu = guest_which(default_qemu());
    if (!qemu) {
        rc = cb_failc(err, ENOENT, "%s not found: install QEMU (Debian: apt-get install qemu-system-x86) or set CBUILD_QEMU",
                      default_qemu());
        goto out;
    }
    int cpus = cfg->cpus > 0 ? cfg->cpus : 1;
    uint64_t memory = cfg->memory ? cfg->memory : (1ull << 30);
    bool net = cfg->network != GUEST_NET_NONE;
    if (!probe && template_wanted(paths)) {
        cb_err terr = {0};
        tmpl = template_ensure(cfg, paths, qemu, accel, cpus, memory, net, &terr);
        if (!tmpl) cb_warn("booting without a VM template: %s", terr.msg);
    }
    v.restored = tmpl != NULL;
    if ((rc = vm_tmpdir(&v, err)) < 0 || (rc = vm_listen(&v, err)) < 0) goto out;
    plan_disks(cfg, v.restored, &disks, &nd);
    build_argv(&argv, qemu, paths, accel, cpus, memory, net, &v, disks, nd, v.restored, tmpl, NULL);
    if (cb_log_get_level() >= CB_LOG_DEBUG) {
        cb_buf cmd;
        cb_buf_init(&cmd);
        for (size_t i = 0; i < argv.n; i++) cb_buf_printf(&cmd, "%s%s", i ? " " : "", argv.v[i]);
        cb_debug("starting VM: %s", cmd.data);
        cb_buf_free(&cmd);
    }
    if (cfg->tty) {
        struct winsize ws;
        if (is_tty(cfg->stdout_fd) && ioctl(cfg->stdout_fd, TIOCGWINSZ, &ws) == 0) {
            st.rows = ws.ws_row;
            st.cols = ws.ws_col;
        } else {
            st.rows = cfg->tty_rows;
            st.cols = cfg->tty_cols;
        }
    }
    v.t0 = cb_now();
    if ((rc = vm_spawn(&v, qemu, &argv, err)) < 0) goto out;
    snprintf(res->accel, sizeof res->accel, "%s", accel);
    if (cfg->tty && is_tty(cfg->stdin_fd) && tcgetattr(cfg->stdin_fd, &saved_tio) == 0) {
        struct termios t = saved_tio;
        cfmakeraw(&t);
        tcsetattr(cfg->stdin_fd, TCSANOW, &t);
        raw = true;
    }

    double boot_limit = watchdog > 0 ? watchdog : boot_timeout(accel);
    bool conn_eof = false, stdin_open = cfg->stdin_fd >= 0;
    uint8_t *ibuf = xmalloc(GUEST_DATA_CHUNK);
    rc = 0;
    for (;;) {
        double now = cb_now();
        if (probe && st.hello) break;
        if (v.qemu_exited && (v.conn < 0 || conn_eof)) break;
        if (cfg->timeout > 0 && now - v.t0 > cfg->timeout) {
            res->timed_out = true;
            vm_kill(&v);
            rc = cb_failc(err, ETIMEDOUT, "timed out after %g s: the VM was killed", cfg->timeout);
            if (!st.hello) fail_with_console(&v, res, err);
            break;
        }
        if (!st.hello && now - v.t0 > boot_limit) {
            vm_kill(&v);
            rc = cb_failc(err, ETIMEDOUT, "the guest did not boot within %g s (%s)", boot_limit, accel);
            fail_with_console(&v, res, err);
            break;
        }
        if (st.done && !v.qemu_exited && now - st.t_done > 10) {
            vm_kill(&v); /* it said goodbye but did not power off */
            continue;
        }
        if (cfg->cancel && *cfg->cancel) {
            res->cancelled = true;
            vm_kill(&v);
            rc = cb_failc(err, EINTR, "interrupted: the VM was killed");
            break;
        }
        if (cfg->forward_signal && *cfg->forward_signal) {
            int sig = (int)*cfg->forward_signal;
            *cfg->forward_signal = 0;
            if (!st.started) {
                /* nothing to deliver it to yet: the user wants to stop */
                res->cancelled = true;
                vm_kill(&v);
                rc = cb_failc(err, EINTR, "interrupted by signal %d before the command started: the VM was killed", sig);
                break;
            }
            if (!st.exited && sig > 0 && sig < 65) {
                cb_buf b;
                cb_buf_init(&b);
                hb_u32(&b, GUEST_F_SIGNAL, (uint32_t)sig);
                vm_send(&v, GUEST_MSG_SIGNAL, b.data, b.len);
                cb_buf_free(&b);
            }
        }
        if (cfg->tty && st.started && is_tty(cfg->stdout_fd)) {
            struct winsize ws;
            if (ioctl(cfg->stdout_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && (ws.ws_row != st.rows || ws.ws_col != st.cols)) {
                st.rows = ws.ws_row;
                st.cols = ws.ws_col;
                cb_buf b;
                cb_buf_init(&b);
                hb_u32(&b, GUEST_F_ROWS, st.rows);
                hb_u32(&b, GUEST_F_COLS, st.cols);
                vm_send(&v, GUEST_MSG_RESIZE, b.data, b.len);
                cb_buf_free(&b);
            }
        }

        struct pollfd pf[4];
        int np = 0, i_listen = -1, i_conn = -1, i_pid = -1, i_in = -1;
        if (v.conn < 0 && v.listen_fd >= 0) { i_listen = np; pf[np++] = (struct pollfd){v.listen_fd, POLLIN, 0}; }
        if (v.conn >= 0 && !conn_eof) {
            i_conn = np;
            pf[np++] = (struct pollfd){v.conn, (short)(POLLIN | (v.outq.len > v.outq_off ? POLLOUT : 0)), 0};
        }
        if (!v.qemu_exited) { i_pid = np; pf[np++] = (struct pollfd){v.pidfd, POLLIN, 0}; }
        if (stdin_open && st.started && !st.exited && v.outq.len - v.outq_off < (1u << 20)) {
            i_in = np;
            pf[np++] = (struct pollfd){cfg->stdin_fd, POLLIN, 0};
        }
        int pr = poll(pf, (nfds_t)np, 100);
        if (pr < 0) {
            if (errno == EINTR) continue;
            rc = cb_error(err, errno, "poll");
            break;
        }
        if (i_listen >= 0 && pf[i_listen].revents) {
            v.conn = accept4(v.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (v.conn >= 0) {
                close(v.listen_fd);
                v.listen_fd = -1;
                unlink(v.sock);
                if (v.restored) {
                    /* the template's boot said HELLO; this VM resumes waiting for CONFIG */
                    st.hello = true;
                    st.t_hello = cb_now();
                    send_config(&v, disks, nd);
                    send_exec(&v, &st);
                }
            }
        }
        if (i_conn >= 0 && (pf[i_conn].revents & POLLOUT)) {
            ssize_t w = send(v.conn, v.outq.data + v.outq_off, v.outq.len - v.outq_off, MSG_NOSIGNAL);
            if (w > 0) v.outq_off += (size_t)w;
            if (v.outq_off == v.outq.len) {
                cb_buf_reset(&v.outq);
                v.outq_off = 0;
            }
        }
        if (i_conn >= 0 && (pf[i_conn].revents & (POLLIN | POLLHUP | POLLERR))) {
            rc = read_conn(&v, &st, res, disks, nd, &conn_eof, err);
            if (rc < 0) {
                vm_kill(&v);
                fail_with_console(&v, res, err);
                break;
            }
        }
        if (i_in >= 0 && pf[i_in].revents) {
            ssize_t n = read(cfg->stdin_fd, ibuf, GUEST_DATA_CHUNK);
            if (n > 0) {
                vm_send(&v, GUEST_MSG_STDIN, ibuf, (size_t)n);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                stdin_open = false;
                vm_send(&v, GUEST_MSG_STDIN_EOF, NULL, 0);
            }
        }
        if (i_pid >= 0 && pf[i_pid].revents) {
            if (waitpid(v.pid, &v.qemu_status, WNOHANG) == v.pid) v.qemu_exited = true;
        }
    }
    free(ibuf);
    flush_lines(&v);
    double end = cb_now();
    if (st.t_ready) res->boot_ms = (st.t_ready - v.t0) * 1000;
    else if (st.t_hello) res->boot_ms = (st.t_hello - v.t0) * 1000;
    if (st.t_exit && st.t_ready) res->run_ms = (st.t_exit - st.t_ready) * 1000;
    if (st.t_exit) res->shutdown_ms = (end - st.t_exit) * 1000;
    if (getenv("CBUILD_VM_TRACE") && cb_log_get_level() >= CB_LOG_DEBUG) {
        cleanup_free char *con = file_tail(v.console, 60);
        cb_debug("console:\n%s", con ? con : "");
    }
    if (rc < 0 || probe) goto out;

    if (st.err_msg && (st.err_kind == GUEST_ERR_EXEC || st.err_kind == GUEST_ERR_USER || st.err_kind == GUEST_ERR_CWD)) {
        if (st.err_kind == GUEST_ERR_EXEC && !st.exited) res->exit_code = st.err_errno == ENOENT ? 127 : 126;
        if (st.err_kind == GUEST_ERR_CWD)
            rc = cb_failc(err, st.err_errno ? st.err_errno : EINVAL, "%s: %s", st.err_msg, strerror(st.err_errno));
        else
            rc = cb_failc(err, st.err_errno ? st.err_errno : EINVAL, "%s", st.err_msg);
        if (!st.exited) res->exit_code = res->exit_code ? res->exit_code : 126;
    } else if (st.err_msg) {
        rc = cb_failc(err, st.err_errno ? st.err_errno : EIO, "VM setup failed: %s%s%s", st.err_msg,
                      st.err_kind == GUEST_ERR_SETUP && st.err_errno ? ": " : "",
                      st.err_kind == GUEST_ERR_SETUP && st.err_errno ? strerror(st.err_errno) : "");
        fail_with_console(&v, res, err);
    } else if (!st.hello) {
        cleanup_free char *qlog = file_tail(v.qemu_log, 10);
        if (qlog) rc = cb_failc(err, EIO, "QEMU failed: %s", qlog);
        else rc = cb_failc(err, EIO, "the guest failed to boot (QEMU exited with status %d)",
                           WIFEXITED(v.qemu_status) ? WEXITSTATUS(v.qemu_status) : 128 + WTERMSIG(v.qemu_status));
        fail_with_console(&v, res, err);
    } else if (!st.exited || !st.done) {
        cleanup_free char *qlog = file_tail(v.qemu_log, 10);
        rc = cb_failc(err, EIO, "the VM stopped before the command %s%s%s", st.exited ? "was cleaned up" : "finished",
                      qlog ? ": " : "", qlog ? qlog : "");
        fail_with_console(&v, res, err);
    } else if (st.done_flags & GUEST_FLAG_UPPER_FULL) {
        res->upper_full = true;
        rc = cb_failc(err, ENOSPC, "no space left on device: the step's disk `%s` is full", cfg->upper);
    } else if (st.done_flags & GUEST_FLAG_UNMOUNT_FAILED) {
        rc = cb_failc(err, EBUSY, "the VM could not unmount its disks cleanly");
        fail_with_console(&v, res, err);
    }
out:
    if (raw) tcsetattr(cfg->stdin_fd, TCSANOW, &saved_tio);
    free(st.err_msg);
    cb_strv_free(&argv);
    free(disks);
    vm_cleanup(&v);
    return rc;
}

int guest_vm_probe(const char *root, const guest_paths *paths, const char *accel, double watchdog, cb_err *err)
{
    guest_run_config cfg;
    guest_run_config_init(&cfg);
    char *argv[] = {(char *)"true", NULL};
    cfg.root = root;
    cfg.argv = argv;
    cfg.network = GUEST_NET_NONE;
    cfg.memory = 256ull << 20;
    guest_run_result res = {0};
    int rc = vm_run(&cfg, paths, accel, true, watchdog, &res, err);
    guest_run_result_free(&res);
    return rc;
}

int guest_run(const guest_run_config *cfg, guest_run_result *res, cb_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = validate(cfg, err);
    if (rc < 0) return rc;
    guest_paths own = {0};
    const guest_paths *paths = cfg->paths;
    if (!paths) {
        rc = guest_setup(cfg->root, NULL, &own, err);
        if (rc < 0) return rc;
        paths = &own;
    }
    char accel[8], why[256];
    rc = guest_accel(cfg->root, paths, accel, why, err);
    if (rc == 0) rc = vm_run(cfg, paths, accel, false, 0, res, err);
    guest_paths_free(&own);
    return rc;
}
