/* ADD <url> downloads, revalidated as BuildKit's http source does: a download is kept under
 * <root>/http-cache/<sha256(url)> with its ETag and Last-Modified; a later build asks with a
 * HEAD (If-None-Match) and reuses it when the ETag still matches, and one build fetches a URL
 * once (the cache key and the copy share it). */
#include "copy.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct http_resp {
    int fd;
    char etag[256];
} http_resp;

static size_t on_body(void *p, size_t sz, size_t n, void *ud)
{
    return cb_write_all(((http_resp *)ud)->fd, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    http_resp *r = ud;
    size_t len = sz * n;
    if (len > 5 && !strncasecmp(p, "ETag:", 5)) {
        const char *v = p + 5;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = (size_t)(p + len - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf(r->etag, sizeof r->etag, "%.*s", (int)vl, v);
    }
    return len;
}

static CURL *http_handle(const char *url, http_resp *r, char *ebuf)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CB_VERSION);
    return c;
}

/* HEAD with If-None-Match: true when the cached copy (etag) is still current. */
static bool http_still_current(const char *url, const char *etag)
{
    http_resp r = {.fd = -1};
    char ebuf[CURL_ERROR_SIZE] = "";
    CURL *c = http_handle(url, &r, ebuf);
    cleanup_free char *h = xasprintf("If-None-Match: %s", etag);
    struct curl_slist *hl = curl_slist_append(NULL, h);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    long code = 0;
    bool ok = curl_easy_perform(c) == CURLE_OK;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return ok && (code == 304 || (code == 200 && !strcmp(r.etag, etag)));
}

static int http_get(const char *url, const char *path, char etag[256], int64_t *mtime, cb_err *err)
{
    http_resp r = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (r.fd < 0)
        return cb_error(err, errno, "create %s", path);
    char ebuf[CURL_ERROR_SIZE] = "";
    CURL *c = http_handle(url, &r, ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    CURLcode res = curl_easy_perform(c);
    int rc = 0;
    if (res != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 400)
            rc = cb_fail(err, "failed to load %s: invalid response status %ld", url, code);
        else
            rc = cb_fail(err, "failed to load %s: %s", url, *ebuf ? ebuf : curl_easy_strerror(res));
    } else {
        long ft = -1;
        curl_easy_getinfo(c, CURLINFO_FILETIME, &ft);
        *mtime = ft;
        snprintf(etag, 256, "%s", r.etag);
    }
    curl_easy_cleanup(c);
    close(r.fd);
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
    if (cached && (seen_in_build(b, url, false) || http_still_current(url, etag)) && cache_use(data, path)) {
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
