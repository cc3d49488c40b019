/* COPY and ADD, on the host: sources from the context, another stage or image, heredocs or
 * URLs; Docker's rules for globs, directories (contents copied), trailing slashes, created
 * destinations, --chown/--chmod/--link/--exclude/--parents, ADD auto-extraction and
 * --checksum. The layer is written as a tar blob and an overlay ext4 image in one pass. */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum origin { O_CTX, O_ROOTFS, O_BUF, O_FILE, O_ARCHIVE };

typedef struct sel_entry {
    char *rel; /* path below the copy's target ("" = the target itself) */
    char *src; /* path in the source */
    enum origin origin;
    struct stat st;
    char *linkname;
    bl_node node;
    char *data; /* O_BUF */
    size_t len;
    char *file;          /* O_FILE / O_ARCHIVE: host path (downloads) or context path (archives) */
    bool target_is_file; /* rel names the file itself: placed at dest or dest/<rel> */
} sel_entry;

typedef struct sel {
    sel_entry *v;
    size_t n, cap;
} sel;

static sel_entry *sel_add(sel *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    sel_entry *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static void sel_free(sel *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].rel);
        free(s->v[i].src);
        free(s->v[i].linkname);
        free(s->v[i].data);
        free(s->v[i].file);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---------- a source filesystem: the context or a merged image view ---------- */

typedef struct srcfs {
    bl_context *ctx; /* context, or NULL */
    bl_rootfs *view; /* image view, or NULL */
    df_ignore *excl; /* --exclude */
} srcfs;

static void stat_from_ext4(const ext4_stat *es, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = es->mode;
    st->st_uid = es->uid;
    st->st_gid = es->gid;
    st->st_size = (off_t)es->size;
    st->st_rdev = es->rdev;
    st->st_mtim = es->mtime;
    st->st_nlink = es->nlink;
}

static bool ctx_ignored(srcfs *fs, const char *rel)
{
    return fs->ctx && fs->ctx->ignore && *rel && df_ignore_matches(fs->ctx->ignore, rel);
}

/* stat a source path; follow: follow a final symlink (inside the root). */
static int fs_stat(srcfs *fs, const char *rel, bool follow, struct stat *st, char **link, bl_node *node)
{
    if (fs->view) {
        bl_node n;
        cb_err e;
        int rc = bl_rootfs_resolve(fs->view, rel, follow, NULL, &n, &e);
        if (rc < 0)
            return rc;
        stat_from_ext4(&n.st, st);
        if (node)
            *node = n;
        if (link && S_ISLNK(n.st.mode))
            bl_rootfs_readlink(fs->view, &n, link, &e);
        return 0;
    }
    int fd;
    cb_err e;
    int rc = bl_context_openat(fs->ctx, rel, O_PATH | (follow ? 0 : O_NOFOLLOW), &fd, &e);
    if (rc < 0)
        return rc;
    if (fstat(fd, st) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (link && S_ISLNK(st->st_mode)) {
        char buf[4096];
        ssize_t k = readlinkat(fd, "", buf, sizeof buf - 1);
        if (k >= 0) {
            buf[k] = 0;
            *link = xstrdup(buf);
        }
    }
    close(fd);
    return 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fs_list(srcfs *fs, const char *rel, cb_strv *names, cb_err *err)
{
    if (fs->view)
        return bl_rootfs_readdir(fs->view, rel, names, err);
    int fd;
    int rc = bl_context_openat(fs->ctx, *rel ? rel : ".", O_RDONLY | O_DIRECTORY, &fd, err);
    if (rc < 0)
        return cb_error(err, -rc, "open %s in the build context", rel);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return cb_error(err, errno, "opendir %s", rel);
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            cb_strv_push(names, de->d_name);
    closedir(d);
    if (names->n > 1)
        qsort(names->v, names->n, sizeof *names->v, cmpstr);
    return 0;
}

static char *join_rel(const char *a, const char *b)
{
    if (!*a)
        return xstrdup(b);
    if (!*b)
        return xstrdup(a);
    return xasprintf("%s/%s", a, b);
}

/* Walk a directory source: every entry below `src` (not src itself), rel relative to it. */
static int walk(srcfs *fs, const char *src, const char *rel, sel *out, cb_err *err)
{
    cb_strv names;
    cb_strv_init(&names);
    cleanup_free char *dir = join_rel(src, rel);
    int rc = fs_list(fs, dir, &names, err);
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        cleanup_free char *srel = join_rel(dir, names.v[i]);
        cleanup_free char *erel = join_rel(rel, names.v[i]);
        bool excluded = false, below = true;
        if (fs->ctx && fs->ctx->ignore)
            df_ignore_dir(fs->ctx->ignore, srel, &excluded, &below);
        if (fs->excl && (df_ignore_matches(fs->excl, erel) || df_ignore_matches(fs->excl, srel)))
            continue;
        struct stat st;
        char *link = NULL;
        bl_node node;
        memset(&node, 0, sizeof node);
        if (fs_stat(fs, srel, false, &st, &link, &node) < 0)
            continue; /* vanished meanwhile */
        if (S_ISDIR(st.st_mode)) {
            if (!excluded) {
                sel_entry *e = sel_add(out);
                e->rel = xstrdup(erel);
                e->src = xstrdup(srel);
                e->origin = fs->view ? O_ROOTFS : O_CTX;
                e->st = st;
                e->node = node;
            }
            if (!excluded || below)
                rc = walk(fs, src, erel, out, err);
            free(link);
            continue;
        }
        if (excluded) {
            free(link);
            continue;
        }
        sel_entry *e = sel_add(out);
        e->rel = xstrdup(erel);
        e->src = xstrdup(srel);
        e->origin = fs->view ? O_ROOTFS : O_CTX;
        e->st = st;
        e->linkname = link;
        e->node = node;
    }
    cb_strv_free(&names);
    return rc;
}

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Expand a source pattern (clean, relative) into existing paths, sorted. */
static int glob_expand(srcfs *fs, const char *pattern, cb_strv *out, cb_err *err)
{
    if (!has_glob(pattern)) {
        cb_strv_push(out, pattern);
        return 0;
    }
    cb_strv comps, cur, next;
    cb_strv_init(&comps);
    cb_strv_init(&cur);
    char *c = xstrdup(pattern), *save = NULL;
    for (char *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save))
        cb_strv_push(&comps, t);
    free(c);
    cb_strv_push(&cur, "");
    int rc = 0;
    for (size_t k = 0; k < comps.n && rc == 0; k++) {
        cb_strv_init(&next);
        for (size_t i = 0; i < cur.n; i++) {
            if (!has_glob(comps.v[k])) {
                cleanup_free char *p = join_rel(cur.v[i], comps.v[k]);
                struct stat st;
                if (fs_stat(fs, p, true, &st, NULL, NULL) == 0 && !ctx_ignored(fs, p))
                    cb_strv_push(&next, p);
                continue;
            }
            struct stat st;
            if (*cur.v[i] && (fs_stat(fs, cur.v[i], true, &st, NULL, NULL) < 0 || !S_ISDIR(st.st_mode)))
                continue;
            cb_strv names;
            cb_strv_init(&names);
            cb_err e;
            if (fs_list(fs, cur.v[i], &names, &e) == 0)
                for (size_t j = 0; j < names.n; j++)
                    if (fnmatch(comps.v[k], names.v[j], 0) == 0) {
                        cleanup_free char *p = join_rel(cur.v[i], names.v[j]);
                        if (!ctx_ignored(fs, p))
                            cb_strv_push(&next, p);
                    }
            cb_strv_free(&names);
        }
        cb_strv_free(&cur);
        cur = next;
    }
    for (size_t i = 0; i < cur.n; i++)
        cb_strv_push(out, cur.v[i]);
    cb_strv_free(&cur);
    cb_strv_free(&comps);
    (void)err;
    return rc;
}

static bool is_url(const char *s)
{
    return cb_str_has_prefix(s, "http://") || cb_str_has_prefix(s, "https://");
}

/* Is this context/host file a tar (optionally gzip/bzip2/xz/zstd compressed)? */
static bool is_archive_fd(int fd)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    bool ok = false;
    if (archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK) {
        struct archive_entry *e;
        ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
    }
    archive_read_free(a);
    lseek(fd, 0, SEEK_SET);
    return ok;
}

/* ---------- URL download ---------- */

static size_t curl_write(void *p, size_t sz, size_t n, void *ud)
{
    return cb_write_all(*(int *)ud, p, sz * n) == 0 ? sz * n : 0;
}

static int download(const char *url, const char *path, int64_t *mtime, cb_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cb_error(err, errno, "create %s", path);
    CURL *c = curl_easy_init();
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CB_VERSION);
    CURLcode r = curl_easy_perform(c);
    int rc = 0;
    if (r != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 400)
            rc = cb_fail(err, "failed to load %s: invalid response status %ld", url, code);
        else
            rc = cb_fail(err, "failed to load %s: %s", url, *ebuf ? ebuf : curl_easy_strerror(r));
    } else {
        long ft = -1;
        curl_easy_getinfo(c, CURLINFO_FILETIME, &ft);
        *mtime = ft;
    }
    curl_easy_cleanup(c);
    close(fd);
    return rc;
}

/* ---------- selection ---------- */

typedef struct copy_ctx {
    bl_exec_in *in;
    const df_cmd *cmd;
    bool add;
    srcfs fs;
    bl_rootfs *from_view;
    cb_strv from_images;
    sel s;
    cb_strv tmpfiles;
} copy_ctx;

static const char *keyword(const copy_ctx *cc)
{
    return cc->add ? "ADD" : "COPY";
}

/* Select all sources. with_content: also download URLs (key computation needs them). */
static int select_sources(copy_ctx *cc, cb_err *err)
{
    const df_cmd *cmd = cc->cmd;
    size_t nsrc = cmd->args.n ? cmd->args.n - 1 : 0;
    /* heredoc sources (COPY <<EOF /dst): files named after their delimiter */
    for (size_t i = 0; i < cmd->n_inline_files; i++) {
        const df_heredoc *h = &cmd->inline_files[i]; /* chomped and expanded by the plan */
        char *content = xstrdup(h->content);
        sel_entry *e = sel_add(&cc->s);
        e->rel = xstrdup(h->name);
        e->src = xasprintf("<<%s", h->name);
        e->origin = O_BUF;
        e->data = content;
        e->len = strlen(content);
        e->st.st_mode = S_IFREG | 0644;
        e->st.st_size = (off_t)e->len;
        e->st.st_mtime = cc->in->b->epoch >= 0 ? cc->in->b->epoch : bl_now(); /* like llb.Mkfile */
        e->target_is_file = true;
    }
    for (size_t i = 0; i < nsrc; i++) {
        const char *arg = cmd->args.v[i];
        if (cb_str_has_prefix(arg, "git@") || cb_str_has_prefix(arg, "git://") ||
            (is_url(arg) && (cb_str_has_suffix(arg, ".git") || strstr(arg, ".git#")))) {
            if (!cc->add)
                return cb_fail(err, "source can't be a git ref for COPY");
            return cb_fail(
                err, "ADD of git repositories (%s) is not supported by cbuild: clone it in a RUN step", arg);
        }
        if (is_url(arg)) {
            if (!cc->add)
                return cb_fail(err, "source can't be a URL for COPY");
            cleanup_free char *tmp = bl_step_tmp(cc->in->b, "download");
            int64_t mtime = -1;
            progress_status(cc->in->b->prog, cc->in->progress_id, "downloading %s", arg);
            int rc = download(arg, tmp, &mtime, err);
            if (rc < 0)
                return rc;
            cb_strv_push(&cc->tmpfiles, tmp);
            if (cmd->checksum) {
                char got[CB_DIGEST_STR_LEN];
                if ((rc = cb_sha256_file(tmp, got, err)) < 0)
                    return rc;
                if (strcmp(got, cmd->checksum))
                    return cb_fail(err, "digest mismatch for %s: expected %s, got %s", arg, cmd->checksum,
                                   got);
            }
            /* the file is named after the URL's last path element */
            const char *u = strstr(arg, "://") + 3;
            const char *slash = strchr(u, '/');
            cleanup_free char *pathpart = xstrdup(slash ? slash : "/");
            char *q = strpbrk(pathpart, "?#");
            if (q)
                *q = 0;
            const char *base = strrchr(pathpart, '/');
            base = base ? base + 1 : pathpart;
            sel_entry *e = sel_add(&cc->s);
            e->rel = xstrdup(*base ? base : "__unnamed__");
            e->src = xstrdup(arg);
            e->origin = O_FILE;
            e->file = xstrdup(tmp);
            struct stat st;
            stat(tmp, &st);
            e->st.st_mode = S_IFREG | 0600;
            e->st.st_size = st.st_size;
            e->st.st_mtime = mtime > 0 ? mtime : 0;
            e->target_is_file = true;
            continue;
        }
        /* a path in the context or the --from filesystem */
        cleanup_free char *raw = xstrdup(arg);
        char *pivot_pattern = NULL;
        if (cmd->parents) {
            char *piv = strstr(raw, "/./");
            if (piv) {
                *piv = 0;
                pivot_pattern = piv + 3;
            }
        }
        cleanup_free char *clean_abs = bl_path_clean(raw);
        const char *clean = clean_abs + 1;
        cleanup_free char *pivot = NULL;
        cleanup_free char *pattern = NULL;
        if (pivot_pattern) {
            pivot = xstrdup(clean);
            cleanup_free char *pp = bl_path_clean(pivot_pattern);
            pattern = join_rel(pivot, pp + 1);
        } else {
            pattern = xstrdup(clean);
        }
        cb_strv matches;
        cb_strv_init(&matches);
        int rc = glob_expand(&cc->fs, pattern, &matches, err);
        if (rc < 0) {
            cb_strv_free(&matches);
            return rc;
        }
        for (size_t m = 0; m < matches.n; m++) {
            const char *src = matches.v[m];
            struct stat st;
            char *link = NULL;
            bl_node node;
            memset(&node, 0, sizeof node);
            if ((rc = fs_stat(&cc->fs, src, true, &st, &link, &node)) < 0 || ctx_ignored(&cc->fs, src)) {
                free(link);
                cleanup_free char *to = NULL;
                if (cc->fs.view)
                    rc = cb_failc(err, ENOENT, "\"/%s\": not found", src);
                else if (!ctx_ignored(&cc->fs, src) && bl_context_resolve(cc->fs.ctx, src, true, &to) < 0 &&
                         strcmp(to, src)) /* a symlink to what the context lacks: name the target, as BuildKit */
                    rc = cb_failc(err, ENOENT, "\"/%s\": not found (the target of symlink \"/%s\"; not in the build "
                                  "context%s)", to, src, cc->fs.ctx->ignore ? " or excluded by .dockerignore" : "");
                else
                    rc = cb_failc(err, ENOENT, "\"/%s\": not found (not in the build context%s)", src,
                                  cc->fs.ctx && cc->fs.ctx->ignore ? " or excluded by .dockerignore" : "");
                cb_strv_free(&matches);
                return rc;
            }
            /* --parents keeps the source's path (below the pivot) under the destination */
            cleanup_free char *prefix = NULL;
            if (cmd->parents) {
                const char *p = src;
                if (pivot && *pivot && cb_str_has_prefix(src, pivot))
                    p = src + strlen(pivot) + (src[strlen(pivot)] == '/');
                prefix = xstrdup(p);
            }
            if (S_ISDIR(st.st_mode)) {
                size_t first = cc->s.n;
                if (prefix && *prefix) {
                    sel_entry *e = sel_add(&cc->s);
                    e->rel = xstrdup(prefix);
                    e->src = xstrdup(src);
                    e->origin = cc->fs.view ? O_ROOTFS : O_CTX;
                    e->st = st;
                    e->node = node;
                    first = cc->s.n;
                }
                rc = walk(&cc->fs, src, "", &cc->s, err);
                if (rc < 0) {
                    free(link);
                    cb_strv_free(&matches);
                    return rc;
                }
                if (prefix && *prefix)
                    for (size_t k = first; k < cc->s.n; k++) {
                        char *r = join_rel(prefix, cc->s.v[k].rel);
                        free(cc->s.v[k].rel);
                        cc->s.v[k].rel = r;
                    }
                free(link);
                continue;
            }
            const char *base = strrchr(src, '/');
            base = base ? base + 1 : src;
            /* ADD: a local tar archive is extracted into the destination */
            if (cc->add && S_ISREG(st.st_mode) && cc->fs.ctx && !cc->fs.view) {
                int fd;
                cb_err e2;
                if (bl_context_open_file(cc->fs.ctx, src, &fd, &e2) == 0) {
                    bool arch = is_archive_fd(fd);
                    close(fd);
                    if (arch) {
                        sel_entry *e = sel_add(&cc->s);
                        e->rel = xstrdup("");
                        e->src = xstrdup(src);
                        e->origin = O_ARCHIVE;
                        e->st = st;
                        free(link);
                        continue;
                    }
                }
            }
            sel_entry *e = sel_add(&cc->s);
            e->rel = xstrdup(prefix ? prefix : base);
            e->src = xstrdup(src);
            e->origin = cc->fs.view ? O_ROOTFS : O_CTX;
            e->st = st;
            e->linkname = link;
            e->node = node;
            e->target_is_file = !prefix;
        }
        cb_strv_free(&matches);
    }
    return 0;
}

static int setup_sources(copy_ctx *cc, bool need_view, cb_err *err)
{
    const df_cmd *cmd = cc->cmd;
    memset(&cc->fs, 0, sizeof cc->fs);
    if (cmd->excludes.n) {
        int rc = df_ignore_new((const char *const *)cmd->excludes.v, cmd->excludes.n, &cc->fs.excl, err);
        if (rc < 0)
            return rc;
    }
    if (!cmd->from) {
        cc->fs.ctx = &cc->in->b->ctx;
        return 0;
    }
    if (!need_view)
        return 0;
    const bl_chain *chain;
    const char *key;
    int rc = bl_resolve_from(cc->in->b, cmd->from, cmd->from_stage, &chain, &key, err);
    if (rc < 0)
        return rc;
    cb_strv_init(&cc->from_images);
    if ((rc = bl_chain_images(cc->in->b->st, chain, &cc->from_images, err)) < 0)
        return rc;
    if ((rc = bl_rootfs_open(&cc->from_images, &cc->from_view, err)) < 0)
        return rc;
    cc->fs.view = cc->from_view;
    return 0;
}

static void copy_ctx_free(copy_ctx *cc)
{
    sel_free(&cc->s);
    bl_rootfs_free(cc->from_view);
    cb_strv_free(&cc->from_images);
    df_ignore_free(cc->fs.excl);
    for (size_t i = 0; i < cc->tmpfiles.n; i++)
        unlink(cc->tmpfiles.v[i]);
    cb_strv_free(&cc->tmpfiles);
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

static void hash_str(cb_sha256 *h, const char *tag, const char *s)
{
    cb_sha256_update(h, tag, strlen(tag));
    cb_sha256_update(h, "=", 1);
    if (s)
        cb_sha256_update(h, s, strlen(s) + 1);
    else
        cb_sha256_update(h, "\xff", 1);
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
    hash_str(h, "op", op ? op : keyword(cc));
    hash_str(h, "parent", in->parent_key);
    hash_str(h, "workdir", in->config->working_dir);
    for (size_t i = 0; i < in->cmd->args.n; i++)
        hash_str(h, "arg", in->cmd->args.v[i]);
    hash_str(h, "chown", in->cmd->chown);
    hash_str(h, "chmod", in->cmd->chmod);
    if (checksum)
        hash_str(h, "checksum", in->cmd->checksum);
    hash_str(h, "link", in->cmd->link ? "1" : "0");
    hash_str(h, "parents", in->cmd->parents ? "1" : "0");
    for (size_t i = 0; i < in->cmd->excludes.n; i++)
        hash_str(h, "exclude", in->cmd->excludes.v[i]);
    return h;
}

/* COPY --from's second key: the content of what it selects in the source filesystem (path,
 * type, mode, owner, size, bytes, link target) instead of the source stage's key, so a
 * rebuilt stage with identical output keeps the COPY cached, as BuildKit does. */
int bl_copy_content_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    copy_ctx cc;
    cb_sha256 *h = copy_key_begin(in, &cc, in->cmd->kind == DF_CMD_ADD ? "ADD-from-content" : "COPY-from-content",
                                  false);
    int rc = setup_sources(&cc, true, err);
    if (rc == 0)
        rc = select_sources(&cc, err);
    for (size_t i = 0; rc == 0 && i < cc.s.n; i++) {
        sel_entry *e = &cc.s.v[i];
        char meta[128];
        snprintf(meta, sizeof meta, "%o %u:%u %lld", (unsigned)e->st.st_mode, (unsigned)e->st.st_uid,
                 (unsigned)e->st.st_gid, (long long)(S_ISREG(e->st.st_mode) ? e->st.st_size : 0));
        hash_str(h, "path", e->rel);
        hash_str(h, "src", e->src);
        hash_str(h, "meta", meta);
        hash_str(h, "link", e->linkname);
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
    copy_ctx_free(&cc);
    if (rc < 0) {
        cb_sha256_free(h);
        return rc;
    }
    cb_sha256_final(h, key);
    return 0;
}

int bl_copy_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    copy_ctx cc;
    cb_sha256 *h = copy_key_begin(in, &cc, NULL, true);
    int rc = setup_sources(&cc, false, err);
    if (rc == 0 && in->cmd->from) {
        const bl_chain *chain;
        const char *fkey;
        rc = bl_resolve_from(in->b, in->cmd->from, in->cmd->from_stage, &chain, &fkey, err);
        if (rc == 0)
            hash_str(h, "from", fkey);
        /* sources from another stage are keyed by that stage's key: no walk needed */
        for (size_t i = 0; rc == 0 && i < in->cmd->n_inline_files; i++)
            hash_str(h, "heredoc", in->cmd->inline_files[i].content);
    } else if (rc == 0) {
        rc = select_sources(&cc, err);
        uint64_t nbytes = 0;
        for (size_t i = 0; rc == 0 && i < cc.s.n; i++) {
            sel_entry *e = &cc.s.v[i];
            char meta[96];
            /* content and metadata, never mtimes: a touched file keeps the cache */
            snprintf(meta, sizeof meta, "%o %lld", (unsigned)e->st.st_mode,
                     (long long)(S_ISREG(e->st.st_mode) ? e->st.st_size : 0));
            hash_str(h, "path", e->rel);
            hash_str(h, "src", e->src);
            hash_str(h, "meta", meta);
            hash_str(h, "link", e->linkname);
            if (e->origin == O_BUF)
                cb_sha256_update(h, e->data, e->len);
            else if (S_ISREG(e->st.st_mode)) {
                int fd = -1;
                if (e->origin == O_FILE) {
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
    copy_ctx_free(&cc);
    if (rc < 0) {
        cb_sha256_free(h);
        return rc;
    }
    cb_sha256_final(h, key);
    return 0;
}

/* ---------- execution ---------- */

typedef struct placed {
    char *path;   /* absolute, clean, in the image */
    sel_entry *e; /* NULL for archive members (handled apart) */
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const char *x = ((const placed *)a)->path, *y = ((const placed *)b)->path;
    /* parents before children: compare with '/' as the smallest byte */
    for (;; x++, y++) {
        unsigned char cx = *x == '/' ? 1 : (unsigned char)*x, cy = *y == '/' ? 1 : (unsigned char)*y;
        if (cx != cy || !cx)
            return (int)cx - (int)cy;
    }
}

static int parse_chmod(const char *s, mode_t *out, cb_err *err)
{
    char *end;
    unsigned long v = strtoul(s, &end, 8);
    if (!*s || *end || v > 07777)
        return cb_fail(err,
                       "invalid chmod parameter: '%s'. it should be octal string and between 0 and 07777", s);
    *out = (mode_t)v;
    return 0;
}

static int add_entry(bl_layer_out *lo, copy_ctx *cc, bl_rootfs *view, const char *path, const struct stat *st,
                     const char *linkname, int fd, const void *buf, uint32_t uid, uint32_t gid,
                     bool chmod_set, mode_t chmod, cb_strv *done, cb_err *err)
{
    (void)cc;
    int rc = bl_layer_out_parents(lo, view, path, uid, gid, done, err);
    if (rc < 0)
        return rc;
    oci_tar_entry te = {.path = path + 1,
                        .mode = st->st_mode,
                        .uid = uid,
                        .gid = gid,
                        .size = S_ISREG(st->st_mode) ? st->st_size : 0,
                        .mtime = st->st_mtim,
                        .linkname = linkname,
                        .rdev = st->st_rdev};
    if (chmod_set && !S_ISLNK(st->st_mode))
        te.mode = (st->st_mode & S_IFMT) | chmod;
    if (S_ISDIR(st->st_mode)) {
        if (cb_strv_contains(done, path))
            return 0;
        cb_strv_push(done, path);
    }
    return bl_layer_out_add(lo, &te, fd, buf, err);
}

/* Extract an archive (ADD) below dest. Members keep their owners unless --chown. */
static int add_archive(bl_layer_out *lo, copy_ctx *cc, bl_rootfs *view, const char *dest, int fd,
                       bool chown_set, uint32_t uid, uint32_t gid, cb_strv *done, cb_err *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    int rc = 0;
    /* declared before the first goto: a jump must not bypass a cleanup variable */
    cleanup_free char *tmp = bl_step_tmp(cc->in->b, "member");
    if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
        rc = cb_fail(err, "%s", archive_error_string(a));
        goto out;
    }
    struct archive_entry *ae;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        cleanup_free char *joined = xasprintf("%s/%s", dest, archive_entry_pathname(ae));
        cleanup_free char *path = bl_path_clean(joined);
        if (!strcmp(path, "/") || !cb_str_has_prefix(path, dest))
            continue;
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_mode = archive_entry_mode(ae);
        st.st_size = archive_entry_size(ae);
        st.st_mtim.tv_sec = archive_entry_mtime(ae);
        st.st_mtim.tv_nsec = archive_entry_mtime_nsec(ae);
        st.st_rdev = archive_entry_rdev(ae);
        uint32_t u = chown_set ? uid : (uint32_t)archive_entry_uid(ae);
        uint32_t g = chown_set ? gid : (uint32_t)archive_entry_gid(ae);
        const char *hl = archive_entry_hardlink(ae);
        if (hl) {
            cleanup_free char *hj = xasprintf("%s/%s", dest, hl);
            cleanup_free char *hp = bl_path_clean(hj);
            oci_tar_entry te = {
                .path = path + 1, .mode = S_IFREG | 0644, .linkname = hp + 1, .hardlink = true};
            if ((rc = bl_layer_out_parents(lo, view, path, u, g, done, err)) < 0 ||
                (rc = bl_layer_out_add(lo, &te, -1, NULL, err)) < 0)
                goto out;
            continue;
        }
        int dfd = -1;
        if (S_ISREG(st.st_mode)) {
            dfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (dfd < 0) {
                rc = cb_error(err, errno, "create %s", tmp);
                goto out;
            }
            if (archive_read_data_into_fd(a, dfd) != ARCHIVE_OK) {
                close(dfd);
                rc = cb_fail(err, "%s", archive_error_string(a));
                goto out;
            }
            lseek(dfd, 0, SEEK_SET);
        }
        rc = add_entry(lo, cc, view, path, &st, archive_entry_symlink(ae), dfd, NULL, u, g, false, 0, done,
                       err);
        if (dfd >= 0)
            close(dfd);
        if (rc < 0)
            goto out;
    }
    if (r != ARCHIVE_EOF)
        rc = cb_fail(err, "%s", archive_error_string(a));
out:
    unlink(tmp);
    archive_read_free(a);
    return rc;
}

int bl_copy_exec(bl_exec_in *in, bl_layer *out, cb_err *err)
{
    copy_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.in = in;
    cc.cmd = in->cmd;
    cc.add = in->cmd->kind == DF_CMD_ADD;
    cb_strv_init(&cc.tmpfiles);
    cb_strv images, done;
    cb_strv_init(&images);
    cb_strv_init(&done);
    bl_rootfs *view = NULL;
    placed *pl = NULL;
    size_t npl = 0;
    bl_layer_out lo;
    bool lo_open = false;
    /* declared before the first goto: a jump must not bypass a cleanup variable */
    cleanup_free char *joined = NULL;
    cleanup_free char *dest = NULL;
    int rc = setup_sources(&cc, true, err);
    if (rc == 0)
        rc = select_sources(&cc, err);
    /* the destination image (scratch for --link: it is merged on top, like BuildKit) */
    if (rc == 0 && !in->cmd->link && (rc = bl_chain_images(in->b->st, in->chain, &images, err)) == 0)
        rc = bl_rootfs_open(&images, &view, err);
    uint32_t uid = 0, gid = 0;
    bool chown_set = in->cmd->chown && *in->cmd->chown;
    if (rc == 0 && chown_set) {
        if (view) {
            rc = bl_rootfs_resolve_user(view, in->cmd->chown, &uid, &gid, err);
        } else {
            /* --link: names come from the image below all the same */
            bl_rootfs *v2 = NULL;
            cb_strv im2;
            cb_strv_init(&im2);
            rc = bl_chain_images(in->b->st, in->chain, &im2, err);
            if (rc == 0)
                rc = bl_rootfs_open(&im2, &v2, err);
            if (rc == 0)
                rc = bl_rootfs_resolve_user(v2, in->cmd->chown, &uid, &gid, err);
            bl_rootfs_free(v2);
            cb_strv_free(&im2);
        }
    }
    mode_t chmod = 0;
    bool chmod_set = in->cmd->chmod && *in->cmd->chmod;
    if (rc == 0 && chmod_set)
        rc = parse_chmod(in->cmd->chmod, &chmod, err);
    if (rc < 0)
        goto out;

    /* destination: relative to WORKDIR; a trailing slash (or ".") makes it a directory */
    const char *dest_arg = in->cmd->args.v[in->cmd->args.n - 1];
    size_t dl = strlen(dest_arg);
    bool dest_dir =
        dl == 0 || dest_arg[dl - 1] == '/' || !strcmp(dest_arg, ".") || cb_str_has_suffix(dest_arg, "/.");
    joined = dest_arg[0] == '/'
                 ? xstrdup(dest_arg)
                 : xasprintf("%s/%s", in->config->working_dir ? in->config->working_dir : "/", dest_arg);
    dest = bl_path_clean(joined);
    if (view) {
        /* symlinks in the destination resolve inside the image, as BuildKit does */
        char *res = NULL;
        bl_node dn;
        cb_err e;
        int r2 = bl_rootfs_resolve(view, dest, true, &res, &dn, &e);
        if (r2 == 0 && S_ISDIR(dn.st.mode))
            dest_dir = true;
        if (res) {
            free(dest);
            dest = res;
        }
    }
    if (in->cmd->args.n + in->cmd->n_inline_files > 2 && !dest_dir) {
        rc = cb_fail(err,
                     "When using %s with more than one source file, the destination must be a directory and "
                     "end with a /",
                     keyword(&cc));
        goto out;
    }
    pl = xcalloc(cc.s.n ? cc.s.n : 1, sizeof *pl);
    for (size_t i = 0; i < cc.s.n; i++) {
        sel_entry *e = &cc.s.v[i];
        char *p;
        if (e->origin == O_ARCHIVE)
            p = xstrdup(dest);
        else if (e->target_is_file && !dest_dir)
            p = xstrdup(dest);
        else
            p = *e->rel ? xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", e->rel) : xstrdup(dest);
        pl[npl].path = bl_path_clean(p);
        free(p);
        pl[npl].e = e;
        npl++;
    }
    qsort(pl, npl, sizeof *pl, cmp_placed);

    if ((rc = bl_layer_out_open(in->b, &lo, err)) < 0)
        goto out;
    lo_open = true;
    /* a directory target exists even when nothing is copied into it */
    if (dest_dir || npl == 0) {
        struct stat dst;
        memset(&dst, 0, sizeof dst);
        bl_node dn;
        cb_err e;
        if (view && bl_rootfs_lookup(view, dest, &dn, &e) == 0 && S_ISDIR(dn.st.mode)) {
            stat_from_ext4(&dn.st, &dst);
            rc = add_entry(&lo, &cc, view, dest, &dst, NULL, -1, NULL, dn.st.uid, dn.st.gid, false, 0, &done,
                           err);
        } else if (strcmp(dest, "/")) {
            dst.st_mode = S_IFDIR | 0755;
            dst.st_mtim.tv_sec = in->b->epoch >= 0 ? in->b->epoch : bl_now();
            rc = add_entry(&lo, &cc, view, dest, &dst, NULL, -1, NULL, uid, gid, false, 0, &done, err);
        }
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < npl && rc == 0; i++) {
        sel_entry *e = pl[i].e;
        if (i + 1 < npl && !strcmp(pl[i].path, pl[i + 1].path) && pl[i + 1].e->origin != O_ARCHIVE &&
            e->origin != O_ARCHIVE && !S_ISDIR(e->st.st_mode))
            continue; /* a later source replaces an earlier one at the same path */
        int fd = -1;
        if (e->origin == O_ARCHIVE) {
            if ((rc = bl_context_open_file(&in->b->ctx, e->src, &fd, err)) == 0) {
                rc = add_archive(&lo, &cc, view, pl[i].path, fd, chown_set, uid, gid, &done, err);
                close(fd);
            }
            continue;
        }
        if (S_ISREG(e->st.st_mode)) {
            if (e->origin == O_CTX) {
                rc = bl_context_open_file(&in->b->ctx, e->src, &fd, err);
            } else if (e->origin == O_FILE) {
                fd = open(e->file, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                    rc = cb_error(err, errno, "open %s", e->file);
            } else if (e->origin == O_ROOTFS) {
                cleanup_free char *tmp = bl_step_tmp(in->b, "from");
                fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                    rc = cb_error(err, errno, "create %s", tmp);
                else {
                    unlink(tmp);
                    rc = bl_rootfs_copy_to_fd(cc.from_view, &e->node, fd, err);
                    lseek(fd, 0, SEEK_SET);
                }
            }
            if (rc < 0)
                break;
            struct stat cur;
            /* the size written is what is read now (a file may change between key and copy) */
            if (fd >= 0 && fstat(fd, &cur) == 0 && S_ISREG(cur.st_mode))
                e->st.st_size = cur.st_size;
        }
        /* context files belong to root (or --chown); --from files keep their owners */
        uint32_t u = chown_set ? uid : e->origin == O_ROOTFS ? (uint32_t)e->st.st_uid : 0;
        uint32_t g = chown_set ? gid : e->origin == O_ROOTFS ? (uint32_t)e->st.st_gid : 0;
        rc = add_entry(&lo, &cc, view, pl[i].path, &e->st, e->linkname, fd,
                       e->origin == O_BUF ? e->data : NULL, u, g, chmod_set, chmod, &done, err);
        if (fd >= 0)
            close(fd);
    }
    if (rc < 0)
        goto out;
    rc = bl_layer_out_commit(&lo, out, err);
    lo_open = false;
out:
    if (lo_open)
        bl_layer_out_abort(&lo);
    for (size_t i = 0; i < npl; i++)
        free(pl[i].path);
    free(pl);
    bl_rootfs_free(view);
    cb_strv_free(&images);
    cb_strv_free(&done);
    copy_ctx_free(&cc);
    return rc;
}

/* WORKDIR creates its directory (and parents) owned by the stage's USER, like BuildKit's
 * Mkdir file op; the layer is empty when it exists already. */
int bl_workdir_exec(bl_exec_in *in, const char *dir, bl_layer *out, cb_err *err)
{
    cb_strv images, done;
    cb_strv_init(&images);
    cb_strv_init(&done);
    bl_rootfs *view = NULL;
    int rc = bl_chain_images(in->b->st, in->chain, &images, err);
    if (rc == 0)
        rc = bl_rootfs_open(&images, &view, err);
    uint32_t uid = 0, gid = 0;
    if (rc == 0 && in->config->user && *in->config->user)
        rc = bl_rootfs_resolve_user(view, in->config->user, &uid, &gid, err);
    bl_layer_out lo;
    if (rc == 0)
        rc = bl_layer_out_open(in->b, &lo, err);
    if (rc == 0) {
        char *res = NULL;
        bl_node n;
        cb_err e;
        int r2 = bl_rootfs_resolve(view, dir, true, &res, &n, &e);
        if (r2 == -ENOENT && res) {
            cleanup_free char *child = xasprintf("%s/x", res);
            rc = bl_layer_out_parents(&lo, view, child, uid, gid, &done, err);
        }
        free(res);
        if (rc == 0)
            rc = bl_layer_out_commit(&lo, out, err);
        else
            bl_layer_out_abort(&lo);
    }
    bl_rootfs_free(view);
    cb_strv_free(&images);
    cb_strv_free(&done);
    return rc;
}
