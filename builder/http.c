/* ADD <url> downloads, revalidated as BuildKit's http source does: a download is kept under
 * <root>/http-cache/<sha256(url)> with its ETag and Last-Modified; a later build asks with a
 * HEAD (If-None-Match) and reuses it when the ETag still matches, and one build fetches a URL
 * once (the cache key and the copy share it). */
#include "copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int http_get(const char *url, const char *path, char etag[256], int64_t *mtime, cb_err *err)
{
    cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return cb_error(err, errno, "create %s", path);
    oci_http_result res;
    int rc = oci_http_fetch(url, NULL, fd, &res, err);
    if (rc == 0) {
        *mtime = res.mtime;
        snprintf(etag, 256, "%s", res.etag ? res.etag : "");
    }
    oci_http_result_free(&res);
    return rc;
}

/* <root>/http-cache/<sha256(url)>[.meta]; meta is "ETAG\nMTIME\n". */
static void cache_paths(bl_build *b, const char *url, char **data, char **meta)
{
    char h[CB_DIGEST_STR_LEN];
    cb_sha256_buf(url, strlen(url), h);
    const char *hex = strchr(h, ':') ? strchr(h, ':') + 1 : h;
    cleanup_free char *dir = cb_path_join(b->opts->root, "http-cache");
    cb_err e;
    cb_mkdir_p(dir, 0700, &e);
    *data = cb_path_join(dir, hex);
    *meta = xasprintf("%s.meta", *data);
}

static bool cache_read(const char *meta, char etag[256], int64_t *mtime)
{
    cb_buf m;
    cb_buf_init(&m);
    cb_err e;
    bool ok = cb_read_file(meta, &m, &e) == 0 && m.data;
    if (ok) {
        char *nl = strchr(m.data, '\n');
        ok = nl && nl != m.data;
        if (ok) {
            snprintf(etag, 256, "%.*s", (int)(nl - m.data), m.data);
            *mtime = strtoll(nl + 1, NULL, 10);
        }
    }
    cb_buf_free(&m);
    return ok;
}

/* The cached file at path (a hard link: both live in the store's filesystem). */
static bool cache_use(const char *data, const char *path)
{
    unlink(path);
    return link(data, path) == 0;
}

static void cache_store(const char *data, const char *meta, const char *path, const char *etag, int64_t mtime)
{
    cleanup_free char *tmp = xasprintf("%s.tmp.%d", data, (int)getpid());
    cleanup_free char *m = xasprintf("%s\n%lld\n", etag, (long long)mtime);
    cb_err e;
    unlink(tmp);
    if (link(path, tmp) == 0 && rename(tmp, data) == 0)
        cb_write_file_atomic(meta, m, strlen(m), 0600, &e);
    else
        unlink(tmp);
}

static bool seen_in_build(bl_build *b, const char *url, bool add)
{
    pthread_mutex_lock(&b->lock);
    bool seen = cb_strv_contains(&b->http_seen, url);
    if (!seen && add)
        cb_strv_push(&b->http_seen, url);
    pthread_mutex_unlock(&b->lock);
    return seen;
}

int bl_http_fetch(bl_build *b, const char *url, const char *path, int64_t *mtime, cb_err *err)
{
    cleanup_free char *data = NULL;
    cleanup_free char *meta = NULL;
    cache_paths(b, url, &data, &meta);
    char etag[256] = "";
    int64_t cmtime = -1;
    bool cached = cache_read(meta, etag, &cmtime) && access(data, R_OK) == 0;
    if (cached && (seen_in_build(b, url, false) || oci_http_unchanged(url, etag)) && cache_use(data, path)) {
        seen_in_build(b, url, true);
        *mtime = cmtime;
        return 0;
    }
    int rc = http_get(url, path, etag, mtime, err);
    if (rc < 0)
        return rc;
    if (*etag) {
        cache_store(data, meta, path, etag, *mtime);
        seen_in_build(b, url, true);
    }
    return 0;
}
