/* Build context: a directory, a tar on stdin ("-"), a URL (context-url.c), or a Dockerfile on
 * stdin (`-f -`, or "-" with no tar). .dockerignore (or <Dockerfile>.dockerignore) is honoured. Files are read
 * only when a COPY/ADD selects them, and always through openat2(RESOLVE_IN_ROOT) so no
 * symlink leads out of the context. */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_fd_all(int fd, cb_buf *out)
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
        cb_buf_append(out, buf, (size_t)k);
    }
}

static bool looks_like_tar(const cb_buf *data)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    bool ok = false;
    if (archive_read_open_memory(a, data->data, data->len) == ARCHIVE_OK) {
        struct archive_entry *e;
        ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
    }
    archive_read_free(a);
    return ok;
}

static int extract_tar(const cb_buf *data, const char *dest, cb_err *err)
{
    return store_tar_extract_mem(data->data, data->len, "build context on stdin", dest, 0, err);
}

static int load_ignore(bl_context *c, const char *path, cb_err *err)
{
    cb_buf data;
    cb_buf_init(&data);
    cb_err e;
    if (cb_read_file(path, &data, &e) < 0) {
        cb_buf_free(&data);
        return 1; /* absent */
    }
    cb_strv pats;
    cb_strv_init(&pats);
    df_ignore_read(data.data ? data.data : "", data.len, &pats);
    int rc = df_ignore_new((const char *const *)pats.v, pats.n, &c->ignore, err);
    if (rc < 0)
        cb_error_wrap(err, "%s", path);
    cb_strv_free(&pats);
    cb_buf_free(&data);
    c->ignore_name = xstrdup(path);
    return rc;
}

int bl_context_open(const char *context, const char *dockerfile, const char *tmpdir, const char *ssh_sock,
                    bl_context *c, cb_err *err)
{
    memset(c, 0, sizeof *c);
    c->dirfd = -1;
    c->epoch = -1;
    cb_buf_init(&c->dockerfile);
    pthread_mutex_init(&c->lock, NULL);
    int rc = 0;
    if (!strcmp(context, "-")) {
        if (dockerfile && !strcmp(dockerfile, "-"))
            return cb_fail(err, "invalid argument: can't use stdin for both build context and dockerfile");
        cb_buf in;
        cb_buf_init(&in);
        if ((rc = read_fd_all(0, &in)) < 0) {
            cb_buf_free(&in);
            return cb_error(err, -rc, "reading the build context from stdin");
        }
        if (in.len && looks_like_tar(&in)) {
            c->dir = xasprintf("%s/context", tmpdir);
            c->dir_is_temp = true;
            rc = extract_tar(&in, c->dir, err);
            cb_buf_free(&in);
            if (rc < 0)
                return rc;
        } else {
            /* `cbuild build - < Dockerfile`: no context at all */
            c->dockerfile = in;
            c->dockerfile_name = xstrdup("Dockerfile");
            return 0;
        }
    } else if (bl_context_is_url(context)) {
        if (dockerfile && !strcmp(dockerfile, "-"))
            return cb_fail(err, "invalid argument: can't use stdin for the Dockerfile of a URL context");
        if ((rc = bl_context_fetch_url(c, context, tmpdir, ssh_sock, err)) < 0)
            return rc;
        if (!c->dir) {
            c->dockerfile_name = xstrdup("Dockerfile");
            return 0;
        }
    } else {
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(context, real) || stat(real, &st) < 0)
            return cb_failc(err, ENOENT, "unable to prepare context: path \"%s\" not found", context);
        if (!S_ISDIR(st.st_mode))
            return cb_fail(err, "unable to prepare context: path \"%s\" is not a directory", context);
        c->dir = xstrdup(real);
    }
    c->dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0)
        return cb_error(err, errno, "open build context %s", c->dir);

    cleanup_free char *dfpath = NULL;
    if (dockerfile && !strcmp(dockerfile, "-")) {
        if ((rc = read_fd_all(0, &c->dockerfile)) < 0)
            return cb_error(err, -rc, "reading the Dockerfile from stdin");
        c->dockerfile_name = xstrdup("Dockerfile");
    } else {
        if (!dockerfile) {
            dfpath = cb_path_join(c->dir, "Dockerfile");
            if (!cb_path_exists(dfpath)) {
                cleanup_free char *lower = cb_path_join(c->dir, "dockerfile");
                if (cb_path_exists(lower)) {
                    free(dfpath);
                    dfpath = xstrdup(lower);
                }
            }
        } else if ((!strcmp(context, "-") || bl_context_is_url(context)) && dockerfile[0] != '/') {
            dfpath = cb_path_join(c->dir, dockerfile);
        } else {
            dfpath = xstrdup(dockerfile);
        }
        if (cb_read_file(dfpath, &c->dockerfile, err) < 0)
            return cb_failc(err, ENOENT, "failed to read dockerfile: open %s: no such file or directory",
                            dockerfile ? dockerfile : "Dockerfile");
        const char *base = strrchr(dfpath, '/');
        c->dockerfile_name = xstrdup(base ? base + 1 : dfpath);
    }
    /* <Dockerfile>.dockerignore beside the Dockerfile wins over <context>/.dockerignore */
    if (dfpath) {
        cleanup_free char *specific = xasprintf("%s.dockerignore", dfpath);
        rc = load_ignore(c, specific, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
    }
    cleanup_free char *gen = cb_path_join(c->dir, ".dockerignore");
    rc = load_ignore(c, gen, err);
    return rc < 0 ? rc : 0;
}

int bl_context_open_dir(const char *dir, bl_context *c, cb_err *err)
{
    memset(c, 0, sizeof *c);
    c->dirfd = -1;
    c->epoch = -1;
    cb_buf_init(&c->dockerfile);
    pthread_mutex_init(&c->lock, NULL);
    c->dir = xstrdup(dir);
    c->dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0)
        return cb_error(err, errno, "open build context %s", c->dir);
    cleanup_free char *gen = cb_path_join(c->dir, ".dockerignore");
    int rc = load_ignore(c, gen, err);
    return rc < 0 ? rc : 0;
}

void bl_context_close(bl_context *c)
{
    if (c->dirfd >= 0)
        close(c->dirfd);
    if (c->dir_is_temp && c->dir) {
        cb_err e;
        cb_rm_rf(c->dir, &e);
    }
    free(c->dir);
    free(c->url);
    df_ignore_free(c->ignore);
    free(c->dockerfile_name);
    free(c->ignore_name);
    cb_buf_free(&c->dockerfile);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
    c->dirfd = -1;
}

/* Pop the last component of a canonical relative path ("" is the root). */
static void path_pop(cb_buf *cur)
{
    char *sl = cur->data ? strrchr(cur->data, '/') : NULL;
    size_t keep = sl ? (size_t)(sl - cur->data) : 0;
    cur->len = keep;
    if (cur->data)
        cur->data[keep] = 0;
}

/* The context a step sees is the context after .dockerignore: BuildKit never transfers an
 * ignored file, so a symlink that leads to one (x.conf -> .env) resolves to nothing. Symlinks
 * are resolved here, inside the root; a symlink that is itself ignored, or a resolved path
 * that is, is -ENOENT. *out gets the canonical path ("" = root). */
int bl_context_resolve(bl_context *c, const char *rel, bool follow, char **out)
{
    *out = NULL;
    cb_buf cur, todo;
    cb_buf_init(&cur);
    cb_buf_init(&todo);
    cb_buf_puts(&cur, "");
    cb_buf_puts(&todo, rel);
    int links = 0, rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos < todo.len) {
        const char *s = todo.data + pos;
        const char *sl = strchr(s, '/');
        size_t n = sl ? (size_t)(sl - s) : strlen(s);
        pos += n + (sl ? 1 : 0);
        bool last = pos >= todo.len;
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            path_pop(&cur);
            continue;
        }
        size_t before = cur.len;
        if (cur.len)
            cb_buf_putc(&cur, '/');
        cb_buf_append(&cur, s, n);
        struct stat st;
        if (fstatat(c->dirfd, cur.data, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode) || (last && !follow))
            continue;
        if ((c->ignore && df_ignore_matches(c->ignore, cur.data)) || ++links > 40) {
            rc = links > 40 ? -ELOOP : -ENOENT;
            break;
        }
        char target[PATH_MAX];
        ssize_t k = readlinkat(c->dirfd, cur.data, target, sizeof target - 1);
        if (k < 0) {
            rc = -errno;
            break;
        }
        target[k] = 0;
        cur.len = before;
        cur.data[before] = 0;
        if (target[0] == '/') {
            cb_buf_reset(&cur);
            cb_buf_puts(&cur, "");
        }
        cb_buf rest;
        cb_buf_init(&rest);
        cb_buf_printf(&rest, "%s/%s", target, todo.data + pos);
        cb_buf_free(&todo);
        todo = rest;
        pos = 0;
    }
    /* reached through a symlink: the ignored target is not in the context (a plain ignored
     * path is the walker's and the COPY's business: re-included children, its own message) */
    if (rc == 0 && links > 0 && cur.len && c->ignore && df_ignore_matches(c->ignore, cur.data))
        rc = -ENOENT;
    cb_buf_free(&todo);
    *out = cb_buf_steal(&cur);
    return rc;
}

int bl_context_openat(bl_context *c, const char *rel, int flags, int *fd, cb_err *err)
{
    if (c->dirfd < 0)
        return cb_failc(err, ENOENT, "no build context: %s not found", rel);
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    cleanup_free char *canon = NULL;
    if (c->ignore) {
        int rc = bl_context_resolve(c, rel, !(flags & O_NOFOLLOW), &canon);
        if (rc < 0)
            return rc;
        rel = canon;
    }
    const char *p = rel;
    while (*p == '/')
        p++;
    if (!*p)
        p = ".";
    long r = syscall(SYS_openat2, c->dirfd, p, &how, sizeof how);
    if (r < 0)
        return -errno;
    *fd = (int)r;
    return 0;
}

int bl_context_open_file(bl_context *c, const char *rel, int *fd, cb_err *err)
{
    int rc = bl_context_openat(c, rel, O_RDONLY, fd, err);
    if (rc < 0)
        return cb_error(err, -rc, "open %s in the build context", rel);
    return 0;
}

/* Walk the context below rel in directory order (.dockerignore applied; an excluded directory
 * is still visited, flagged, when an exception may re-include something below it). */
int bl_context_walk(bl_context *c, const char *rel, bl_context_visit_fn fn, void *ud, cb_err *err)
{
    int fd;
    int rc = bl_context_openat(c, *rel ? rel : ".", O_RDONLY | O_DIRECTORY, &fd, err);
    if (rc < 0)
        return *rel ? 0 : cb_error(err, -rc, "open %s in the build context", *rel ? rel : ".");
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return cb_error(err, errno, "opendir %s", rel);
    }
    cb_strv names;
    cb_strv_init(&names);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            cb_strv_push(&names, de->d_name);
    int dfd = dirfd(d);
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        cleanup_free char *p = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
        bool excluded = false, below = true;
        if (c->ignore)
            df_ignore_dir(c->ignore, p, &excluded, &below);
        struct stat st;
        if (fstatat(dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (excluded && !(S_ISDIR(st.st_mode) && below))
            continue;
        int ffd = -1;
        char link[4096];
        bool has_link = false;
        if (S_ISREG(st.st_mode)) {
            ffd = openat(dfd, names.v[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        } else if (S_ISLNK(st.st_mode)) {
            ssize_t k = readlinkat(dfd, names.v[i], link, sizeof link - 1);
            if (k >= 0) {
                link[k] = 0;
                has_link = true;
            }
        }
        rc = fn(ud, p, &st, excluded, ffd, has_link ? link : NULL, err);
        if (ffd >= 0)
            close(ffd);
        if (rc == BL_WALK_SKIP) {
            rc = 0;
            continue;
        }
        if (rc == 0 && S_ISDIR(st.st_mode))
            rc = bl_context_walk(c, p, fn, ud, err);
    }
    cb_strv_free(&names);
    closedir(d);
    return rc;
}
