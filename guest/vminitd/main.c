/* vminitd: PID 1 of a cbuild VM.
 *
 * Boot: mount /proc, /sys, /dev; move off the initramfs rootfs onto a tmpfs (pivot_root
 * cannot leave rootfs, and the command's namespace must pivot); load the virtio modules;
 * open the control port; say HELLO. Then take CONFIG and EXEC from the host, assemble the
 * overlay root, bring up the network, run the command and stream its stdio, report how it
 * ended, unmount the upper cleanly and power off. PID 1 must never exit (that panics the
 * kernel): every path ends in power_off(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vminitd.h"

static void __attribute__((noreturn)) power_off(void)
{
    sync();
    /* Reset rather than power off: a guest without ACPI cannot power off (the kernel halts
     * and QEMU waits), while a reset (reboot=t: a triple fault) ends QEMU under -no-reboot. */
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}

/* With `cbuild.trace` on the kernel command line (CBUILD_VM_TRACE=1 on the host), stage
 * times since boot go to the console. */
bool tracing;
void trace(const char *stage)
{
    if (!tracing)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    vlog("%ld.%03ld %s", (long)ts.tv_sec, ts.tv_nsec / 1000000, stage);
}

static void early_mounts(void)
{
    mkdir("/proc", 0555);
    mkdir("/sys", 0555);
    mkdir("/dev", 0755);
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    /* Move onto a tmpfs: pivot_root(2) refuses to move away from the initramfs rootfs. */
    modules_dirfd = open("/modules", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mkdir("/r", 0755);
    if (mount("tmpfs", "/r", "tmpfs", 0, "mode=0755") < 0) {
        vlog("tmpfs root: %s", strerror(errno));
        power_off();
    }
    const char *sub[] = {"proc", "sys", "dev"};
    for (int i = 0; i < 3; i++) {
        char src[16], dst[16];
        snprintf(src, sizeof src, "/%s", sub[i]);
        snprintf(dst, sizeof dst, "/r/%s", sub[i]);
        mkdir(dst, 0755);
        if (mount(src, dst, NULL, MS_MOVE, NULL) < 0)
            vlog("moving %s: %s", src, strerror(errno));
    }
    if (chdir("/r") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
        vlog("switching root: %s", strerror(errno));
        power_off();
    }
    oldroot_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mkdir("/dev/pts", 0755);
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
    mkdir("/run", 0755);
}

/* ---------- incoming frames ---------- */
static uint8_t *rbuf;
static size_t rlen, rcap;

/* 1 and a frame, 0 when more data is needed, -1 on a frame too large to be real. */
static int next_frame(uint16_t *type, uint8_t **payload, uint32_t *len, size_t *consumed)
{
    if (rlen < GUEST_HDR_LEN)
        return 0;
    uint32_t l = guest_get_u32(rbuf);
    if (l > GUEST_MSG_MAX)
        return -1;
    if (rlen < GUEST_HDR_LEN + (size_t)l)
        return 0;
    *type = guest_get_u16(rbuf + 4);
    *payload = rbuf + GUEST_HDR_LEN;
    *len = l;
    *consumed = GUEST_HDR_LEN + (size_t)l;
    return 1;
}

static void consume(size_t n)
{
    memmove(rbuf, rbuf + n, rlen - n);
    rlen -= n;
}

/* Reads what is available (blocking once). 0, or -1 at EOF/error. */
static int read_more(void)
{
    if (rcap - rlen < 65536) {
        rcap = rcap ? rcap * 2 : 262144;
        uint8_t *nb = realloc(rbuf, rcap);
        if (!nb)
            abort();
        rbuf = nb;
    }
    for (;;) {
        ssize_t n = read(ctl_fd, rbuf + rlen, rcap - rlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        rlen += (size_t)n;
        return 0;
    }
}

/* ---------- the run ---------- */
static config cfg;
static bool cfg_ok;
static created_list created;

static void __attribute__((noreturn)) finish(uint32_t flags)
{
    if (cfg_ok)
        rootfs_teardown(&cfg, &created, &flags);
    sync();
    trace("unmounted");
    guest_msg m = {0};
    guest_msg_u32(&m, GUEST_F_FLAGS, flags);
    ctl_send(GUEST_MSG_DONE, m.p, m.len);
    power_off();
}

static void send_exit(int status)
{
    guest_msg m = {0};
    uint32_t code = 0, sig = 0;
    if (WIFEXITED(status))
        code = (uint32_t)WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) {
        sig = (uint32_t)WTERMSIG(status);
        code = 128 + sig;
    }
    guest_msg_u32(&m, GUEST_F_CODE, code);
    guest_msg_u32(&m, GUEST_F_SIGNAL, sig);
    ctl_send(GUEST_MSG_EXIT, m.p, m.len);
    guest_msg_free(&m);
}

typedef struct inq {
    uint8_t *p;
    size_t len, off, cap;
    bool eof;
} inq;

static void inq_push(inq *q, const uint8_t *d, size_t n)
{
    if (q->off && q->off == q->len)
        q->off = q->len = 0;
    if (q->len + n > q->cap) {
        q->cap = (q->len + n) * 2;
        uint8_t *np = realloc(q->p, q->cap);
        if (!np)
            abort();
        q->p = np;
    }
    memcpy(q->p + q->len, d, n);
    q->len += n;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void handle_frame(uint16_t type, const uint8_t *p, uint32_t len, child *ch, inq *in, bool tty)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *v;
    uint32_t n, u;
    switch (type) {
    case GUEST_MSG_STDIN:
        if (ch->in_fd >= 0 && !in->eof)
            inq_push(in, p, len);
        return;
    case GUEST_MSG_STDIN_EOF:
        in->eof = true;
        return;
    case GUEST_MSG_SIGNAL:
        guest_fields_init(&f, p, len);
        while (guest_fields_next(&f, &tag, &v, &n)) {
            if (tag != GUEST_F_SIGNAL)
                continue;
            if (!guest_field_u32(v, n, &u) || u == 0 || u >= 65) {
                ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "SIGNAL: bad signal number");
                return;
            }
            if (ch->pid > 0)
                kill(ch->pid, (int)u);
            return;
        }
        ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "SIGNAL without a signal number");
        return;
    case GUEST_MSG_RESIZE: {
        struct winsize ws = {0};
        guest_fields_init(&f, p, len);
        while (guest_fields_next(&f, &tag, &v, &n)) {
            if (tag == GUEST_F_ROWS && guest_field_u32(v, n, &u))
                ws.ws_row = (unsigned short)u;
            if (tag == GUEST_F_COLS && guest_field_u32(v, n, &u))
                ws.ws_col = (unsigned short)u;
        }
        if (f.bad || !ws.ws_row || !ws.ws_col) {
            ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "RESIZE: malformed");
            return;
        }
        if (tty && ch->out_fd >= 0)
            ioctl(ch->out_fd, TIOCSWINSZ, &ws);
        return;
    }
    default:
        ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "unexpected message type %u while running", type);
        return;
    }
}

/* Streams stdio until the command exited and its output is drained. Returns wait status. */
static int io_loop(child *ch, bool tty)
{
    inq in = {0};
    int status = 0;
    bool exited = false, host_gone = false;
    uint8_t *buf = xzalloc(GUEST_DATA_CHUNK);
    /* never block on the command's stdin (pipe or pty master): stdin is queued instead */
    if (ch->in_fd >= 0)
        fcntl(ch->in_fd, F_SETFL, fcntl(ch->in_fd, F_GETFL) | O_NONBLOCK);
    while (!exited || ch->out_fd >= 0 || ch->err_fd >= 0) {
        struct pollfd pf[5];
        int np = 0, i_ctl = -1, i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
        /* backpressure: while 8 MiB of stdin wait for the command, leave the rest in the
         * channel (the host stops reading its stdin in turn) */
        if (!host_gone && in.len - in.off < (8u << 20)) {
            i_ctl = np;
            pf[np++] = (struct pollfd){ctl_fd, POLLIN, 0};
        }
        bool tty_pending = tty && ch->in_fd >= 0 && in.len > in.off;
        if (ch->out_fd >= 0) {
            i_out = np;
            pf[np++] = (struct pollfd){ch->out_fd, (short)(POLLIN | (tty_pending ? POLLOUT : 0)), 0};
        }
        if (ch->err_fd >= 0) {
            i_err = np;
            pf[np++] = (struct pollfd){ch->err_fd, POLLIN, 0};
        }
        if (!tty && ch->in_fd >= 0 && in.len > in.off) {
            i_in = np;
            pf[np++] = (struct pollfd){ch->in_fd, POLLOUT, 0};
        }
        if (!exited && ch->pidfd >= 0) {
            i_pid = np;
            pf[np++] = (struct pollfd){ch->pidfd, POLLIN, 0};
        }
        int timeout = (!exited && ch->pidfd < 0) ? 10 : -1;
        if (poll(pf, (nfds_t)np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (i_ctl >= 0 && pf[i_ctl].revents) {
            if (read_more() < 0) {
                /* the host went away: nobody wants the result any more */
                host_gone = true;
                if (!exited)
                    kill(ch->pid, SIGKILL);
            }
            uint16_t type;
            uint8_t *p;
            uint32_t len;
            size_t used;
            int r;
            while ((r = next_frame(&type, &p, &len, &used)) == 1) {
                handle_frame(type, p, len, ch, &in, tty);
                consume(used);
            }
            if (r < 0) {
                ctl_send_error(GUEST_ERR_PROTOCOL, EMSGSIZE, "frame larger than %u bytes: stream out of sync",
                               GUEST_MSG_MAX);
                host_gone = true;
                if (!exited)
                    kill(ch->pid, SIGKILL);
            }
        }
        /* stdin: the pipe is non-blocking; with a tty the master is written directly */
        if (ch->in_fd >= 0 && in.len > in.off &&
            ((tty && i_out >= 0 && (pf[i_out].revents & POLLOUT)) || (i_in >= 0 && pf[i_in].revents))) {
            ssize_t w = write(ch->in_fd, in.p + in.off, in.len - in.off);
            if (w > 0)
                in.off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR && !tty) {
                close_fd(&ch->in_fd); /* EPIPE: the command closed its stdin */
                in.off = in.len;
            }
        }
        if (!tty && ch->in_fd >= 0 && in.eof && in.off == in.len)
            close_fd(&ch->in_fd);
        if (tty && in.eof && in.off == in.len && ch->in_fd >= 0) {
            /* EOF on a tty: send the terminal's EOF character, as a terminal would */
            char eofc = 4;
            write(ch->in_fd, &eofc, 1);
            in.eof = false;
            ch->in_fd = -1; /* the master stays open as out_fd */
        }
        int outs[2] = {i_out, i_err};
        int *fds[2] = {&ch->out_fd, &ch->err_fd};
        for (int s = 0; s < 2; s++) {
            if (outs[s] < 0 || !(pf[outs[s]].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(*fds[s], buf, GUEST_DATA_CHUNK);
            if (n > 0) {
                if (!host_gone)
                    ctl_send(s == 0 ? GUEST_MSG_STDOUT : GUEST_MSG_STDERR, buf, (size_t)n);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (tty && ch->in_fd == *fds[s])
                    ch->in_fd = -1;
                close_fd(fds[s]); /* EOF, or EIO on a pty master once the last slave closed */
            }
        }
        if (!exited && (ch->pidfd < 0 || (i_pid >= 0 && pf[i_pid].revents))) {
            pid_t r = waitpid(ch->pid, &status, WNOHANG);
            if (r == ch->pid)
                exited = true;
        }
    }
    if (!exited)
        waitpid(ch->pid, &status, 0);
    close_fd(&ch->pidfd);
    close_fd(&ch->in_fd);
    free(buf);
    free(in.p);
    return status;
}

/* About 100 lines: PID 1's life in order (mounts, modules, HELLO, config, root, network,
 * command, exit, teardown), each stage traced. */
int main(int argc, char **argv)
{
    const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "");
    /* a bootable ext4 starts us as init=/sbin/cbuild-init: no host, no initramfs */
    if (getpid() == 1 && strcmp(base, "cbuild-init") == 0)
        standalone_main();
    if (getpid() != 1) {
        vlog("must run as PID 1 of a cbuild VM");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    early_mounts();
    char cmdline[4096];
    if (read_small_file("/proc/cmdline", cmdline, sizeof cmdline) < 0)
        cmdline[0] = 0;
    tracing = strstr(cmdline, "cbuild.trace") != NULL;
    trace("vminitd started");
    if (modules_load_group("base") < 0)
        vlog("loading base modules failed");
    /* cbuild.preload=blk,overlay,net: what this run will need, loaded while the devices
     * probe instead of after CONFIG (failures are reported when the group is needed) */
    char *pre = strstr(cmdline, "cbuild.preload=");
    if (pre) {
        char groups[128];
        snprintf(groups, sizeof groups, "%.*s", (int)strcspn(pre + 15, " \n"), pre + 15);
        for (char *g = strtok(groups, ","); g; g = strtok(NULL, ","))
            modules_load_group(g);
    }
    trace("base modules loaded");
    ctl_fd = ctl_open();
    trace("control port open");
    if (ctl_fd < 0) {
        vlog("control port %s not found", GUEST_PORT_NAME);
        power_off();
    }
    struct utsname un;
    uname(&un);
    guest_msg m = {0};
    guest_msg_u32(&m, GUEST_F_VERSION, GUEST_PROTO_VERSION);
    guest_msg_str(&m, GUEST_F_KERNEL, un.release);
    ctl_send(GUEST_MSG_HELLO, m.p, m.len);

    execspec ex;
    bool have_exec = false;
    while (!cfg_ok || !have_exec) {
        uint16_t type;
        uint8_t *p;
        uint32_t len;
        size_t used;
        int r = next_frame(&type, &p, &len, &used);
        if (r < 0) {
            ctl_send_error(GUEST_ERR_PROTOCOL, EMSGSIZE, "frame larger than %u bytes", GUEST_MSG_MAX);
            finish(0);
        }
        if (r == 0) {
            if (read_more() < 0)
                finish(0); /* host gone before anything ran */
            continue;
        }
        if (type == GUEST_MSG_CONFIG && !cfg_ok) {
            if (config_parse(p, len, &cfg) < 0)
                finish(0);
            cfg_ok = true;
        } else if (type == GUEST_MSG_EXEC && cfg_ok && !have_exec) {
            if (execspec_parse(p, len, &ex) < 0)
                finish(0);
            have_exec = true;
        } else {
            ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL,
                           "unexpected message type %u before the command started", type);
        }
        consume(used);
    }
    trace("config received");
    if (restore_refresh(&cfg) < 0)
        finish(0);
    cfg_ok = false; /* nothing mounted yet */
    int r = rootfs_assemble(&cfg);
    cfg_ok = true;
    if (r < 0)
        finish(0);
    trace("root assembled");
    if (net_configure(&cfg) < 0)
        finish(0);
    trace("network up");
    ctl_send(GUEST_MSG_READY, NULL, 0);

    child ch;
    if (child_start(&cfg, &ex, &ch, &created) < 0) {
        int status = 0;
        if (ch.pid > 0)
            waitpid(ch.pid, &status, 0);
        send_exit(status);
        finish(0);
    }
    guest_msg_reset(&m);
    guest_msg_u32(&m, GUEST_F_PID, (uint32_t)ch.pid);
    ctl_send(GUEST_MSG_STARTED, m.p, m.len);
    trace("command started");
    int status = io_loop(&ch, ex.tty);
    trace("command exited");
    send_exit(status);
    finish(0);
}
