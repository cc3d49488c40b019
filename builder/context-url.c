/* Build contexts from URLs, as docker/buildx take them: a git repository
 * (`https://host/repo.git#ref:subdir`, `git@host:repo.git`, `git://…`) checked out with the
 * host's git, or an HTTP(S) file: a tarball (the context, Dockerfile inside) or a Dockerfile.
 * The context remembers its URL, the git commit and its own time (SOURCE_DATE_EPOCH=context). */
#include "git.h"
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool bl_context_is_url(const char *context)
{
    return bl_git_is_url(context) || cb_str_has_prefix(context, "http://") ||
           cb_str_has_prefix(context, "https://");
}

static int fetch_git(bl_context *c, const char *url, const char *tmpdir, const char *ssh_sock, cb_err *err)
{
    bl_git_ref r;
    int rc = bl_git_ref_parse(url, &r, err);
    if (rc < 0)
        return rc;
    r.ssh_sock = ssh_sock;
    cleanup_free char *dest = cb_path_join(tmpdir, "context-git");
    /* a context keeps no .git unless the URL asks (?keep-git-dir=true), as BuildKit's */
    rc = bl_git_checkout(&r, r.keep_git_dir == 1, NULL, dest, c->git_commit, &c->epoch, err);
    if (rc == 0) {
        c->dir = r.subdir ? cb_path_join(dest, r.subdir) : xstrdup(dest);
        struct stat st;
        if (stat(c->dir, &st) < 0 || !S_ISDIR(st.st_mode))
            rc = cb_failc(err, ENOENT, "unable to prepare context: path \"%s\" not found in %s", r.subdir,
                          r.remote);
    }
    bl_git_ref_free(&r);
    return rc;
}

static bool file_is_tar(const char *path)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    char h[512];
    ssize_t n = fd < 0 ? -1 : pread(fd, h, sizeof h, 0);
    if (n < 6)
        return false;
    /* ustar magic, or a compressed stream (gzip, bzip2, xz, zstd) */
    return (n >= 262 && !memcmp(h + 257, "ustar", 5)) || !memcmp(h, "\x1f\x8b", 2) || !memcmp(h, "BZh", 3) ||
           !memcmp(h,
                   "\xfd"
                   "7zXZ",
                   5) ||
           !memcmp(h, "\x28\xb5\x2f\xfd", 4);
}

/* The newest modification time of the archive's regular files, or -1 (BuildKit's
 * archiveMaxTimeFromHTTPArchive: SOURCE_DATE_EPOCH of an archive served without Last-Modified). */
int64_t bl_archive_newest_mtime(const char *path)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int64_t newest = -1;
    if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK) {
        struct archive_entry *e;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
            if (archive_entry_filetype(e) == AE_IFREG && archive_entry_mtime(e) > newest)
                newest = archive_entry_mtime(e);
    }
    archive_read_free(a);
    return newest;
}

int bl_context_fetch_url(bl_context *c, const char *url, const char *tmpdir, const char *ssh_sock, cb_err *err)
{
    c->url = xstrdup(url);
    if (bl_git_is_url(url))
        return fetch_git(c, url, tmpdir, ssh_sock, err);
    cleanup_free char *file = cb_path_join(tmpdir, "context-download");
    cleanup_close int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cb_error(err, errno, "create %s", file);
    oci_http_result res;
    memset(&res, 0, sizeof res);
    int rc = oci_http_fetch(url, NULL, fd, &res, err);
    c->epoch = rc == 0 ? res.mtime : -1; /* Last-Modified first, as BuildKit's */
    oci_http_result_free(&res);
    if (rc < 0)
        return cb_error_wrap(err, "unable to prepare context: downloading %s", url);
    if ((rc = cb_sha256_file(file, c->http_digest, err)) < 0) /* its provenance material */
        return rc;
    if (!file_is_tar(file)) /* a Dockerfile alone: no context, any -f name */
        return cb_read_file(file, &c->dockerfile, err);
    if (c->epoch < 0)
        c->epoch = bl_archive_newest_mtime(file);
    cleanup_free char *dest = cb_path_join(tmpdir, "context");
    if ((rc = store_tar_extract_file(file, dest, 0, err)) < 0)
        return cb_error_wrap(err, "build context %s", url);
    c->dir = xstrdup(dest);
    return 0;
}
