/* One file fetched over HTTP(S) for `ADD <url>`: the registry client's transport rules applied
 * to a plain GET (curl_global_init once, connect and stall timeouts, redirects, retries with
 * backoff on connection errors, 5xx and 429), with what BuildKit takes from the response:
 * Last-Modified for the file's mtime, the final URL and Content-Disposition for its name. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "registry-internal.h"

typedef struct fetch_state {
    int fd;
    int64_t written;
    char *disposition, *etag;
} fetch_state;

static size_t on_data(void *p, size_t sz, size_t n, void *ud)
{
    fetch_state *f = ud;
    if (cb_write_all(f->fd, p, sz * n) < 0)
        return 0;
    f->written += (int64_t)(sz * n);
    return sz * n;
}

static size_t on_hdr(char *buf, size_t sz, size_t n, void *ud)
{
    fetch_state *f = ud;
    size_t len = sz * n;
    char *v;
    if ((v = reg_header_value(buf, len, "Content-Disposition"))) {
        free(f->disposition);
        f->disposition = v;
    } else if ((v = reg_header_value(buf, len, "ETag"))) {
        free(f->etag);
        f->etag = v;
    }
    return len;
}

/* filename="x" / filename=x of a Content-Disposition value, without any path. */
static char *disposition_name(const char *d)
{
    const char *p = d ? strstr(d, "filename=") : NULL;
    if (!p)
        return NULL;
    p += 9;
    size_t n = *p == '"' ? strcspn(++p, "\"") : strcspn(p, "; ");
    cleanup_free char *name = xstrndup(p, n);
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return *base && strcmp(base, ".") && strcmp(base, "..") ? xstrdup(base) : NULL;
}

static bool retryable(CURLcode r, long status)
{
    if (r == CURLE_COULDNT_CONNECT || r == CURLE_OPERATION_TIMEDOUT || r == CURLE_RECV_ERROR ||
        r == CURLE_SEND_ERROR || r == CURLE_GOT_NOTHING || r == CURLE_PARTIAL_FILE)
        return true;
    return status >= 500 || status == 429;
}

/* out_fd < 0: a HEAD request (status and headers only). */
static int http_do(const char *url, const char *if_none_match, int out_fd, oci_http_result *res, cb_err *err)
{
    cleanup_free char *inm = if_none_match && *if_none_match ? xasprintf("If-None-Match: %s", if_none_match) : NULL;
    memset(res, 0, sizeof *res);
    res->mtime = -1;
    reg_curl_init();
    const char *tv = getenv("CBUILD_HTTP_TIMEOUT");
    long stall = tv && atol(tv) > 0 ? atol(tv) : 60;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        if (out_fd >= 0 && (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0))
            return cb_error(err, errno, "truncating the download of %s", url);
        fetch_state f = {.fd = out_fd};
        CURL *c = curl_easy_init();
        char ebuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &f);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a server that stalls this long fails */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CB_VERSION);
        if (out_fd < 0)
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        struct curl_slist *hl = inm ? curl_slist_append(NULL, inm) : NULL;
        if (hl)
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        CURLcode r = curl_easy_perform(c);
        curl_slist_free_all(hl);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        res->status = status;
        if (r == CURLE_OK && status < 400) {
            long ft = -1;
            curl_easy_getinfo(c, CURLINFO_FILETIME, &ft);
            res->mtime = ft;
            char *eff = NULL;
            curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
            res->final_url = xstrdup(eff ? eff : url);
            res->filename = disposition_name(f.disposition);
            res->etag = f.etag;
            f.etag = NULL;
            res->size = f.written;
            rc = 0;
        } else if (attempt < 4 && retryable(r, status)) {
            cb_debug("GET %s: %s; retrying", url, status >= 400 ? "server error" : curl_easy_strerror(r));
            rc = 1;
        } else if (status >= 400) {
            /* BuildKit's words (source/http): "invalid response status 404" */
            rc = cb_fail(err, "failed to load %s: invalid response status %ld", url, status);
        } else {
            rc = cb_fail(err, "failed to load %s: %s", url, *ebuf ? ebuf : curl_easy_strerror(r));
        }
        free(f.disposition);
        free(f.etag);
        curl_easy_cleanup(c);
        if (rc <= 0)
            return rc;
        reg_backoff_sleep(attempt);
    }
}

int oci_http_fetch(const char *url, const char *if_none_match, int out_fd, oci_http_result *res, cb_err *err)
{
    if (out_fd < 0)
        return cb_failc(err, EBADF, "no file to download %s into", url);
    return http_do(url, if_none_match, out_fd, res, err);
}

int oci_http_head(const char *url, const char *if_none_match, oci_http_result *res, cb_err *err)
{
    return http_do(url, if_none_match, -1, res, err);
}

void oci_http_result_free(oci_http_result *res)
{
    free(res->final_url);
    free(res->filename);
    free(res->etag);
    memset(res, 0, sizeof *res);
}

bool oci_http_unchanged(const char *url, const char *etag)
{
    oci_http_result r;
    cb_err e = {0};
    bool ok = oci_http_head(url, etag, &r, &e) == 0 &&
              (r.status == 304 || (r.status == 200 && r.etag && !strcmp(r.etag, etag)));
    oci_http_result_free(&r);
    return ok;
}
