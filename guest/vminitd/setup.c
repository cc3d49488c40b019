/* vminitd: kernel modules, disks, the overlay root and the network. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "vminitd.h"

int modules_dirfd = -1;
int oldroot_fd = -1;

static int modules_load_group_now(const char *group);

/* /modules/order lines are "<group> <file>", in dependency order within and across groups. */
int modules_load_group(const char *group)
{
    static char loaded[256] = " "; /* " base blk ..." once loaded */
    char key[64];
    snprintf(key, sizeof key, " %s ", group);
    if (strstr(loaded, key))
        return 0;
    int r = modules_load_group_now(group);
    if (r == 0 && strlen(loaded) + strlen(group) + 2 < sizeof loaded) {
        strcat(loaded, group);
        strcat(loaded, " ");
    }
    return r;
}

static int modules_load_group_now(const char *group)
{
    if (modules_dirfd < 0)
        return 0;
    int fd = openat(modules_dirfd, "order", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno; /* kernel with everything built in */
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    size_t glen = strlen(group);
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (strncmp(line, group, glen) != 0 || line[glen] != ' ')
            continue;
        const char *file = line + glen + 1;
        int mfd = openat(modules_dirfd, file, O_RDONLY | O_CLOEXEC);
        if (mfd < 0) {
            ctl_send_error(GUEST_ERR_SETUP, errno, "module %s", file);
            return -1;
        }
        long r = syscall(SYS_finit_module, mfd, "", 0);
        int e = errno;
        close(mfd);
        if (r < 0 && e != EEXIST) {
            ctl_send_error(GUEST_ERR_SETUP, e, "loading module %s", file);
            return -1;
        }
        trace(file);
    }
    return 0;
}

/* ---------- disks ---------- */
static bool disk_match(const char *name, disk *d)
{
    char path[PATH_MAX], buf[256];
    if (d->lun < 0) {
        if (strncmp(name, "vd", 2) != 0)
            return false;
        snprintf(path, sizeof path, "/sys/block/%s/serial", name);
        if (read_small_file(path, buf, sizeof buf) < 0)
            return false;
        return strcmp(buf, d->serial) == 0;
    }
    if (strncmp(name, "sd", 2) != 0)
        return false;
    snprintf(path, sizeof path, "/sys/block/%s/device", name);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0)
        return false;
    buf[n] = 0;
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    const char *lun = strrchr(base, ':');
    return lun && atoi(lun + 1) == d->lun;
}

static int disks_find(config *c)
{
    size_t found = 0;
    for (int tries = 0; tries < 10000 && found < c->n_disks; tries++) {
        DIR *dir = opendir("/sys/block");
        if (!dir)
            return ctl_send_error(GUEST_ERR_SETUP, errno, "opendir /sys/block"), -1;
        struct dirent *de;
        while ((de = readdir(dir))) {
            for (size_t i = 0; i < c->n_disks; i++) {
                disk *d = &c->disks[i];
                if (d->dev[0] || !disk_match(de->d_name, d))
                    continue;
                snprintf(d->dev, sizeof d->dev, "/dev/%s", de->d_name);
                found++;
            }
        }
        closedir(dir);
        if (found < c->n_disks)
            sleep_ms(1);
    }
    for (size_t i = 0; i < c->n_disks; i++) {
        if (c->disks[i].dev[0]) {
            /* devtmpfs creates the node asynchronously */
            for (int t = 0; t < 2000 && access(c->disks[i].dev, F_OK) < 0; t++)
                sleep_ms(1);
            continue;
        }
        ctl_send_error(GUEST_ERR_SETUP, ENODEV, "disk %s (%s %s) did not appear", c->disks[i].id,
                       c->disks[i].lun < 0 ? "serial" : "lun", c->disks[i].serial ? c->disks[i].serial : "");
        return -1;
    }
    return 0;
}

static const char *disk_dev(config *c, const char *id)
{
    for (size_t i = 0; i < c->n_disks; i++)
        if (strcmp(c->disks[i].id, id) == 0)
            return c->disks[i].dev;
    return NULL;
}


/* A symlink on the way to a mount source (after the image's root, at offset root_len) must
 * not point out of the image: absolute targets and ".." would resolve against the guest's
 * own root (BuildKit confines a cache mount's source to the cache). */
static bool source_symlink_escapes(const char *path, size_t root_len)
{
    char *p = xsprintf("%s", path);
    bool esc = false;
    for (char *c = p + root_len + 1; !esc; c++) {
        if (*c != '/' && *c)
            continue;
        char save = *c;
        *c = 0;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
            char t[PATH_MAX];
            ssize_t n = readlink(p, t, sizeof t - 1);
            t[n > 0 ? n : 0] = 0;
            esc = n <= 0 || t[0] == '/' || strstr(t, "..") != NULL;
        }
        *c = save;
        if (!save)
            break;
    }
    free(p);
    return esc;
}

static int mount_ext4(config *c, const char *id, const char *target, bool ro)
{
    const char *dev = disk_dev(c, id);
    if (!dev)
        return ctl_send_error(GUEST_ERR_SETUP, ENODEV, "unknown disk id %s", id), -1;
    if (mkdir_p(target, 0755) < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "mkdir %s", target), -1;
    /* noload: lower images are shared between concurrent VMs and must never be written,
     * not even by a journal replay. */
    if (mount(dev, target, "ext4", ro ? MS_RDONLY : 0, ro ? "noload" : "") < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "mounting disk %s (%s) on %s", id, dev, target), -1;
    return 0;
}

/* ---------- root filesystem ---------- */
static char *xrealloc_str(char *p, size_t n)
{
    char *np = realloc(p, n);
    if (!np)
        abort();
    return np;
}

/* Layer images (built from a layer tar, or a finished upper disk) keep their tree under
 * upper/ (ext4/ext4.h EXT4_OVERLAY_UPPER_DIR); a flattened root filesystem has it at the
 * image root. An image whose root holds nothing but upper/ (and lost+found, work) is a
 * layer image. */
static bool is_layer_image(const char *mnt)
{
    DIR *d = opendir(mnt);
    if (!d)
        return false;
    struct dirent *de;
    bool upper = false, other = false;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "lost+found") ||
            !strcmp(de->d_name, "work"))
            continue;
        if (!strcmp(de->d_name, "upper") && de->d_type == DT_DIR)
            upper = true;
        else
            other = true;
    }
    closedir(d);
    return upper && !other;
}

/* ---------- after a template restore ---------- */
/* <linux/random.h>, which musl's headers do not carry */
#define RNDADDENTROPY 0x40085203 /* _IOW('R', 0x03, int[2]) */
#define RNDRESEEDCRNG 0x5207     /* _IO('R', 0x07) */

static int reseed_rng(const config *c)
{
    /* Every VM restored from one snapshot starts with the same RNG state: mix in the host's
     * fresh bytes, credit them, and reseed the CRNG (Firecracker's snapshot advice). */
    struct {
        int entropy_count;
        int buf_size;
        uint8_t buf[sizeof c->entropy];
    } rpi;
    rpi.entropy_count = (int)(c->entropy_len * 8);
    rpi.buf_size = (int)c->entropy_len;
    memcpy(rpi.buf, c->entropy, c->entropy_len);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    int rc = fd >= 0 && ioctl(fd, RNDADDENTROPY, &rpi) == 0 ? 0 : -errno;
    if (rc == 0)
        ioctl(fd, RNDRESEEDCRNG);
    if (fd >= 0)
        close(fd);
    memset(&rpi, 0, sizeof rpi);
    if (rc < 0)
        return ctl_send_error(GUEST_ERR_SETUP, -rc, "reseeding the RNG"), -1;
    return 0;
}

/* The step's disks were not there when the template booted: channel 0, target 0, every LUN,
 * where the host puts them (a "- - -" wildcard probes all 256 targets: seconds under TCG). */
static int scan_scsi(void)
{
    DIR *d = opendir("/sys/class/scsi_host");
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/sys/class/scsi_host/%s/scan", de->d_name);
        int w = write_file(path, "0 0 -", 5, 0200);
        if (w < 0) {
            closedir(d);
            return ctl_send_error(GUEST_ERR_SETUP, -w, "scanning %s", path), -1;
        }
    }
    closedir(d);
    return 0;
}

int restore_refresh(const config *c)
{
    if (c->entropy_len && reseed_rng(c) < 0)
        return -1;
    if (c->wallclock_ns) {
        struct timespec ts = {(time_t)(c->wallclock_ns / 1000000000ull), (long)(c->wallclock_ns % 1000000000ull)};
        if (clock_settime(CLOCK_REALTIME, &ts) < 0)
            return ctl_send_error(GUEST_ERR_SETUP, errno, "setting the clock"), -1;
    }
    if (c->rescan && scan_scsi() < 0)
        return -1;
    return 0;
}

/* About 100 lines: the overlay root is assembled in one ordered sequence (disks, lowers, upper,
 * overlay, hostname, mounts), each step undone by rootfs_teardown. */
int rootfs_assemble(config *c)
{
    bool any_blk = false, any_scsi = false;
    for (size_t i = 0; i < c->n_disks; i++) {
        if (c->disks[i].lun < 0)
            any_blk = true;
        else
            any_scsi = true;
    }
    if (any_blk && modules_load_group("blk") < 0)
        return -1;
    if (any_scsi && modules_load_group("scsi") < 0)
        return -1;
    if (modules_load_group("overlay") < 0)
        return -1;
    if (disks_find(c) < 0)
        return -1;

    char *lowerdir = NULL;
    size_t ldlen = 0;
    for (size_t i = 0; i < c->n_lowers; i++) {
        char path[32];
        snprintf(path, sizeof path, "/l/%zu", i);
        if (mount_ext4(c, c->lowers[i], path, true) < 0)
            return -1;
    }
    if (c->n_lowers == 0) { /* FROM scratch: overlay needs a lower, an empty one will do */
        mkdir_p("/l/empty", 0755);
    }
    /* lowerdir lists the top layer first */
    lowerdir = xzalloc(24 * (c->n_lowers + 1) + 32);
    strcpy(lowerdir, "lowerdir=");
    ldlen = strlen(lowerdir);
    if (c->n_lowers == 0) {
        ldlen += (size_t)sprintf(lowerdir + ldlen, "empty");
    }
    for (size_t i = c->n_lowers; i-- > 0;) {
        char path[32];
        snprintf(path, sizeof path, "/l/%zu", i);
        /* relative to /l: the mount options must fit in one page */
        const char *sub = c->lower_subdir ? c->lower_subdir : is_layer_image(path) ? "upper" : "";
        while (*sub == '/')
            sub++;
        lowerdir = xrealloc_str(lowerdir, ldlen + strlen(sub) + 32);
        ldlen += (size_t)sprintf(lowerdir + ldlen, "%zu%s%s%s", i, *sub ? "/" : "", sub, i ? ":" : "");
    }

    if (c->upper) {
        if (mount_ext4(c, c->upper, "/u", false) < 0)
            return -1;
    } else {
        mkdir_p("/u", 0755);
        if (mount("tmpfs", "/u", "tmpfs", 0, "mode=0755") < 0)
            return ctl_send_error(GUEST_ERR_SETUP, errno, "tmpfs upper"), -1;
    }
    if (mkdir_p("/u/upper", 0755) < 0 || mkdir_p("/u/work", 0700) < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "creating upper/ and work/ on the upper disk"), -1;
    mkdir_p(NEWROOT, 0755);
    /* redirect_dir, metacopy and index off: the upper must be a self-contained layer whose
     * entries mean what they say (full copies, whiteouts, opaque dirs). */
    char *opts = xsprintf(
        "%s,upperdir=/u/upper,workdir=/u/work,redirect_dir=off,index=off,metacopy=off,xino=off", lowerdir);
    free(lowerdir);
    mkdir_p("/l", 0755);
    int r = chdir("/l") == 0 ? mount("overlay", NEWROOT, "overlay", 0, opts) : -1;
    int e = errno;
    chdir("/");
    free(opts);
    if (r < 0)
        return ctl_send_error(GUEST_ERR_SETUP, e, "mounting the overlay root"), -1;

    /* Staging areas the command's mount namespace binds from. */
    mkdir_p("/run/cb", 0755);
    if (mount("tmpfs", "/run/cb", "tmpfs", 0, "mode=0755") < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "tmpfs /run/cb"), -1;
    if (c->hosts)
        write_file("/run/cb/hosts", c->hosts, strlen(c->hosts), 0644);
    if (c->resolv)
        write_file("/run/cb/resolv.conf", c->resolv, strlen(c->resolv), 0644);
    char *hn = xsprintf("%s\n", c->hostname);
    write_file("/run/cb/hostname", hn, strlen(hn), 0644);
    free(hn);
    if (sethostname(c->hostname, strlen(c->hostname)) < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "sethostname %s", c->hostname), -1;

    for (size_t i = 0; i < c->n_mounts; i++) {
        vmount *m = &c->mounts[i];
        if (m->kind == 0 || m->kind == 1) { /* ext4 bind or cache */
            char *dir = xsprintf("/m/%zu", i);
            if (mount_ext4(c, m->disk, dir, m->kind == 0) < 0)
                return -1;
            if (m->source && m->source[0] && strcmp(m->source, "/") != 0) {
                const char *src = m->source[0] == '/' ? m->source + 1 : m->source;
                m->staging = xsprintf("%s/%s", dir, src);
                if (strstr(m->source, "..") || source_symlink_escapes(m->staging, strlen(dir))) {
                    ctl_send_error(GUEST_ERR_SETUP, EINVAL, "mount source %s leaves the image", m->source);
                    return -1;
                }
                struct stat st;
                if (m->kind == 1 && stat(m->staging, &st) < 0 && mkdir_p(m->staging, 0755) < 0)
                    return ctl_send_error(GUEST_ERR_SETUP, errno, "creating %s in the cache mount",
                                          m->source),
                           -1;
                if (stat(m->staging, &st) < 0)
                    return ctl_send_error(GUEST_ERR_SETUP, errno, "mount source %s", m->source), -1;
                /* a symlink in the image must not take the mount out of it (BuildKit's cache root check) */
                char *real = realpath(m->staging, NULL), *root = realpath(dir, NULL);
                size_t rl = root ? strlen(root) : 0;
                bool inside = real && root && !strncmp(real, root, rl) && (real[rl] == '/' || !real[rl]);
                if (!inside) {
                    ctl_send_error(GUEST_ERR_SETUP, EXDEV, "mount source %s leaves the image (it resolves to %s)",
                                   m->source, real ? real : "?");
                    free(real);
                    free(root);
                    return -1;
                }
                free(real);
                free(root);
                free(dir);
            } else {
                m->staging = dir;
            }
        } else if (m->kind == 4) { /* ssh agent */
            m->staging = xsprintf("/run/cb/ssh%zu.sock", i);
            char port[64];
            snprintf(port, sizeof port, GUEST_SSH_PORT_PREFIX "%zu", i);
            int r = ssh_agent_serve(m->staging, port, m->mode, m->uid, m->gid);
            if (r < 0)
                return ctl_send_error(GUEST_ERR_SETUP, -r, "ssh agent socket for %s", m->target), -1;
        } else if (m->kind == 5) { /* host directory: virtio-fs tag in source */
            m->staging = xsprintf("/m/%zu", i);
            mkdir_p(m->staging, 0755);
            if (!m->source || mount(m->source, m->staging, "virtiofs", m->ro ? MS_RDONLY : 0, NULL) < 0)
                return ctl_send_error(GUEST_ERR_SETUP, errno, "mounting the shared folder for %s", m->target), -1;
        } else if (m->kind == 3) { /* secret */
            m->staging = xsprintf("/run/cb/secret%zu", i);
            mode_t mode = m->mode ? m->mode & 07777 : 0400;
            if (write_file(m->staging, m->data, m->data_len, 0600) < 0 ||
                chown(m->staging, m->uid, m->gid) < 0 || chmod(m->staging, mode) < 0)
                return ctl_send_error(GUEST_ERR_SETUP, errno, "writing secret for %s", m->target), -1;
        }
    }
    return 0;
}

static int umount_retry(const char *path)
{
    for (int i = 0; i < 2000; i++) {
        if (umount2(path, 0) == 0)
            return 0;
        if (errno != EBUSY)
            return -errno;
        sleep_ms(1);
    }
    return -EBUSY;
}

static int rm_tree_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                    continue;
                rm_tree_at(dirfd(d), de->d_name);
            }
            closedir(d);
        } else {
            close(fd);
        }
        return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
    }
    return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

/* Creating a mount point (say /etc/hosts in an image without one) copies its parent directory
 * up; removing the stub afterwards leaves that copy behind as an empty, changed directory in
 * the layer. Drop such a copy from the upper when it holds nothing and says nothing the lower
 * does not: no entries, not opaque, same mode and owner as the topmost lower's directory. */
static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

static void prune_stub_parent(config *c, const char *dir)
{
    char up[PATH_MAX + 32], low[PATH_MAX + 32], val[4];
    struct stat su, sl;
    snprintf(up, sizeof up, "/u/upper%s", dir);
    if (lstat(up, &su) < 0 || !S_ISDIR(su.st_mode) || !dir_is_empty(up))
        return;
    if (lgetxattr(up, "trusted.overlay.opaque", val, sizeof val) >= 0)
        return;
    for (size_t i = c->n_lowers; i-- > 0;) {
        snprintf(low, sizeof low, "/l/%zu%s", i, dir);
        if (lstat(low, &sl) < 0)
            continue;
        if (S_ISDIR(sl.st_mode) && sl.st_mode == su.st_mode && sl.st_uid == su.st_uid &&
            sl.st_gid == su.st_gid)
            rmdir(up);
        return;
    }
}

static void prune_stub_parents(config *c, created_list *created)
{
    for (size_t i = created->n; i-- > 0;) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", created->paths[i]);
        for (char *slash = strrchr(dir, '/'); slash && slash != dir; slash = strrchr(dir, '/')) {
            *slash = 0;
            prune_stub_parent(c, dir);
        }
    }
}

void rootfs_teardown(config *c, created_list *created, uint32_t *flags)
{
    /* Mount points that were created only to mount on: remove them (deepest first) so they do
     * not end up in the layer. Done inside the new root so symlinks resolve as there. */
    if (created->n && chroot(NEWROOT) == 0) {
        for (size_t i = created->n; i-- > 0;) {
            if (created->is_dir[i])
                rmdir(created->paths[i]);
            else
                unlink(created->paths[i]);
        }
        if (fchdir(oldroot_fd) == 0)
            chroot(".");
        chdir("/");
    }
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (c->mounts[i].kind == 0 || c->mounts[i].kind == 1 || c->mounts[i].kind == 5) {
            char dir[32];
            snprintf(dir, sizeof dir, "/m/%zu", i);
            int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0) {
                syncfs(fd);
                close(fd);
            }
            if (umount_retry(dir) < 0)
                *flags |= GUEST_FLAG_UNMOUNT_FAILED;
        }
    }
    struct statvfs sv;
    if (c->upper && statvfs("/u", &sv) == 0) {
        /* the step filled the disk: blocks (including root's reserve) or inodes exhausted */
        if ((uint64_t)sv.f_bfree * sv.f_frsize < (1u << 20) || sv.f_ffree == 0)
            *flags |= GUEST_FLAG_UPPER_FULL;
    }
    if (umount_retry(NEWROOT) < 0)
        *flags |= GUEST_FLAG_UNMOUNT_FAILED;
    else
        prune_stub_parents(c, created);
    if (c->upper) {
        int ufd = open("/u", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd >= 0) {
            rm_tree_at(ufd, "work");
            syncfs(ufd);
            close(ufd);
        }
        if (umount_retry("/u") < 0)
            *flags |= GUEST_FLAG_UNMOUNT_FAILED;
    }
    sync();
}

/* ---------- network ---------- */
static int if_up(int s, const char *name, bool wait)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int tries = wait ? 5000 : 1;
    for (int i = 0;; i++) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
            break;
        if (i + 1 >= tries)
            return -errno;
        sleep_ms(1);
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return -errno;
    return 0;
}

static int if_set_addr(int s, const char *name, unsigned long req, const char *addr)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &sin->sin_addr);
    return ioctl(s, req, &ifr) < 0 ? -errno : 0;
}

int net_configure(const config *c)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return ctl_send_error(GUEST_ERR_SETUP, errno, "socket"), -1;
    int r = if_up(s, "lo", false); /* the kernel assigns 127.0.0.1 and ::1 on up */
    if (r < 0) {
        close(s);
        return ctl_send_error(GUEST_ERR_SETUP, -r, "bringing up lo"), -1;
    }
    if (c->network != 0) {
        close(s);
        return 0;
    }
    if (modules_load_group("net") < 0) {
        close(s);
        return -1;
    }
    const char *step = "eth0 did not appear";
    if ((r = if_up(s, "eth0", true)) < 0)
        goto fail;
    step = "setting 10.0.2.15 on eth0";
    if ((r = if_set_addr(s, "eth0", SIOCSIFADDR, "10.0.2.15")) < 0)
        goto fail;
    step = "setting the netmask of eth0";
    if ((r = if_set_addr(s, "eth0", SIOCSIFNETMASK, "255.255.255.0")) < 0)
        goto fail;
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
    gw->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.2", &gw->sin_addr);
    ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
    ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)"eth0";
    step = "adding the default route via 10.0.2.2";
    if (ioctl(s, SIOCADDRT, &rt) < 0) {
        r = -errno;
        goto fail;
    }
    close(s);
    return 0;
fail:
    close(s);
    return ctl_send_error(GUEST_ERR_SETUP, -r, "%s", step), -1;
}
