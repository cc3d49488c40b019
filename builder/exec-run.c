/* RUN: every step boots its own VM (guest_run) with the parent's layer images as overlay
 * lowers and a fresh sparse upper image; the upper afterwards is the new layer image and its
 * contents the new OCI layer. Mounts: cache (persistent ext4 per id), secret (in memory,
 * never in a layer, the cache key or history), bind (a stage or the context, flattened to an
 * ext4 image), tmpfs. */
#include "internal.h"
#include "cache-io.h"

#include <ctype.h>
#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define UPPER_SIZE (16ULL << 30)
/* A bind mount's tree sits in this folder of its image, mounted as the source, so the image's
 * lost+found stays out of the mount (a cache mount's tree is its image's cache/ likewise). */
#define BIND_TREE_DIR "tree"
#define CACHE_MOUNT_SIZE (16ULL << 30)

/* BuildKit's frontend reads BUILDKIT_SANDBOX_HOSTNAME from the build args (no ARG needed). */
const char *bl_run_hostname(const bl_build *b)
{
    static const char k[] = "BUILDKIT_SANDBOX_HOSTNAME";
    const char *v = NULL;
    for (size_t i = 0; b->opts->build_args && i < b->opts->build_args->n; i++) {
        const char *a = b->opts->build_args->v[i];
        if (!strcmp(a, k))
            v = getenv(k);
        else if (cb_str_has_prefix(a, k) && a[sizeof k - 1] == '=')
            v = a + sizeof k;
    }
    return v && *v ? v : NULL;
}

/* host networking needs BuildKit's network.host entitlement (`--allow network.host`); the
 * message is BuildKit's (util/entitlements). */
int bl_run_network(bl_exec_in *in, enum guest_network *out, cb_err *err)
{
    const char *n = in->cmd->network ? in->cmd->network : in->b->opts->network;
    *out = n && !strcmp(n, "none") ? GUEST_NET_NONE : n && !strcmp(n, "host") ? GUEST_NET_HOST : GUEST_NET_DEFAULT;
    if (*out == GUEST_NET_HOST && !in->b->opts->allow_network_host)
        return cb_failc(err, EPERM, "network.host is not allowed");
    /* checked with the network: both are entitlements every RUN's key and VM ask for */
    if (in->cmd->security && !strcmp(in->cmd->security, "insecure") && !in->b->opts->allow_security_insecure)
        return cb_failc(err, EPERM, "security.insecure is not allowed");
    return 0;
}

int bl_run_devices(bl_exec_in *in, cb_strv *env, cb_strv *warnings, cb_err *err)
{
    bl_build *b = in->b;
    if (!in->cmd->n_devices)
        return 0;
    const char *dirs = b->opts->cdi_spec_dirs ? b->opts->cdi_spec_dirs : getenv("CBUILD_CDI_SPEC_DIRS");
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    if (!b->cdi_loaded) {
        rc = cdi_registry_load(&b->cdi, dirs && *dirs ? dirs : CDI_DEFAULT_SPEC_DIRS, err);
        if (rc == 0)
            b->cdi_loaded = true;
        else
            cdi_registry_free(&b->cdi); /* read again (and fail the same way) by the next RUN */
    }
    if (rc == 0)
        rc = cdi_resolve(&b->cdi, &b->cdi_allow, in->cmd->devices, in->cmd->n_devices, env, warnings, err);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* BuildKit's ProxyEnv: the proxy --build-args reach every RUN, in both spellings, declared or
 * not, and stay out of the cache key (ops/exec.go proxyEnvList). */
static void run_proxy_env(const bl_build *b, cb_strv *env)
{
    static const char *const names[] = {"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"};
    const cb_strv *ba = b->opts->build_args;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        const char *val = NULL, *best = NULL;
        size_t len = strlen(names[n]);
        for (size_t i = 0; ba && i < ba->n; i++) {
            const char *kv = ba->v[i];
            size_t kl = strcspn(kv, "=");
            if (kl != len || strncasecmp(kv, names[n], len))
                continue;
            /* BuildKit walks the args in sorted order: the greatest spelling wins */
            if (best && strncmp(kv, best, len) < 0)
                continue;
            best = kv;
            cleanup_free char *k = xstrndup(kv, kl);
            val = kv[kl] ? kv + kl + 1 : getenv(k);
        }
        if (!val || !*val)
            continue;
        cleanup_free char *up = xstrdup(names[n]);
        for (char *c = up; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        cb_strv_push_owned(env, xasprintf("%s=%s", up, val));
        cb_strv_push_owned(env, xasprintf("%s=%s", names[n], val));
    }
}

static const char *secret_path(bl_build *b, const char *id)
{
    for (size_t i = 0; i < b->secrets_id.n; i++)
        if (!strcmp(b->secrets_id.v[i], id))
            return b->secrets_src.v[i];
    return NULL;
}

/* ---------- images for bind mounts ---------- */

/* ---------- execution ---------- */

typedef struct run_state {
    bl_exec_in *in;
    cb_strv tmpfiles; /* unlinked and freed */
    cb_strv owned;    /* freed only */
    int *lock_fds;
    size_t n_locks;
    cb_buf *secrets;
    size_t n_secrets;
    bool private_used;
} run_state;

static void on_output(void *opaque, int stream, const char *data, size_t len)
{
    bl_exec_in *in = opaque;
    progress_output(in->b->prog, in->progress_id, stream, data, len);
}

static int ensure_guest(bl_build *b, cb_err *err)
{
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    if (!b->gpaths_ready) {
        rc = guest_setup(b->opts->root, NULL, &b->gpaths, err);
        if (rc == 0)
            b->gpaths_ready = true;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* Flattened ext4 image of a chain (bind mount from a stage or image). */
static int chain_flat_image(bl_build *b, const bl_chain *c, const char *path, cb_err *err)
{
    int lrc = bl_cache_io_chain(b->st, c, err); /* cache import: fetch lazy blobs */
    if (lrc < 0)
        return lrc;
    cb_strv tars;
    cb_strv_init(&tars);
    for (size_t i = 0; i < c->n; i++)
        cb_strv_push_owned(&tars, store_blob_path(b->st, c->v[i].digest));
    ext4_options o;
    ext4_options_init(&o);
    o.extra_free_space = 64ULL << 20;
    o.root_subdir = BIND_TREE_DIR;
    int rc = ext4_build_from_tars(path, (const char *const *)tars.v, tars.n, &o, err);
    cb_strv_free(&tars);
    return rc;
}

typedef struct context_image_walk {
    ext4_writer *w;
    uint64_t bytes; /* regular files' bytes read: the context's transfer */
} context_image_walk;

static int context_image_add(void *ud, const char *p, const struct stat *st, bool excluded, int fd,
                             const char *link, cb_err *err)
{
    context_image_walk *cw = ud;
    ext4_writer *w = cw->w;
    ext4_entry ee = {
        .path = p, .mode = st->st_mode, .mtime = st->st_mtim, .atime = st->st_mtim, .ctime = st->st_mtim};
    if (S_ISDIR(st->st_mode) && !excluded)
        return ext4_writer_add_dir(w, &ee, NULL, 0, err);
    if (S_ISREG(st->st_mode) && fd >= 0) {
        cw->bytes += (uint64_t)st->st_size;
        return ext4_writer_add_file_fd(w, &ee, fd, (uint64_t)st->st_size, NULL, 0, err);
    }
    if (S_ISLNK(st->st_mode) && link)
        return ext4_writer_add_symlink(w, &ee, link, NULL, 0, err);
    return 0;
}

/* The directory a bind mount of the context reads, when it is one reached without symlinks:
 * BuildKit transfers that alone (dockerfile2llb puts the mount's source in the build
 * context's FollowPaths). NULL: the whole context. */
static char *context_mount_dir(bl_build *b, const char *source)
{
    /* the guest resolves the source in the image: a ".." needs what it steps out of */
    for (const char *s = source ? source : ""; *s; s += strcspn(s, "/")) {
        s += strspn(s, "/");
        if (!strncmp(s, "..", 2) && (s[2] == '/' || !s[2]))
            return NULL;
    }
    cleanup_free char *abs = bl_path_clean(source);
    const char *rel = abs + 1;
    if (!*rel)
        return NULL;
    /* an ignored directory on the way: the whole context's walk decides, as before */
    for (size_t i = 1; b->ctx.ignore && rel[i - 1]; i++)
        if (!rel[i] || rel[i] == '/') {
            cleanup_free char *pre = xstrndup(rel, i);
            if (df_ignore_matches(b->ctx.ignore, pre))
                return NULL;
        }
    cleanup_free char *canon = NULL;
    struct stat st;
    if (bl_context_resolve(&b->ctx, rel, true, &canon) < 0 || !canon || strcmp(canon, rel) ||
        fstatat(b->ctx.dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return xstrdup(rel);
}

/* source: the mount's source in the context (NULL: its root) */
static int context_image(bl_build *b, const char *source, const char *path, cb_err *err)
{
    ext4_writer *w;
    ext4_options o;
    ext4_options_init(&o);
    o.extra_free_space = 64ULL << 20;
    o.root_subdir = BIND_TREE_DIR;
    int rc = ext4_writer_new(path, &o, &w, err);
    if (rc < 0)
        return rc;
    context_image_walk cw = {.w = w};
    cleanup_free char *dir = b->ctx.dirfd >= 0 ? context_mount_dir(b, source) : NULL;
    /* the directory's parents and itself first, as they are in the context */
    for (char *sl = dir; rc == 0 && sl;) {
        sl = strchr(sl + 1, '/');
        if (sl)
            *sl = 0;
        struct stat st;
        if (fstatat(b->ctx.dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0)
            rc = cb_error(err, errno, "stat %s in the build context", dir);
        else
            rc = context_image_add(&cw, dir, &st, false, -1, NULL, err);
        if (sl)
            *sl = '/';
    }
    if (rc == 0 && b->ctx.dirfd >= 0)
        rc = bl_context_walk(&b->ctx, dir ? dir : "", context_image_add, &cw, err);
    if (rc == 0)
        rc = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    pthread_mutex_lock(&b->ctx.lock);
    b->ctx.bytes_read += cw.bytes;
    pthread_mutex_unlock(&b->ctx.lock);
    return rc;
}

static int cache_mount_image(bl_build *b, const df_mount *m, bool fresh, run_state *rs, char **path_out,
                             cb_err *err)
{
    char idd[CB_DIGEST_STR_LEN];
    cleanup_free char *idkey = xasprintf("%s\n%u:%u:%o", m->id ? m->id : m->target, m->uid, m->gid, m->mode);
    cb_sha256_buf(idkey, strlen(idkey), idd);
    cleanup_free char *dir = cb_path_join(b->opts->root, "cache-mounts");
    int rc = cb_mkdir_p(dir, 0700, err);
    if (rc < 0)
        return rc;
    char *path = xasprintf("%s/%s.ext4", dir, idd + 7);
    cleanup_free char *lockp = xasprintf("%s/%s.lock", dir, idd + 7);
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) {
        free(path);
        return cb_error(err, errno, "open %s", lockp);
    }
    /* one VM at a time may write an ext4 image: shared and locked both serialise; private
     * gets a throwaway image when the persistent one is busy */
    if (m->sharing == DF_SHARING_PRIVATE && flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        close(lfd);
        free(path);
        path = bl_step_tmp(b, "cache-private.ext4");
        cb_strv_push(&rs->tmpfiles, path);
        rs->private_used = true;
        lfd = -1;
    } else if (m->sharing != DF_SHARING_PRIVATE && flock(lfd, LOCK_EX) < 0) {
        close(lfd);
        free(path);
        return cb_error(err, errno, "lock %s", lockp);
    }
    if (lfd >= 0) {
        rs->lock_fds = xrealloc(rs->lock_fds, (rs->n_locks + 1) * sizeof *rs->lock_fds);
        rs->lock_fds[rs->n_locks++] = lfd;
    }
    /* a step under --no-cache starts from an empty cache mount (moby/buildkit#5305), once per
     * build: its later steps share what the first wrote, and so do later builds */
    if (fresh && lfd >= 0) {
        pthread_mutex_lock(&b->lock);
        bool first = !cb_strv_contains(&b->cache_mounts_reset, path);
        if (first)
            cb_strv_push(&b->cache_mounts_reset, path);
        pthread_mutex_unlock(&b->lock);
        if (first)
            unlink(path);
    }
    if (!cb_path_exists(path)) {
        cleanup_free char *tmp = xasprintf("%s.tmp", path);
        ext4_writer *w;
        ext4_options o;
        ext4_options_init(&o);
        o.size = CACHE_MOUNT_SIZE;
        o.root_subdir = "";
        rc = ext4_writer_new(tmp, &o, &w, err);
        if (rc == 0) {
            ext4_entry e = {
                .path = "cache", .mode = S_IFDIR | (m->mode ? m->mode : 0755), .uid = m->uid, .gid = m->gid};
            rc = ext4_writer_add_dir(w, &e, NULL, 0, err);
            if (rc == 0)
                rc = ext4_writer_finish(w, err);
            ext4_writer_free(w);
        }
        if (rc == 0 && rename(tmp, path) < 0)
            rc = cb_error(err, errno, "rename %s", tmp);
        if (rc < 0) {
            unlink(tmp);
            free(path);
            return rc;
        }
    }
    *path_out = path;
    return 0;
}

static int read_secret(bl_build *b, const df_mount *m, cb_buf *out, bool *found, cb_err *err)
{
    const char *src = secret_path(b, m->id);
    *found = false;
    if (!src)
        return 0;
    if (cb_str_has_prefix(src, "env:")) {
        const char *v = getenv(src + 4);
        if (!v)
            return 0;
        cb_buf_puts(out, v);
        *found = true;
        return 0;
    }
    int rc = cb_read_file(src, out, err);
    if (rc < 0)
        return cb_error_wrap(err, "secret %s", m->id);
    *found = true;
    return 0;
}

static void run_state_free(run_state *rs)
{
    for (size_t i = 0; i < rs->tmpfiles.n; i++)
        unlink(rs->tmpfiles.v[i]);
    cb_strv_free(&rs->tmpfiles);
    cb_strv_free(&rs->owned);
    for (size_t i = 0; i < rs->n_locks; i++)
        close(rs->lock_fds[i]);
    free(rs->lock_fds);
    for (size_t i = 0; i < rs->n_secrets; i++) {
        if (rs->secrets[i].data)
            memset(rs->secrets[i].data, 0, rs->secrets[i].len);
        cb_buf_free(&rs->secrets[i]);
    }
    free(rs->secrets);
}

/* Long: one case per RUN --mount type. */
static int build_mounts(bl_exec_in *in, run_state *rs, guest_mount *gm, size_t *ngm, cb_strv *env,
                        cb_err *err)
{
    bl_build *b = in->b;
    const df_cmd *cmd = in->cmd;
    *ngm = 0;
    rs->secrets = xcalloc(cmd->n_mounts + 1, sizeof *rs->secrets);
    for (size_t i = 0; i < cmd->n_mounts; i++) {
        const df_mount *m = &cmd->mounts[i];
        guest_mount *g = &gm[*ngm];
        memset(g, 0, sizeof *g);
        g->target = m->target;
        int rc = 0;
        switch (m->type) {
        case DF_MOUNT_BIND: {
            /* a single context file: the guest binds directories only, so it is handed over
             * like a secret (read-only file with the file's mode) */
            if (!m->from && m->source && b->ctx.dirfd >= 0) {
                int ffd = -1;
                cb_err e2;
                struct stat fst;
                if (bl_context_openat(&b->ctx, m->source, O_RDONLY, &ffd, &e2) == 0) {
                    bool is_file = fstat(ffd, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size < (64 << 20);
                    if (is_file) {
                        cb_buf *fb = &rs->secrets[rs->n_secrets++];
                        cb_buf_init(fb);
                        char buf[65536];
                        ssize_t k;
                        while ((k = read(ffd, buf, sizeof buf)) > 0)
                            cb_buf_append(fb, buf, (size_t)k);
                        close(ffd);
                        pthread_mutex_lock(&b->ctx.lock);
                        b->ctx.bytes_read += fb->len;
                        pthread_mutex_unlock(&b->ctx.lock);
                        g->kind = GUEST_MOUNT_SECRET;
                        g->data = fb->data ? fb->data : "";
                        g->data_len = fb->len;
                        g->mode = fst.st_mode & 07777;
                        break;
                    }
                    close(ffd);
                }
            }
            char *img = bl_step_tmp(b, "bind.ext4");
            cb_strv_push_owned(&rs->tmpfiles, img);
            if (m->from) {
                const bl_chain *c;
                const char *k;
                rc = bl_resolve_from(in, m->from, m->from_stage, &c, &k, err);
                if (rc == 0)
                    rc = chain_flat_image(b, c, img, err);
            } else {
                rc = context_image(b, m->source, img, err);
            }
            if (rc < 0)
                return cb_error_wrap(err, "bind mount %s", m->target);
            g->kind = GUEST_MOUNT_EXT4_RO;
            g->image = img;
            const char *src = m->source ? m->source : "";
            while (*src == '/')
                src++;
            char *tree_src = *src ? xasprintf(BIND_TREE_DIR "/%s", src) : xstrdup(BIND_TREE_DIR);
            cb_strv_push_owned(&rs->owned, tree_src);
            g->source = tree_src;
            /* rw binds: writes are thrown away with the image copy */
            if (!m->readonly)
                g->kind = GUEST_MOUNT_EXT4_RW;
            break;
        }
        case DF_MOUNT_CACHE: {
            char *img = NULL;
            rc = cache_mount_image(b, m, in->job->no_cache, rs, &img, err);
            if (rc < 0)
                return cb_error_wrap(err, "cache mount %s", m->target);
            cb_strv_push_owned(&rs->owned, img);
            g->kind = GUEST_MOUNT_EXT4_RW;
            g->image = img;
            /* the cache is the image's /cache; source= selects a directory of it */
            if (m->source && *m->source) {
                const char *src = m->source;
                while (*src == '/')
                    src++;
                char *cs = *src ? xasprintf("cache/%s", src) : xstrdup("cache");
                cb_strv_push_owned(&rs->owned, cs);
                g->source = cs;
            } else {
                g->source = "cache";
            }
            g->readonly = m->readonly;
            break;
        }
        case DF_MOUNT_TMPFS:
            g->kind = GUEST_MOUNT_TMPFS;
            g->size = m->size;
            break;
        case DF_MOUNT_SECRET: {
            bool found = false;
            cb_buf *sb = &rs->secrets[rs->n_secrets++];
            cb_buf_init(sb);
            rc = read_secret(b, m, sb, &found, err);
            if (rc < 0)
                return rc;
            if (!found) {
                if (m->required)
                    return cb_failc(err, ENOENT, "secret %s: not found (use --secret id=%s,src=PATH)",
                                    m->id, m->id);
                continue;
            }
            if (m->env) {
                /* the secret replaces an ENV of the same name */
                size_t kl = strlen(m->env);
                for (size_t k = 0; k < env->n; k++)
                    if (!strncmp(env->v[k], m->env, kl) && env->v[k][kl] == '=') {
                        free(env->v[k]);
                        memmove(&env->v[k], &env->v[k + 1], (env->n - k) * sizeof(char *)); /* and the NULL */
                        env->n--;
                        k--;
                    }
                cb_strv_push_owned(env, xasprintf("%s=%.*s", m->env, (int)sb->len, sb->data ? sb->data : ""));
                /* env= without target= is only the variable (BuildKit mounts no file then) */
                if (!m->target)
                    continue;
            }
            g->kind = GUEST_MOUNT_SECRET;
            g->data = sb->data ? sb->data : "";
            g->data_len = sb->len;
            g->mode = m->mode ? m->mode : 0400;
            g->uid = m->uid;
            g->gid = m->gid;
            break;
        }
        case DF_MOUNT_SSH: {
            const char *id = m->id && *m->id ? m->id : "default";
            const char *sock = bl_ssh_socket(b, id);
            if (!sock) {
                if (m->required)
                    return cb_failc(err, ENOENT, "no SSH key \"%s\" forwarded from the client (use --ssh %s)", id,
                                    strcmp(id, "default") ? id : "default");
                continue;
            }
            g->kind = GUEST_MOUNT_SSH_AGENT;
            g->agent = sock;
            g->mode = m->mode ? m->mode : 0600;
            g->uid = m->uid;
            g->gid = m->gid;
            /* the first agent is SSH_AUTH_SOCK, as BuildKit's llb.AddSSHSocket sets it */
            bool set = false;
            for (size_t k = 0; k < env->n; k++)
                set |= !strncmp(env->v[k], "SSH_AUTH_SOCK=", 14);
            if (!set)
                cb_strv_push_owned(env, xasprintf("SSH_AUTH_SOCK=%s", m->target));
            break;
        }
        }
        (*ngm)++;
    }
    return 0;
}

/* The upper after the step: its contents as the OCI layer (tar at tarp, into the store) and the
 * upper itself as the layer's image. */
static int run_capture(bl_build *b, const char *upper, const char *tarp, bl_layer *out, cb_err *err)
{
    int tfd = open(tarp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0)
        return cb_error(err, errno, "create %s", tarp);
    int rc = ext4_upper_to_oci_layer(upper, EXT4_OVERLAY_UPPER_DIR, tfd, b->epoch, err);
    oci_layer_result lr;
    if (rc == 0 && lseek(tfd, 0, SEEK_SET) < 0)
        rc = cb_error(err, errno, "seek %s", tarp);
    if (rc == 0)
        rc = store_layer_put_tar(b->st, tfd, NULL, &lr, err);
    close(tfd);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->diff_id, lr.diff_id, sizeof out->diff_id);
    memcpy(out->digest, lr.digest, sizeof out->digest);
    out->size = lr.size;
    snprintf(out->media_type, sizeof out->media_type, "%s", lr.media_type);
    if (!store_layer_image_exists(b->st, out->diff_id)) {
        cleanup_free char *dst = store_layer_image_tmp_path(b->st, out->diff_id);
        /* the upper keeps its tree under upper/, the layer-image layout (BL_LAYER_ROOT) */
        if (rename(upper, dst) < 0)
            rc = cb_error(err, errno, "rename %s", upper);
        if (rc == 0)
            rc = store_layer_image_commit(b->st, out->diff_id, dst, err);
        else
            unlink(dst);
    }
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&b->lock);
    b->layers_written++;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

/* The step's disks live in the store: when its filesystem is full the guest saw I/O errors
 * (QEMU reports them, werror=report), and the user is told what really happened. */
/* A step whose disk writes failed (the guest sees EIO, its filesystem is left unclean) on a
 * store that is (nearly) full: say so, with what is left. */
static void store_full_hint(bl_build *b, cb_err *err)
{
    struct statvfs sv;
    if (!err || statvfs(b->opts->root, &sv) < 0)
        return;
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail > (64u << 20) || strstr(err->msg, "No space left on device"))
        return;
    char sz[32];
    cb_format_size(avail, sz, sizeof sz);
    size_t l = strlen(err->msg);
    snprintf(err->msg + l, sizeof err->msg - l,
             "\nNo space left on device: the disk of the store `%s` is full (%s free)", b->opts->root, sz);
}

/* BuildKit's message for a command that failed (rc < 0: the guest could not start it). */
static int run_failed(const cb_strv *argv, int rc, int exit_code, cb_err *err)
{
    cb_buf cmdline;
    cb_buf_init(&cmdline);
    for (size_t i = 0; i < argv->n; i++) {
        if (i)
            cb_buf_putc(&cmdline, ' ');
        cb_buf_puts(&cmdline, argv->v[i]);
    }
    if (rc < 0)
        cb_error_wrap(err, "process \"%s\" did not complete successfully: exit code: %d", cmdline.data,
                      exit_code);
    else
        rc = cb_failc(err, EIO, "process \"%s\" did not complete successfully: exit code: %d", cmdline.data,
                      exit_code);
    cb_buf_free(&cmdline);
    return rc;
}

/* About 100 lines: mounts, the upper disk, the VM and the layer capture are one sequence whose
 * failures share one clean-up. */
int bl_run_exec(bl_exec_in *in, bl_layer *out, cb_err *err)
{
    bl_build *b = in->b;
    int rc = ensure_guest(b, err);
    if (rc < 0)
        return rc;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    cb_strv_init(&rs.tmpfiles);
    cb_strv_init(&rs.owned);
    cb_strv argv, env, lowers;
    cb_strv_init(&argv);
    cb_strv_init(&env);
    cb_strv_init(&lowers);
    char *script = NULL, *script_path = NULL;
    bl_run_argv(in->cmd, in->config, &argv, &script, &script_path);
    bl_run_env(in->cmd, in->config, &env);
    run_proxy_env(b, &env);
    cb_strv device_warnings;
    cb_strv_init(&device_warnings);
    rc = bl_run_devices(in, &env, &device_warnings, err);
    for (size_t i = 0; i < device_warnings.n; i++) {
        cleanup_free char *line = xasprintf("WARNING: %s\n", device_warnings.v[i]);
        progress_output(b->prog, in->progress_id, 2, line, strlen(line));
    }
    cb_strv_free(&device_warnings);
    guest_mount *gm = xcalloc(in->cmd->n_mounts + 1 + in->n_extra_mounts, sizeof *gm);
    size_t ngm = 0;
    char *upper = bl_step_tmp(b, "upper.ext4");
    char *tarp = bl_step_tmp(b, "layer.tar");
    guest_run_result res;
    memset(&res, 0, sizeof res);
    bool ran = false;
    double t_prep = cb_now();
    if (rc < 0) /* the devices' */
        goto out;
    if ((rc = bl_chain_images(b->st, in->chain, &lowers, err)) < 0)
        goto out;
    if ((rc = build_mounts(in, &rs, gm, &ngm, &env, err)) < 0)
        goto out;
    if (script) {
        /* a #! heredoc script: handed to its interpreter from a file that stays out of the layer */
        gm[ngm] = (guest_mount){.kind = GUEST_MOUNT_SECRET,
                                .target = script_path,
                                .data = script,
                                .data_len = strlen(script),
                                .mode = 0755};
        ngm++;
    }
    for (size_t i = 0; i < in->n_extra_mounts; i++)
        gm[ngm++] = in->extra_mounts[i];
    if ((rc = ext4_create_empty(upper, UPPER_SIZE, NULL, NULL, err)) < 0)
        goto out;
    guest_run_config cfg;
    guest_run_config_init(&cfg);
    cfg.root = b->opts->root;
    cfg.paths = &b->gpaths;
    cfg.lowers = (const char *const *)lowers.v;
    cfg.n_lowers = lowers.n;
    cfg.upper = upper;
    cfg.argv = argv.v;
    cfg.env = env.v;
    cfg.cwd = in->config->working_dir && *in->config->working_dir ? in->config->working_dir : "/";
    cfg.user = in->config->user;
    if ((rc = bl_run_network(in, &cfg.network, err)) < 0)
        goto out;
    cfg.hostname = bl_run_hostname(in->b);
    /* the stage's platform picks the VM: "linux/arm64" boots an arm64 guest */
    const char *slash = strchr(in->job->platform, '/');
    char arch[32];
    snprintf(arch, sizeof arch, "%.*s", (int)strcspn(slash ? slash + 1 : in->job->platform, "/"),
             slash ? slash + 1 : in->job->platform);
    cfg.arch = arch;
    cfg.build_groups = true;
    /* BuildKit's sandbox: Docker's default capabilities; --security=insecure: all of them (a VM
     * has no seccomp filter or AppArmor profile in either mode) */
    cfg.default_caps = !in->cmd->security || strcmp(in->cmd->security, "insecure");
    cfg.memory = b->opts->run_memory;
    cfg.cpus = b->opts->run_cpus;
    cfg.shm_size = b->opts->shm_size;
    cfg.memory_max = b->opts->run_memory; /* docker --memory: the cgroup limit a RUN sees */
    cfg.extra_hosts = b->opts->add_hosts ? b->opts->add_hosts->v : NULL;
    cfg.rlimits = b->opts->ulimits;
    cfg.n_rlimits = b->opts->n_ulimits;
    cfg.mounts = gm;
    cfg.n_mounts = ngm;
    cfg.output = on_output;
    cfg.output_opaque = in;
    cfg.output_lines = false;
    cfg.cancel = &b->cancel;
    t_prep = cb_now() - t_prep;
    rc = guest_run(&cfg, &res, err);
    ran = true;
    pthread_mutex_lock(&b->lock);
    b->vms_booted++;
    pthread_mutex_unlock(&b->lock);
    if (rc < 0 && res.exit_code != 126 && res.exit_code != 127) {
        store_full_hint(b, err);
        goto out;
    }
    if (rc < 0 || res.exit_code != 0) {
        rc = run_failed(&argv, rc, res.exit_code, err);
        store_full_hint(b, err);
        goto out;
    }
    double t0 = cb_now();
    if (!in->discard_upper && (rc = run_capture(b, upper, tarp, out, err)) < 0) {
        store_full_hint(b, err);
        goto out;
    }
    /* prepare: lower layer images built from blobs (first use only), mounts, the upper disk */
    progress_status(b->prog, in->progress_id,
                    "vm: boot %.0fms, run %.0fms, snapshot %.0fms, prepare %.0fms (%s)", res.boot_ms,
                    res.run_ms, (cb_now() - t0) * 1000.0 + res.shutdown_ms, t_prep * 1000.0, res.accel);
out:
    if (ran && rc < 0 && res.console_tail)
        cb_debug("console: %s", res.console_tail);
    if (ran)
        guest_run_result_free(&res);
    unlink(upper);
    unlink(tarp);
    free(upper);
    free(tarp);
    free(gm);
    free(script);
    free(script_path);
    run_state_free(&rs);
    cb_strv_free(&argv);
    cb_strv_free(&env);
    cb_strv_free(&lowers);
    return rc;
}
