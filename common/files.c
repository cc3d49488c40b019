#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cb_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t cb_read_full(int fd, void *data, size_t n)
{
    char *p = data;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int cb_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int cb_atomic_open(cb_atomic_file *af, const char *path, mode_t mode, cb_err *err)
{
    af->fd = -1;
    af->path = xstrdup(path);
    af->tmp = xasprintf("%s.tmp-%d-XXXXXX", path, (int)getpid());
    af->fd = mkostemp(af->tmp, O_CLOEXEC);
    if (af->fd < 0) {
        int e = errno;
        free(af->path);
        free(af->tmp);
        af->path = af->tmp = NULL;
        return cb_error(err, e, "create temporary file for `%s`", path);
    }
    if (fchmod(af->fd, mode) < 0) {
        int e = errno;
        cb_atomic_abort(af);
        return cb_error(err, e, "chmod temporary file for `%s`", path);
    }
    return 0;
}

int cb_atomic_commit(cb_atomic_file *af, cb_err *err)
{
    if (fsync(af->fd) < 0) {
        int e = errno;
        cb_atomic_abort(af);
        return cb_error(err, e, "fsync `%s`", af->path);
    }
    close(af->fd);
    af->fd = -1;
    if (rename(af->tmp, af->path) < 0) {
        int e = errno;
        cb_atomic_abort(af);
        return cb_error(err, e, "rename into `%s`", af->path);
    }
    char *dir = xstrdup(af->path);
    cb_fsync_dir(dirname(dir));
    free(dir);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
    return 0;
}

void cb_atomic_abort(cb_atomic_file *af)
{
    if (af->fd >= 0)
        close(af->fd);
    af->fd = -1;
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
}

int cb_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, cb_err *err)
{
    cb_atomic_file af;
    int r = cb_atomic_open(&af, path, mode, err);
    if (r < 0)
        return r;
    r = cb_write_all(af.fd, data, n);
    if (r < 0) {
        cb_atomic_abort(&af);
        return cb_error(err, -r, "write `%s`", path);
    }
    return cb_atomic_commit(&af, err);
}

int cb_read_file(const char *path, cb_buf *out, cb_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", path);
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cb_error(err, errno, "read `%s`", path);
        if (r == 0)
            break;
        cb_buf_append(out, buf, (size_t)r);
    }
    if (!out->data)
        cb_buf_append(out, "", 0);
    return 0;
}

int cb_mkdir_p(const char *path, mode_t mode, cb_err *err)
{
    char *p = xstrdup(path);
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] == '/' || p[i] == 0) {
            char c = p[i];
            p[i] = 0;
            if (mkdir(p, mode) < 0 && errno != EEXIST) {
                int e = errno;
                int r = cb_error(err, e, "mkdir `%s`", p);
                free(p);
                return r;
            }
            p[i] = c;
        }
    }
    free(p);
    return 0;
}

static int rm_rf_at(int atfd, const char *name, cb_err *err, const char *top)
{
    struct stat st;
    if (fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : cb_error(err, errno, "stat `%s`", top);
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return cb_error(err, errno, "open `%s`", top);
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return cb_error(err, errno, "opendir `%s`", top);
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            r = rm_rf_at(dirfd(d), de->d_name, err, top);
            if (r < 0)
                break;
        }
        closedir(d);
        if (r < 0)
            return r;
        if (unlinkat(atfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return cb_error(err, errno, "rmdir under `%s`", top);
        return 0;
    }
    if (unlinkat(atfd, name, 0) < 0 && errno != ENOENT)
        return cb_error(err, errno, "unlink under `%s`", top);
    return 0;
}

int cb_rm_rf(const char *path, cb_err *err)
{
    return rm_rf_at(AT_FDCWD, path, err, path);
}

char *cb_path_join(const char *a, const char *b)
{
    if (!a || !*a)
        return xstrdup(b);
    size_t la = strlen(a);
    while (*b == '/')
        b++;
    if (la && a[la - 1] == '/')
        return xasprintf("%s%s", a, b);
    return xasprintf("%s/%s", a, b);
}

bool cb_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int cb_parse_size(const char *s, uint64_t *out, cb_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v))
        return cb_fail(err, "invalid size `%s` (expected a number with an optional K, M, G or T suffix)", s);
    double mult = 1;
    char u = (char)(*end | 0x20);
    if (*end) {
        switch (u) {
        case 'b': mult = 1; break;
        case 'k': mult = 1024.0; break;
        case 'm': mult = 1024.0 * 1024; break;
        case 'g': mult = 1024.0 * 1024 * 1024; break;
        case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
        default:
            return cb_fail(err, "invalid size `%s`: unknown unit `%s`", s, end);
        }
        end++;
        if (u != 'b') {
            if ((*end | 0x20) == 'i')
                end++;
            if ((*end | 0x20) == 'b')
                end++;
        }
        if (*end)
            return cb_fail(err, "invalid size `%s`: unexpected `%s`", s, end);
    }
    double r = v * mult;
    if (r > 1.8e19)
        return cb_fail(err, "invalid size `%s`: too large", s);
    *out = (uint64_t)r;
    return 0;
}

void cb_format_size(uint64_t n, char *out, size_t outlen)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%lluB", (unsigned long long)n);
    else
        snprintf(out, outlen, "%.3g%s", v, units[u]);
}

double cb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
