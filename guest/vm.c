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
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"
#include "vm-backend.h"
#include "vm-ssh.h"

typedef struct vm {
    const guest_run_config *cfg;
    const vm_backend *be;
    vm_proc p;
    int listen_fd, conn;
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
    if (len)
        cb_buf_append(&v->outq, payload, len);
}

static bool is_tty(int fd)
{
    return fd >= 0 && isatty(fd);
}

static int vm_listen(vm *v, cb_err *err)
{
    v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (v->listen_fd < 0)
        return cb_error(err, errno, "socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->p.sock);
    if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return cb_error(err, errno, "bind `%s`", v->p.sock);
    if (listen(v->listen_fd, 1) < 0)
        return cb_error(err, errno, "listen `%s`", v->p.sock);
    return 0;
}

static void vm_kill(vm *v)
{
    v->be->kill(&v->p);
}

static void vm_cleanup(vm *v)
{
    if (v->listen_fd >= 0)
        close(v->listen_fd);
    if (v->conn >= 0)
        close(v->conn);
    v->be->cleanup(&v->p);
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
    while (end && (b.data[end - 1] == '\n' || b.data[end - 1] == '\r'))
        end--;
    size_t start = end;
    int lines = 0;
    while (start > 0) {
        if (b.data[start - 1] == '\n' && ++lines >= maxlines)
            break;
        start--;
    }
    cb_buf out;
    cb_buf_init(&out);
    for (size_t i = start; i < end; i++)
        if (b.data[i] != '\r')
            cb_buf_putc(&out, b.data[i]);
    cb_buf_free(&b);
    return cb_buf_steal(&out);
}

/* ---------- output ---------- */
static void deliver(vm *v, int stream, const char *data, size_t len)
{
    const guest_run_config *cfg = v->cfg;
    if (!cfg->output) {
        int fd = stream == 1 ? cfg->stdout_fd : cfg->stderr_fd;
        if (fd >= 0)
            cb_write_all(fd, data, len);
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
    if (lb->data)
        lb->data[lb->len] = 0;
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
    guest_msg b = {0};
    char hostname[64];
    if (cfg->hostname && *cfg->hostname) {
        snprintf(hostname, sizeof hostname, "%s", cfg->hostname);
    } else {
        /* Docker names a container's host after the first 12 hex digits of its ID */
        unsigned char rnd[6] = {0};
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, rnd, sizeof rnd) < 0)
                memset(rnd, 0, sizeof rnd);
            close(fd);
        }
        snprintf(hostname, sizeof hostname, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
    }
    guest_msg_str(&b, GUEST_F_HOSTNAME, hostname);
    guest_msg_u32(&b, GUEST_F_NETWORK, cfg->network == GUEST_NET_NONE ? 1 : 0);
    for (size_t i = 0; i < nd; i++) {
        guest_msg d = {0};
        guest_msg_str(&d, GUEST_F_DISK_ID, disks[i].id);
        if (disks[i].lun >= 0)
            guest_msg_u32(&d, GUEST_F_DISK_LUN, (uint32_t)disks[i].lun);
        else
            guest_msg_str(&d, GUEST_F_DISK_SERIAL, disks[i].id);
        guest_msg_bytes(&b, GUEST_F_DISK, d.p, d.len);
        guest_msg_free(&d);
    }
    for (size_t i = 0; i < cfg->n_lowers; i++) {
        char id[24];
        snprintf(id, sizeof id, "l%zu", i);
        guest_msg_str(&b, GUEST_F_LOWER, id);
    }
    if (cfg->lower_subdir)
        guest_msg_str(&b, GUEST_F_LOWER_SUBDIR, cfg->lower_subdir);
    if (cfg->upper)
        guest_msg_str(&b, GUEST_F_UPPER, "u");
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        guest_msg d = {0};
        guest_msg_u32(&d, GUEST_F_MOUNT_KIND, (uint32_t)m->kind);
        guest_msg_str(&d, GUEST_F_MOUNT_TARGET, m->target);
        if (m->kind == GUEST_MOUNT_EXT4_RO || m->kind == GUEST_MOUNT_EXT4_RW) {
            char id[24];
            snprintf(id, sizeof id, "m%zu", i);
            guest_msg_str(&d, GUEST_F_MOUNT_DISK, id);
            if (m->source)
                guest_msg_str(&d, GUEST_F_MOUNT_SOURCE, m->source);
        } else if (m->kind == GUEST_MOUNT_HOSTDIR) {
            char tag[24];
            snprintf(tag, sizeof tag, "m%zu", i);
            guest_msg_str(&d, GUEST_F_MOUNT_SOURCE, tag);
        }
        guest_msg_u32(&d, GUEST_F_MOUNT_RO, m->readonly);
        if (m->size)
            guest_msg_u64(&d, GUEST_F_MOUNT_SIZE, m->size);
        if (m->kind == GUEST_MOUNT_SECRET)
            guest_msg_bytes(&d, GUEST_F_MOUNT_DATA, m->data, m->data_len);
        guest_msg_u32(&d, GUEST_F_MOUNT_MODE, m->mode);
        guest_msg_u32(&d, GUEST_F_MOUNT_UID, m->uid);
        guest_msg_u32(&d, GUEST_F_MOUNT_GID, m->gid);
        guest_msg_bytes(&b, GUEST_F_MOUNT, d.p, d.len);
        guest_msg_free(&d);
    }
    /* /etc/hosts and /etc/resolv.conf as Docker writes them for a bridge network */
    cb_buf h;
    cb_buf_init(&h);
    cb_buf_puts(&h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    for (char *const *e = cfg->extra_hosts; e && *e; e++) {
        const char *colon = strchr(*e, ':');
        if (colon)
            cb_buf_printf(&h, "%s\t%.*s\n", colon + 1, (int)(colon - *e), *e);
    }
    if (cfg->network != GUEST_NET_NONE)
        cb_buf_printf(&h, "10.0.2.15\t%s\n", hostname);
    guest_msg_str(&b, GUEST_F_HOSTS, h.data);
    if (cfg->shm_size)
        guest_msg_u64(&b, GUEST_F_SHM_SIZE, cfg->shm_size);
    if (cfg->memory_max)
        guest_msg_u64(&b, GUEST_F_MEMORY_MAX, cfg->memory_max);
    for (size_t i = 0; i < cfg->n_rlimits; i++) {
        uint8_t rl[GUEST_RLIMIT_LEN];
        guest_put_u32(rl, cfg->rlimits[i].resource);
        guest_put_u64(rl + 4, (uint64_t)cfg->rlimits[i].soft); /* -1 is RLIM_INFINITY */
        guest_put_u64(rl + 12, (uint64_t)cfg->rlimits[i].hard);
        guest_msg_bytes(&b, GUEST_F_RLIMIT, rl, sizeof rl);
    }
    cb_buf_free(&h);
    guest_msg_str(&b, GUEST_F_RESOLV, cfg->network == GUEST_NET_NONE ? "" : "nameserver 10.0.2.3\n");
    if (v->restored) {
        /* every VM restored from one snapshot starts with the same RNG state and an old clock */
        uint8_t rnd[64];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            abort(); /* never on Linux >= 3.17 */
        guest_msg_bytes(&b, GUEST_F_ENTROPY, rnd, sizeof rnd);
        memset(rnd, 0, sizeof rnd);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        guest_msg_u64(&b, GUEST_F_WALLCLOCK, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
        guest_msg_u32(&b, GUEST_F_RESCAN, 1);
    }
    vm_send(v, GUEST_MSG_CONFIG, b.p, b.len);
    guest_msg_free(&b);
}

static void send_exec(vm *v, run_state *st)
{
    const guest_run_config *cfg = v->cfg;
    guest_msg b = {0};
    for (char *const *a = cfg->argv; *a; a++)
        guest_msg_str(&b, GUEST_F_ARG, *a);
    for (char *const *e = cfg->env; e && *e; e++)
        guest_msg_str(&b, GUEST_F_ENV, *e);
    if (cfg->cwd)
        guest_msg_str(&b, GUEST_F_CWD, cfg->cwd);
    if (cfg->user)
        guest_msg_str(&b, GUEST_F_USER, cfg->user);
    guest_msg_u32(&b, GUEST_F_TTY, cfg->tty);
    guest_msg_u32(&b, GUEST_F_STDIN, cfg->stdin_fd >= 0);
    if (cfg->build_groups)
        guest_msg_u32(&b, GUEST_F_BUILD_GROUPS, 1);
    if (cfg->default_caps)
        guest_msg_u32(&b, GUEST_F_DEFAULT_CAPS, 1);
    if (cfg->tty) {
        guest_msg_u32(&b, GUEST_F_ROWS, st->rows ? st->rows : 24);
        guest_msg_u32(&b, GUEST_F_COLS, st->cols ? st->cols : 80);
    }
    vm_send(v, GUEST_MSG_EXEC, b.p, b.len);
    guest_msg_free(&b);
}

static uint32_t field_u32(const uint8_t *p, uint32_t len, uint16_t want, uint32_t dflt)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *val;
    uint32_t n, u;
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &val, &n))
        if (tag == want && guest_field_u32(val, n, &u))
            return u;
    return dflt;
}

static int handle_msg(vm *v, run_state *st, guest_run_result *res, uint16_t type, const uint8_t *p,
                      uint32_t len, const vdisk *disks, size_t nd, cb_err *err)
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
#ifdef CBUILD_TEST_HOOKS
        if (getenv("CBUILD_VM_TEST_GARBAGE")) {
            /* test hook (tests/e2e/guest/setup.sh): vminitd must answer malformed and
             * unexpected messages with an error and carry on */
            static const uint8_t junk[] = {0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x41};
            vm_send(v, 200, junk, sizeof junk);
            vm_send(v, GUEST_MSG_SIGNAL, junk, sizeof junk);
            vm_send(v, GUEST_MSG_STDOUT, NULL, 0);
        }
#endif
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
        if (v->cfg->started)
            v->cfg->started(v->cfg->started_opaque, v->p.pid);
#ifdef CBUILD_TEST_HOOKS
        if (getenv("CBUILD_VM_TEST_GARBAGE")) {
            static const uint8_t junk[] = {0x20, 0x00, 0x03, 0x00, 0x00, 0x00, 1, 2, 3};
            vm_send(v, GUEST_MSG_SIGNAL, junk, sizeof junk);
            vm_send(v, GUEST_MSG_RESIZE, junk, 3);
            vm_send(v, GUEST_MSG_CONFIG, NULL, 0);
        }
#endif
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

static int read_conn(vm *v, run_state *st, guest_run_result *res, const vdisk *disks, size_t nd, bool *eof,
                     cb_err *err)
{
    if (v->rcap - v->rlen < 65536 + GUEST_HDR_LEN) {
        v->rcap = v->rcap ? v->rcap * 2 : 262144;
        v->rbuf = xrealloc(v->rbuf, v->rcap);
    }
    ssize_t n = read(v->conn, v->rbuf + v->rlen, v->rcap - v->rlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
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
        if (v->rlen - off < GUEST_HDR_LEN + (size_t)l)
            break;
        uint16_t type = guest_get_u16(v->rbuf + off + 4);
        rc = handle_msg(v, st, res, type, v->rbuf + off + GUEST_HDR_LEN, l, disks, nd, err);
        off += GUEST_HDR_LEN + l;
    }
    memmove(v->rbuf, v->rbuf + off, v->rlen - off);
    v->rlen -= off;
    return rc;
}

/* all_scsi: every disk a LUN behind the SCSI controller (the template layout) */
static void plan_disks(const guest_run_config *cfg, size_t device_slots, bool all_scsi, vdisk **out,
                       size_t *nout)
{
    size_t n_mount_disks = 0;
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (cfg->mounts[i].kind == GUEST_MOUNT_EXT4_RO || cfg->mounts[i].kind == GUEST_MOUNT_EXT4_RW)
            n_mount_disks++;
    size_t total = cfg->n_lowers + (cfg->upper ? 1 : 0) + n_mount_disks;
    size_t slots = device_slots - 1 /* serial */ - (cfg->network == GUEST_NET_NONE ? 0 : 1);
    /* too many for the transports: every disk behind one virtio-scsi controller (the layout
     * templates use), which leaves the controller one transport to take */
    bool scsi = all_scsi || total > slots;
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
        d[n].lun = scsi ? (int)n : -1;
        n++;
    }
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        if (m->kind != GUEST_MOUNT_EXT4_RO && m->kind != GUEST_MOUNT_EXT4_RW)
            continue;
        snprintf(d[n].id, sizeof d[n].id, "m%zu", i);
        d[n].file = m->image;
        d[n].readonly = m->kind == GUEST_MOUNT_EXT4_RO;
        d[n].lun = scsi ? (int)n : -1;
        n++;
    }
    *out = d;
    *nout = n;
}

/* The -v shares, tagged m<mount index> as send_config names them. */
static vshare *plan_shares(const guest_run_config *cfg, size_t *nout)
{
    vshare *sh = xcalloc(cfg->n_mounts + 1, sizeof *sh);
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        if (m->kind != GUEST_MOUNT_HOSTDIR)
            continue;
        snprintf(sh[n].id, sizeof sh[n].id, "m%zu", i);
        sh[n].dir = m->source;
        sh[n].readonly = m->readonly;
        n++;
    }
    *nout = n;
    return sh;
}

static double boot_timeout(const char *accel)
{
    const char *e = getenv("CBUILD_BOOT_TIMEOUT");
    if (e && *e && atof(e) > 0)
        return atof(e);
    return strcmp(accel, "kvm") == 0 ? 30 : 120;
}

static void fail_with_console(vm *v, guest_run_result *res, cb_err *err)
{
    free(res->console_tail);
    res->console_tail = file_tail(v->p.console, 25);
    if (res->console_tail && err) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "\nlast console lines:\n%s", res->console_tail);
    }
}

/* Timeouts, cancellation, forwarded signals and window size, checked every loop turn:
 * -1 stop (*rc says why), 1 look again at once, 0 go on and poll. */
static int vm_tick(vm *v, run_state *st, guest_run_result *res, double now, double boot_limit,
                   const char *accel, int *rc, cb_err *err)
{
    const guest_run_config *cfg = v->cfg;
    if (cfg->timeout > 0 && now - v->t0 > cfg->timeout) {
        res->timed_out = true;
        vm_kill(v);
        *rc = cb_failc(err, ETIMEDOUT, "timed out after %g s: the VM was killed", cfg->timeout);
        if (!st->hello)
            fail_with_console(v, res, err);
        return -1;
    }
    if (!st->hello && now - v->t0 > boot_limit) {
        vm_kill(v);
        *rc = cb_failc(err, ETIMEDOUT, "the guest did not boot within %g s (%s)", boot_limit, accel);
        fail_with_console(v, res, err);
        return -1;
    }
    if (st->done && !v->p.exited && now - st->t_done > 10) {
        vm_kill(v); /* it said goodbye but did not power off */
        return 1;
    }
    if (cfg->cancel && *cfg->cancel) {
        res->cancelled = true;
        vm_kill(v);
        *rc = cb_failc(err, EINTR, "interrupted: the VM was killed");
        return -1;
    }
    if (cfg->forward_signal && *cfg->forward_signal) {
        int sig = (int)*cfg->forward_signal;
        *cfg->forward_signal = 0;
        if (!st->started) {
            /* nothing to deliver it to yet: the user wants to stop */
            res->cancelled = true;
            vm_kill(v);
            *rc = cb_failc(err, EINTR,
                           "interrupted by signal %d before the command started: the VM was killed", sig);
            return -1;
        }
        if (!st->exited && sig > 0 && sig < 65) {
            guest_msg b = {0};
            guest_msg_u32(&b, GUEST_F_SIGNAL, (uint32_t)sig);
            vm_send(v, GUEST_MSG_SIGNAL, b.p, b.len);
            guest_msg_free(&b);
        }
    }
    if (cfg->tty && st->started && is_tty(cfg->stdout_fd)) {
        struct winsize ws;
        if (ioctl(cfg->stdout_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row &&
            (ws.ws_row != st->rows || ws.ws_col != st->cols)) {
            st->rows = ws.ws_row;
            st->cols = ws.ws_col;
            guest_msg b = {0};
            guest_msg_u32(&b, GUEST_F_ROWS, st->rows);
            guest_msg_u32(&b, GUEST_F_COLS, st->cols);
            vm_send(v, GUEST_MSG_RESIZE, b.p, b.len);
            guest_msg_free(&b);
        }
    }
    return 0;
}

/* What the run amounts to once the VM is gone: the command's own failure, a setup error,
 * a boot failure, an incomplete run, a full upper disk. */
static int vm_outcome(vm *v, run_state *st, guest_run_result *res, cb_err *err)
{
    const guest_run_config *cfg = v->cfg;
    int rc = 0;
    if (st->err_msg &&
        (st->err_kind == GUEST_ERR_EXEC || st->err_kind == GUEST_ERR_USER || st->err_kind == GUEST_ERR_CWD)) {
        if (st->err_kind == GUEST_ERR_EXEC && !st->exited)
            res->exit_code = st->err_errno == ENOENT ? 127 : 126;
        if (st->err_kind == GUEST_ERR_CWD)
            rc = cb_failc(err, st->err_errno ? st->err_errno : EINVAL, "%s: %s", st->err_msg,
                          strerror(st->err_errno));
        else
            rc = cb_failc(err, st->err_errno ? st->err_errno : EINVAL, "%s", st->err_msg);
        if (!st->exited)
            res->exit_code = res->exit_code ? res->exit_code : 126;
    } else if (st->err_msg) {
        rc = cb_failc(err, st->err_errno ? st->err_errno : EIO, "VM setup failed: %s%s%s", st->err_msg,
                      st->err_kind == GUEST_ERR_SETUP && st->err_errno ? ": " : "",
                      st->err_kind == GUEST_ERR_SETUP && st->err_errno ? strerror(st->err_errno) : "");
        fail_with_console(v, res, err);
    } else if (!st->hello) {
        cleanup_free char *qlog = file_tail(v->p.log, 10);
        if (qlog)
            rc = cb_failc(err, EIO, "QEMU failed: %s", qlog);
        else
            rc = cb_failc(err, EIO, "the guest failed to boot (QEMU exited with status %d)",
                          WIFEXITED(v->p.status) ? WEXITSTATUS(v->p.status) : 128 + WTERMSIG(v->p.status));
        fail_with_console(v, res, err);
    } else if (!st->exited || !st->done) {
        cleanup_free char *qlog = file_tail(v->p.log, 10);
        rc = cb_failc(err, EIO, "the VM stopped before the command %s%s%s",
                      st->exited ? "was cleaned up" : "finished", qlog ? ": " : "", qlog ? qlog : "");
        fail_with_console(v, res, err);
    } else if (st->done_flags & GUEST_FLAG_UPPER_FULL) {
        res->upper_full = true;
        rc = cb_failc(err, ENOSPC, "no space left on device: the step's disk `%s` is full", cfg->upper);
    } else if (st->done_flags & GUEST_FLAG_UNMOUNT_FAILED) {
        rc = cb_failc(err, EBUSY, "the VM could not unmount its disks cleanly");
        fail_with_console(v, res, err);
    }
    return rc;
}

/* ---------- template snapshots ----------
 * A RUN VM restored from a snapshot skips the kernel's boot: a template VM is booted once per
 * (kernel, initramfs, VMM, accelerator, CPUs, memory, NIC or not) up to vminitd's HELLO, with no
 * disk attached, and saved into <root>/kernel/. Every VM is a new VMM process restoring that
 * pristine state; vminitd then reseeds its RNG with fresh bytes from the host, sets the clock
 * and scans for this step's disks (protocol.h). Only cbuild's own kernel is restored this way
 * (the layout it was tested with); CBUILD_VM_TEMPLATE=0 turns it off. */
static bool template_wanted(const guest_paths *paths)
{
    const char *e = getenv("CBUILD_VM_TEMPLATE");
    if (e && !strcmp(e, "0"))
        return false;
    /* arm64 boots Debian's kernel: never restored from a template (see above) */
    return paths->own && paths->vmlinux && strcmp(paths->arch, "arm64") != 0;
}

static char *template_path(const vm_backend *be, const char *root, const vm_machine *m, cb_err *err)
{
    char kkey[17], ikey[17], qkey[17];
    if (guest_file_key(m->paths->vmlinux, kkey, err) < 0 ||
        guest_file_key(m->paths->initramfs, ikey, err) < 0 || be->snapshot_key(qkey, err) < 0)
        return NULL;
    cleanup_free char *id = xasprintf("v3 %s %s %s %s %s %d %llu %d", be->name, kkey, ikey, qkey, m->accel,
                                      m->cpus, (unsigned long long)m->memory, m->network != GUEST_NET_NONE);
    char hex[CB_DIGEST_STR_LEN];
    cb_sha256_buf(id, strlen(id), hex);
    return xasprintf("%s/kernel/template-%.16s.vmstate", root, hex + 7);
}

/* Boot the template machine to HELLO, then snapshot it into `out`. */
static int template_make(const vm_backend *be, const vm_machine *tm, const char *out, cb_err *err)
{
    vm v = {.be = be, .p = VM_PROC_INIT, .listen_fd = -1, .conn = -1};
    int rc = be->prepare(&v.p, err);
    if (rc == 0)
        rc = vm_listen(&v, err);
    double deadline = cb_now() + boot_timeout(tm->accel);
    if (rc == 0)
        rc = be->start(tm, &v.p, err);
    bool hello = false;
    while (rc == 0 && !hello) {
        if (cb_now() > deadline) {
            rc =
                cb_failc(err, ETIMEDOUT, "the template VM did not boot within %g s", boot_timeout(tm->accel));
            break;
        }
        int fd = v.conn >= 0 ? v.conn : v.listen_fd;
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {v.p.pidfd, POLLIN, 0}};
        if (poll(pf, 2, 100) < 0 && errno != EINTR) {
            rc = cb_error(err, errno, "poll");
            break;
        }
        if (pf[1].revents) {
            cleanup_free char *qlog = file_tail(v.p.log, 10);
            rc = cb_failc(err, EIO, "the template VM exited during boot%s%s", qlog ? ": " : "",
                          qlog ? qlog : "");
            break;
        }
        if (!pf[0].revents)
            continue;
        if (v.conn < 0) {
            v.conn = accept4(v.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            continue;
        }
        uint8_t h[GUEST_HDR_LEN];
        ssize_t n = recv(v.conn, h, sizeof h, MSG_PEEK);
        if (n <= 0)
            rc = cb_failc(err, EIO, "the template VM closed its control port");
        else if (n == GUEST_HDR_LEN && guest_get_u16(h + 4) == GUEST_MSG_HELLO)
            hello = true;
        else if (n == GUEST_HDR_LEN)
            rc = cb_failc(err, EPROTO, "the template VM sent message %u before HELLO", guest_get_u16(h + 4));
    }
    if (rc == 0)
        rc = be->save(&v.p, out, deadline + 60, err);
    vm_cleanup(&v);
    return rc;
}

#define TEMPLATE_MIN_FREE (512u << 20)

/* The template snapshot for this machine, made on first use (one maker per store at a time). */
static char *template_ensure(const vm_backend *be, const char *root, const vm_machine *m, cb_err *err)
{
    char *path = template_path(be, root, m, err);
    if (!path)
        return NULL;
    if (cb_path_exists(path))
        return path;
    cleanup_free char *lock = xasprintf("%s.lock", path);
    cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        cb_error(err, errno, "lock `%s`", lock);
        free(path);
        return NULL;
    }
    if (cb_path_exists(path))
        return path;
    /* a snapshot takes tens of MB: on a nearly full store boot cold rather than take the last
     * space a step's layer needs (err stays empty: nothing to warn about) */
    struct statvfs sv;
    if (statvfs(root, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < TEMPLATE_MIN_FREE) {
        cb_debug("no VM template: less than %u MiB free in %s", TEMPLATE_MIN_FREE >> 20, root);
        free(path);
        return NULL;
    }
    vm_machine tm = *m;
    tm.disks = NULL;
    tm.n_disks = 0;
    tm.template_layout = true;
    tm.restore = NULL;
    tm.monitor = true;
    double t = cb_now();
    if (template_make(be, &tm, path, err) < 0) { /* the backend's save commits it atomically */
        free(path);
        return NULL;
    }
    cb_debug("made VM template %s in %.0f ms", path, (cb_now() - t) * 1000);
    return path;
}

/* probe: stop after HELLO (guest_vm_probe). Over 100 lines: one poll loop owns every fd of
 * the run (listen, control, QEMU's pidfd, stdin), the ticks and the outcome are split out. */
enum vm_mode { VM_COLD, VM_TEMPLATE, VM_PROBE };
/* mode VM_TEMPLATE: restore a template snapshot when there is one; *bad_template: the restore
 * itself failed (the VMM gave up before vminitd spoke), the snapshot's path. */
static int vm_run(const guest_run_config *cfg, const guest_paths *paths, const char *accel, enum vm_mode mode,
                  double watchdog, guest_run_result *res, char **bad_template, bool *unrun, cb_err *err)
{
    bool probe = mode == VM_PROBE;
    cleanup_free char *tmpl = NULL;
    vm v = {.cfg = cfg,
            .be = strcmp(paths->arch, "arm64") == 0 ? &guest_backend_qemu_arm64 : &guest_backend_qemu_x86,
            .p = VM_PROC_INIT,
            .listen_fd = -1,
            .conn = -1};
    cb_buf_init(&v.outq);
    cb_buf_init(&v.line[0]);
    cb_buf_init(&v.line[1]);
    run_state st = {0};
    vdisk *disks = NULL;
    size_t nd = 0, nshares = 0;
    cleanup_free vshare *shares = plan_shares(cfg, &nshares);
    struct termios saved_tio;
    bool raw = false;
    int rc;
    vm_machine m = {
        .paths = paths,
        .accel = accel,
        .cpus = cfg->cpus > 0 ? cfg->cpus : 1,
        .memory = cfg->memory ? cfg->memory : (1ull << 30),
        .network = cfg->network,
        .shares = shares,
        .n_shares = nshares,
        .ports = cfg->ports,
        .n_ports = cfg->n_ports,
    };
    bool agents = false;
    for (size_t i = 0; i < cfg->n_mounts; i++)
        agents |= cfg->mounts[i].kind == GUEST_MOUNT_SSH_AGENT;
    char **ssh_socks = agents ? xcalloc(cfg->n_mounts, sizeof *ssh_socks) : NULL;
    vm_agent_relay *relays = NULL;
    /* a template's machine has no agent ports: such a run boots cold */
    /* restored 2-vCPU TCG VMs were seen to stall before running the command (e2e-builder-flags,
     * not yet understood): only 1-vCPU machines are restored, more vCPUs boot cold */
    if (mode == VM_TEMPLATE && template_wanted(paths) && !agents && !nshares && m.cpus == 1) {
        cb_err terr = {0};
        tmpl = template_ensure(v.be, cfg->root, &m, &terr);
        if (!tmpl && terr.msg[0])
            cb_warn("booting without a VM template: %s", terr.msg);
    }
    v.restored = tmpl != NULL;
    if (tmpl)
        cb_debug("restoring VM template %s", tmpl);
    if ((rc = v.be->prepare(&v.p, err)) < 0 || (rc = vm_listen(&v, err)) < 0)
        goto out;
    if (agents) {
        if ((rc = vm_agent_relays_start(cfg->mounts, cfg->n_mounts, v.p.tmpdir, ssh_socks, &relays, err)) < 0)
            goto out;
        m.ssh_socks = ssh_socks;
        m.n_ssh_socks = cfg->n_mounts;
    }
    if (cfg->console_log) {
        free(v.p.console);
        v.p.console = xstrdup(cfg->console_log);
    }
    plan_disks(cfg, paths->acpi ? v.be->device_slots : v.be->device_slots_noacpi, v.restored, &disks, &nd);
    m.disks = disks;
    m.n_disks = nd;
    m.template_layout = v.restored;
    m.restore = tmpl;
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
    if ((rc = v.be->start(&m, &v.p, err)) < 0)
        goto out;
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
        if (probe && st.hello)
            break;
        if (v.p.exited && (v.conn < 0 || conn_eof))
            break;
        int c = vm_tick(&v, &st, res, now, boot_limit, accel, &rc, err);
        if (c < 0)
            break;
        if (c > 0)
            continue;

        struct pollfd pf[4];
        int np = 0, i_listen = -1, i_conn = -1, i_pid = -1, i_in = -1;
        if (v.conn < 0 && v.listen_fd >= 0) {
            i_listen = np;
            pf[np++] = (struct pollfd){v.listen_fd, POLLIN, 0};
        }
        if (v.conn >= 0 && !conn_eof) {
            i_conn = np;
            pf[np++] = (struct pollfd){v.conn, (short)(POLLIN | (v.outq.len > v.outq_off ? POLLOUT : 0)), 0};
        }
        if (!v.p.exited) {
            i_pid = np;
            pf[np++] = (struct pollfd){v.p.pidfd, POLLIN, 0};
        }
        if (stdin_open && st.started && !st.exited && v.outq.len - v.outq_off < (1u << 20)) {
            i_in = np;
            pf[np++] = (struct pollfd){cfg->stdin_fd, POLLIN, 0};
        }
        int pr = poll(pf, (nfds_t)np, 100);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            rc = cb_error(err, errno, "poll");
            break;
        }
        if (i_listen >= 0 && pf[i_listen].revents) {
            v.conn = accept4(v.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (v.conn >= 0) {
                close(v.listen_fd);
                v.listen_fd = -1;
                unlink(v.p.sock);
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
            if (w > 0)
                v.outq_off += (size_t)w;
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
            if (waitpid(v.p.pid, &v.p.status, WNOHANG) == v.p.pid)
                v.p.exited = true;
        }
    }
    free(ibuf);
    flush_lines(&v);
    double end = cb_now();
    if (st.t_ready)
        res->boot_ms = (st.t_ready - v.t0) * 1000;
    else if (st.t_hello)
        res->boot_ms = (st.t_hello - v.t0) * 1000;
    if (st.t_exit && st.t_ready)
        res->run_ms = (st.t_exit - st.t_ready) * 1000;
    if (st.t_exit)
        res->shutdown_ms = (end - st.t_exit) * 1000;
    if (getenv("CBUILD_VM_TRACE") && cb_log_get_level() >= CB_LOG_DEBUG) {
        cleanup_free char *con = file_tail(v.p.console, 60);
        cb_debug("console:\n%s", con ? con : "");
    }
    if (rc < 0 || probe)
        goto out;

    rc = vm_outcome(&v, &st, res, err);
out:
    if (rc < 0 && v.restored && !st.ready && v.p.exited && !res->cancelled && !res->timed_out &&
        bad_template) {
        *bad_template = tmpl;
        tmpl = NULL;
        /* QEMU gave up loading the snapshot: the guest never ran, its disks are untouched and
         * the step can boot cold on them; otherwise the command may have run and written its
         * upper (a retry would run it twice: `mkdir: File exists`, an append done twice) */
        cleanup_free char *qlog = file_tail(v.p.log, 40);
        *unrun = qlog && strstr(qlog, "load of migration failed");
    }
    if (raw)
        tcsetattr(cfg->stdin_fd, TCSANOW, &saved_tio);
    free(st.err_msg);
    free(disks);
    vm_cleanup(&v);
    if (agents) {
        vm_agent_relays_stop(relays, cfg->n_mounts);
        for (size_t i = 0; i < cfg->n_mounts; i++)
            free(ssh_socks[i]);
        free(ssh_socks);
    }
    return rc;
}

int guest_vm_probe(const char *root, const guest_paths *paths, const char *accel, double watchdog,
                   cb_err *err)
{
    guest_run_config cfg;
    guest_run_config_init(&cfg);
    char *argv[] = {(char *)"true", NULL};
    cfg.root = root;
    cfg.argv = argv;
    cfg.network = GUEST_NET_NONE;
    cfg.memory = 256ull << 20;
    guest_run_result res = {0};
    int rc = vm_run(&cfg, paths, accel, VM_PROBE, watchdog, &res, NULL, NULL, err);
    guest_run_result_free(&res);
    return rc;
}

int guest_vm_run(const guest_run_config *cfg, const guest_paths *paths, const char *accel,
                 guest_run_result *res, cb_err *err)
{
    char *bad = NULL;
    bool unrun = false;
    int rc = vm_run(cfg, paths, accel, VM_TEMPLATE, 0, res, &bad, &unrun, err);
    if (rc < 0 && bad) {
        /* either way the snapshot goes (the next VM makes a new one). Only one QEMU could not
         * load (truncated, another build) means the guest never ran: then boot cold on the same
         * disks. A VM that died after the load may have written its upper: its failure is the
         * run's, not retried (a retry ran `mkdir` twice). */
        if (unrun)
            cb_warn("VM template %s could not be restored (%s): removed, booting without it", bad,
                    err ? err->msg : "");
        else
            cb_warn("VM template %s: a VM restored from it stopped early: removed", bad);
        unlink(bad);
        free(bad);
        if (unrun) {
            guest_run_result_free(res);
            memset(res, 0, sizeof *res);
            rc = vm_run(cfg, paths, accel, VM_COLD, 0, res, NULL, NULL, err);
        }
    }
    return rc;
}
