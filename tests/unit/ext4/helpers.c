#include "helpers.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *mk_tmpdir(void)
{
    char *d = xstrdup("/tmp/cbuild-ext4-unit.XXXXXX");
    if (!mkdtemp(d))
        abort();
    return d;
}

void rm_tmpdir(char *d)
{
    cb_rm_rf(d, NULL);
    free(d);
}

int sh(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf cmd;
    cb_buf_init(&cmd);
    cb_buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    cb_buf_puts(&cmd, " 2>&1");
    FILE *p = popen(cmd.data, "r");
    cb_buf_free(&cmd);
    if (!p)
        return -1;
    cb_buf o;
    cb_buf_init(&o);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        cb_buf_append(&o, buf, n);
    int st = pclose(p);
    if (out)
        *out = cb_buf_steal(&o);
    else
        cb_buf_free(&o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int fsck_clean(const char *img)
{
    char *out = NULL;
    int rc = sh(&out, "e2fsck -fn '%s'", img);
    if (rc != 0)
        fprintf(stderr, "e2fsck -fn %s exited %d:\n%s\n", img, rc, out);
    free(out);
    return rc;
}

ext4_entry ent(const char *path, mode_t mode)
{
    ext4_entry e = {0};
    e.path = path;
    e.mode = mode;
    e.mtime.tv_sec = 1600000000;
    e.mtime.tv_nsec = 123456789;
    e.atime = e.ctime = e.mtime;
    return e;
}
