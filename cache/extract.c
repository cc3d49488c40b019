/* The one safe extractor for archives cbuild unpacks onto disk: `cbuild load`, the stdin
 * build context and `-o type=local|tar` exports. Nothing is written outside the destination:
 * absolute names and `..` are refused, hard links must name an entry inside it, and
 * libarchive's secure extraction refuses to write through any symlink already on disk (a
 * `d -> ..` link followed by `d/x`). Symlinks are data (an image's /bin/sh -> /bin/busybox)
 * and kept as they are, unless STORE_EXTRACT_CONFINED_LINKS: then one whose target leads out
 * of the destination is refused (cbuild load reads files through the archive's links). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Does the relative path stay inside its root, `..` counted from `base` (a dir inside it)? */
static bool stays_inside(const char *base, const char *rel)
{
    int depth = 0;
    cleanup_free char *joined = base && *base ? xasprintf("%s/%s", base, rel) : xstrdup(rel);
    for (char *save = NULL, *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            if (--depth < 0)
                return false;
        } else {
            depth++;
        }
    }
    return true;
}

static const char *strip_dot_slash(const char *n)
{
    while (n[0] == '.' && n[1] == '/')
        n += 2;
    return n;
}

/* Why an entry may not be extracted, or NULL. */
static const char *entry_refusal(struct archive_entry *e, const char *name, unsigned flags)
{
    if (name[0] == '/' || !stays_inside(NULL, name))
        return "its path is absolute or leads outside the destination";
    const char *hl = archive_entry_hardlink(e);
    if (hl && (hl[0] == '/' || !stays_inside(NULL, strip_dot_slash(hl))))
        return "it is a hard link to a path outside the destination";
    const char *sl = archive_entry_filetype(e) == AE_IFLNK ? archive_entry_symlink(e) : NULL;
    if (sl && (flags & STORE_EXTRACT_CONFINED_LINKS)) {
        cleanup_free char *dir = xstrdup(name);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            dir[0] = 0;
        if (sl[0] == '/' || !stays_inside(dir, sl))
            return "it is a symlink that points outside the destination";
    }
    return NULL;
}

static int extract(struct archive *a, const char *what, const char *dest, unsigned flags, cb_err *err)
{
    int rc = cb_mkdir_p(dest, 0755, err);
    if (rc < 0)
        return rc;
    struct archive *w = archive_write_disk_new();
    int xf = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
             ARCHIVE_EXTRACT_SECURE_NODOTDOT; /* names are made absolute below dest here */
    if ((flags & STORE_EXTRACT_OWNERS) && geteuid() == 0)
        xf |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(w, xf);
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *raw = archive_entry_pathname(e);
        /* a copy: the entry's own string is replaced by set_pathname below */
        cleanup_free char *name_copy = xstrdup(strip_dot_slash(raw ? raw : ""));
        const char *name = name_copy;
        if (!*name || !strcmp(name, "."))
            continue;
        const char *why = entry_refusal(e, name, flags);
        if (why) {
            rc = cb_failc(err, EPERM, "%s: refusing entry `%s`: %s", what, name, why);
            break;
        }
        cleanup_free char *p = xasprintf("%s/%s", dest, name);
        archive_entry_set_pathname(e, p);
        const char *hl = archive_entry_hardlink(e);
        if (hl) {
            cleanup_free char *h = xasprintf("%s/%s", dest, strip_dot_slash(hl));
            archive_entry_set_hardlink(e, h);
        }
        if (archive_write_header(w, e) != ARCHIVE_OK) {
            rc = cb_failc(err, EPERM, "%s: refusing entry `%s`: %s", what, name, archive_error_string(w));
            break;
        }
        const void *buf;
        size_t size;
        int64_t off;
        while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(w, buf, size, off) != ARCHIVE_OK) {
                rc = cb_fail(err, "%s: %s: %s", what, name, archive_error_string(w));
                break;
            }
        if (rc < 0)
            break;
        if (r != ARCHIVE_EOF) {
            rc = cb_fail(err, "%s: %s", what, archive_error_string(a));
            break;
        }
        if (archive_write_finish_entry(w) != ARCHIVE_OK) {
            rc = cb_fail(err, "%s: %s: %s", what, name, archive_error_string(w));
            break;
        }
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = cb_fail(err, "%s: %s", what, archive_error_string(a));
    archive_write_free(w);
    return rc;
}

static struct archive *reader(void)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    return a;
}

int store_tar_extract_file(const char *path, const char *dest, unsigned flags, cb_err *err)
{
    struct archive *a = reader();
    int rc;
    if (archive_read_open_filename(a, path, 1 << 17) != ARCHIVE_OK)
        rc = cb_fail(err, "open archive `%s`: %s", path, archive_error_string(a));
    else
        rc = extract(a, path, dest, flags, err);
    archive_read_free(a);
    return rc;
}

int store_tar_extract_mem(const void *data, size_t len, const char *what, const char *dest, unsigned flags,
                          cb_err *err)
{
    struct archive *a = reader();
    int rc;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
        rc = cb_fail(err, "%s: %s", what, archive_error_string(a));
    else
        rc = extract(a, what, dest, flags, err);
    archive_read_free(a);
    return rc;
}
