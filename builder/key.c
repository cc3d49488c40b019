/* Cache keys, as BuildKit computes them: a digest over a vertex's operation definition and
 * its inputs' keys. Fields, tags and order are part of every key already in a store: a change
 * here invalidates existing cache records. */
#include "copy.h"
#include "git.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bl_key_str(cb_sha256 *h, const char *tag, const char *s)
{
    cb_sha256_update(h, tag, strlen(tag));
    cb_sha256_update(h, "=", 1);
    if (s)
        cb_sha256_update(h, s, strlen(s) + 1);
    else
        cb_sha256_update(h, "\xff", 1);
}

/* Finish a key computed so far; on an earlier failure (rc < 0) drop it. */
static int key_finish(cb_sha256 *h, int rc, char key[CB_DIGEST_STR_LEN])
{
    if (rc < 0) {
        cb_sha256_free(h);
        return rc;
    }
    cb_sha256_final(h, key);
    return 0;
}

static int hash_fd(int fd, cb_sha256 *h, uint64_t *n)
{
    char buf[65536];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return 0;
        cb_sha256_update(h, buf, (size_t)k);
        *n += (uint64_t)k;
    }
}

/* Both COPY/ADD keys start alike: the step's definition (op NULL = the keyword; the
 * content key leaves --checksum out). Fields and order are part of the cache key. */
static cb_sha256 *copy_key_begin(bl_exec_in *in, copy_ctx *cc, const char *op, bool checksum)
{
    memset(cc, 0, sizeof *cc);
    cc->in = in;
    cc->cmd = in->cmd;
    cc->add = in->cmd->kind == DF_CMD_ADD;
    cb_strv_init(&cc->tmpfiles);
    cb_sha256 *h = cb_sha256_new();
    bl_key_str(h, "op", op ? op : bl_copy_keyword(cc));
    bl_key_str(h, "parent", in->parent_key);
    bl_key_str(h, "workdir", in->config->working_dir);
    for (size_t i = 0; i < in->cmd->args.n; i++)
        bl_key_str(h, "arg", in->cmd->args.v[i]);
    bl_key_str(h, "chown", in->cmd->chown);
    bl_key_str(h, "chmod", in->cmd->chmod);
    /* a git source is keyed by its resolved commit: --checksum only checks it */
    if (checksum && !(in->cmd->args.n && bl_git_is_url(in->cmd->args.v[0])))
        bl_key_str(h, "checksum", in->cmd->checksum);
    bl_key_str(h, "link", in->cmd->link ? "1" : "0");
    if (in->cmd->unpack >= 0)
        bl_key_str(h, "unpack", in->cmd->unpack ? "1" : "0");
    bl_key_str(h, "parents", in->cmd->parents ? "1" : "0");
    for (size_t i = 0; i < in->cmd->excludes.n; i++)
        bl_key_str(h, "exclude", in->cmd->excludes.v[i]);
    return h;
}

/* COPY --from's second key: the content of what it selects in the source filesystem (path,
 * type, mode, owner, size, bytes, link target) instead of the source stage's key, so a
 * rebuilt stage with identical output keeps the COPY cached, as BuildKit does. */
int bl_copy_content_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    copy_ctx cc;
    cb_sha256 *h = copy_key_begin(
        in, &cc, in->cmd->kind == DF_CMD_ADD ? "ADD-from-content" : "COPY-from-content", false);
    int rc = bl_copy_sources_open(&cc, true, err);
    if (rc == 0)
        rc = bl_copy_select_sources(&cc, err);
    for (size_t i = 0; rc == 0 && i < cc.s.n; i++) {
        sel_entry *e = &cc.s.v[i];
        char meta[128];
        snprintf(meta, sizeof meta, "%o %u:%u %lld", (unsigned)e->st.st_mode, (unsigned)e->st.st_uid,
                 (unsigned)e->st.st_gid, (long long)(S_ISREG(e->st.st_mode) ? e->st.st_size : 0));
        bl_key_str(h, "path", e->rel);
        bl_key_str(h, "src", e->src);
        bl_key_str(h, "meta", meta);
        bl_key_str(h, "link", e->linkname);
        if (e->origin == O_BUF) {
            cb_sha256_update(h, e->data, e->len);
        } else if (e->origin == O_ROOTFS && S_ISREG(e->st.st_mode)) {
            cb_buf data;
            cb_buf_init(&data);
            rc = bl_rootfs_read(cc.from_view, &e->node, &data, err);
            if (rc == 0 && data.len)
                cb_sha256_update(h, data.data, data.len);
            cb_buf_free(&data);
        }
    }
    bl_copy_ctx_free(&cc);
    return key_finish(h, rc, key);
}

int bl_copy_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    copy_ctx cc;
    cb_sha256 *h = copy_key_begin(in, &cc, NULL, true);
    int rc = bl_copy_sources_open(&cc, false, err);
    if (rc == 0 && in->cmd->from) {
        const bl_chain *chain;
        const char *fkey;
        rc = bl_resolve_from(in, in->cmd->from, in->cmd->from_stage, &chain, &fkey, err);
        if (rc == 0)
            bl_key_str(h, "from", fkey);
        /* sources from another stage are keyed by that stage's key: no walk needed */
        for (size_t i = 0; rc == 0 && i < in->cmd->n_inline_files; i++)
            bl_key_str(h, "heredoc", in->cmd->inline_files[i].content);
    } else if (rc == 0) {
        rc = bl_copy_select_sources(&cc, err);
        uint64_t nbytes = 0;
        for (size_t i = 0; rc == 0 && i < cc.source_keys.n; i++)
            bl_key_str(h, "source", cc.source_keys.v[i]);
        for (size_t i = 0; rc == 0 && i < cc.s.n; i++) {
            sel_entry *e = &cc.s.v[i];
            if (e->source_keyed)
                continue;
            char meta[96];
            /* content and metadata, never mtimes: a touched file keeps the cache */
            snprintf(meta, sizeof meta, "%o %lld", (unsigned)e->st.st_mode,
                     (long long)(S_ISREG(e->st.st_mode) ? e->st.st_size : 0));
            bl_key_str(h, "path", e->rel);
            bl_key_str(h, "src", e->src);
            bl_key_str(h, "meta", meta);
            bl_key_str(h, "link", e->linkname);
            if (e->origin == O_BUF)
                cb_sha256_update(h, e->data, e->len);
            else if (S_ISREG(e->st.st_mode)) {
                int fd = -1;
                if (e->file) { /* a download (O_FILE, or O_ARCHIVE with --unpack=true) */
                    fd = open(e->file, O_RDONLY | O_CLOEXEC);
                    if (fd < 0)
                        rc = cb_error(err, errno, "open %s", e->file);
                } else {
                    rc = bl_context_open_file(&in->b->ctx, e->src, &fd, err);
                }
                if (rc == 0) {
                    int hr = hash_fd(fd, h, &nbytes);
                    close(fd);
                    if (hr < 0)
                        rc = cb_error(err, -hr, "read %s", e->src);
                }
            }
        }
        pthread_mutex_lock(&in->b->ctx.lock);
        in->b->ctx.bytes_read += nbytes;
        pthread_mutex_unlock(&in->b->ctx.lock);
    }
    bl_copy_ctx_free(&cc);
    return key_finish(h, rc, key);
}

/* ---------- RUN ---------- */

static void run_argv_keyed(const df_cmd *cmd, const oci_config *cfg, cb_strv *argv)
{
    char *script = NULL;
    bl_run_argv(cmd, cfg, argv, &script, NULL);
    if (script) /* the key covers the script's text too */
        cb_strv_push_owned(argv, script);
}

/* The proxy ARGs reach RUN's environment but not its key (BuildKit: llb.WithProxy), unless
 * ENV sets them. */
static bool is_proxy_arg(const char *kv)
{
    const char *eq = strchr(kv, '=');
    cleanup_free char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
    return df_arg_is_predefined(k);
}

static int hash_tree(bl_rootfs *v, const char *path, const char *rel, cb_sha256 *h, cb_err *err)
{
    bl_node n;
    int rc = bl_rootfs_lookup(v, path, &n, err);
    if (rc < 0)
        return rc;
    char meta[96];
    snprintf(meta, sizeof meta, "%o %u:%u %llu", (unsigned)n.st.mode, n.st.uid, n.st.gid,
             (unsigned long long)(S_ISREG(n.st.mode) ? n.st.size : 0));
    bl_key_str(h, "path", rel);
    bl_key_str(h, "meta", meta);
    if (S_ISREG(n.st.mode)) {
        cb_buf data;
        cb_buf_init(&data);
        rc = bl_rootfs_read(v, &n, &data, err);
        if (rc == 0 && data.len)
            cb_sha256_update(h, data.data, data.len);
        cb_buf_free(&data);
    } else if (S_ISLNK(n.st.mode)) {
        cleanup_free char *t = NULL;
        rc = bl_rootfs_readlink(v, &n, &t, err);
        bl_key_str(h, "link", t);
    } else if (S_ISDIR(n.st.mode)) {
        cb_strv names;
        cb_strv_init(&names);
        rc = bl_rootfs_readdir(v, path, &names, err);
        for (size_t i = 0; rc == 0 && i < names.n; i++) {
            cleanup_free char *p = xasprintf("%s/%s", strcmp(path, "/") ? path : "", names.v[i]);
            cleanup_free char *r = xasprintf("%s/%s", rel, names.v[i]);
            rc = hash_tree(v, p, r, h, err);
        }
        cb_strv_free(&names);
    }
    return rc;
}

/* What a bind mount from a stage or image selects (source= below its root), by content:
 * path, type, mode, owner, size, bytes, link target. */
static int mount_content_digest(bl_build *b, const bl_chain *c, const char *src, char out[CB_DIGEST_STR_LEN],
                                cb_err *err)
{
    cb_strv imgs;
    cb_strv_init(&imgs);
    bl_rootfs *v = NULL;
    int rc = bl_chain_images(b->st, c, &imgs, err);
    if (rc == 0)
        rc = bl_rootfs_open(&imgs, &v, err);
    cleanup_free char *resolved = NULL;
    bl_node n;
    if (rc == 0)
        rc = bl_rootfs_resolve(v, src && *src ? src : "/", true, &resolved, &n, err);
    if (rc == 0) {
        cb_sha256 *h = cb_sha256_new();
        rc = hash_tree(v, resolved, "", h, err);
        cb_sha256_final(h, out);
    }
    if (v)
        bl_rootfs_free(v);
    cb_strv_free(&imgs);
    return rc;
}

/* content: key a bind mount from a stage by what it selects instead of the stage's key (the
 * second key BuildKit's content-based cache gives an exec's inputs); *used tells whether the
 * RUN has such a mount at all. */
static int run_key(bl_exec_in *in, bool content, bool *used, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    cb_strv argv, env;
    cb_strv_init(&argv);
    cb_strv_init(&env);
    run_argv_keyed(in->cmd, in->config, &argv);
    bl_run_env(in->cmd, in->config, &env);
    cb_sha256 *h = cb_sha256_new();
    bl_key_str(h, "op", content ? "exec-from-content" : "exec");
    bl_key_str(h, "parent", in->parent_key);
    for (size_t i = 0; i < argv.n; i++)
        bl_key_str(h, "arg", argv.v[i]);
    for (size_t i = 0; i < env.n; i++)
        if (i < in->config->env.n || !is_proxy_arg(env.v[i]))
            bl_key_str(h, "env", env.v[i]);
    bl_key_str(h, "user", in->config->user);
    bl_key_str(h, "cwd", in->config->working_dir);
    enum guest_network net;
    if (bl_run_network(in, &net, err) < 0) {
        cb_sha256_free(h);
        cb_strv_free(&argv);
        cb_strv_free(&env);
        return -EPERM;
    }
    bl_key_str(h, "network", net == GUEST_NET_NONE ? "none" : net == GUEST_NET_HOST ? "host" : "default");
    bl_key_str(h, "security", in->cmd->security);
    /* BuildKit keys the exec op's device requests; the env their specs inject is keyed too, so a
     * changed spec runs the step again */
    cb_strv device_env, device_warnings;
    cb_strv_init(&device_env);
    cb_strv_init(&device_warnings);
    int drc = bl_run_devices(in, &device_env, &device_warnings, err);
    for (size_t i = 0; i < in->cmd->n_devices; i++) {
        bl_key_str(h, "device", in->cmd->devices[i].name);
        bl_key_str(h, "device-required", in->cmd->devices[i].required ? "true" : "false");
    }
    for (size_t i = 0; i < device_env.n; i++)
        bl_key_str(h, "device-env", device_env.v[i]);
    cb_strv_free(&device_env);
    cb_strv_free(&device_warnings);
    if (drc < 0) {
        cb_sha256_free(h);
        cb_strv_free(&argv);
        cb_strv_free(&env);
        return drc;
    }
    if (bl_run_hostname(in->b))
        bl_key_str(h, "hostname", bl_run_hostname(in->b));
    /* BuildKit keys these: extra hosts are in the exec op, --shm-size is its /dev/shm tmpfs mount */
    for (size_t i = 0; in->b->opts->add_hosts && i < in->b->opts->add_hosts->n; i++)
        bl_key_str(h, "extra-host", in->b->opts->add_hosts->v[i]);
    /* and ulimits: they are the exec op's meta (BuildKit's Ulimit), in docker's order (by name) */
    for (size_t i = 0; i < in->b->opts->n_ulimits; i++) {
        char ul[64];
        guest_rlimit_format(&in->b->opts->ulimits[i], ul, sizeof ul);
        bl_key_str(h, "ulimit", ul);
    }
    if (in->b->opts->shm_size) {
        char shm[24];
        snprintf(shm, sizeof shm, "%llu", (unsigned long long)in->b->opts->shm_size);
        bl_key_str(h, "shm-size", shm);
    }
    int rc = 0;
    for (size_t i = 0; i < in->cmd->n_mounts && rc == 0; i++) {
        const df_mount *m = &in->cmd->mounts[i];
        char meta[128];
        snprintf(meta, sizeof meta, "%d %d %o %u %u %llu %d %d", (int)m->type, m->readonly, m->mode, m->uid,
                 m->gid, (unsigned long long)m->size, (int)m->sharing, m->required);
        bl_key_str(h, "mount", meta);
        bl_key_str(h, "target", m->target);
        bl_key_str(h, "source", m->source);
        bl_key_str(h, "id", m->id);
        /* a cache mount's contents and a secret's value are not part of the key */
        if (m->type == DF_MOUNT_BIND) {
            if (m->from) {
                const bl_chain *c;
                const char *k;
                rc = bl_resolve_from(in, m->from, m->from_stage, &c, &k, err);
                if (used)
                    *used = true;
                char cd[CB_DIGEST_STR_LEN] = "";
                if (rc == 0 && content)
                    rc = mount_content_digest(in->b, c, m->source, cd, err);
                if (rc == 0)
                    bl_key_str(h, "from", content ? cd : k);
            } else {
                /* context bind: keyed by the mounted subtree's contents */
                char cd[CB_DIGEST_STR_LEN] = "";
                rc = bl_context_digest(&in->b->ctx, m->source ? m->source : "", cd, err);
                bl_key_str(h, "context", cd);
            }
        }
        if (m->type == DF_MOUNT_SECRET && m->env)
            bl_key_str(h, "secretenv", m->env);
    }
    cb_strv_free(&argv);
    cb_strv_free(&env);
    return key_finish(h, rc, key);
}

int bl_run_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    return run_key(in, false, NULL, key, err);
}

int bl_run_content_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    bool used = false;
    int rc = run_key(in, true, &used, key, err);
    if (rc == 0 && !used)
        key[0] = 0;
    return rc;
}

/* Context entries are keyed by path, mode, size, bytes and link target, never by mtime. */
static int context_hash_add(void *ud, const char *p, const struct stat *st, bool excluded, int fd,
                            const char *link, cb_err *err)
{
    (void)excluded;
    (void)err;
    cb_sha256 *h = ud;
    char meta[64];
    snprintf(meta, sizeof meta, "%o %lld", (unsigned)st->st_mode,
             (long long)(S_ISREG(st->st_mode) ? st->st_size : 0));
    bl_key_str(h, "path", p);
    bl_key_str(h, "meta", meta);
    if (fd >= 0) {
        uint64_t n = 0;
        hash_fd(fd, h, &n);
    }
    if (link)
        bl_key_str(h, "link", link);
    return 0;
}

int bl_context_digest(bl_context *c, const char *sub, char out[CB_DIGEST_STR_LEN], cb_err *err)
{
    cb_sha256 *h = cb_sha256_new();
    cleanup_free char *clean = bl_path_clean(sub);
    int rc = c->dirfd >= 0 ? bl_context_walk(c, clean + 1, context_hash_add, h, err) : 0;
    return key_finish(h, rc, out);
}

/* ---------- WORKDIR ---------- */

/* WORKDIR's implicit mkdir: the directory is created owned by USER. */
void bl_workdir_key(const char *parent_key, const char *dir, const char *user, char key[CB_DIGEST_STR_LEN])
{
    cleanup_free char *kk = xasprintf("mkdir\n%s\n%s\n%s", parent_key, dir, user ? user : "");
    cb_sha256_buf(kk, strlen(kk), key);
}
