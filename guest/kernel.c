/* guest/kernel.c: finding or installing the guest kernel and extracting its vmlinux. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

char *guest_which(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *full = xasprintf("%.*s/%s", (int)n, p, name);
        if (n && access(full, X_OK) == 0)
            return full;
        free(full);
        if (!end)
            return NULL;
        p = end + 1;
    }
}

int guest_spawn_capture(char *const argv[], const char *cwd, cb_buf *out, cb_err *err)
{
    cleanup_free char *prog = guest_which(argv[0]);
    if (!prog)
        return cb_failc(err, ENOENT, "%s not found in PATH", argv[0]);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cb_error(err, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return cb_error(err, errno, "fork");
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (cwd && chdir(cwd) < 0)
            _exit(126);
        execv(prog, argv);
        _exit(127);
    }
    close(p[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (out)
            cb_buf_append(out, buf, (size_t)n);
    }
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return cb_error(err, errno, "waitpid %s", argv[0]);
    }
    if (WIFSIGNALED(st))
        return cb_failc(err, EINTR, "%s killed by signal %d", argv[0], WTERMSIG(st));
    return WEXITSTATUS(st);
}

/* ---------- bzImage ---------- */
static int map_file(const char *path, const uint8_t **data, size_t *len, cb_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cb_error(err, errno, "stat `%s`", path);
    if (st.st_size < 1024)
        return cb_failc(err, ENOEXEC, "`%s` is too small to be a kernel", path);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return cb_error(err, errno, "mmap `%s`", path);
    *data = p;
    *len = (size_t)st.st_size;
    return 0;
}

static bool is_bzimage(const uint8_t *d, size_t len)
{
    return len > 0x260 && memcmp(d + 0x202, "HdrS", 4) == 0;
}

char *guest_bzimage_version(const char *path)
{
    const uint8_t *d;
    size_t len;
    if (map_file(path, &d, &len, NULL) < 0)
        return NULL;
    char *ver = NULL;
    if (is_bzimage(d, len)) {
        size_t off = (size_t)(d[0x20e] | (d[0x20f] << 8)) + 0x200;
        if (off < len) {
            size_t n = 0;
            while (off + n < len && n < 128 && d[off + n] > ' ')
                n++;
            if (n)
                ver = xstrndup((const char *)d + off, n);
        }
    }
    munmap((void *)d, len);
    return ver;
}

/* Does an ELF64 image carry Xen's PHYS32_ENTRY note (PVH direct boot)? */
static bool elf_has_pvh_note(const uint8_t *d, size_t len)
{
    if (len < 64 || memcmp(d, "\177ELF", 4) != 0 || d[4] != 2)
        return false;
    uint64_t phoff;
    uint16_t phentsize, phnum;
    memcpy(&phoff, d + 32, 8);
    memcpy(&phentsize, d + 54, 2);
    memcpy(&phnum, d + 56, 2);
    for (uint16_t i = 0; i < phnum; i++) {
        size_t ph = (size_t)phoff + (size_t)i * phentsize;
        if (ph + 56 > len)
            return false;
        uint32_t type;
        uint64_t off, filesz;
        memcpy(&type, d + ph, 4);
        memcpy(&off, d + ph + 8, 8);
        memcpy(&filesz, d + ph + 32, 8);
        if (type != 4 /* PT_NOTE */ || off + filesz > len)
            continue;
        for (size_t p = (size_t)off; p + 12 <= off + filesz;) {
            uint32_t namesz, descsz, ntype;
            memcpy(&namesz, d + p, 4);
            memcpy(&descsz, d + p + 4, 4);
            memcpy(&ntype, d + p + 8, 4);
            const char *name = (const char *)d + p + 12;
            if (namesz == 4 && p + 16 <= len && memcmp(name, "Xen", 4) == 0 && ntype == 18)
                return true;
            p += 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
        }
    }
    return false;
}

int guest_extract_vmlinux(const char *bzimage, const char *out, cb_err *err)
{
    const uint8_t *d;
    size_t len;
    int rc = map_file(bzimage, &d, &len, err);
    if (rc < 0)
        return rc;
    if (!is_bzimage(d, len) || (d[0x206] | (d[0x207] << 8)) < 0x208) {
        munmap((void *)d, len);
        return -ENOTSUP;
    }
    size_t setup = d[0x1f1] ? d[0x1f1] : 4;
    uint32_t poff, plen;
    memcpy(&poff, d + 0x248, 4);
    memcpy(&plen, d + 0x24c, 4);
    size_t start = (setup + 1) * 512 + poff;
    /* The kernel build appends the uncompressed size (4 bytes) to every compressed payload. */
    if (plen < 8 || start + plen > len) {
        munmap((void *)d, len);
        return -ENOTSUP;
    }
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    cb_buf elf;
    cb_buf_init(&elf);
    rc = -ENOTSUP;
    struct archive_entry *ent;
    if (archive_read_open_memory(a, d + start, plen - 4) == ARCHIVE_OK &&
        archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        char buf[1 << 16];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
            cb_buf_append(&elf, buf, (size_t)n);
        if (n == 0 && elf_has_pvh_note((const uint8_t *)elf.data, elf.len))
            rc = 0;
    }
    archive_read_free(a);
    munmap((void *)d, len);
    if (rc == 0) {
        rc = cb_write_file_atomic(out, elf.data, elf.len, 0644, err);
        if (rc < 0)
            cb_error_wrap(err, "writing the uncompressed kernel");
    }
    cb_buf_free(&elf);
    return rc;
}

/* ---------- installing Debian's cloud kernel ---------- */
const char *guest_host_arch(void)
{
    static char mach[sizeof((struct utsname *)0)->machine];
    struct utsname u;
    if (!mach[0] && uname(&u) == 0)
        snprintf(mach, sizeof mach, "%s", u.machine);
    if (!strcmp(mach, "x86_64"))
        return "amd64";
    if (!strcmp(mach, "aarch64"))
        return "arm64";
    return mach;
}

const char *guest_arch_canon(const char *arch)
{
    if (!arch || !*arch)
        arch = guest_host_arch();
    if (!strcmp(arch, "amd64") || !strcmp(arch, "x86_64"))
        return "amd64";
    if (!strcmp(arch, "arm64") || !strcmp(arch, "aarch64") || !strcmp(arch, "arm64/v8"))
        return "arm64";
    return NULL;
}

static bool is_arm64(const char *arch)
{
    return strcmp(arch, "arm64") == 0;
}

/* The versioned package linux-image-cloud-<arch> depends on. */
static int debian_kernel_package(const char *arch, char **pkg, cb_err *err)
{
    const char *meta = is_arm64(arch) ? "linux-image-cloud-arm64:arm64" : "linux-image-cloud-amd64";
    char *argv[] = {(char *)"apt-cache", (char *)"depends", (char *)meta, NULL};
    cb_buf out;
    cb_buf_init(&out);
    int rc = guest_spawn_capture(argv, NULL, &out, err);
    if (rc < 0) {
        cb_buf_free(&out);
        return cb_error_wrap(
            err, "cannot look up the guest kernel package (apt-cache is needed, or pass --kernel FILE)");
    }
    char *line = out.data ? strstr(out.data, "Depends: linux-image-") : NULL;
    if (rc != 0 || !line) {
        rc = cb_failc(err, ENOENT,
                      "apt-cache depends %s names no linux-image package (run %sapt-get update, or pass "
                      "--kernel FILE): %s",
                      meta, is_arm64(arch) ? "dpkg --add-architecture arm64 && " : "",
                      out.data ? out.data : "");
        cb_buf_free(&out);
        return rc;
    }
    line += strlen("Depends: ");
    size_t n = strcspn(line, " \n");
    *pkg = xstrndup(line, n);
    cb_buf_free(&out);
    return 0;
}

/* Debian lists arm64 packages only once the architecture is added (as root: once per host). */
static int debian_add_arm64(cb_err *err)
{
    if (geteuid() != 0)
        return cb_failc(
            err, EPERM,
            "the arm64 guest kernel comes from Debian's arm64 packages: run `dpkg --add-architecture "
            "arm64 && apt-get update` as root, or pass --kernel FILE");
    cb_info("adding Debian's arm64 package lists (dpkg --add-architecture arm64; apt-get update)");
    cb_buf out;
    cb_buf_init(&out);
    char *add[] = {(char *)"dpkg", (char *)"--add-architecture", (char *)"arm64", NULL};
    char *upd[] = {(char *)"apt-get", (char *)"update", (char *)"-qq", NULL};
    int rc = guest_spawn_capture(add, NULL, &out, err);
    if (rc == 0)
        rc = guest_spawn_capture(upd, NULL, &out, err);
    if (rc > 0)
        rc = cb_failc(err, EIO, "adding the arm64 architecture failed: %s", out.data ? out.data : "");
    cb_buf_free(&out);
    return rc;
}

static char *find_vmlinuz(const char *dir, char **version)
{
    cleanup_free char *boot = cb_path_join(dir, "boot");
    DIR *d = opendir(boot);
    if (!d)
        return NULL;
    struct dirent *de;
    char *found = NULL;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "vmlinuz-", 8) == 0) {
            found = cb_path_join(boot, de->d_name);
            *version = xstrdup(de->d_name + 8);
            break;
        }
    }
    closedir(d);
    return found;
}

static int install_debian_kernel(const char *kdir, const char *arch, cb_err *err)
{
    cleanup_free char *pkg = NULL;
    int rc = debian_kernel_package(arch, &pkg, err);
    if (rc == -ENOENT && is_arm64(arch)) {
        cb_err_clear(err);
        rc = debian_add_arm64(err);
        if (rc == 0)
            rc = debian_kernel_package(arch, &pkg, err);
    }
    if (rc < 0)
        return rc;
    cleanup_free char *tmpl = cb_path_join(kdir, ".install-XXXXXX");
    if (!mkdtemp(tmpl))
        return cb_error(err, errno, "mkdtemp in `%s`", kdir);
    chmod(tmpl, 0755); /* apt-get download drops privileges to _apt where it can */
    cb_info("installing guest kernel %s (apt-get download)", pkg);
    cb_buf out;
    cb_buf_init(&out);
    char *dl[] = {(char *)"apt-get", (char *)"download", (char *)"-q", pkg, NULL};
    rc = guest_spawn_capture(dl, tmpl, &out, err);
    if (rc > 0)
        rc = cb_failc(err, EIO, "apt-get download %s failed: %s", pkg, out.data ? out.data : "");
    cleanup_free char *deb = NULL;
    if (rc == 0) {
        DIR *d = opendir(tmpl);
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (cb_str_has_suffix(de->d_name, ".deb")) {
                deb = cb_path_join(tmpl, de->d_name);
                break;
            }
        if (d)
            closedir(d);
        if (!deb)
            rc = cb_failc(err, ENOENT, "apt-get download %s produced no .deb in `%s`", pkg, tmpl);
    }
    cleanup_free char *x = cb_path_join(tmpl, "x");
    if (rc == 0) {
        cb_buf_reset(&out);
        char *ex[] = {(char *)"dpkg", (char *)"-x", deb, x, NULL};
        rc = guest_spawn_capture(ex, NULL, &out, err);
        if (rc > 0)
            rc = cb_failc(err, EIO, "dpkg -x `%s` failed: %s", deb, out.data ? out.data : "");
    }
    cb_buf_free(&out);
    cleanup_free char *version = NULL;
    cleanup_free char *vmlinuz = rc == 0 ? find_vmlinuz(x, &version) : NULL;
    if (rc == 0 && !vmlinuz)
        rc = cb_failc(err, ENOENT, "package %s holds no boot/vmlinuz-*", pkg);
    cleanup_free char *dest = rc == 0 ? cb_path_join(kdir, version) : NULL;
    if (rc == 0) {
        cb_rm_rf(dest, NULL);
        if (rename(x, dest) < 0)
            rc = cb_error(err, errno, "rename `%s` to `%s`", x, dest);
    }
    if (rc == 0) {
        cleanup_free char *cur = cb_path_join(kdir, "current");
        cleanup_free char *tmp = cb_path_join(kdir, ".current.tmp");
        unlink(tmp);
        if (symlink(version, tmp) < 0 || rename(tmp, cur) < 0)
            rc = cb_error(err, errno, "linking `%s`", cur);
    }
    cb_rm_rf(tmpl, NULL);
    return rc;
}

void guest_paths_free(guest_paths *p)
{
    if (!p)
        return;
    free(p->kernel);
    free(p->vmlinux);
    free(p->modules_dir);
    free(p->initramfs);
    free(p->version);
    memset(p, 0, sizeof *p);
}

static char *dir_if_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? xstrdup(path) : NULL;
}

/* Modules for a kernel given by path: $CBUILD_KERNEL_MODULES, a tree laid out as a package
 * (<x>/boot/vmlinuz-V beside <x>/lib/modules/V), or /lib/modules/V. */
static char *override_modules(const char *kernel, const char *version)
{
    const char *env = getenv("CBUILD_KERNEL_MODULES");
    if (env && *env)
        return xstrdup(env);
    if (!version)
        return NULL;
    cleanup_free char *copy = xstrdup(kernel);
    char *slash = strrchr(copy, '/');
    if (slash) {
        *slash = 0;
        char *up = strrchr(copy, '/');
        if (up && strcmp(up, "/boot") == 0) {
            *up = 0;
            cleanup_free char *m = xasprintf("%s/lib/modules/%s", copy, version);
            char *r = dir_if_exists(m);
            if (r)
                return r;
        }
    }
    cleanup_free char *sys = xasprintf("/lib/modules/%s", version);
    return dir_if_exists(sys);
}

/* What a kernel's own folder says about it: an uncompressed `vmlinux` with a PVH note beside
 * it (our build leaves one: no extraction needed), its `config`/`config-VERSION` (does it find
 * devices through ACPI?), and the marker of cbuild's own build. */
static void kernel_read_sidecars(guest_paths *p)
{
    p->acpi = true;
    cleanup_free char *dir = xstrdup(p->kernel);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    *slash = 0;
    cleanup_free char *own = cb_path_join(dir, "cbuild-kernel");
    p->own = cb_path_exists(own);
    cleanup_free char *vml = cb_path_join(dir, "vmlinux");
    const uint8_t *elf;
    size_t elen;
    if (!p->vmlinux && cb_path_exists(vml) && map_file(vml, &elf, &elen, NULL) == 0) {
        if (elf_has_pvh_note(elf, elen))
            p->vmlinux = xstrdup(vml);
        munmap((void *)elf, elen);
    }
    cleanup_free char *c1 = cb_path_join(dir, "config");
    cleanup_free char *c2 = p->version ? xasprintf("%s/config-%s", dir, p->version) : NULL;
    cb_buf cfg;
    cb_buf_init(&cfg);
    if (cb_read_file(c1, &cfg, NULL) == 0 || (c2 && cb_read_file(c2, &cfg, NULL) == 0))
        p->acpi = cfg.data && strstr(cfg.data, "\nCONFIG_ACPI=y\n") != NULL;
    cb_buf_free(&cfg);
}

/* cbuild's own kernel, when `cbuild setup --build-kernel` made one: <kdir>/own/current/bzImage. */
static char *own_kernel(const char *kdir)
{
    cleanup_free char *cur = xasprintf("%s/own/current/bzImage", kdir);
    return realpath(cur, NULL);
}

static int guest_setup_locked(const char *root, const char *kdir, const char *arch,
                              const char *kernel_override, guest_paths *paths, cb_err *err);
static int setup_boot_files(const char *root, const char *kdir, guest_paths *paths, cb_err *err);

int guest_setup(const char *root, const char *kernel_override, guest_paths *paths, cb_err *err)
{
    return guest_setup_arch(root, NULL, kernel_override, paths, err);
}

int guest_setup_arch(const char *root, const char *arch, const char *kernel_override, guest_paths *paths,
                     cb_err *err)
{
    memset(paths, 0, sizeof *paths);
    const char *a = guest_arch_canon(arch);
    if (!a)
        return cb_failc(err, ENOTSUP, "VMs for architecture `%s` are not supported (amd64, arm64)", arch);
    guest_blob init;
    int rc = guest_vminitd_blob(a, &init, err);
    if (rc < 0)
        return rc;
    cleanup_free char *top = cb_path_join(root, "kernel");
    /* arm64 kernels live in their own folder; amd64 keeps the store layout it always had */
    cleanup_free char *kdir = is_arm64(a) ? cb_path_join(top, "arm64") : xstrdup(top);
    rc = cb_mkdir_p(kdir, 0755, err);
    if (rc < 0)
        return rc;
    /* one installer at a time per store (parallel builds on a fresh store) */
    cleanup_free char *lock = cb_path_join(top, ".lock");
    cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", lock);
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return cb_error(err, errno, "lock `%s`", lock);
    return guest_setup_locked(root, kdir, a, kernel_override, paths, err);
}

bool guest_kernel_present(const char *root, const char *arch)
{
    const char *a = guest_arch_canon(arch);
    if (!a)
        return false;
    const char *ov = getenv(is_arm64(a) ? "CBUILD_KERNEL_ARM64" : "CBUILD_KERNEL");
    if (ov && *ov)
        return access(ov, R_OK) == 0;
    cleanup_free char *cur = xasprintf("%s/kernel/%scurrent", root, is_arm64(a) ? "arm64/" : "");
    cleanup_free char *tree = realpath(cur, NULL);
    cleanup_free char *version = NULL;
    cleanup_free char *vmlinuz = tree ? find_vmlinuz(tree, &version) : NULL;
    return vmlinuz != NULL;
}

/* The kernel an override names: --kernel FILE, else $CBUILD_KERNEL (amd64) or
 * $CBUILD_KERNEL_ARM64, else cbuild's own build (amd64 only). */
static const char *kernel_override_for(const char *arch, const char *kernel_override)
{
    if (kernel_override && *kernel_override)
        return kernel_override;
    return getenv(is_arm64(arch) ? "CBUILD_KERNEL_ARM64" : "CBUILD_KERNEL");
}

static int guest_setup_locked(const char *root, const char *kdir, const char *arch,
                              const char *kernel_override, guest_paths *paths, cb_err *err)
{
    int rc;
    snprintf(paths->arch, sizeof paths->arch, "%s", arch);
    const char *ov = kernel_override_for(arch, kernel_override);
    cleanup_free char *own = ov && *ov ? NULL : is_arm64(arch) ? NULL : own_kernel(kdir);
    if (own)
        ov = own;
    if (ov && *ov) {
        if (access(ov, R_OK) < 0)
            return cb_error(err, errno, "%sguest kernel `%s`", is_arm64(arch) ? "arm64 " : "", ov);
        char *abs = realpath(ov, NULL);
        paths->kernel = abs ? abs : xstrdup(ov);
        paths->version = guest_bzimage_version(paths->kernel);
        if (!paths->version && is_arm64(arch)) {
            /* a Debian package tree: .../boot/vmlinuz-VERSION */
            const char *base = strrchr(paths->kernel, '/');
            base = base ? base + 1 : paths->kernel;
            if (strncmp(base, "vmlinuz-", 8) == 0)
                paths->version = xstrdup(base + 8);
        }
        paths->modules_dir = override_modules(paths->kernel, paths->version);
    } else {
        cleanup_free char *cur = cb_path_join(kdir, "current");
        char *tree = realpath(cur, NULL);
        char *version = NULL;
        char *vmlinuz = tree ? find_vmlinuz(tree, &version) : NULL;
        if (!vmlinuz) {
            free(tree);
            rc = install_debian_kernel(kdir, arch, err);
            if (rc < 0)
                return cb_error_wrap(err, "installing the %sguest kernel into `%s`",
                                     is_arm64(arch) ? "arm64 " : "", kdir);
            tree = realpath(cur, NULL);
            vmlinuz = tree ? find_vmlinuz(tree, &version) : NULL;
            if (!vmlinuz) {
                free(tree);
                return cb_failc(err, ENOENT, "guest kernel missing in `%s` after installing it", kdir);
            }
        }
        paths->kernel = vmlinuz;
        paths->version = version;
        cleanup_free char *mods = xasprintf("%s/lib/modules/%s", tree, version);
        paths->modules_dir = dir_if_exists(mods);
        free(tree);
    }

    kernel_read_sidecars(paths);
    rc = setup_boot_files(root, kdir, paths, err);
    if (rc < 0)
        guest_paths_free(paths);
    return rc;
}

/* The vmlinux for PVH boot (extracted once, or remembered as impossible) and the initramfs. */
static int setup_boot_files(const char *root, const char *kdir, guest_paths *paths, cb_err *err)
{
    char key[17];
    int rc = guest_file_key(paths->kernel, key, err);
    if (rc < 0)
        return rc;
    cleanup_free char *vmlinux = xasprintf("%s/vmlinux-%s", kdir, key);
    cleanup_free char *nopvh = xasprintf("%s/vmlinux-%s.none", kdir, key);
    if (paths->vmlinux) {
        /* found beside the kernel */
    } else if (cb_path_exists(vmlinux)) {
        paths->vmlinux = xstrdup(vmlinux);
    } else if (!cb_path_exists(nopvh)) {
        rc = guest_extract_vmlinux(paths->kernel, vmlinux, err);
        if (rc == 0)
            paths->vmlinux = xstrdup(vmlinux);
        else if (rc == -ENOTSUP)
            cb_write_file_atomic(nopvh, "", 0, 0644, NULL); /* remember: boot the bzImage */
        else
            return rc;
    }
    return guest_initramfs_build_arch(root, paths->arch, paths->modules_dir, &paths->initramfs, err);
}

unsigned long guest_host_tsc_khz(void)
{
    /* The guest calibrates nothing when told the TSC rate; under TCG the guest TSC runs at
     * the host's rate. "cpu MHz" of /proc/cpuinfo is the TSC rate on constant_tsc CPUs. */
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return 0;
    char line[512];
    double mhz = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu MHz", 7) == 0) {
            char *colon = strchr(line, ':');
            if (colon)
                mhz = strtod(colon + 1, NULL);
            break;
        }
    }
    fclose(f);
    return mhz > 0 ? (unsigned long)(mhz * 1000.0 + 0.5) : 0;
}
/* ---------- cbuild's own kernel ---------- */
static char *kernel_build_script(void)
{
    const char *env = getenv("CBUILD_KERNEL_SRC");
    const char *dirs[] = {env && *env ? env : NULL, CB_KERNEL_DATADIR, CB_KERNEL_SRCDIR};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i]) continue;
        char *p = xasprintf("%s/build.sh", dirs[i]);
        if (cb_path_exists(p)) return p;
        free(p);
    }
    return NULL;
}

int guest_kernel_build(const char *root, char **dir, cb_err *err)
{
    cleanup_free char *script = kernel_build_script();
    if (!script)
        return cb_failc(err, ENOENT, "guest/kernel/build.sh not found (looked in %s and %s)", CB_KERNEL_DATADIR,
                        CB_KERNEL_SRCDIR);
    cleanup_free char *own = xasprintf("%s/kernel/own", root);
    int rc = cb_mkdir_p(own, 0755, err);
    if (rc < 0) return rc;
    char *argv[] = {"bash", script, own, NULL};
    cb_buf out;
    cb_buf_init(&out);
    rc = guest_spawn_capture(argv, NULL, &out, err);
    if (rc != 0) {
        const char *o = out.data ? out.data : "";
        size_t n = strlen(o);
        const char *tail = n > 2000 ? o + n - 2000 : o;
        if (rc > 0) rc = cb_failc(err, EIO, "building the guest kernel failed (exit %d):\n%s", rc, tail);
        cb_buf_free(&out);
        return rc;
    }
    /* the script's last line is the kernel's folder */
    char *o = out.data ? out.data : "";
    size_t n = strlen(o);
    while (n && o[n - 1] == '\n') o[--n] = 0;
    char *last = strrchr(o, '\n');
    last = last ? last + 1 : o;
    cleanup_free char *kd = xstrdup(last);
    cb_buf_free(&out);
    cleanup_free char *bz = cb_path_join(kd, "bzImage");
    if (!cb_path_exists(bz)) return cb_failc(err, EIO, "the guest kernel build left no `%s`", bz);
    cleanup_free char *cur = cb_path_join(own, "current");
    cleanup_free char *tmp = cb_path_join(own, ".current.tmp");
    unlink(tmp);
    if (symlink(kd, tmp) < 0 || rename(tmp, cur) < 0) return cb_error(err, errno, "linking `%s`", cur);
    *dir = kd;
    kd = NULL;
    return 0;
}
