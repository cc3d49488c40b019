/* vminitd: starting the command. It runs as PID 1 of a new PID namespace, in a new mount
 * namespace whose root is the overlay (pivot_root), with /proc, /sys, /dev, /dev/pts,
 * /dev/shm, Docker's /etc/hosts, /etc/resolv.conf and /etc/hostname, and the RUN --mount
 * mounts. The child reports the mount points it had to create and any failure before exec
 * through a close-on-exec pipe: records 'C' <isdir> <path> NUL and 'E' <kind:u32> <errno:u32>
 * <message> NUL. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "vminitd.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define OPEN_TREE_CLONE_ 1
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x04
#define MOVE_MOUNT_T_SYMLINKS_ 0x10

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int status_fd = -1; /* child side of the report pipe */

static void report_created(const char *path, bool is_dir)
{
    size_t n = strlen(path);
    char *rec = xzalloc(n + 3);
    rec[0] = 'C';
    rec[1] = is_dir ? 'd' : 'f';
    memcpy(rec + 2, path, n + 1);
    write_all(status_fd, rec, n + 3);
    free(rec);
}

static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(uint32_t kind, int errnum, const char *fmt, ...)
{
    char msg[1024];
    uint8_t rec[9];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (status_fd < 0) /* standalone boot: nobody reads the report pipe, the console does */
        vlog("%s", msg);
    rec[0] = 'E';
    guest_put_u32(rec + 1, kind);
    guest_put_u32(rec + 5, (uint32_t)errnum);
    write_all(status_fd, rec, 9);
    write_all(status_fd, msg, strlen(msg) + 1);
    _exit(kind == GUEST_ERR_EXEC && (errnum == ENOENT || errnum == ENOTDIR) ? 127 : 126);
}

/* mkdir -p that reports every directory it creates */
static void mkdir_rec(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            struct stat st;
            if (stat(buf, &st) < 0) {
                if (mkdir(buf, 0755) < 0)
                    child_fail(GUEST_ERR_SETUP, errno, "creating mount point %s", buf);
                report_created(buf, true);
            }
            *p = c;
            if (c == 0)
                break;
        }
    }
}

static void ensure_file(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir_rec(dir);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        child_fail(GUEST_ERR_SETUP, errno, "creating mount point %s", path);
    close(fd);
    report_created(path, false);
}

static int clone_tree(const char *path)
{
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE_ | O_CLOEXEC);
    if (fd < 0)
        child_fail(GUEST_ERR_SETUP, errno, "open_tree %s", path);
    return fd;
}

static void attach_tree(int fd, const char *target, bool ro)
{
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_ | MOVE_MOUNT_T_SYMLINKS_) <
        0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting on %s", target);
    close(fd);
    if (ro && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "remounting %s read-only", target);
}

static void setup_dev(uint64_t shm_size)
{
    if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting /dev");
    static const struct {
        const char *name;
        unsigned maj, min;
        mode_t mode;
    } nodes[] = {
        {"/dev/null", 1, 3, 0666},   {"/dev/zero", 1, 5, 0666},    {"/dev/full", 1, 7, 0666},
        {"/dev/random", 1, 8, 0666}, {"/dev/urandom", 1, 9, 0666}, {"/dev/tty", 5, 0, 0666},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        if (mknod(nodes[i].name, S_IFCHR | nodes[i].mode, makedev(nodes[i].maj, nodes[i].min)) < 0)
            child_fail(GUEST_ERR_SETUP, errno, "mknod %s", nodes[i].name);
        chmod(nodes[i].name, nodes[i].mode);
    }
    symlink("/proc/self/fd", "/dev/fd");
    symlink("/proc/self/fd/0", "/dev/stdin");
    symlink("/proc/self/fd/1", "/dev/stdout");
    symlink("/proc/self/fd/2", "/dev/stderr");
    symlink("/proc/kcore", "/dev/core");
    symlink("pts/ptmx", "/dev/ptmx");
    mkdir("/dev/pts", 0755);
    mkdir("/dev/shm", 01777);
    mkdir("/dev/mqueue", 01777);
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting /dev/pts");
    char shm_opts[64] = "mode=1777,size=65536k";
    if (shm_size)
        snprintf(shm_opts, sizeof shm_opts, "mode=1777,size=%llu", (unsigned long long)shm_size);
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_opts) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting /dev/shm");
    mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* ---------- users, as runc's libcontainer/user resolves them ---------- */
static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Splits a passwd/group line into up to n fields on ':'. */
static int split_fields(char *line, char **f, int n)
{
    int i = 0;
    f[i++] = line;
    for (char *p = line; *p && i < n; p++) {
        if (*p == ':') {
            *p = 0;
            f[i++] = p + 1;
        }
    }
    return i;
}

typedef struct resolved_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    char home[PATH_MAX];
    char name[256];
} resolved_user;

/* build: BuildKit's RUN rules (containerd's WithAdditionalGIDs): the primary gid is in the list
 * (CVE-2023-25173) and an explicit group is the only one; else docker run's (supplementary only). */
static void resolve_user(const char *spec, bool build, resolved_user *u)
{
    char user[256] = "", group[256] = "";
    bool has_group = false;
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (spec) {
        snprintf(user, sizeof user, "%.*s", (int)(colon ? (size_t)(colon - spec) : strlen(spec)), spec);
        if (colon) {
            snprintf(group, sizeof group, "%s", colon + 1);
            has_group = true;
        }
    }
    if (!user[0])
        snprintf(user, sizeof user, "0");
    memset(u, 0, sizeof *u);
    snprintf(u->home, sizeof u->home, "/");
    bool numeric = all_digits(user), found = false;
    if (numeric)
        u->uid = (uid_t)strtoul(user, NULL, 10);

    FILE *pw = fopen("/etc/passwd", "re");
    char line[4096];
    while (pw && fgets(line, sizeof line, pw)) {
        line[strcspn(line, "\n")] = 0;
        char *f[7];
        if (line[0] == '#' || split_fields(line, f, 7) < 7)
            continue;
        if (numeric ? (uid_t)strtoul(f[2], NULL, 10) != u->uid || !all_digits(f[2]) : strcmp(f[0], user) != 0)
            continue;
        u->uid = (uid_t)strtoul(f[2], NULL, 10);
        u->gid = (gid_t)strtoul(f[3], NULL, 10);
        snprintf(u->home, sizeof u->home, "%s", f[5][0] ? f[5] : "/");
        snprintf(u->name, sizeof u->name, "%s", f[0]);
        found = true;
        break;
    }
    if (pw)
        fclose(pw);
    if (!found && !numeric)
        child_fail(GUEST_ERR_USER, ENOENT, "unable to find user %s: no matching entries in passwd file",
                   user);

    bool group_found = !has_group || all_digits(group);
    if (has_group && all_digits(group))
        u->gid = (gid_t)strtoul(group, NULL, 10);
    FILE *gr = fopen("/etc/group", "re");
    while (gr && fgets(line, sizeof line, gr)) {
        line[strcspn(line, "\n")] = 0;
        char *f[4];
        if (line[0] == '#' || split_fields(line, f, 4) < 4)
            continue;
        gid_t gid = (gid_t)strtoul(f[2], NULL, 10);
        if (has_group && !group_found && strcmp(f[0], group) == 0) {
            u->gid = gid;
            group_found = true;
        }
        if (!u->name[0] || (build && has_group))
            continue;
        for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ",")) {
            if (strcmp(m, u->name) != 0 || (build && gid == u->gid))
                continue;
            gid_t *ng = realloc(u->groups, sizeof(gid_t) * (u->ngroups + 1));
            if (!ng)
                abort();
            u->groups = ng;
            u->groups[u->ngroups++] = gid;
            break;
        }
    }
    if (gr)
        fclose(gr);
    if (!group_found)
        child_fail(GUEST_ERR_USER, ENOENT, "unable to find group %s: no matching entries in group file",
                   group);
    if (!build)
        return;
    gid_t *ng = realloc(u->groups, sizeof(gid_t) * (u->ngroups + 1));
    if (!ng)
        abort();
    memmove(ng + 1, ng, sizeof(gid_t) * u->ngroups);
    ng[0] = u->gid;
    u->groups = ng;
    u->ngroups++;
}

static const char *env_get(char **env, const char *key)
{
    size_t k = strlen(key);
    for (; env && *env; env++)
        if (strncmp(*env, key, k) == 0 && (*env)[k] == '=')
            return *env + k + 1;
    return NULL;
}

static char **env_with_defaults(const execspec *e, const resolved_user *u, const char *hostname)
{
    char **env = xzalloc(sizeof(char *) * (e->envc + 6));
    size_t n = 0;
    for (size_t i = 0; i < e->envc; i++)
        env[n++] = e->env[i];
    if (!env_get(env, "PATH"))
        env[n++] = xsprintf("PATH=%s", DEFAULT_PATH);
    if (!env_get(env, "HOSTNAME"))
        env[n++] = xsprintf("HOSTNAME=%s", hostname);
    if (!env_get(env, "HOME"))
        env[n++] = xsprintf("HOME=%s", u->home);
    if (e->tty && !env_get(env, "TERM"))
        env[n++] = xsprintf("TERM=xterm");
    env[n] = NULL;
    return env;
}

static void __attribute__((noreturn)) exec_command(const execspec *e, char **env)
{
    const char *cmd = e->argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, e->argv, env);
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            child_fail(GUEST_ERR_EXEC, err, "exec: \"%s\": stat %s: no such file or directory", cmd, cmd);
        child_fail(GUEST_ERR_EXEC, err, "exec: \"%s\": %s", cmd, strerror(err));
    }
    const char *path = env_get(env, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    int seen = ENOENT;
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%.*s%s%s", (int)dl, p, dl ? "/" : "", cmd);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            execve(full, e->argv, env);
            if (errno != ENOENT && errno != ENOTDIR)
                seen = errno;
            if (errno == ENOEXEC)
                break;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (seen == ENOENT)
        child_fail(GUEST_ERR_EXEC, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
    child_fail(GUEST_ERR_EXEC, seen, "exec: \"%s\": %s", cmd, strerror(seen));
}

/* The pty is allocated inside the command's own devpts instance (so ttyname() and
 * /dev/pts/0 work there) and its master handed to vminitd over a socket, as runc does. */
static void make_console(const execspec *e, int console_sock)
{
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    char name[64];
    if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
        child_fail(GUEST_ERR_SETUP, errno, "allocating a pty");
    struct winsize ws = {(unsigned short)(e->rows ? e->rows : 24), (unsigned short)(e->cols ? e->cols : 80),
                         0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
    int s = open(name, O_RDWR);
    if (s < 0)
        child_fail(GUEST_ERR_SETUP, errno, "opening %s", name);
    if (ioctl(s, TIOCSCTTY, 0) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "TIOCSCTTY");
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    if (s > 2)
        close(s);
    /* Docker's /dev/console is the container's terminal */
    int cfd = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (cfd >= 0)
        close(cfd);
    mount(name, "/dev/console", NULL, MS_BIND, NULL);
    char dummy = 'm';
    struct iovec iov = {&dummy, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof(int));
    if (sendmsg(console_sock, &msg, 0) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "passing the pty to vminitd");
    close(master);
    close(console_sock);
}

static int recv_console(int sock)
{
    char dummy;
    struct iovec iov = {&dummy, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/* The command's own cgroup (as a container's): memory.max from the config, entered and made the
 * root of a new cgroup namespace, so /sys/fs/cgroup in the RUN shows its figures. Best effort: a
 * kernel without cgroup2 runs the command without one. */
static int cg_write(const char *path, const char *v)
{
    return write_file(path, v, strlen(v), 0644);
}

static bool join_run_cgroup(const config *c)
{
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0 &&
        mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return false;
    cg_write("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids");
    char dir[64], path[96], v[32];
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/run-%d", (int)getpid());
    if (mkdir(dir, 0755) < 0)
        return false;
    if (c->memory_max) {
        snprintf(path, sizeof path, "%s/memory.max", dir);
        snprintf(v, sizeof v, "%llu", (unsigned long long)c->memory_max);
        cg_write(path, v);
    }
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    snprintf(v, sizeof v, "%d", (int)getpid());
    return cg_write(path, v) == 0 && unshare(CLONE_NEWCGROUP) == 0;
}

/* Long: the child's setup between fork and exec (namespaces, mounts, rlimits, ids, terminal,
 * fds) in the order the kernel needs it; nothing returns from here. */
static void __attribute__((noreturn))
child_main(const config *c, const execspec *e, int in_r, int out_w, int err_w, int console_sock)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    if (console_sock < 0) {
        dup2(in_r, 0);
        dup2(out_w, 1);
        dup2(err_w, 2);
        if (in_r > 2)
            close(in_r);
        if (out_w > 2)
            close(out_w);
        if (err_w > 2)
            close(err_w);
    }

    bool cgroup = join_run_cgroup(c);
    if (unshare(CLONE_NEWNS) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "making / private");

    /* detached copies of what the new root will need from vminitd's filesystem */
    int t_hosts = c->hosts ? clone_tree("/run/cb/hosts") : -1;
    int t_resolv = c->resolv ? clone_tree("/run/cb/resolv.conf") : -1;
    int t_hostname = clone_tree("/run/cb/hostname");
    int *t_mounts = xzalloc(sizeof(int) * (c->n_mounts + 1));
    for (size_t i = 0; i < c->n_mounts; i++)
        t_mounts[i] = c->mounts[i].staging ? clone_tree(c->mounts[i].staging) : -1;

    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (chdir(NEWROOT) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "chdir " NEWROOT);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail(GUEST_ERR_SETUP, errno, "pivot_root");
    if (fchdir(oldroot) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "fchdir");
    mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL);
    if (umount2(".", MNT_DETACH) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "detaching the old root");
    close(oldroot);
    if (chdir("/") < 0)
        child_fail(GUEST_ERR_SETUP, errno, "chdir /");

    mkdir_rec("/proc");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting /proc");
    mkdir_rec("/sys");
    if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
        child_fail(GUEST_ERR_SETUP, errno, "mounting /sys");
    if (cgroup)
        mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
    mkdir_rec("/dev");
    setup_dev(c->shm_size);
    if (console_sock >= 0)
        make_console(e, console_sock);
    struct stat st;
    if (lstat("/tmp", &st) < 0) {
        mkdir_rec("/tmp");
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
            child_fail(GUEST_ERR_SETUP, errno, "mounting /tmp");
    }
    const struct {
        int fd;
        const char *path;
    } etc[] = {{t_hosts, "/etc/hosts"}, {t_resolv, "/etc/resolv.conf"}, {t_hostname, "/etc/hostname"}};
    for (size_t i = 0; i < 3; i++) {
        if (etc[i].fd < 0)
            continue;
        ensure_file(etc[i].path);
        if (stat(etc[i].path, &st) < 0) { /* a dangling symlink: Docker leaves those alone too */
            close(etc[i].fd);
            continue;
        }
        attach_tree(etc[i].fd, etc[i].path, false);
    }
    for (size_t i = 0; i < c->n_mounts; i++) {
        const vmount *m = &c->mounts[i];
        struct stat src;
        bool file_src =
            m->kind == 3 || m->kind == 4 || (t_mounts[i] >= 0 && fstat(t_mounts[i], &src) == 0 && !S_ISDIR(src.st_mode));
        if (file_src)
            ensure_file(m->target); /* a single file is bound onto a file */
        else
            mkdir_rec(m->target);
        if (m->kind == 2) {
            char opts[128];
            int o = snprintf(opts, sizeof opts, "mode=%o", m->mode ? m->mode & 07777 : 01777);
            if (m->size)
                snprintf(opts + o, sizeof opts - (size_t)o, ",size=%llu", (unsigned long long)m->size);
            if (mount("tmpfs", m->target, "tmpfs", MS_NOSUID | MS_NODEV | (m->ro ? MS_RDONLY : 0), opts) < 0)
                child_fail(GUEST_ERR_SETUP, errno, "mounting tmpfs on %s", m->target);
            if (m->uid || m->gid)
                chown(m->target, m->uid, m->gid);
        } else {
            attach_tree(t_mounts[i], m->target, m->kind == 0 || m->kind == 3 || m->ro);
        }
    }
    free(t_mounts);
    child_become(e, c->hostname, console_sock >= 0, c->rlimits, c->n_rlimits);
}

/* Docker's default capability set (oci/caps/defaults.go): CHOWN DAC_OVERRIDE FOWNER FSETID KILL
 * SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define DOCKER_DEFAULT_CAPS 0xa80425fbULL

/* Only the default set survives exec (root's permitted set becomes the bounding set). */
static void drop_to_default_caps(void)
{
    for (int c = 0; c < 64; c++)
        if (!(DOCKER_DEFAULT_CAPS & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            child_fail(GUEST_ERR_EXEC, errno, "dropping capability %d", c);
}

/* docker --ulimit, as runc's setupRlimits: while vminitd's root still holds CAP_SYS_RESOURCE (a
 * hard limit may go up), and after the files the set-up reads are closed (nofile may be tiny). */
static void set_rlimits(const vrlimit *rl, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct rlimit r = {.rlim_cur = (rlim_t)rl[i].soft, .rlim_max = (rlim_t)rl[i].hard};
        if (setrlimit((int)rl[i].resource, &r) < 0)
            child_fail(GUEST_ERR_SETUP, errno, "error setting rlimit type %u", (unsigned)rl[i].resource);
    }
}

void child_become(const execspec *e, const char *hostname, bool tty, const vrlimit *rlimits, size_t n_rlimits)
{
    resolved_user u;
    resolve_user(e->user, e->build_groups, &u);
    char **env = env_with_defaults(e, &u, hostname);
    if (tty)
        fchown(0, u.uid, (gid_t)-1);
    if (mkdir_p(e->cwd, 0755) < 0)
        child_fail(GUEST_ERR_CWD, errno, "creating working directory %s", e->cwd);
    if (e->default_caps)
        drop_to_default_caps();
    set_rlimits(rlimits, n_rlimits);
    if (setgroups(u.ngroups, u.groups) < 0)
        child_fail(GUEST_ERR_USER, errno, "setgroups");
    if (setgid(u.gid) < 0)
        child_fail(GUEST_ERR_USER, errno, "setgid %u", (unsigned)u.gid);
    if (setuid(u.uid) < 0)
        child_fail(GUEST_ERR_USER, errno, "setuid %u", (unsigned)u.uid);
    if (chdir(e->cwd) < 0)
        child_fail(GUEST_ERR_CWD, errno, "chdir to working directory %s", e->cwd);
    exec_command(e, env);
}

/* About 100 lines: user lookup, pipes or a pty, the fork and the exec-error pipe are one
 * sequence whose failures each need their own clean-up. */
int child_start(const config *c, const execspec *e, child *ch, created_list *created)
{
    int sp[2], inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, cs[2] = {-1, -1};
    memset(ch, 0, sizeof *ch);
    ch->in_fd = ch->out_fd = ch->err_fd = ch->errpipe = ch->pidfd = -1;
    if (pipe2(sp, O_CLOEXEC) < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "pipe"), -1;
    if (e->tty) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cs) < 0)
            return ctl_send_error(GUEST_ERR_SETUP, errno, "socketpair"), -1;
    } else {
        if (pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
            return ctl_send_error(GUEST_ERR_SETUP, errno, "pipe"), -1;
    }
    /* The command is PID 1 of its own PID namespace: it cannot see vminitd. */
    if (unshare(CLONE_NEWPID) < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "unshare(CLONE_NEWPID)"), -1;
    pid_t pid = fork();
    if (pid < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "fork"), -1;
    if (pid == 0) {
        close(sp[0]);
        status_fd = sp[1];
        if (cs[0] >= 0)
            close(cs[0]);
        child_main(c, e, inp[0], outp[1], errp[1], cs[1]);
    }
    close(sp[1]);
    if (!e->tty) {
        close(inp[0]);
        close(outp[1]);
        close(errp[1]);
        ch->in_fd = inp[1];
        ch->out_fd = outp[0];
        ch->err_fd = errp[0];
        if (!e->stdin_open) {
            close(ch->in_fd);
            ch->in_fd = -1;
        }
    } else {
        close(cs[1]);
    }
    ch->pid = pid;
    ch->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    ch->errpipe = sp[0];
    /* Read the child's report until exec closes the pipe (or the child failed). */
    size_t cap = 4096, len = 0;
    char *buf = xzalloc(cap);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        ssize_t n = read(sp[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(sp[0]);
    ch->errpipe = -1;
    int rc = 0;
    for (size_t off = 0; off < len;) {
        if (buf[off] == 'C' && off + 2 < len) {
            const char *path = buf + off + 2;
            size_t pl = strnlen(path, len - off - 2);
            char **np = realloc(created->paths, sizeof(char *) * (created->n + 1));
            bool *nd = realloc(created->is_dir, sizeof(bool) * (created->n + 1));
            if (!np || !nd)
                abort();
            created->paths = np;
            created->is_dir = nd;
            created->paths[created->n] = xstrndup0((const uint8_t *)path, pl);
            created->is_dir[created->n++] = buf[off + 1] == 'd';
            off += 2 + pl + 1;
        } else if (buf[off] == 'E' && off + 9 <= len) {
            uint32_t kind = guest_get_u32((uint8_t *)buf + off + 1);
            uint32_t err = guest_get_u32((uint8_t *)buf + off + 5);
            const char *msg = buf + off + 9;
            size_t ml = strnlen(msg, len - off - 9);
            ctl_send_error(kind, (int)err, "%.*s", (int)ml, msg);
            rc = -1;
            off += 9 + ml + 1;
        } else {
            break;
        }
    }
    free(buf);
    if (e->tty) {
        int master = recv_console(cs[0]);
        close(cs[0]);
        if (master < 0 && rc == 0) {
            ctl_send_error(GUEST_ERR_SETUP, EIO, "the command's pty did not arrive");
            rc = -1;
        }
        ch->in_fd = ch->out_fd = master;
    }
    return rc;
}
