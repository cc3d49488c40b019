/* COPY/ADD source selection: globs, lookups in the context (confined to it, .dockerignore
 * applied) or in a --from image view, directory walks, --exclude, ADD archive detection. */
#include "attest.h"
#include "copy.h"
#include "internal.h"
#include "git.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sel_entry *bl_sel_add(sel *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    sel_entry *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void bl_sel_free(sel *s)
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

void bl_stat_from_ext4(const ext4_stat *es, struct stat *st)
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
        bl_stat_from_ext4(&n.st, st);
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

char *bl_join_rel(const char *a, const char *b)
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
    cleanup_free char *dir = bl_join_rel(src, rel);
    int rc = fs_list(fs, dir, &names, err);
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        cleanup_free char *srel = bl_join_rel(dir, names.v[i]);
        cleanup_free char *erel = bl_join_rel(rel, names.v[i]);
        bool excluded = false, below = true;
        if (fs->ctx && fs->ctx->ignore)
            df_ignore_dir(fs->ctx->ignore, srel, &excluded, &below);
        if (fs->excl && (df_ignore_matches(fs->excl, erel) || df_ignore_matches(fs->excl, srel)))
            continue;
        struct stat st;
        char *link = NULL;
        bl_node node;
        memset(&node, 0, sizeof node);
        int sr = fs_stat(fs, srel, false, &st, &link, &node);
        if (sr < 0) { /* vanished meanwhile, or unreadable: BuildKit fails too */
            rc = cb_error(err, -sr, "lstat /%s", srel);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (!excluded) {
                sel_entry *e = bl_sel_add(out);
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
        sel_entry *e = bl_sel_add(out);
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

/* "**" (as patternmatcher in --parents patterns): dir itself and every directory below it. */
static void glob_descend(srcfs *fs, const char *dir, cb_strv *out)
{
    cb_strv_push(out, dir);
    cb_strv names;
    cb_strv_init(&names);
    cb_err e;
    if (fs_list(fs, dir, &names, &e) == 0)
        for (size_t j = 0; j < names.n; j++) {
            cleanup_free char *p = bl_join_rel(dir, names.v[j]);
            struct stat st;
            if (!ctx_ignored(fs, p) && fs_stat(fs, p, false, &st, NULL, NULL) == 0 && S_ISDIR(st.st_mode))
                glob_descend(fs, p, out);
        }
    cb_strv_free(&names);
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
                cleanup_free char *p = bl_join_rel(cur.v[i], comps.v[k]);
                struct stat st;
                if (fs_stat(fs, p, true, &st, NULL, NULL) == 0 && !ctx_ignored(fs, p))
                    cb_strv_push(&next, p);
                continue;
            }
            struct stat st;
            if (*cur.v[i] && (fs_stat(fs, cur.v[i], true, &st, NULL, NULL) < 0 || !S_ISDIR(st.st_mode)))
                continue;
            if (!strcmp(comps.v[k], "**")) {
                glob_descend(fs, cur.v[i], &next);
                continue;
            }
            cb_strv names;
            cb_strv_init(&names);
            cb_err e;
            if (fs_list(fs, cur.v[i], &names, &e) == 0)
                for (size_t j = 0; j < names.n; j++)
                    if (fnmatch(comps.v[k], names.v[j], 0) == 0) {
                        cleanup_free char *p = bl_join_rel(cur.v[i], names.v[j]);
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

struct archive *bl_add_archive_reader(void)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    return a;
}

bool bl_copy_is_archive_fd(int fd)
{
    struct archive *a = bl_add_archive_reader();
    bool ok = false;
    if (archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK) {
        struct archive_entry *e;
        ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
    }
    archive_read_free(a);
    lseek(fd, 0, SEEK_SET);
    return ok;
}

/* A directory source: its contents (not itself), under --parents' prefix when there is one. */
static int select_dir(copy_ctx *cc, const char *src, const char *prefix, const struct stat *st,
                      const bl_node *node, cb_err *err)
{
    size_t first = cc->s.n;
    if (prefix && *prefix) {
        sel_entry *e = bl_sel_add(&cc->s);
        e->rel = xstrdup(prefix);
        e->src = xstrdup(src);
        e->origin = cc->fs.view ? O_ROOTFS : O_CTX;
        e->st = *st;
        e->node = *node;
        first = cc->s.n;
    }
    int rc = walk(&cc->fs, src, "", &cc->s, err);
    if (rc < 0)
        return rc;
    if (prefix && *prefix)
        for (size_t k = first; k < cc->s.n; k++) {
            char *r = bl_join_rel(prefix, cc->s.v[k].rel);
            free(cc->s.v[k].rel);
            cc->s.v[k].rel = r;
        }
    return 0;
}

/* A path source: a glob in the context or the --from filesystem, .dockerignore applied,
 * directories walked. */
int bl_copy_select_path(copy_ctx *cc, const char *arg, cb_err *err)
{
    const df_cmd *cmd = cc->cmd;
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
        pattern = bl_join_rel(pivot, pp + 1);
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
                rc = cb_failc(err, ENOENT,
                              "\"/%s\": not found (the target of symlink \"/%s\"; not in the build context%s)", to,
                              src, cc->fs.ctx->ignore ? " or excluded by .dockerignore" : "");
            else
                rc = cb_failc(err, ENOENT, "\"/%s\": not found (not in the build context%s)", src,
                              cc->fs.ctx && cc->fs.ctx->ignore ? " or excluded by .dockerignore" : "");
            cb_strv_free(&matches);
            return rc;
        }
        /* --parents keeps the source's path (below the pivot) under the destination */
        cleanup_free char *prefix = NULL;
        if (cmd->parents) {
            /* the pivot may hold globs (x/b?/./c): skip as many elements as it has */
            const char *p = src;
            for (const char *q = pivot && *pivot ? pivot : NULL; q && *p; q = strchr(q + 1, '/')) {
                const char *sl = strchr(p, '/');
                p = sl ? sl + 1 : p + strlen(p);
            }
            prefix = xstrdup(p);
        }
        if (S_ISDIR(st.st_mode)) {
            free(link);
            if ((rc = select_dir(cc, src, prefix, &st, &node, err)) < 0) {
                cb_strv_free(&matches);
                return rc;
            }
            continue;
        }
        const char *base = strrchr(src, '/');
        base = base ? base + 1 : src;
        /* ADD: a local tar archive is extracted into the destination */
        if (cc->add && cc->cmd->unpack != 0 && S_ISREG(st.st_mode) && cc->fs.ctx && !cc->fs.view) {
            int fd;
            cb_err e2;
            if (bl_context_open_file(cc->fs.ctx, src, &fd, &e2) == 0) {
                bool arch = bl_copy_is_archive_fd(fd);
                close(fd);
                if (arch) {
                    sel_entry *e = bl_sel_add(&cc->s);
                    e->rel = xstrdup("");
                    e->src = xstrdup(src);
                    e->origin = O_ARCHIVE;
                    e->st = st;
                    free(link);
                    continue;
                }
            }
        }
        sel_entry *e = bl_sel_add(&cc->s);
        e->rel = xstrdup(prefix ? prefix : base);
        e->src = xstrdup(src);
        e->origin = cc->fs.view ? O_ROOTFS : O_CTX;
        e->st = st;
        e->linkname = link;
        e->node = node;
        e->target_is_file = !prefix;
    }
    cb_strv_free(&matches);
    /* a socket in the context arrives as an empty regular file (BuildKit's context transfer) */
    for (size_t i = 0; i < cc->s.n; i++) {
        sel_entry *e = &cc->s.v[i];
        if (e->origin == O_CTX && S_ISSOCK(e->st.st_mode)) {
            e->origin = O_BUF;
            e->data = xstrdup("");
            e->len = 0;
            e->st.st_mode = S_IFREG | (e->st.st_mode & 07777);
            e->st.st_size = 0;
        }
    }
    return 0;
}

int bl_copy_sources_open(copy_ctx *cc, bool need_view, cb_err *err)
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
    int rc = bl_resolve_from(cc->in, cmd->from, cmd->from_stage, &chain, &key, err);
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

void bl_copy_ctx_free(copy_ctx *cc)
{
    bl_sel_free(&cc->s);
    bl_rootfs_free(cc->from_view);
    cb_strv_free(&cc->from_images);
    df_ignore_free(cc->fs.excl);
    for (size_t i = 0; i < cc->tmpfiles.n; i++)
        unlink(cc->tmpfiles.v[i]);
    cb_strv_free(&cc->tmpfiles);
    cb_err e;
    for (size_t i = 0; i < cc->tmpdirs.n; i++)
        cb_rm_rf(cc->tmpdirs.v[i], &e);
    cb_strv_free(&cc->tmpdirs);
    cb_strv_free(&cc->source_keys);
}

/* A checkout's tree below dir (rel its path under the copy's target), every entry keyed by
 * the commit rather than by content: a kept .git differs between two checkouts of one commit. */
static int walk_host(const char *dir, const char *rel, sel *out, cb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return cb_error(err, errno, "opendir %s", dir);
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *path = cb_path_join(dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) < 0) {
            rc = cb_error(err, errno, "lstat %s", path);
            break;
        }
        sel_entry *e = bl_sel_add(out);
        e->rel = bl_join_rel(rel, de->d_name);
        e->src = xstrdup(e->rel);
        e->origin = O_FILE;
        e->file = xstrdup(path);
        e->st = st;
        e->source_keyed = true;
        if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t n = readlink(path, buf, sizeof buf - 1);
            e->linkname = xstrndup(buf, n > 0 ? (size_t)n : 0);
        }
        if (S_ISDIR(st.st_mode)) {
            cleanup_free char *sub = xstrdup(e->rel);
            rc = walk_host(path, sub, out, err);
        }
    }
    closedir(d);
    return rc;
}

int bl_copy_select_git(copy_ctx *cc, const char *url, cb_err *err)
{
    bl_git_ref r;
    int rc = bl_git_ref_parse(url, &r, err);
    if (rc < 0)
        return rc;
    if (cc->cmd->checksum && !r.checksum)
        r.checksum = xstrdup(cc->cmd->checksum);
    r.ssh_sock = bl_ssh_socket(cc->in->b, "default");
    bool keep = r.keep_git_dir >= 0 ? r.keep_git_dir == 1 : cc->cmd->keep_git_dir;
    char h[CB_DIGEST_STR_LEN];
    cb_sha256_buf(r.remote, strlen(r.remote), h);
    cleanup_free char *cache = xasprintf("%s/git-cache/%s", cc->in->b->opts->root, strchr(h, ':') + 1);
    char *dest = bl_step_tmp(cc->in->b, "git");
    cb_strv_push_owned(&cc->tmpdirs, dest);
    char commit[BL_GIT_COMMIT_MAX];
    progress_status(cc->in->b->prog, cc->in->progress_id, "fetching %s", r.remote);
    rc = bl_git_checkout(&r, keep, cache, dest, commit, NULL, err);
    cleanup_free char *root = r.subdir ? cb_path_join(dest, r.subdir) : xstrdup(dest);
    struct stat st;
    if (rc == 0 && (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)))
        rc = cb_failc(err, ENOENT, "failed to compute cache key: %s: not a directory in %s", r.subdir, r.remote);
    if (rc == 0) {
        /* the material: remote#ref as BuildKit's git identifier names it */
        cleanup_free char *mu = r.ref ? xasprintf("%s#%s", r.remote, r.ref) : xstrdup(r.remote);
        cleanup_free char *pin = xasprintf("%s:%s", strlen(commit) == 64 ? "sha256" : "sha1", commit);
        bl_attest_note_source(cc->in->b, mu, pin);
        cb_strv_push_owned(&cc->source_keys,
                           xasprintf("%s %s %s %d", r.remote, commit, r.subdir ? r.subdir : "", keep));
        rc = walk_host(root, "", &cc->s, err);
    }
    bl_git_ref_free(&r);
    return rc;
}
