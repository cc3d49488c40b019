/* vminitd booted on its own: PID 1 of a bootable ext4 (`cbuild export --format ext4 --boot`),
 * started by any VMM as init=/sbin/cbuild-init. No host channel: the image's command comes
 * from STANDALONE_CONFIG, its output goes to the console, and its exit status is reported as
 * the console's last line before the reset (`cbuild-init: exit status N`, 128+SIG for a
 * signal) and in STANDALONE_STATUS on the image ("N\n"). The VM then resets: QEMU with
 * -no-reboot exits, Firecracker ends the VM. (Our kernel has neither port I/O for
 * isa-debug-exit nor pvpanic, so QEMU's own exit code cannot carry the status.)
 *
 * STANDALONE_CONFIG: NUL-terminated `key=value` records, keys arg (repeated, in order), env
 * (repeated), user, cwd, hostname. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vminitd.h"

static void console_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void console_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_as("cbuild-init", fmt, ap);
    va_end(ap);
}

static void mount_one(const char *src, const char *dst, const char *type, unsigned long flags,
                      const char *data)
{
    mkdir(dst, 0755);
    /* EBUSY: the kernel mounted it already (CONFIG_DEVTMPFS_MOUNT) */
    if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
        console_say("mounting %s on %s: %s", type, dst, strerror(errno));
}

static void system_mounts(void)
{
    mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
    mount_one("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
    /* without /dev/console on the image the kernel started us with no stdio at all */
    if (fcntl(2, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR | O_NOCTTY);
        if (fd >= 0) {
            for (int i = 0; i < 3; i++)
                if (fd != i)
                    dup2(fd, i);
            if (fd > 2)
                close(fd);
        }
    }
}

static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

static void push(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, sizeof(char *) * (*n + 2));
    if (!nv)
        abort();
    nv[(*n)++] = s;
    nv[*n] = NULL;
    *v = nv;
}

/* The records of STANDALONE_CONFIG into e; -1 (said on the console) when unusable. */
static int config_load(execspec *e, char **hostname)
{
    int fd = open(STANDALONE_CONFIG, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        console_say("%s: %s", STANDALONE_CONFIG, strerror(errno));
        return -1;
    }
    char *buf = xzalloc((size_t)st.st_size + 1);
    ssize_t got = 0;
    while (got < st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)(st.st_size - got));
        if (n <= 0)
            break;
        got += n;
    }
    close(fd);
    memset(e, 0, sizeof *e);
    for (char *p = buf, *next; p < buf + got; p = next) {
        next = p + strlen(p) + 1;
        char *eq = strchr(p, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *v = eq + 1;
        if (!strcmp(p, "arg"))
            push(&e->argv, &e->argc, v);
        else if (!strcmp(p, "env"))
            push(&e->env, &e->envc, v);
        else if (!strcmp(p, "user"))
            e->user = v;
        else if (!strcmp(p, "cwd"))
            e->cwd = v;
        else if (!strcmp(p, "hostname"))
            *hostname = v;
    }
    if (!e->argc) {
        console_say("%s names no command (no arg= record)", STANDALONE_CONFIG);
        return -1;
    }
    if (!e->cwd || !*e->cwd)
        e->cwd = "/";
    return 0;
}

/* Every process but us: TERM, a second to go, then KILL; reaping throughout. */
static void kill_all(void)
{
    kill(-1, SIGTERM);
    for (int i = 0; i < 100; i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (kill(-1, 0) < 0 && errno == ESRCH)
            return;
        sleep_ms(10);
    }
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

static void __attribute__((noreturn)) shut_down(int code)
{
    kill_all();
    char st[16];
    int n = snprintf(st, sizeof st, "%d\n", code);
    int w = write_file(STANDALONE_STATUS, st, (size_t)n, 0644);
    if (w < 0)
        console_say("writing %s: %s", STANDALONE_STATUS, strerror(-w));
    sync();
    /* read-only before the reset: the image is left clean (e2fsck -fn silent) */
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
        console_say("remounting / read-only: %s", strerror(errno));
    console_say("exit status %d", code);
    /* a reset ends the VM: without ACPI a power-off only halts the CPU */
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}

void standalone_main(void)
{
    signal(SIGPIPE, SIG_IGN);
    system_mounts();
    char cmdline[4096];
    if (read_small_file("/proc/cmdline", cmdline, sizeof cmdline) < 0)
        cmdline[0] = 0;
    tracing = strstr(cmdline, "cbuild.trace") != NULL;
    trace("cbuild-init started");
    execspec e;
    char *hostname = "cbuild";
    if (config_load(&e, &hostname) < 0)
        shut_down(126);
    sethostname(hostname, strlen(hostname));
    loopback_up();
    pid_t pid = fork();
    if (pid < 0) {
        console_say("fork: %s", strerror(errno));
        shut_down(126);
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        child_become(&e, hostname, false, NULL, 0);
    }
    trace("command started");
    /* as PID 1, reap every orphan until the command itself ends */
    int status = 0;
    for (;;) {
        pid_t r = waitpid(-1, &status, 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = 0;
            break;
        }
    }
    trace("command exited");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 0;
    shut_down(code);
}
