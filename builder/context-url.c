/* Build contexts from URLs, as docker/buildx take them: a git repository
 * (`https://host/repo.git#ref:subdir`, `git@host:repo.git`, `git://…`) checked out with the
 * host's git, or an HTTP(S) file: a tarball (the context, Dockerfile inside) or a Dockerfile. */
#include "git.h"
#include "internal.h"

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

static int fetch_git(const char *url, const char *tmpdir, const char *ssh_sock, char **dir, cb_err *err)
{
    bl_git_ref r;
    int rc = bl_git_ref_parse(url, &r, err);
    if (rc < 0)
        return rc;
    r.ssh_sock = ssh_sock;
    cleanup_free char *dest = cb_path_join(tmpdir, "context-git");
    char commit[BL_GIT_COMMIT_MAX];
    /* a context keeps no .git unless the URL asks (?keep-git-dir=true), as BuildKit's */
    rc = bl_git_checkout(&r, r.keep_git_dir == 1, NULL, dest, commit, err);
    if (rc == 0) {
        *dir = r.subdir ? cb_path_join(dest, r.subdir) : xstrdup(dest);
        struct stat st;
        if (stat(*dir, &st) < 0 || !S_ISDIR(st.st_mode))
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

int bl_context_fetch_url(const char *url, const char *tmpdir, const char *ssh_sock, char **dir, cb_buf *dockerfile,
                         cb_err *err)
{
    *dir = NULL;
    if (bl_git_is_url(url))
        return fetch_git(url, tmpdir, ssh_sock, dir, err);
    cleanup_free char *file = cb_path_join(tmpdir, "context-download");
    cleanup_close int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cb_error(err, errno, "create %s", file);
    oci_http_result res;
    memset(&res, 0, sizeof res);
    int rc = oci_http_fetch(url, NULL, fd, &res, err);
    oci_http_result_free(&res);
    if (rc < 0)
        return cb_error_wrap(err, "unable to prepare context: downloading %s", url);
    if (!file_is_tar(file)) /* a Dockerfile alone: no context, any -f name */
        return cb_read_file(file, dockerfile, err);
    cleanup_free char *dest = cb_path_join(tmpdir, "context");
    if ((rc = store_tar_extract_file(file, dest, 0, err)) < 0)
        return cb_error_wrap(err, "build context %s", url);
    *dir = xstrdup(dest);
    return 0;
}
