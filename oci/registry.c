/* Distribution API v2 client on libcurl: auth (Bearer token flow, Basic), retries with
 * backoff, plain HTTP for insecure hosts as Docker does, blob and manifest transfer. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

#define MANIFEST_ACCEPT \
    "Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_LIST

typedef struct token {
    char *scope;
    char *value;
} token;

struct oci_registry {
    char *host;     /* host[:port] for the API */
    char *display;  /* registry name as the user wrote it */
    char *scheme;   /* "https" or "http", decided on first contact */
    bool insecure;  /* may fall back to http; TLS not verified unless a CA is configured */
    bool tls_verify;
    char *ca_file;  /* <cert_dir>/<host>/ca.crt when present */
    char *user, *pass;
    int retries;
    int64_t chunk_size;
    FILE *progress;
    char *basic; /* "user:pass" when the registry asked for Basic */
    bool use_basic;
    pthread_mutex_t mu;
    token *tokens;
    size_t n_tokens;
    CURL **idle; /* reusable handles keep connections alive */
    size_t n_idle, cap_idle;
};

void oci_registry_opts_default(oci_registry_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tls_verify = true;
    o->parallel = 4;
    o->retries = 5;
}

static bool host_is_loopback(const char *host)
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

int oci_registry_new(const oci_ref *ref, const oci_registry_opts *opts, oci_registry **out, cb_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    oci_registry_opts def;
    if (!opts) {
        oci_registry_opts_default(&def);
        opts = &def;
    }
    oci_registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->host = xstrdup(oci_ref_api_host(ref));
    r->display = xstrdup(ref->registry);
    r->tls_verify = opts->tls_verify;
    r->retries = opts->retries > 0 ? opts->retries : 5;
    r->chunk_size = opts->chunk_size;
    r->progress = opts->progress;
    r->insecure = host_is_loopback(r->host) || !r->tls_verify;
    if (opts->insecure_registries)
        for (size_t i = 0; i < opts->insecure_registries->n; i++) {
            const char *h = opts->insecure_registries->v[i];
            if (cb_str_has_prefix(h, "http://"))
                h += 7;
            if (!strcmp(h, r->host) || !strcmp(h, ref->registry))
                r->insecure = true;
        }
    const char *cd = opts->cert_dir ? opts->cert_dir : "/etc/docker/certs.d";
    cleanup_free char *ca = xasprintf("%s/%s/ca.crt", cd, ref->registry);
    if (cb_path_exists(ca))
        r->ca_file = xstrdup(ca);
    if (opts->username) {
        r->user = xstrdup(opts->username);
        r->pass = xstrdup(opts->password ? opts->password : "");
    } else {
        int a = oci_auth_get(opts->auth_file, ref->registry, &r->user, &r->pass, err);
        if (a < 0 && a != -ENOENT) {
            oci_registry_free(r);
            return cb_error_wrap(err, "reading credentials");
        }
        cb_err_clear(err);
    }
    *out = r;
    return 0;
}

void oci_registry_free(oci_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_idle; i++)
        curl_easy_cleanup(r->idle[i]);
    free(r->idle);
    for (size_t i = 0; i < r->n_tokens; i++) {
        free(r->tokens[i].scope);
        free(r->tokens[i].value);
    }
    free(r->tokens);
    free(r->host);
    free(r->display);
    free(r->scheme);
    free(r->ca_file);
    free(r->user);
    free(r->pass);
    free(r->basic);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---------- one HTTP exchange ---------- */

typedef struct req {
    const char *method;
    char *url;
    const char *scope;
    char *scope_owned; /* the challenge's scope, when the caller named none */
    struct curl_slist *headers;
    /* request body: a buffer or an fd range */
    const void *body;
    size_t body_len;
    int body_fd;
    int64_t body_off, body_size, body_pos;
    bool body_stream; /* body_fd is a pipe read to EOF: chunked upload, never retried */
    /* response */
    oci_sink *sink;   /* 2xx body goes here */
    cb_buf *out;      /* or here */
    cb_buf errbody;   /* non-2xx body */
    int64_t delivered;
    long status;
    char *location, *docker_digest, *content_type, *www_auth, *content_range;
    int64_t content_length;
    long retry_after; /* seconds, from a 429/503 answer; -1 when absent */
    cb_err sink_err;
    bool sink_failed;
    bool head;
} req;

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

static void req_free(req *q)
{
    free(q->scope_owned);
    req_reset_response(q);
    cb_buf_free(&q->errbody);
    curl_slist_free_all(q->headers);
    free(q->url);
}

static char *header_value(const char *line, size_t n, const char *name)
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
    if ((v = header_value(buf, n, "Location"))) {
        free(q->location);
        q->location = v;
    } else if ((v = header_value(buf, n, "Docker-Content-Digest"))) {
        free(q->docker_digest);
        q->docker_digest = v;
    } else if ((v = header_value(buf, n, "Content-Type"))) {
        free(q->content_type);
        q->content_type = v;
    } else if ((v = header_value(buf, n, "WWW-Authenticate"))) {
        free(q->www_auth);
        q->www_auth = v;
    } else if ((v = header_value(buf, n, "Content-Range"))) {
        free(q->content_range);
        q->content_range = v;
    } else if ((v = header_value(buf, n, "Retry-After"))) {
        char *end;
        long ra = strtol(v, &end, 10);
        if (end != v && !*end && ra >= 0)
            q->retry_after = ra;
        free(v);
    } else if ((v = header_value(buf, n, "Content-Length"))) {
        q->content_length = strtoll(v, NULL, 10);
        free(v);
    }
    return n;
}

static size_t on_body(char *buf, size_t sz, size_t nm, void *opaque)
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

static const char *find_token(oci_registry *r, const char *scope)
{
    for (size_t i = 0; i < r->n_tokens; i++)
        if (!strcmp(r->tokens[i].scope, scope))
            return r->tokens[i].value;
    return NULL;
}

typedef struct header_cb_state {
    req *q;
    CURL *c;
} header_cb_state;

static size_t on_header_status(char *buf, size_t sz, size_t nm, void *opaque)
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
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_status);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
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
    const char *tok = q->scope ? find_token(r, q->scope) : NULL;
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
static char *registry_error_text(req *q)
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

/* Parse `Bearer realm="…",service="…",scope="…"`: value of key or NULL. */
static char *auth_param(const char *h, const char *key)
{
    size_t kl = strlen(key);
    const char *p = strchr(h, ' ');
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq)
            break;
        bool match = (size_t)(eq - p) == kl && !strncasecmp(p, key, kl);
        const char *v = eq + 1;
        const char *end;
        char *val;
        if (*v == '"') {
            v++;
            end = strchr(v, '"');
            if (!end)
                break;
            val = xstrndup(v, (size_t)(end - v));
            end++;
        } else {
            end = v + strcspn(v, ",");
            val = xstrndup(v, (size_t)(end - v));
        }
        if (match)
            return val;
        free(val);
        p = end;
    }
    return NULL;
}

static char *url_escape(const char *s)
{
    CURL *c = curl_easy_init();
    char *e = curl_easy_escape(c, s, 0);
    char *out = xstrdup(e);
    curl_free(e);
    curl_easy_cleanup(c);
    return out;
}

static int fetch_token(oci_registry *r, const char *challenge, const char *scope, cb_err *err)
{
    cleanup_free char *realm = auth_param(challenge, "realm");
    cleanup_free char *service = auth_param(challenge, "service");
    if (!realm)
        return cb_fail(err, "registry %s sent a Bearer challenge without a realm", r->display);
    cb_buf url;
    cb_buf_init(&url);
    cb_buf_printf(&url, "%s%s", realm, strchr(realm, '?') ? "&" : "?");
    if (service) {
        cleanup_free char *e = url_escape(service);
        cb_buf_printf(&url, "service=%s&", e);
    }
    /* one scope= parameter per space-separated scope (cross-repository mounts need two) */
    cleanup_free char *scopes = xstrdup(scope);
    bool first = true;
    for (char *save = NULL, *t = strtok_r(scopes, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        cleanup_free char *es = url_escape(t);
        cb_buf_printf(&url, "%sscope=%s", first ? "" : "&", es);
        first = false;
    }
    CURL *c = curl_easy_init();
    cb_buf body;
    cb_buf_init(&body);
    req q = {.method = "GET", .body_fd = -1, .out = &body};
    cb_buf_init(&q.errbody);
    header_cb_state st = {&q, c};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_status);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &q);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CB_VERSION);
    if (r->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    else if (r->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (r->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, r->pass);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q.status);
    curl_easy_cleanup(c);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = cb_failc(err, EIO, "token request to %s failed: %s", realm, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    else if (q.status == 401 || q.status == 403)
        rc = cb_failc(err, EACCES, "%s: authentication failed for %s (HTTP %ld from %s)%s", r->display, scope, q.status,
                      realm, r->user ? "; check the username and password" : "; log in with `cbuild login`");
    else if (q.status != 200)
        rc = cb_failc(err, EIO, "token request to %s: HTTP %ld", realm, q.status);
    else {
        json_t *j = json_loadb(body.data, body.len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "token"));
        if (!t)
            t = json_string_value(json_object_get(j, "access_token"));
        if (!t)
            rc = cb_failc(err, EIO, "token response from %s has no token", realm);
        else {
            pthread_mutex_lock(&r->mu);
            bool have = false;
            for (size_t i = 0; i < r->n_tokens; i++)
                if (!strcmp(r->tokens[i].scope, scope)) {
                    free(r->tokens[i].value);
                    r->tokens[i].value = xstrdup(t);
                    have = true;
                }
            if (!have) {
                r->tokens = xrealloc(r->tokens, (r->n_tokens + 1) * sizeof *r->tokens);
                r->tokens[r->n_tokens++] = (token){xstrdup(scope), xstrdup(t)};
            }
            pthread_mutex_unlock(&r->mu);
        }
        json_decref(j);
    }
    req_free(&q);
    cb_buf_free(&body);
    cb_buf_free(&url);
    return rc;
}

static void backoff_sleep(int attempt)
{
    long ms = 250L << (attempt < 6 ? attempt : 6);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Decide http or https once for an insecure host: Docker tries HTTPS first. */
static const char *scheme_of(oci_registry *r)
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
static int do_request(oci_registry *r, req *q, const char *path, const char *what, cb_err *err)
{
    bool auth_tried = false;
    for (int attempt = 0;; attempt++) {
        const char *scheme = scheme_of(r);
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
            backoff_sleep(attempt);
            continue;
        }
        if (!scheme_known(r) && !cb_str_has_prefix(path, "http"))
            set_scheme(r, scheme);
        if (q->status == 401 && !auth_tried && q->www_auth && !q->body_stream) {
            auth_tried = true;
            if (!strncasecmp(q->www_auth, "Bearer", 6)) {
                cleanup_free char *sc = auth_param(q->www_auth, "scope");
                const char *scope = q->scope ? q->scope : sc;
                if (!scope)
                    scope = "";
                int rc = fetch_token(r, q->www_auth, scope, err);
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
                backoff_sleep(attempt);
            continue;
        }
        return 0;
    }
}

static int status_error(oci_registry *r, req *q, const char *what, cb_err *err)
{
    cleanup_free char *txt = registry_error_text(q);
    int code = q->status == 404 ? ENOENT : (q->status == 401 || q->status == 403) ? EACCES : EIO;
    if (q->status == 401)
        return cb_failc(err, code, "%s: %s%s", what, txt,
                        r->user ? " (wrong username or password?)" : " (log in with `cbuild login`)");
    return cb_failc(err, code, "%s: %s", what, txt);
}

static char *scope_for(const char *repo, bool push)
{
    return xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
}

int oci_registry_ping(oci_registry *r, cb_err *err)
{
    req q = {.method = "GET", .body_fd = -1};
    cb_buf b;
    cb_buf_init(&b);
    q.out = &b;
    cb_buf_init(&q.errbody);
    cleanup_free char *what = xasprintf("login to %s", r->display);
    int rc = do_request(r, &q, "/v2/", what, err);
    if (rc == 0 && q.status != 200)
        rc = status_error(r, &q, what, err);
    req_free(&q);
    cb_buf_free(&b);
    return rc;
}

int oci_registry_get_manifest(oci_registry *r, const char *repository, const char *reference, cb_buf *body,
                              char **media_type, char digest[CB_DIGEST_STR_LEN], cb_err *err)
{
    cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", repository, reference);
    cleanup_free char *scope = scope_for(repository, false);
    cleanup_free char *what = xasprintf("manifest for %s/%s%s%s", r->display, repository,
                                        cb_digest_valid(reference) ? "@" : ":", reference);
    req q = {.method = "GET", .body_fd = -1, .scope = scope, .out = body};
    cb_buf_init(&q.errbody);
    q.headers = curl_slist_append(NULL, MANIFEST_ACCEPT);
    cb_buf_reset(body);
    int rc = do_request(r, &q, path, what, err);
    if (rc == 0 && q.status == 404) {
        cleanup_free char *txt = registry_error_text(&q);
        rc = cb_failc(err, ENOENT, "%s not found: %s", what, txt);
    } else if (rc == 0 && q.status != 200)
        rc = status_error(r, &q, what, err);
    if (rc == 0) {
        cb_sha256_buf(body->data ? body->data : "", body->len, digest);
        if (cb_digest_valid(reference) && strcmp(reference, digest))
            rc = cb_failc(err, EBADMSG, "%s: digest mismatch: got %s", what, digest);
        else if (media_type) {
            const char *mt = q.content_type;
            json_t *j = json_loadb(body->data, body->len, 0, NULL);
            const char *jmt = json_string_value(json_object_get(j, "mediaType"));
            if (jmt)
                mt = jmt;
            else if (json_object_get(j, "manifests"))
                mt = OCI_MT_INDEX;
            else if (!mt || !strncmp(mt, "application/json", 16))
                mt = OCI_MT_MANIFEST;
            *media_type = xstrdup(mt);
            json_decref(j);
        }
    }
    req_free(&q);
    return rc;
}

int oci_registry_put_manifest(oci_registry *r, const char *repository, const char *reference, const char *media_type,
                              const void *body, size_t len, cb_err *err)
{
    cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", repository, reference);
    cleanup_free char *scope = scope_for(repository, true);
    cleanup_free char *what = xasprintf("push manifest %s/%s:%s", r->display, repository, reference);
    cleanup_free char *ct = xasprintf("Content-Type: %s", media_type);
    req q = {.method = "PUT", .body_fd = -1, .scope = scope, .body = body, .body_len = len};
    cb_buf_init(&q.errbody);
    q.headers = curl_slist_append(NULL, ct);
    int rc = do_request(r, &q, path, what, err);
    if (rc == 0 && q.status != 201 && q.status != 200 && q.status != 202)
        rc = status_error(r, &q, what, err);
    req_free(&q);
    return rc;
}

int oci_registry_blob_exists(oci_registry *r, const char *repository, const char *digest, int64_t *size, cb_err *err)
{
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", repository, digest);
    cleanup_free char *scope = scope_for(repository, false);
    cleanup_free char *what = xasprintf("check blob %s in %s/%s", digest, r->display, repository);
    req q = {.method = "HEAD", .body_fd = -1, .scope = scope};
    cb_buf_init(&q.errbody);
    int rc = do_request(r, &q, path, what, err);
    if (rc == 0) {
        if (q.status == 200) {
            if (size)
                *size = q.content_length;
            rc = 1;
        } else if (q.status == 404)
            rc = 0;
        else
            rc = status_error(r, &q, what, err);
    }
    req_free(&q);
    return rc;
}

int oci_registry_fetch_blob(oci_registry *r, const char *repository, const char *digest, int64_t offset,
                            oci_sink sink, cb_err *err)
{
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", repository, digest);
    cleanup_free char *scope = scope_for(repository, false);
    cleanup_free char *what = xasprintf("fetch blob %s from %s/%s", digest, r->display, repository);
    req q = {.method = "GET", .body_fd = -1, .scope = scope, .sink = &sink};
    cb_buf_init(&q.errbody);
    cleanup_free char *range = NULL;
    if (offset > 0) {
        range = xasprintf("Range: bytes=%lld-", (long long)offset);
        q.headers = curl_slist_append(NULL, range);
    }
    int rc = do_request(r, &q, path, what, err);
    if (rc == 0) {
        if (offset > 0 && q.status == 200)
            rc = cb_failc(err, ERANGE, "%s: registry ignored the Range request", what);
        else if (q.status == 404)
            rc = cb_failc(err, ENOENT, "%s: blob unknown to registry", what);
        else if (q.status != 200 && q.status != 206)
            rc = status_error(r, &q, what, err);
    }
    req_free(&q);
    return rc;
}

static char *resolve_location(oci_registry *r, const char *loc)
{
    if (cb_str_has_prefix(loc, "http://") || cb_str_has_prefix(loc, "https://"))
        return xstrdup(loc);
    return xasprintf("%s://%s%s", scheme_of(r), r->host, loc);
}

static bool upload_session_lost(req *q)
{
    return q->status == 404 || (q->status == 400 && q->errbody.data && strstr(q->errbody.data, "BLOB_UPLOAD"));
}

static int push_blob_once(oci_registry *r, const char *repository, const char *digest, int64_t size, int fd,
                          const char *mount_from, bool *restart, cb_err *err)
{
    cleanup_free char *scope = mount_from ? xasprintf("repository:%s:pull,push repository:%s:pull", repository,
                                                      mount_from)
                                          : scope_for(repository, true);
    cleanup_free char *what = xasprintf("push blob %s to %s/%s", digest, r->display, repository);
    cleanup_free char *path = mount_from
                                  ? xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", repository, digest, mount_from)
                                  : xasprintf("/v2/%s/blobs/uploads/", repository);
    req q = {.method = "POST", .body_fd = -1, .scope = scope};
    cleanup_free char *loc = NULL, *put = NULL;
    cb_buf_init(&q.errbody);
    int rc = do_request(r, &q, path, what, err);
    if (rc < 0)
        goto out;
    if (q.status == 201) /* mounted */
        goto out;
    if (q.status != 202 || !q.location) {
        rc = status_error(r, &q, what, err);
        goto out;
    }
    loc = resolve_location(r, q.location);
    if (r->chunk_size > 0) {
        for (int64_t off = 0; off < size;) {
            int64_t n = size - off < r->chunk_size ? size - off : r->chunk_size;
            req p = {.method = "PATCH", .body_fd = fd, .body_off = off, .body_size = n, .scope = scope};
            cb_buf_init(&p.errbody);
            cleanup_free char *cr = xasprintf("Content-Range: %lld-%lld", (long long)off, (long long)(off + n - 1));
            p.headers = curl_slist_append(NULL, cr);
            p.headers = curl_slist_append(p.headers, "Content-Type: application/octet-stream");
            rc = do_request(r, &p, loc, what, err);
            if (rc < 0 || upload_session_lost(&p))
                *restart = true;
            if (rc == 0 && p.status != 202)
                rc = status_error(r, &p, what, err);
            if (rc == 0 && p.location) {
                free(loc);
                loc = resolve_location(r, p.location);
            }
            req_free(&p);
            if (rc < 0)
                goto out;
            off += n;
        }
    }
    put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
    req p = {.method = "PUT", .body_fd = -1, .scope = scope};
    if (r->chunk_size <= 0) {
        p.body_fd = fd;
        p.body_off = 0;
        p.body_size = size;
    }
    cb_buf_init(&p.errbody);
    p.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    rc = do_request(r, &p, put, what, err);
    if (rc < 0 || upload_session_lost(&p))
        *restart = true;
    if (rc == 0 && p.status != 201)
        rc = status_error(r, &p, what, err);
    req_free(&p);
out:
    req_free(&q);
    return rc;
}

int oci_registry_push_blob(oci_registry *r, const char *repository, const char *digest, int64_t size, int fd,
                           const char *mount_from, cb_err *err)
{
    /* an upload session dies with the registry process or a broken connection: start a new one */
    for (int attempt = 0;; attempt++) {
        bool restart = false;
        int rc = push_blob_once(r, repository, digest, size, fd, attempt ? NULL : mount_from, &restart, err);
        if (rc == 0 || !restart || attempt + 1 >= r->retries)
            return rc;
        cb_debug("push blob %s: upload session lost (%s); starting over", digest, err->msg);
        cb_err_clear(err);
        backoff_sleep(attempt);
    }
}

int oci_registry_push_blob_stream(oci_registry *r, const char *repository, int fd,
                                  int (*finish)(void *ctx, char digest[CB_DIGEST_STR_LEN], cb_err *err), void *ctx,
                                  char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    cleanup_free char *scope = scope_for(repository, true);
    cleanup_free char *what = xasprintf("stream a blob to %s/%s", r->display, repository);
    cleanup_free char *path = xasprintf("/v2/%s/blobs/uploads/", repository);
    cleanup_free char *loc = NULL, *put = NULL;
    req q = {.method = "POST", .body_fd = -1, .scope = scope};
    cb_buf_init(&q.errbody);
    int rc = do_request(r, &q, path, what, err);
    if (rc == 0 && (q.status != 202 || !q.location))
        rc = status_error(r, &q, what, err);
    if (rc < 0) {
        req_free(&q);
        return rc;
    }
    loc = resolve_location(r, q.location);
    req_free(&q);
    req p = {.method = "PATCH", .body_fd = fd, .body_stream = true, .scope = scope};
    cb_buf_init(&p.errbody);
    p.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    rc = do_request(r, &p, loc, what, err);
    if (rc == 0 && p.status != 202)
        rc = status_error(r, &p, what, err);
    if (rc == 0 && p.location) {
        free(loc);
        loc = resolve_location(r, p.location);
    }
    req_free(&p);
    /* the producer knows the digest once the stream ended; on failure it must stop too */
    char digest[CB_DIGEST_STR_LEN];
    cb_err ferr = {0};
    int fr = finish(ctx, digest, &ferr);
    if (rc < 0)
        return rc;
    if (fr < 0) {
        *err = ferr;
        return fr;
    }
    put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
    req u = {.method = "PUT", .body_fd = -1, .scope = scope};
    cb_buf_init(&u.errbody);
    u.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    rc = do_request(r, &u, put, what, err);
    if (rc == 0 && u.status != 201)
        rc = status_error(r, &u, what, err);
    req_free(&u);
    if (rc == 0)
        memcpy(digest_out, digest, CB_DIGEST_STR_LEN);
    return rc;
}
