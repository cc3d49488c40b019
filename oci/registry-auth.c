/* The registry token flow: a 401's `Bearer realm=…,service=…,scope=…` challenge answered
 * from the realm (with Basic credentials when known), tokens cached per scope. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry-internal.h"

const char *reg_find_token(oci_registry *r, const char *scope)
{
    for (size_t i = 0; i < r->n_tokens; i++)
        if (!strcmp(r->tokens[i].scope, scope))
            return r->tokens[i].value;
    return NULL;
}
/* Parse `Bearer realm="…",service="…",scope="…"`: value of key or NULL. */
char *reg_auth_param(const char *h, const char *key)
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

int reg_fetch_token(oci_registry *r, const char *challenge, const char *scope, cb_err *err)
{
    cleanup_free char *realm = reg_auth_param(challenge, "realm");
    cleanup_free char *service = reg_auth_param(challenge, "service");
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
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reg_on_header_status);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reg_on_body);
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
    reg_req_free(&q);
    cb_buf_free(&body);
    cb_buf_free(&url);
    return rc;
}
