/* Distribution API v2 client: ping, manifests, blob existence, fetch and push (monolithic,
 * chunked, streamed, cross-repository mount). HTTP in registry-http.c, tokens in
 * registry-auth.c. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry-internal.h"

void oci_registry_opts_default(oci_registry_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tls_verify = true;
    o->parallel = 4;
    o->retries = 5;
}

int oci_registry_new(const oci_ref *ref, const oci_registry_opts *opts, oci_registry **out, cb_err *err)
{
    reg_curl_init();
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
    r->insecure = reg_host_is_loopback(r->host) || !r->tls_verify;
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
    int rc = reg_do_request(r, &q, "/v2/", what, err);
    if (rc == 0 && q.status != 200)
        rc = reg_status_error(r, &q, what, err);
    reg_req_free(&q);
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
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0 && q.status == 404) {
        cleanup_free char *txt = reg_registry_error_text(&q);
        rc = cb_failc(err, ENOENT, "%s not found: %s", what, txt);
    } else if (rc == 0 && q.status != 200)
        rc = reg_status_error(r, &q, what, err);
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
    reg_req_free(&q);
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
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0 && q.status != 201 && q.status != 200 && q.status != 202)
        rc = reg_status_error(r, &q, what, err);
    reg_req_free(&q);
    return rc;
}

int oci_registry_blob_exists(oci_registry *r, const char *repository, const char *digest, int64_t *size, cb_err *err)
{
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", repository, digest);
    cleanup_free char *scope = scope_for(repository, false);
    cleanup_free char *what = xasprintf("check blob %s in %s/%s", digest, r->display, repository);
    req q = {.method = "HEAD", .body_fd = -1, .scope = scope};
    cb_buf_init(&q.errbody);
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0) {
        if (q.status == 200) {
            if (size)
                *size = q.content_length;
            rc = 1;
        } else if (q.status == 404)
            rc = 0;
        else
            rc = reg_status_error(r, &q, what, err);
    }
    reg_req_free(&q);
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
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0) {
        if (offset > 0 && q.status == 200)
            rc = cb_failc(err, ERANGE, "%s: registry ignored the Range request", what);
        else if (q.status == 404)
            rc = cb_failc(err, ENOENT, "%s: blob unknown to registry", what);
        else if (q.status != 200 && q.status != 206)
            rc = reg_status_error(r, &q, what, err);
    }
    reg_req_free(&q);
    return rc;
}

static char *resolve_location(oci_registry *r, const char *loc)
{
    if (cb_str_has_prefix(loc, "http://") || cb_str_has_prefix(loc, "https://"))
        return xstrdup(loc);
    return xasprintf("%s://%s%s", reg_scheme_of(r), r->host, loc);
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
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc < 0)
        goto out;
    if (q.status == 201) /* mounted */
        goto out;
    if (q.status != 202 || !q.location) {
        rc = reg_status_error(r, &q, what, err);
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
            rc = reg_do_request(r, &p, loc, what, err);
            if (rc < 0 || upload_session_lost(&p))
                *restart = true;
            if (rc == 0 && p.status != 202)
                rc = reg_status_error(r, &p, what, err);
            if (rc == 0 && p.location) {
                free(loc);
                loc = resolve_location(r, p.location);
            }
            reg_req_free(&p);
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
    rc = reg_do_request(r, &p, put, what, err);
    if (rc < 0 || upload_session_lost(&p))
        *restart = true;
    if (rc == 0 && p.status != 201)
        rc = reg_status_error(r, &p, what, err);
    reg_req_free(&p);
out:
    reg_req_free(&q);
    return rc;
}

int oci_registry_mount_blob(oci_registry *r, const char *repository, const char *digest, const char *from,
                            cb_err *err)
{
    cleanup_free char *scope = xasprintf("repository:%s:pull,push repository:%s:pull", repository, from);
    cleanup_free char *what =
        xasprintf("mount blob %s from %s/%s into %s/%s", digest, r->display, from, r->display, repository);
    cleanup_free char *path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", repository, digest, from);
    req q = {.method = "POST", .body_fd = -1, .scope = scope};
    cb_buf_init(&q.errbody);
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0 && q.status == 201)
        rc = 1;
    else if (rc == 0 && q.status == 202 && q.location) {
        /* refused: the registry opened an ordinary upload session instead; close it */
        cleanup_free char *loc = resolve_location(r, q.location);
        req d = {.method = "DELETE", .body_fd = -1, .scope = scope};
        cb_buf_init(&d.errbody);
        cb_err ignored = {0};
        (void)reg_do_request(r, &d, loc, what, &ignored);
        reg_req_free(&d);
    } else if (rc == 0 && q.status != 202)
        rc = reg_status_error(r, &q, what, err);
    reg_req_free(&q);
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
        reg_backoff_sleep(attempt);
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
    int rc = reg_do_request(r, &q, path, what, err);
    if (rc == 0 && (q.status != 202 || !q.location))
        rc = reg_status_error(r, &q, what, err);
    if (rc < 0) {
        reg_req_free(&q);
        return rc;
    }
    loc = resolve_location(r, q.location);
    reg_req_free(&q);
    req p = {.method = "PATCH", .body_fd = fd, .body_stream = true, .scope = scope};
    cb_buf_init(&p.errbody);
    p.headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    rc = reg_do_request(r, &p, loc, what, err);
    if (rc == 0 && p.status != 202)
        rc = reg_status_error(r, &p, what, err);
    if (rc == 0 && p.location) {
        free(loc);
        loc = resolve_location(r, p.location);
    }
    reg_req_free(&p);
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
    rc = reg_do_request(r, &u, put, what, err);
    if (rc == 0 && u.status != 201)
        rc = reg_status_error(r, &u, what, err);
    reg_req_free(&u);
    if (rc == 0)
        memcpy(digest_out, digest, CB_DIGEST_STR_LEN);
    return rc;
}

