/* oci/ internals of the registry client, shared by registry.c (the Distribution API calls),
 * registry-http.c (one HTTP exchange: handles, callbacks, retries with backoff, the scheme) and
 * registry-auth.c (the Bearer token flow). */
#ifndef CB_OCI_REGISTRY_INTERNAL_H
#define CB_OCI_REGISTRY_INTERNAL_H
#include <curl/curl.h>
#include <pthread.h>

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

typedef struct header_cb_state {
    req *q;
    CURL *c;
} header_cb_state;

bool reg_host_is_loopback(const char *host);
void reg_curl_init(void); /* curl_global_init, once */
char *reg_header_value(const char *line, size_t n, const char *name);
void reg_req_free(req *q);
size_t reg_on_body(char *buf, size_t sz, size_t nm, void *opaque);
size_t reg_on_header_status(char *buf, size_t sz, size_t nm, void *opaque);
char *reg_registry_error_text(req *q);
void reg_backoff_sleep(int attempt);
const char *reg_scheme_of(oci_registry *r);
int reg_do_request(oci_registry *r, req *q, const char *path, const char *what, cb_err *err);
int reg_status_error(oci_registry *r, req *q, const char *what, cb_err *err);
const char *reg_find_token(oci_registry *r, const char *scope);
char *reg_auth_param(const char *h, const char *key);
int reg_fetch_token(oci_registry *r, const char *challenge, const char *scope, cb_err *err);

#endif
