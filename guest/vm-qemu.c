/* guest/vm-qemu.c: the QEMU backends: x86-64 microvm and aarch64 virt argv, the per-VM temp
 * dir, starting QEMU (and passt for the default network) and killing them. vm.c holds the VMM-neutral
 * conversation with vminitd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"
#include "vm-backend.h"

#define VIRTIO_MMIO_SLOTS 24       /* QEMU microvm's virtio-mmio transports (with ACPI: ioapic2) */
#define VIRTIO_MMIO_SLOTS_NOACPI 8 /* microvm,acpi=off: one IOAPIC, 8 transports */
#define VIRT_VIRTIO_MMIO_SLOTS 32  /* QEMU aarch64 virt's */

static const char *default_qemu(void)
{
    const char *q = getenv("CBUILD_QEMU");
    return q && *q ? q : "qemu-system-x86_64";
}

static const char *default_qemu_arm64(void)
{
    const char *q = getenv("CBUILD_QEMU_AARCH64");
    return q && *q ? q : "qemu-system-aarch64";
}

/* cbuild.trace and which module groups vminitd loads before it looks for disks */
static void push_cmdline_common(cb_buf *b, const vdisk *disks, size_t nd, bool net)
{
    const char *trace = getenv("CBUILD_VM_TRACE");
    if (trace && *trace && strcmp(trace, "0") != 0)
        cb_buf_puts(b, " cbuild.trace");
    bool blk = false, scsi = false;
    for (size_t i = 0; i < nd; i++) {
        if (disks[i].lun >= 0)
            scsi = true;
        else
            blk = true;
    }
    cb_buf_printf(b, " cbuild.preload=%s%soverlay%s", blk ? "blk," : "", scsi ? "scsi," : "",
                  net ? ",net" : "");
}

/* Kernel arguments measured in VM-NOTES.md: quiet boot, no KASLR, one UART, no crypto
 * self-tests, and the TSC rate given (microvm otherwise hangs in 1 of 3 boots calibrating). */
static char *kernel_cmdline(const vdisk *disks, size_t nd, bool net)
{
    unsigned long khz = guest_host_tsc_khz();
    cb_buf b;
    cb_buf_init(&b);
    /* reboot=t: vminitd ends the VM with a reset (a kernel without ACPI cannot power off) */
    cb_buf_puts(&b, "console=ttyS0 quiet panic=-1 reboot=t nokaslr 8250.nr_uarts=1 cryptomgr.notests "
                    "random.trust_cpu=on rcupdate.rcu_expedited=1");
    if (khz)
        cb_buf_printf(&b, " tsc_early_khz=%lu", khz);
    push_cmdline_common(&b, disks, nd, net);
    return cb_buf_steal(&b);
}

/* aarch64 virt finds its devices in the device tree QEMU generates; the PL011 is ttyAMA0. */
static char *kernel_cmdline_arm64(const vdisk *disks, size_t nd, bool net)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "console=ttyAMA0 quiet panic=-1 nokaslr cryptomgr.notests random.trust_cpu=on "
                    "rcupdate.rcu_expedited=1");
    push_cmdline_common(&b, disks, nd, net);
    return cb_buf_steal(&b);
}

/* have_controller: the SCSI controller is on the command line already (template layout) */
static void push_disks(cb_strv *a, const vdisk *disks, size_t nd, bool have_controller)
{
    bool scsi = false;
    for (size_t i = 0; i < nd && !have_controller; i++)
        scsi |= disks[i].lun >= 0;
    if (scsi) {
        cb_strv_push(a, "-device");
        cb_strv_push(a, "virtio-scsi-device,id=scsi0");
    }
    for (size_t i = 0; i < nd; i++) {
        const vdisk *d = &disks[i];
        /* cache=unsafe: flushes are not needed for a throwaway VM, QEMU completes every
         * write before it exits; read-only lowers may be shared by concurrent VMs. */
        cb_strv_push(a, "-drive");
        /* werror/rerror=report: a full host disk is an I/O error in the guest, not a paused VM */
        cb_strv_push_owned(
            a, xasprintf("if=none,id=%s,file=%s,format=raw,cache=unsafe,werror=report,rerror=report%s", d->id,
                         d->file, d->readonly ? ",readonly=on,file.locking=off" : ""));
        cb_strv_push(a, "-device");
        if (d->lun < 0)
            cb_strv_push_owned(a, xasprintf("virtio-blk-device,drive=%s,serial=%s", d->id, d->id));
        else
            cb_strv_push_owned(
                a, xasprintf("scsi-hd,drive=%s,bus=scsi0.0,channel=0,scsi-id=0,lun=%d", d->id, d->lun));
    }
}

static const char *port_ip(const guest_port *pt)
{
    return pt->host_ip && *pt->host_ip ? pt->host_ip : "127.0.0.1";
}

static void push_net(cb_strv *a, const vm_machine *m, int net_fd)
{
    cb_strv_push(a, "-netdev");
    if (net_fd >= 0) {
        cb_strv_push_owned(a, xasprintf("stream,id=n0,addr.type=fd,addr.str=%d", net_fd));
    } else {
        cb_buf b;
        cb_buf_init(&b);
        cb_buf_puts(&b, "user,id=n0");
        for (size_t i = 0; i < m->n_ports; i++) {
            const guest_port *pt = &m->ports[i];
            cb_buf_printf(&b, ",hostfwd=%s:%s:%u-:%u", pt->udp ? "udp" : "tcp", port_ip(pt), pt->host_port,
                          pt->guest_port);
        }
        cb_strv_push_owned(a, cb_buf_steal(&b));
    }
    cb_strv_push(a, "-device");
    cb_strv_push(a, "virtio-net-device,netdev=n0");
}

static void push_devices(cb_strv *a, const vm_machine *m, const vm_proc *p, int net_fd);

/* net_fd: QEMU's end of the socket pair to passt (GUEST_NET_DEFAULT), else -1. In the
 * template layout the virtio-mmio devices are serial, SCSI controller, NIC in that order and
 * the disks are LUNs behind the controller, so a snapshot restores into any step's disks. */

/* RAM, vCPUs and QEMU's defaults off: the same for every architecture */
static void push_machine_common(cb_strv *a, const vm_machine *m)
{
    cb_strv_push(a, "-m");
    cb_strv_push_owned(a, xasprintf("%lluM", (unsigned long long)(m->memory >> 20)));
    cb_strv_push(a, "-smp");
    cb_strv_push_owned(a, xasprintf("%d", m->cpus));
    cb_strv_push(a, "-nodefaults");
    cb_strv_push(a, "-no-user-config");
    cb_strv_push(a, "-display");
    cb_strv_push(a, "none");
    cb_strv_push(a, "-no-reboot");
}

static void build_argv(cb_strv *a, const char *qemu, const vm_machine *m, const vm_proc *p, int net_fd)
{
    bool net = m->network != GUEST_NET_NONE;
    cb_strv_push(a, qemu);
    cb_strv_push(a, "-M");
    cb_strv_push(a, m->paths->acpi ? "microvm,x-option-roms=off" : "microvm,x-option-roms=off,acpi=off");
    cb_strv_push(a, "-accel");
    cb_strv_push(a, m->accel);
    cb_strv_push(a, "-cpu");
    cb_strv_push(a, strcmp(m->accel, "kvm") == 0 ? "host,-arch-capabilities" : "max");
    push_machine_common(a, m);
    cb_strv_push(a, "-kernel");
    cb_strv_push(a, m->paths->vmlinux ? m->paths->vmlinux : m->paths->kernel);
    cb_strv_push(a, "-initrd");
    cb_strv_push(a, m->paths->initramfs);
    cb_strv_push(a, "-append");
    cb_strv_push_owned(a, kernel_cmdline(m->disks, m->n_disks, net));
    push_devices(a, m, p, net_fd);
}

/* aarch64: `-M virt` with the same virtio-mmio devices; KVM only on an aarch64 host. */
static void build_argv_arm64(cb_strv *a, const char *qemu, const vm_machine *m, const vm_proc *p, int net_fd)
{
    bool kvm = strcmp(m->accel, "kvm") == 0;
    cb_strv_push(a, qemu);
    cb_strv_push(a, "-M");
    cb_strv_push(a, kvm ? "virt,gic-version=host" : "virt");
    cb_strv_push(a, "-accel");
    cb_strv_push(a, m->accel);
    cb_strv_push(a, "-cpu");
    /* pauth-impdef: QEMU's own pointer-authentication hash; the architected one costs TCG dearly */
    cb_strv_push(a, kvm ? "host" : "max,pauth-impdef=on");
    push_machine_common(a, m);
    cb_strv_push(a, "-kernel");
    cb_strv_push(a, m->paths->kernel);
    cb_strv_push(a, "-initrd");
    cb_strv_push(a, m->paths->initramfs);
    cb_strv_push(a, "-append");
    cb_strv_push_owned(a, kernel_cmdline_arm64(m->disks, m->n_disks, m->network != GUEST_NET_NONE));
    push_devices(a, m, p, net_fd);
}

/* Console, control port, disks, NIC, monitor and restore: the same on both machines. */
static void push_devices(cb_strv *a, const vm_machine *m, const vm_proc *p, int net_fd)
{
    bool net = m->network != GUEST_NET_NONE;
    cb_strv_push(a, "-chardev");
    cb_strv_push_owned(a, xasprintf("file,id=con,path=%s,append=on", p->console));
    cb_strv_push(a, "-serial");
    cb_strv_push(a, "chardev:con");
    size_t n_ssh = 0;
    for (size_t i = 0; i < m->n_ssh_socks; i++)
        n_ssh += m->ssh_socks[i] != NULL;
    cb_strv_push(a, "-device");
    cb_strv_push_owned(a, xasprintf("virtio-serial-device,max_ports=%zu", 2 + n_ssh));
    cb_strv_push(a, "-chardev");
    cb_strv_push_owned(a, xasprintf("socket,id=ctl,path=%s", p->sock));
    cb_strv_push(a, "-device");
    cb_strv_push(a, "virtserialport,chardev=ctl,name=" GUEST_PORT_NAME);
    for (size_t i = 0; i < m->n_ssh_socks; i++) {
        if (!m->ssh_socks[i])
            continue;
        cb_strv_push(a, "-chardev");
        cb_strv_push_owned(a, xasprintf("socket,id=ssh%zu,path=%s", i, m->ssh_socks[i]));
        cb_strv_push(a, "-device");
        cb_strv_push_owned(
            a, xasprintf("virtserialport,chardev=ssh%zu,name=" GUEST_SSH_PORT_PREFIX "%zu", i, i));
    }
    if (m->template_layout) {
        cb_strv_push(a, "-device");
        cb_strv_push(a, "virtio-scsi-device,id=scsi0");
        if (net)
            push_net(a, m, net_fd);
        push_disks(a, m->disks, m->n_disks, true);
    } else {
        push_disks(a, m->disks, m->n_disks, false);
        if (net)
            push_net(a, m, net_fd);
    }
    if (m->n_shares) {
        /* vhost-user: virtiofsd maps the guest's RAM, so it must be a shared memfd */
        cb_strv_push(a, "-object");
        cb_strv_push_owned(a, xasprintf("memory-backend-memfd,id=mem,size=%lluM,share=on",
                                        (unsigned long long)(m->memory >> 20)));
        cb_strv_push(a, "-machine");
        cb_strv_push(a, "memory-backend=mem");
        /* libvhost-user refuses legacy virtio, microvm's virtio-mmio default */
        cb_strv_push(a, "-global");
        cb_strv_push(a, "virtio-mmio.force-legacy=false");
    }
    for (size_t i = 0; i < m->n_shares; i++) {
        cb_strv_push(a, "-chardev");
        cb_strv_push_owned(a, xasprintf("socket,id=fs%zu,path=%s/fs%zu.sock", i, p->tmpdir, i));
        cb_strv_push(a, "-device");
        cb_strv_push_owned(a, xasprintf("vhost-user-fs-device,chardev=fs%zu,tag=%s", i, m->shares[i].id));
    }
    if (p->monitor) {
        cb_strv_push(a, "-qmp");
        cb_strv_push_owned(a, xasprintf("unix:%s,server=on,wait=off", p->monitor));
    }
    if (m->restore) {
        /* the snapshot file itself, inherited: no shell or cat between it and QEMU */
        cb_strv_push(a, "-incoming");
        cb_strv_push_owned(a, xasprintf("fd:%d", p->restore_fd));
    }
}

/* Temp dirs of cbuild processes that were killed outright (SIGKILL, power loss) are swept
 * by the next run: a live run holds an flock on <dir>/lock; a dir whose lock can be taken,
 * or that has none after a minute, is stale. flock works across PID namespaces. */
static void sweep_stale_tmpdirs(const char *t)
{
    DIR *d = opendir(t);
    if (!d)
        return;
    struct dirent *de;
    time_t now = time(NULL);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "cbuild-vm-", 10) != 0)
            continue;
        cleanup_free char *dir = xasprintf("%s/%s", t, de->d_name);
        cleanup_free char *lock = xasprintf("%s/lock", dir);
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
            continue;
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

static int qemu_prepare(vm_proc *p, cb_err *err)
{
    const char *t = getenv("TMPDIR");
    /* the socket path must fit in sun_path */
    if (!t || !*t || strlen(t) > 80)
        t = "/tmp";
    sweep_stale_tmpdirs(t);
    p->tmpdir = xasprintf("%s/cbuild-vm-XXXXXX", t);
    if (!mkdtemp(p->tmpdir)) {
        int e = errno;
        free(p->tmpdir);
        p->tmpdir = NULL;
        return cb_error(err, e, "creating a temporary directory in `%s`", t);
    }
    cleanup_free char *lock = xasprintf("%s/lock", p->tmpdir);
    p->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX) < 0)
        return cb_error(err, errno, "locking `%s`", lock);
    p->sock = xasprintf("%s/ctl.sock", p->tmpdir);
    p->console = xasprintf("%s/console.log", p->tmpdir);
    p->log = xasprintf("%s/qemu.log", p->tmpdir);
    return 0;
}

/* In the helper's own mount namespace, `dir` becomes a read-only bind of itself: virtiofsd then
 * cannot write there whatever the guest asks. Needs CAP_SYS_ADMIN; without it the guest's
 * read-only mount is the only guard. */
static void ro_view(const char *dir)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return;
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) == 0)
        mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

/* Fork and exec `path` with stdout/stderr into `log`; `keep_fd` (or -1) is inherited; `ro_dir`
 * (or NULL) is read-only in the helper's view. */
static int spawn_helper(const char *path, char *const argv[], const char *log, int keep_fd, int keep_fd2,
                        const char *ro_dir, pid_t *out, cb_err *err)
{
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return cb_error(err, errno, "open `%s`", log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return cb_error(err, errno, "fork");
    }
    if (pid == 0) {
        /* own process group: a terminal's Ctrl-C goes to cbuild, which decides; and the
         * child dies with cbuild whatever kills it */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        if (keep_fd2 >= 0)
            fcntl(keep_fd2, F_SETFD, 0);
        if (ro_dir)
            ro_view(ro_dir);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, argv);
        _exit(127);
    }
    close(logfd);
    *out = pid;
    return 0;
}

/* passt, not QEMU's slirp, for the default network: slirp maps the gateway to the host's
 * loopback, and `--no-map-gw` is the one switch that closes that and keeps outbound NAT.
 * The guest keeps slirp's addresses; DNS sent to 10.0.2.3 goes to the host's resolver.
 * It gets a connected socket (-F) rather than a path: it drops root to nobody before it
 * would bind, and exits when QEMU closes its end. */
static int passt_start(const vm_machine *m, vm_proc *p, int passt_fd, cb_err *err)
{
    cleanup_free char *passt = guest_which("passt");
    if (!passt)
        return cb_failc(err, ENOENT,
                        "network: passt is not installed (apt-get install passt); use --network none");
    cleanup_free char *log = xasprintf("%s/passt.log", p->tmpdir);
    static const char *const fixed[] = {"passt",    "--foreground",  "--quiet",  "-4", "--no-map-gw",
                                        "-a",       "10.0.2.15",     "-n",       "24", "-g",
                                        "10.0.2.2", "--dns-forward", "10.0.2.3", NULL};
    cb_strv a;
    cb_strv_init(&a);
    for (const char *const *x = fixed; *x; x++)
        cb_strv_push(&a, *x);
    bool tcp = false, udp = false;
    /* published ports (docker run -p), bound on the host at the address given */
    for (size_t i = 0; i < m->n_ports; i++) {
        const guest_port *pt = &m->ports[i];
        cb_strv_push(&a, pt->udp ? "-u" : "-t");
        cb_strv_push_owned(&a, xasprintf("%s/%u:%u", port_ip(pt), pt->host_port, pt->guest_port));
        tcp |= !pt->udp;
        udp |= pt->udp;
    }
    if (!tcp) {
        cb_strv_push(&a, "-t");
        cb_strv_push(&a, "none");
    }
    if (!udp) {
        cb_strv_push(&a, "-u");
        cb_strv_push(&a, "none");
    }
    cb_strv_push(&a, "-F");
    cb_strv_push_owned(&a, xasprintf("%d", passt_fd));
    int rc = spawn_helper(passt, a.v, log, passt_fd, -1, NULL, &p->net_pid, err);
    cb_strv_free(&a);
    return rc;
}

/* $CBUILD_VIRTIOFSD, Debian's virtiofsd package, QEMU's own (qemu-system-common 7.2), PATH */
static char *virtiofsd_path(void)
{
    const char *e = getenv("CBUILD_VIRTIOFSD");
    if (e && *e)
        return access(e, X_OK) == 0 ? xstrdup(e) : NULL;
    static const char *const known[] = {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (access(known[i], X_OK) == 0)
            return xstrdup(known[i]);
    return guest_which("virtiofsd");
}

/* The Rust virtiofsd (Debian's package) takes --shared-dir; QEMU's C one takes -o source=. */
static bool virtiofsd_is_rust(const char *path)
{
    char *argv[] = {(char *)path, "--help", NULL};
    cb_buf out;
    cb_buf_init(&out);
    guest_spawn_capture(argv, "/", &out, NULL);
    bool rust = out.data && strstr(out.data, "--shared-dir");
    cb_buf_free(&out);
    return rust;
}

/* One virtiofsd per share, each serving only its directory on a socket in the VM's private temp
 * dir; the namespace sandbox (pivot_root into the share) keeps the rest of the host out of reach.
 * QEMU connects to the socket, so wait until it is there. */
static int virtiofsd_start_all(const vm_machine *m, vm_proc *p, cb_err *err)
{
    if (!m->n_shares)
        return 0;
    cleanup_free char *bin = virtiofsd_path();
    if (!bin)
        return cb_failc(err, ENOENT,
                        "-v needs virtiofsd (apt-get install virtiofsd, or qemu-system-common's)");
    bool rust = virtiofsd_is_rust(bin);
    p->fs_pids = xcalloc(m->n_shares, sizeof *p->fs_pids);
    for (size_t i = 0; i < m->n_shares; i++) {
        const vshare *sh = &m->shares[i];
        cleanup_free char *sock = xasprintf("%s/fs%zu.sock", p->tmpdir, i);
        cleanup_free char *log = xasprintf("%s/virtiofsd%zu.log", p->tmpdir, i);
        cleanup_free char *sockopt = xasprintf("--socket-path=%s", sock);
        cleanup_free char *src = xasprintf(rust ? "--shared-dir=%s" : "source=%s", sh->dir);
        char *c_argv[] = {bin, sockopt, "-o", src, "-o", "sandbox=namespace", "-o", "cache=auto", "-f", NULL};
        char *r_argv[] = {bin, sockopt, src, "--sandbox=namespace", "--cache=auto", NULL};
        int rc = spawn_helper(bin, rust ? r_argv : c_argv, log, -1, -1, sh->readonly ? sh->dir : NULL,
                              &p->fs_pids[i], err);
        if (rc < 0)
            return rc;
        p->n_fs = i + 1;
        double deadline = cb_now() + 10;
        struct stat st;
        while (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
            int status;
            if (waitpid(p->fs_pids[i], &status, WNOHANG) == p->fs_pids[i]) {
                p->fs_pids[i] = 0;
                cleanup_free char *why = NULL;
                cb_buf b;
                cb_buf_init(&b);
                cb_read_file(log, &b, NULL);
                why = cb_buf_steal(&b);
                return cb_failc(err, EIO, "virtiofsd for `%s` exited: %s", sh->dir,
                                why && *why ? why : "(no output)");
            }
            if (cb_now() > deadline)
                return cb_failc(err, ETIMEDOUT, "virtiofsd for `%s` did not open its socket", sh->dir);
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

typedef void (*argv_fn)(cb_strv *a, const char *qemu, const vm_machine *m, const vm_proc *p, int net_fd);

static int qemu_start_with(const vm_machine *m, vm_proc *p, const char *name, const char *hint, argv_fn build,
                           cb_err *err)
{
    cleanup_free char *qemu = guest_which(name);
    if (!qemu)
        return cb_failc(err, ENOENT, "%s not found: install QEMU (%s)", name, hint);
    int sp[2] = {-1, -1};
    if (m->network == GUEST_NET_DEFAULT && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return cb_error(err, errno, "socketpair");
    cb_strv argv;
    cb_strv_init(&argv);
    if (m->monitor && !p->monitor)
        p->monitor = xasprintf("%s/qmp.sock", p->tmpdir);
    if (m->restore && (p->restore_fd = open(m->restore, O_RDONLY | O_CLOEXEC)) < 0) {
        int e = errno;
        if (sp[0] >= 0) {
            close(sp[0]);
            close(sp[1]);
        }
        return cb_error(err, e, "open the VM template `%s`", m->restore);
    }
    build(&argv, qemu, m, p, sp[1]);
    if (cb_log_get_level() >= CB_LOG_DEBUG) {
        cb_buf cmd;
        cb_buf_init(&cmd);
        for (size_t i = 0; i < argv.n; i++)
            cb_buf_printf(&cmd, "%s%s", i ? " " : "", argv.v[i]);
        cb_debug("starting VM: %s", cmd.data);
        cb_buf_free(&cmd);
    }
    int rc = 0;
    if (sp[0] >= 0)
        rc = passt_start(m, p, sp[0], err);
    if (rc == 0)
        rc = virtiofsd_start_all(m, p, err);
    if (rc == 0) {
        rc = spawn_helper(qemu, argv.v, p->log, sp[1], p->restore_fd, NULL, &p->pid, err);
    }
    if (p->restore_fd >= 0) {
        close(p->restore_fd);
        p->restore_fd = -1;
    }
    if (sp[0] >= 0)
        close(sp[0]);
    if (sp[1] >= 0)
        close(sp[1]);
    cb_strv_free(&argv);
    if (rc < 0)
        return rc;
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    if (p->pidfd < 0)
        return cb_error(err, errno, "pidfd_open");
    return 0;
}

static int qemu_start(const vm_machine *m, vm_proc *p, cb_err *err)
{
    return qemu_start_with(m, p, default_qemu(),
                           "Debian: apt-get install qemu-system-x86) or set CBUILD_QEMU", build_argv, err);
}

static int qemu_start_arm64(const vm_machine *m, vm_proc *p, cb_err *err)
{
    return qemu_start_with(m, p, default_qemu_arm64(),
                           "Debian: apt-get install qemu-system-arm) or set CBUILD_QEMU_AARCH64",
                           build_argv_arm64, err);
}

static void qemu_kill(vm_proc *p)
{
    if (p->pid > 0 && !p->exited) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR) {
        }
        p->exited = true;
    }
    if (p->net_pid > 0) {
        kill(p->net_pid, SIGKILL);
        while (waitpid(p->net_pid, NULL, 0) < 0 && errno == EINTR) {
        }
        p->net_pid = 0;
    }
    for (size_t i = 0; i < p->n_fs; i++) {
        if (p->fs_pids[i] <= 0)
            continue;
        kill(p->fs_pids[i], SIGKILL);
        while (waitpid(p->fs_pids[i], NULL, 0) < 0 && errno == EINTR) {
        }
        p->fs_pids[i] = 0;
    }
}

static void qemu_cleanup(vm_proc *p)
{
    qemu_kill(p);
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->tmpdir)
        cb_rm_rf(p->tmpdir, NULL);
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    free(p->tmpdir);
    free(p->sock);
    free(p->console);
    free(p->log);
    free(p->monitor);
    free(p->fs_pids);
}

/* ---------- snapshots through QMP ---------- */
static int qmp_reply(FILE *f, const char *json, char **reply, cb_err *err);

/* One QMP command on an open monitor; the reply line in *reply (malloc'd; events skipped). */
static int qmp_cmd(FILE *f, const char *json, char **reply, cb_err *err)
{
    /* written past the stream: a read-buffered socket FILE can't switch to writing (ESPIPE) */
    cleanup_free char *msg = xasprintf("%s\n", json);
    if (cb_write_all(fileno(f), msg, strlen(msg)) < 0)
        return cb_error(err, errno, "QMP write");
    return qmp_reply(f, json, reply, err);
}

/* The reply to `json`: the next return or error line (events skipped) */
static int qmp_reply(FILE *f, const char *json, char **reply, cb_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (getline(&line, &cap, f) < 0) {
            free(line);
            return cb_failc(err, EIO, "QMP: QEMU closed the monitor");
        }
        if (strstr(line, "\"return\"") || strstr(line, "\"error\""))
            break;
    }
    if (strstr(line, "\"error\"")) {
        int rc = cb_failc(err, EIO, "QMP %s: %s", json, line);
        free(line);
        return rc;
    }
    if (reply)
        *reply = line;
    else
        free(line);
    return 0;
}

/* qmp_cmd with `fd` passed along (SCM_RIGHTS), as QMP's getfd and add-fd take it */
static int qmp_send_fd(FILE *f, int fd, const char *json, cb_err *err)
{
    cleanup_free char *msg = xasprintf("%s\n", json);
    struct iovec iov = {.iov_base = msg, .iov_len = strlen(msg)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    while ((n = sendmsg(fileno(f), &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (n != (ssize_t)iov.iov_len)
        return cb_error(err, n < 0 ? errno : EIO, "QMP write");
    return qmp_reply(f, json, NULL, err);
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
            bool ok = f && getline(&greet, &cap, f) > 0 &&
                      qmp_cmd(f, "{\"execute\":\"qmp_capabilities\"}", NULL, err) == 0;
            free(greet);
            if (ok)
                return f;
            if (f)
                fclose(f);
            else
                close(fd);
            return NULL;
        }
        if (fd >= 0)
            close(fd);
        if (cb_now() > deadline) {
            cb_failc(err, ETIMEDOUT, "QMP socket `%s` did not open", path);
            return NULL;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Migrate while running: QEMU stops the VM at the end, and a VM restored from the stream runs
 * at once (no monitor needed there). */
static int qemu_save(vm_proc *p, const char *out, double deadline, cb_err *err)
{
    if (!p->monitor)
        return cb_failc(err, EINVAL, "the VM was started without a monitor");
    FILE *mon = qmp_open(p->monitor, deadline, err);
    if (!mon)
        return -EIO;
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", out, (int)getpid());
    /* QEMU writes the snapshot into a file we opened, handed over with SCM_RIGHTS (getfd):
     * "completed" then means every byte is in the file. Through `exec:cat > file` it only meant
     * "in the pipe": a 53 KB snapshot fits the pipe, so cat could still be writing its tail when
     * the first VM read it, and a stream cut at a section boundary loads as complete (its EOF
     * byte is 0), leaving the last devices fresh: the VM ran but its control port was closed. */
    cleanup_close int sfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (sfd < 0) {
        fclose(mon);
        return cb_error(err, errno, "create `%s`", tmp);
    }
    int rc = qmp_send_fd(mon, sfd, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"snapshot\"}}", err);
    if (rc == 0)
        rc = qmp_cmd(mon, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:snapshot\"}}", NULL, err);
    while (rc == 0) {
        char *r = NULL;
        if ((rc = qmp_cmd(mon, "{\"execute\":\"query-migrate\"}", &r, err)) < 0)
            break;
        bool done = strstr(r, "\"completed\"") != NULL, failed = strstr(r, "\"failed\"") != NULL;
        if (failed)
            rc = cb_failc(err, EIO, "saving the VM failed: %s", r);
        free(r);
        if (done || rc < 0)
            break;
        if (cb_now() > deadline) {
            rc = cb_failc(err, ETIMEDOUT, "saving the VM did not finish in time");
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fclose(mon);
    if (rc == 0 && (fsync(sfd) < 0 || rename(tmp, out) < 0))
        rc = cb_error(err, errno, "committing `%s`", out);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int snapshot_key_of(const char *name, char key[17], cb_err *err)
{
    cleanup_free char *qemu = guest_which(name);
    if (!qemu)
        return cb_failc(err, ENOENT, "%s not found", name);
    return guest_file_key(qemu, key, err);
}

static int qemu_snapshot_key(char key[17], cb_err *err)
{
    return snapshot_key_of(default_qemu(), key, err);
}

static int qemu_snapshot_key_arm64(char key[17], cb_err *err)
{
    return snapshot_key_of(default_qemu_arm64(), key, err);
}

const vm_backend guest_backend_qemu_x86 = {
    .name = "qemu-x86_64-microvm",
    .device_slots = VIRTIO_MMIO_SLOTS,
    .device_slots_noacpi = VIRTIO_MMIO_SLOTS_NOACPI,
    .prepare = qemu_prepare,
    .start = qemu_start,
    .kill = qemu_kill,
    .cleanup = qemu_cleanup,
    .save = qemu_save,
    .snapshot_key = qemu_snapshot_key,
};

const vm_backend guest_backend_qemu_arm64 = {
    .name = "qemu-aarch64-virt",
    .device_slots = VIRT_VIRTIO_MMIO_SLOTS,
    .device_slots_noacpi = VIRT_VIRTIO_MMIO_SLOTS,
    .prepare = qemu_prepare,
    .start = qemu_start_arm64,
    .kill = qemu_kill,
    .cleanup = qemu_cleanup,
    .save = qemu_save,
    .snapshot_key = qemu_snapshot_key_arm64,
};
