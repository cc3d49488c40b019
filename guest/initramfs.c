/* guest/initramfs.c: the initramfs is vminitd as /init plus the kernel modules it loads,
 * resolved with their dependencies (modules.dep when depmod ran, else each module's own
 * .modinfo "depends="), written as an uncompressed newc cpio with libarchive and cached
 * under `<root>/kernel/initramfs-<digest>.cpio`. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/* What vminitd loads, by group (vminitd/setup.c and main.c name the groups). */
static const struct {
    const char *group;
    const char *mods[4];
} wanted[] = {
    {"base", {"virtio_mmio", "virtio_console", NULL}},
    {"blk", {"virtio_blk", NULL}},
    {"scsi", {"virtio_scsi", "sd_mod", NULL}},
    {"overlay", {"overlay", NULL}},
    {"net", {"virtio_net", NULL}},
};

typedef struct modinfo {
    char *name; /* normalised: '-' -> '_' */
    char *rel;  /* path relative to the modules dir */
    cb_strv deps;
    bool deps_known;
    bool done;
} modinfo;

typedef struct modset {
    const char *dir;
    modinfo *m;
    size_t n, cap;
    cb_strv builtin;
} modset;

static char *mod_name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    char *s = xstrndup(base, n);
    for (char *p = s; *p; p++)
        if (*p == '-')
            *p = '_';
    return s;
}

static bool is_module_file(const char *name)
{
    return cb_str_has_suffix(name, ".ko") || cb_str_has_suffix(name, ".ko.xz") ||
           cb_str_has_suffix(name, ".ko.zst") || cb_str_has_suffix(name, ".ko.gz");
}

static void scan_dir(modset *s, const char *rel)
{
    cleanup_free char *abs = rel[0] ? xasprintf("%s/%s", s->dir, rel) : xstrdup(s->dir);
    DIR *d = opendir(abs);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *r = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        bool isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
            struct stat st;
            cleanup_free char *p = xasprintf("%s/%s", s->dir, r);
            isdir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (isdir) {
            if (strcmp(r, "build") != 0 && strcmp(r, "source") != 0)
                scan_dir(s, r);
        } else if (is_module_file(de->d_name)) {
            if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->m = xrealloc(s->m, s->cap * sizeof *s->m);
            }
            modinfo *mi = &s->m[s->n++];
            memset(mi, 0, sizeof *mi);
            mi->name = mod_name_from_path(de->d_name);
            mi->rel = xstrdup(r);
            cb_strv_init(&mi->deps);
        }
    }
    closedir(d);
}

static modinfo *mod_find(modset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->m[i].name, name) == 0)
            return &s->m[i];
    return NULL;
}

/* Decompressed module bytes (modules may ship as .ko.xz/.ko.zst/.ko.gz). */
static int mod_read(modset *s, modinfo *mi, cb_buf *out, cb_err *err)
{
    cleanup_free char *path = xasprintf("%s/%s", s->dir, mi->rel);
    if (cb_str_has_suffix(mi->rel, ".ko"))
        return cb_read_file(path, out, err);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    int rc = 0;
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        rc = cb_failc(err, EIO, "decompressing module `%s`: %s", path, archive_error_string(a));
    } else {
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
            cb_buf_append(out, buf, (size_t)n);
        if (n < 0)
            rc = cb_failc(err, EIO, "decompressing module `%s`: %s", path, archive_error_string(a));
    }
    archive_read_free(a);
    return rc;
}

/* "depends=a,b" from the .modinfo section: it is a run of NUL-separated key=value strings;
 * scanning the whole file for the key is what modinfo(8) does in effect. */
static int mod_deps_from_modinfo(modset *s, modinfo *mi, cb_err *err)
{
    cb_buf b;
    cb_buf_init(&b);
    int rc = mod_read(s, mi, &b, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i + 8 < b.len; i++) {
        if ((i == 0 || b.data[i - 1] == 0) && memcmp(b.data + i, "depends=", 8) == 0) {
            const char *v = b.data + i + 8;
            size_t n = strnlen(v, b.len - i - 8);
            cleanup_free char *list = xstrndup(v, n);
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                for (char *p = tok; *p; p++)
                    if (*p == '-')
                        *p = '_';
                if (*tok)
                    cb_strv_push(&mi->deps, tok);
            }
            break;
        }
    }
    mi->deps_known = true;
    cb_buf_free(&b);
    return 0;
}

static void load_modules_dep(modset *s)
{
    cleanup_free char *p = xasprintf("%s/modules.dep", s->dir);
    cb_buf b;
    cb_buf_init(&b);
    if (cb_read_file(p, &b, NULL) < 0)
        return;
    for (char *line = b.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        cleanup_free char *name = mod_name_from_path(line);
        modinfo *mi = mod_find(s, name);
        if (!mi)
            continue;
        mi->deps_known = true;
        for (char *tok = strtok(colon + 1, " \t"); tok; tok = strtok(NULL, " \t")) {
            char *dn = mod_name_from_path(tok);
            cb_strv_push_owned(&mi->deps, dn);
        }
    }
    cb_buf_free(&b);
}

static void load_builtin(modset *s)
{
    cleanup_free char *p = xasprintf("%s/modules.builtin", s->dir);
    cb_buf b;
    cb_buf_init(&b);
    if (cb_read_file(p, &b, NULL) < 0)
        return;
    for (char *line = b.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (*line)
            cb_strv_push_owned(&s->builtin, mod_name_from_path(line));
    }
    cb_buf_free(&b);
}

/* Post-order walk: dependencies first. */
static int mod_resolve(modset *s, const char *name, const char *group, cb_strv *order, int depth, cb_err *err)
{
    if (depth > 64)
        return cb_fail(err, "module dependency loop at %s", name);
    modinfo *mi = mod_find(s, name);
    if (!mi) {
        if (!cb_strv_contains(&s->builtin, name))
            cb_debug("module %s is not in %s: assuming it is built into the kernel", name, s->dir);
        return 0;
    }
    if (mi->done)
        return 0;
    if (!mi->deps_known) {
        int rc = mod_deps_from_modinfo(s, mi, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < mi->deps.n; i++) {
        int rc = mod_resolve(s, mi->deps.v[i], group, order, depth + 1, err);
        if (rc < 0)
            return rc;
    }
    mi->done = true;
    cb_strv_push_owned(order, xasprintf("%s %s", group, mi->name));
    return 0;
}

static void modset_free(modset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->m[i].name);
        free(s->m[i].rel);
        cb_strv_free(&s->m[i].deps);
    }
    free(s->m);
    cb_strv_free(&s->builtin);
}

/* Drop an appended module signature ("~Module signature appended~\n" after a struct
 * module_signature): checking it costs ~15 ms per module under TCG and the kernel loads
 * unsigned modules unless module.sig_enforce is set (then the signature is kept). */
static void mod_strip_signature(cb_buf *b)
{
    static const char marker[] = "~Module signature appended~\n";
    const size_t ml = sizeof marker - 1;
    if (b->len < ml + 12 || memcmp(b->data + b->len - ml, marker, ml) != 0)
        return;
    const uint8_t *sig = (const uint8_t *)b->data + b->len - ml - 12;
    uint32_t sig_len =
        ((uint32_t)sig[8] << 24) | ((uint32_t)sig[9] << 16) | ((uint32_t)sig[10] << 8) | sig[11];
    size_t total = ml + 12 + (size_t)sig_len + sig[3] /* signer_len */ + sig[4] /* key_id_len */;
    if (total > b->len)
        return;
    b->len -= total;
}

/* Signatures are kept for a kernel built with CONFIG_MODULE_SIG_FORCE (read from the
 * config-<version> its package ships, <tree>/boot beside <tree>/lib/modules/<version>). */
static bool sig_enforced(const char *modules_dir)
{
    const char *ver = strrchr(modules_dir, '/');
    if (!ver)
        return false;
    cleanup_free char *cfg =
        xasprintf("%.*s/../../boot/config-%s", (int)(ver - modules_dir), modules_dir, ver + 1);
    cb_buf b;
    cb_buf_init(&b);
    bool force = cb_read_file(cfg, &b, NULL) == 0 && strstr(b.data, "\nCONFIG_MODULE_SIG_FORCE=y") != NULL;
    cb_buf_free(&b);
    return force;
}

static int add_entry(struct archive *a, const char *path, mode_t mode, const void *data, size_t len,
                     dev_t rdev, cb_err *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, mode);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
    archive_entry_set_size(e, (la_int64_t)len);
    if (S_ISCHR(mode))
        archive_entry_set_rdev(e, rdev);
    int rc = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len))
        rc = cb_failc(err, EIO, "writing initramfs entry %s: %s", path, archive_error_string(a));
    archive_entry_free(e);
    return rc;
}

const unsigned char *guest_vminitd_binary(size_t *len)
{
    *len = (size_t)(guest_vminitd_end - guest_vminitd_data);
    return guest_vminitd_data;
}

/* A cheap key for the inputs (vminitd, the modules tree's top-level identity) so a cached
 * initramfs is found without resolving modules (which reads them) on every run; a module
 * replaced in place inside an unchanged tree is not noticed (store kernels never change). */
static void quick_key(const guest_blob *init, const char *modules_dir, char out[17])
{
    cb_sha256 *h = cb_sha256_new();
    cb_sha256_update(h, init->data, init->len);
    static const char *const parts[] = {"", "/kernel", "/modules.dep", "/modules.builtin", "/modules.order"};
    for (size_t i = 0; modules_dir && i < sizeof parts / sizeof parts[0]; i++) {
        cleanup_free char *p = xasprintf("%s%s", modules_dir, parts[i]);
        struct stat st;
        cleanup_free char *id =
            stat(p, &st) == 0
                ? xasprintf("%s %llu %lld.%09ld %lld\n", p, (unsigned long long)st.st_ino,
                            (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_size)
                : xasprintf("%s -\n", p);
        cb_sha256_update(h, id, strlen(id));
    }
    char d[CB_DIGEST_STR_LEN];
    cb_sha256_final(h, d);
    memcpy(out, d + 7, 16);
    out[16] = 0;
}

/* Cache keys by path, size, mtime and inode: hashing a kernel or its modules on every run
 * would cost more than the boot. */
int guest_file_key(const char *path, char key[17], cb_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return cb_error(err, errno, "stat `%s`", path);
    cleanup_free char *s =
        xasprintf("%s\n%lld\n%lld.%09ld\n%llu", path, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                  st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
    char d[CB_DIGEST_STR_LEN];
    cb_sha256_buf(s, strlen(s), d);
    memcpy(key, d + 7, 16);
    key[16] = 0;
    return 0;
}

static int initramfs_build_full(const char *root, const guest_blob *init, const char *modules_dir, char **out,
                                cb_err *err);

int guest_vminitd_blob(const char *arch, guest_blob *out, cb_err *err)
{
    if (strcmp(arch, "arm64") != 0) {
        *out = (guest_blob){guest_vminitd_data, (size_t)(guest_vminitd_end - guest_vminitd_data)};
        return 0;
    }
    *out =
        (guest_blob){guest_vminitd_arm64_data, (size_t)(guest_vminitd_arm64_end - guest_vminitd_arm64_data)};
#ifdef CBUILD_TEST_HOOKS
    const char *hide = getenv("CBUILD_TEST_NO_VMINITD_ARM64");
    if (hide && *hide)
        out->len = 0;
#endif
    if (out->len == 0)
        return cb_failc(
            err, ENOEXEC,
            "this cbuild has no vminitd for arm64 VMs: it was built without aarch64-linux-gnu-gcc "
            "(apt-get install gcc-aarch64-linux-gnu, then rebuild cbuild)");
    return 0;
}

int guest_initramfs_build(const char *root, const char *modules_dir, char **out, cb_err *err)
{
    return guest_initramfs_build_arch(root, "amd64", modules_dir, out, err);
}

int guest_initramfs_build_arch(const char *root, const char *arch, const char *modules_dir, char **out,
                               cb_err *err)
{
    guest_blob init;
    int rc = guest_vminitd_blob(arch, &init, err);
    if (rc < 0)
        return rc;
    char qk[17];
    quick_key(&init, modules_dir, qk);
    cleanup_free char *index = xasprintf("%s/kernel/initramfs-index-%s", root, qk);
    cb_buf b;
    cb_buf_init(&b);
    if (cb_read_file(index, &b, NULL) == 0 && b.len > 0 && !strchr(b.data, '/')) {
        char *path = xasprintf("%s/kernel/%s", root, b.data);
        cb_buf_free(&b);
        if (cb_path_exists(path)) {
            *out = path;
            return 0;
        }
        free(path);
    }
    cb_buf_free(&b);
    rc = initramfs_build_full(root, &init, modules_dir, out, err);
    if (rc == 0) {
        const char *base = strrchr(*out, '/') + 1;
        cb_write_file_atomic(index, base, strlen(base), 0644, NULL); /* a cache: failure is harmless */
    }
    return rc;
}

static int initramfs_build_full(const char *root, const guest_blob *init, const char *modules_dir, char **out,
                                cb_err *err)
{
    modset s = {.dir = modules_dir};
    cb_strv_init(&s.builtin);
    cb_strv order;
    cb_strv_init(&order);
    int rc = 0;
    if (modules_dir) {
        scan_dir(&s, "");
        load_modules_dep(&s);
        load_builtin(&s);
        for (size_t g = 0; g < sizeof wanted / sizeof wanted[0] && rc == 0; g++)
            for (size_t i = 0; wanted[g].mods[i] && rc == 0; i++)
                rc = mod_resolve(&s, wanted[g].mods[i], wanted[g].group, &order, 0, err);
    }
    /* cache key: vminitd and the identity of every module file, in load order */
    cb_sha256 *h = cb_sha256_new();
    cb_sha256_update(h, init->data, init->len);
    bool strip = modules_dir && !sig_enforced(modules_dir);
    cb_sha256_update(h, strip ? "strip-signatures" : "keep-signatures", 16);
    for (size_t i = 0; rc == 0 && i < order.n; i++) {
        modinfo *mi = mod_find(&s, strchr(order.v[i], ' ') + 1);
        cleanup_free char *p = xasprintf("%s/%s", modules_dir, mi->rel);
        char key[17];
        rc = guest_file_key(p, key, err);
        cb_sha256_update(h, order.v[i], strlen(order.v[i]) + 1);
        cb_sha256_update(h, key, 16);
    }
    char digest[CB_DIGEST_STR_LEN];
    cb_sha256_final(h, digest);
    cleanup_free char *path = xasprintf("%s/kernel/initramfs-%.16s.cpio", root, digest + 7);
    if (rc < 0 || cb_path_exists(path))
        goto done;

    cb_atomic_file af;
    rc = cb_atomic_open(&af, path, 0644, err);
    if (rc < 0)
        goto done;
    struct archive *a = archive_write_new();
    archive_write_set_format_cpio_newc(a);
    archive_write_add_filter_none(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_fd(a, af.fd) != ARCHIVE_OK) {
        rc = cb_failc(err, EIO, "initramfs `%s`: %s", af.tmp, archive_error_string(a));
    }
    const char *dirs[] = {"dev", "proc", "sys", "modules"};
    for (size_t i = 0; rc == 0 && i < 4; i++)
        rc = add_entry(a, dirs[i], S_IFDIR | 0755, NULL, 0, 0, err);
    if (rc == 0)
        rc = add_entry(a, "dev/console", S_IFCHR | 0600, NULL, 0, makedev(5, 1), err);
    if (rc == 0)
        rc = add_entry(a, "init", S_IFREG | 0755, init->data, init->len, 0, err);
    cb_buf list;
    cb_buf_init(&list);
    for (size_t i = 0; rc == 0 && i < order.n; i++) {
        const char *name = strchr(order.v[i], ' ') + 1;
        modinfo *mi = mod_find(&s, name);
        cb_buf data;
        cb_buf_init(&data);
        rc = mod_read(&s, mi, &data, err);
        if (strip)
            mod_strip_signature(&data);
        cleanup_free char *ep = xasprintf("modules/%s.ko", name);
        if (rc == 0)
            rc = add_entry(a, ep, S_IFREG | 0644, data.data, data.len, 0, err);
        cb_buf_free(&data);
        cb_buf_printf(&list, "%.*s %s.ko\n", (int)(name - order.v[i] - 1), order.v[i], name);
    }
    if (rc == 0 && modules_dir)
        rc = add_entry(a, "modules/order", S_IFREG | 0644, list.data, list.len, 0, err);
    cb_buf_free(&list);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = cb_failc(err, EIO, "initramfs `%s`: %s", af.tmp, archive_error_string(a));
    archive_write_free(a);
    if (rc == 0)
        rc = cb_atomic_commit(&af, err);
    else
        cb_atomic_abort(&af);
done:
    if (rc == 0)
        *out = xstrdup(path);
    cb_strv_free(&order);
    modset_free(&s);
    return rc;
}
