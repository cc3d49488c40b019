#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "a: b" into dst, truncated to fit. */
static void join_colon(char *dst, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > cap - 1)
        la = cap - 1;
    memmove(dst, a, la);
    size_t pos = la;
    if (pos + 2 < cap) {
        dst[pos++] = ':';
        dst[pos++] = ' ';
        if (lb > cap - 1 - pos)
            lb = cap - 1 - pos;
        memmove(dst + pos, b, lb);
        pos += lb;
    }
    dst[pos] = 0;
}

static int err_vset(cb_err *err, int code, const char *sys, const char *fmt, va_list ap)
{
    if (!err)
        return -code;
    char tmp[sizeof err->msg];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (sys)
        join_colon(err->msg, sizeof err->msg, tmp, sys);
    else
        snprintf(err->msg, sizeof err->msg, "%s", tmp);
    err->code = code;
    return -code;
}

int cb_error(cb_err *err, int errnum, const char *fmt, ...)
{
    if (errnum < 0)
        errnum = -errnum;
    int code = errnum ? errnum : EIO;
    va_list ap;
    va_start(ap, fmt);
    int r = err_vset(err, code, errnum ? strerror(errnum) : NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cb_fail(cb_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = err_vset(err, EINVAL, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cb_failc(cb_err *err, int code, const char *fmt, ...)
{
    if (code < 0)
        code = -code;
    if (code == 0)
        code = EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int r = err_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cb_error_wrap(cb_err *err, const char *fmt, ...)
{
    if (!err)
        return -EIO;
    if (!err->code)
        err->code = EIO;
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    join_colon(err->msg, sizeof err->msg, prefix, old);
    return -err->code;
}

void cb_err_clear(cb_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
}

static void oom(void)
{
    fputs("cbuild: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return out;
}

void cb_freep(void *p)
{
    free(*(void **)p);
}

void cb_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

void cb_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}
