/* One HTTP exchange with a registry on libcurl: reusable handles, header and body callbacks,
 * retries with backoff on connection errors, 5xx and 429, and plain HTTP for insecure hosts as
 * Docker does (HTTPS tried first). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry-internal.h"

bool reg_host_is_loopback(const char *host)
{
    cleanup_free char *h = xstrdup(host);
    if (h[0] == '[') {
        char *e = strchr(h, ']');
        if (e)
            *e = '\0';
        return !strcmp(h + 1, "::1");
    }
    char *colon = strrchr(h, ':');
    if (colon)
        *colon = '\0';
    if (!strcmp(h, "localhost"))
        return true;
    struct in_addr a;
    if (inet_pton(AF_INET, h, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

static CURL *handle_get(oci_registry *r)
{
    pthread_mutex_lock(&r->mu);
    CURL *c = r->n_idle ? r->idle[--r->n_idle] : NULL;
    pthread_mutex_unlock(&r->mu);
    if (!c)
        c = curl_easy_init();
    else
        curl_easy_reset(c);
    return c;
}

static void handle_put(oci_registry *r, CURL *c)
{
    pthread_mutex_lock(&r->mu);
    if (r->n_idle == r->cap_idle) {
        r->cap_idle = r->cap_idle ? 2 * r->cap_idle : 8;
        r->idle = xrealloc(r->idle, r->cap_idle * sizeof *r->idle);
    }
    r->idle[r->n_idle++] = c;
    pthread_mutex_unlock(&r->mu);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl_global_init exactly once per process (it is not thread-safe) */
void reg_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}
static void req_reset_response(req *q)
{
    free(q->location);
    free(q->docker_digest);
    free(q->content_type);
    free(q->www_auth);
    free(q->content_range);
    q->location = q->docker_digest = q->content_type = q->www_auth = q->content_range = NULL;
    q->content_length = -1;
    q->retry_after = -1;
    cb_buf_reset(&q->errbody);
    q->status = 0;
}

void reg_req_free(req *q)
{
    free(q->scope_owned);
    req_reset_response(q);
    cb_buf_free(&q->errbody);
    curl_slist_free_all(q->headers);
    free(q->url);
}

/* The value of header `name` in one raw header line, trimmed; NULL when it is another header. */
char *reg_header_value(const char *line, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *buf, size_t sz, size_t nm, void *opaque)
{
    req *q = opaque;
    size_t n = sz * nm;
    if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
        req_reset_response(q);
        return n;
    }
    char *v;
    if ((v = reg_header_value(buf, n, "Location"))) {
        free(q->location);
        q->location = v;
    } else if ((v = reg_header_value(buf, n, "Docker-Content-Digest"))) {
        free(q->docker_digest);
        q->docker_digest = v;
    } else if ((v = reg_header_value(buf, n, "Content-Type"))) {
        free(q->content_type);
        q->content_type = v;
    } else if ((v = reg_header_value(buf, n, "WWW-Authenticate"))) {
        free(q->www_auth);
        q->www_auth = v;
    } else if ((v = reg_header_value(buf, n, "Content-Range"))) {
        free(q->content_range);
        q->content_range = v;
    } else if ((v = reg_header_value(buf, n, "Retry-After"))) {
        char *end;
        long ra = strtol(v, &end, 10);
        if (end != v && !*end && ra >= 0)
            q->retry_after = ra;
        free(v);
    } else if ((v = reg_header_value(buf, n, "Content-Length"))) {
        q->content_length = strtoll(v, NULL, 10);
        free(v);
    }
    return n;
}

size_t reg_on_body(char *buf, size_t sz, size_t nm, void *opaque)
{
    req *q = opaque;
    size_t n = sz * nm;
    CURL *c = NULL;
    (void)c;
    if (q->status >= 200 && q->status < 300) {
        if (q->sink) {
            if (q->sink->write(q->sink->opaque, buf, n, &q->sink_err) < 0) {
                q->sink_failed = true;
                return 0;
            }
        } else if (q->out) {
            cb_buf_append(q->out, buf, n);
        }
        q->delivered += (int64_t)n;
    } else if (q->errbody.len < 65536) {
        cb_buf_append(&q->errbody, buf, n);
    }
    return n;
}

/* libcurl calls the write callback only after headers; learn the status there. */
static int on_progress_status(void *opaque, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)opaque, (void)a, (void)b, (void)c, (void)d;
    return 0;
}

static size_t on_read(char *buf, size_t sz, size_t nm, void *opaque)
{
    req *q = opaque;
    size_t want = sz * nm;
    if (q->body_stream) {
        for (;;) {
            ssize_t n = read(q->body_fd, buf, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return CURL_READFUNC_ABORT;
            q->body_pos += n;
            return (size_t)n;
        }
    }
    int64_t left = q->body_size - q->body_pos;
    if (left <= 0)
        return 0;
    if ((int64_t)want > left)
        want = (size_t)left;
    ssize_t n = pread(q->body_fd, buf, want, q->body_off + q->body_pos);
    if (n < 0)
        return CURL_READFUNC_ABORT;
    q->body_pos += n;
    return (size_t)n;
}

static int on_seek(void *opaque, curl_off_t off, int origin)
{
    req *q = opaque;
    if (origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    q->body_pos = off;
    return CURL_SEEKFUNC_OK;
}

size_t reg_on_header_status(char *buf, size_t sz, size_t nm, void *opaque)
{
    header_cb_state *st = opaque;
    size_t n = on_header(buf, sz, nm, st->q);
    if (n == 2 && buf[0] == '\r') /* end of a header block: the status is known */
        curl_easy_getinfo(st->c, CURLINFO_RESPONSE_CODE, &st->q->status);
    return n;
}

/* One attempt. Returns 0 when an HTTP response arrived (any status), else a curl error. */
static CURLcode perform(oci_registry *r, req *q, const char *scheme, char *errbuf)
{
    CURL *c = handle_get(r);
    header_cb_state st = {q, c};
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CB_VERSION);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reg_on_header_status);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reg_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress_status);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    if (!strcmp(scheme, "https")) {
        if (r->ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
        else if (r->insecure) {
            /* Docker skips verification for insecure registries */
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (!strcmp(q->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* blob storage redirects */
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    } else if (!strcmp(q->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
        if (q->body_fd >= 0) {
            q->body_pos = 0;
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            if (strcmp(q->method, "PUT"))
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, q);
            curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
            if (!q->body_stream)
                curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_size);
        } else {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
        }
    }
    struct curl_slist *h = NULL;
    for (struct curl_slist *i = q->headers; i; i = i->next)
        h = curl_slist_append(h, i->data);
    h = curl_slist_append(h, "Expect:");
    pthread_mutex_lock(&r->mu);
    const char *tok = q->scope ? reg_find_token(r, q->scope) : NULL;
    cleanup_free char *authz = NULL;
    if (tok)
        authz = xasprintf("Authorization: Bearer %s", tok);
    else if (r->use_basic && r->user) {
        cleanup_free char *plain = xasprintf("%s:%s", r->user, r->pass);
        size_t n = strlen(plain);
        cleanup_free unsigned char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock(enc, (unsigned char *)plain, (int)n);
        authz = xasprintf("Authorization: Basic %s", enc);
    }
    pthread_mutex_unlock(&r->mu);
    if (authz)
        h = curl_slist_append(h, authz);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    q->delivered = 0;
    q->sink_failed = false;
    req_reset_response(q);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code)
        q->status = code;
    curl_slist_free_all(h);
    handle_put(r, c);
    return cc;
}

/* The registry's JSON error ("errors":[{"code","message"}]) as text. */
char *reg_registry_error_text(req *q)
{
    if (q->errbody.len) {
        json_t *j = json_loadb(q->errbody.data, q->errbody.len, 0, NULL);
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(e0, "code"));
        const char *msg = json_string_value(json_object_get(e0, "message"));
        char *s = NULL;
        if (msg)
            s = code ? xasprintf("%s (%s)", msg, code) : xstrdup(msg);
        json_decref(j);
        if (s)
            return s;
    }
    switch (q->status) {
    case 401: return xstrdup("unauthorized: authentication required");
    case 403: return xstrdup("denied: requested access to the resource is denied");
    case 404: return xstrdup("not found");
    case 429: return xstrdup("too many requests");
    default: return xasprintf("HTTP %ld", q->status);
    }
}
void reg_backoff_sleep(int attempt)
{
    long ms = 250L << (attempt < 6 ? attempt : 6);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Decide http or https once for an insecure host: Docker tries HTTPS first. */
const char *reg_scheme_of(oci_registry *r)
{
    pthread_mutex_lock(&r->mu);
    const char *s = r->scheme;
    pthread_mutex_unlock(&r->mu);
    return s ? s : "https";
}

static const char *scheme_known(oci_registry *r)
{
    pthread_mutex_lock(&r->mu);
    const char *s = r->scheme;
    pthread_mutex_unlock(&r->mu);
    return s;
}

static void set_scheme(oci_registry *r, const char *s)
{
    pthread_mutex_lock(&r->mu);
    if (!r->scheme)
        r->scheme = xstrdup(s);
    pthread_mutex_unlock(&r->mu);
}

/* Run q against path ("/v2/…" or an absolute URL) with auth and retries. On return, q->status
 * holds the final HTTP status; transport failures are errors. what names the operation. */
int reg_do_request(oci_registry *r, req *q, const char *path, const char *what, cb_err *err)
{
    bool auth_tried = false;
    for (int attempt = 0;; attempt++) {
        const char *scheme = reg_scheme_of(r);
        free(q->url);
        q->url = cb_str_has_prefix(path, "http://") || cb_str_has_prefix(path, "https://")
                     ? xstrdup(path)
                     : xasprintf("%s://%s%s", scheme, r->host, path);
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cc = perform(r, q, scheme, errbuf);
        if (q->sink_failed) {
            *err = q->sink_err;
            return -(err->code ? err->code : EIO);
        }
        if (cc != CURLE_OK) {
            bool tls = cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION;
            const char *known = scheme_known(r);
            if (r->insecure && !strcmp(scheme, "https") && cc == CURLE_SSL_CONNECT_ERROR &&
                (!known || strcmp(known, "https"))) {
                set_scheme(r, "http"); /* the registry speaks plain HTTP */
                attempt--;
                continue;
            }
            if (tls || cc == CURLE_URL_MALFORMAT || q->delivered > 0 || q->body_stream || attempt + 1 >= r->retries) {
                bool plain = tls && strstr(errbuf, "wrong version number");
                const char *hint = plain ? " (the registry speaks plain HTTP: allow it with --insecure-registry)"
                                   : tls ? " (use --cert-dir with the registry's CA, or --tls-verify=false)"
                                         : "";
                return cb_failc(err, tls ? EPROTO : EIO, "%s: %s %s: %s%s", what, q->method, q->url,
                                errbuf[0] ? errbuf : curl_easy_strerror(cc), hint);
            }
            cb_debug("%s: %s (attempt %d), retrying", q->url, curl_easy_strerror(cc), attempt + 1);
            reg_backoff_sleep(attempt);
            continue;
        }
        if (!scheme_known(r) && !cb_str_has_prefix(path, "http"))
            set_scheme(r, scheme);
        if (q->status == 401 && !auth_tried && q->www_auth && !q->body_stream) {
            auth_tried = true;
            if (!strncasecmp(q->www_auth, "Bearer", 6)) {
                cleanup_free char *sc = reg_auth_param(q->www_auth, "scope");
                const char *scope = q->scope ? q->scope : sc;
                if (!scope)
                    scope = "";
                int rc = reg_fetch_token(r, q->www_auth, scope, err);
                if (rc < 0)
                    return cb_error_wrap(err, "%s", what);
                if (!q->scope) { /* send the token we got for the challenge's scope */
                    q->scope_owned = xstrdup(scope);
                    q->scope = q->scope_owned;
                }
            } else if (!strncasecmp(q->www_auth, "Basic", 5)) {
                if (!r->user)
                    return cb_failc(err, EACCES, "%s: unauthorized: %s requires a login (run `cbuild login %s`)", what,
                                    r->display, r->display);
                pthread_mutex_lock(&r->mu);
                r->use_basic = true;
                pthread_mutex_unlock(&r->mu);
            }
            attempt--;
            continue;
        }
        if ((q->status >= 500 || q->status == 429) && q->delivered == 0 && !q->body_stream &&
            attempt + 1 < r->retries) {
            cb_debug("%s: HTTP %ld (attempt %d), retrying", q->url, q->status, attempt + 1);
            if (q->retry_after > 0) { /* the registry said when (capped: a stuck client helps nobody) */
                struct timespec ts = {q->retry_after < 60 ? q->retry_after : 60, 0};
                nanosleep(&ts, NULL);
            } else
                reg_backoff_sleep(attempt);
            continue;
        }
        return 0;
    }
}

int reg_status_error(oci_registry *r, req *q, const char *what, cb_err *err)
{
    cleanup_free char *txt = reg_registry_error_text(q);
    int code = q->status == 404 ? ENOENT : (q->status == 401 || q->status == 403) ? EACCES : EIO;
    if (q->status == 401)
        return cb_failc(err, code, "%s: %s%s", what, txt,
                        r->user ? " (wrong username or password?)" : " (log in with `cbuild login`)");
    return cb_failc(err, code, "%s: %s", what, txt);
}
