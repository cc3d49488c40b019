/* Credentials in Docker's config.json ("auths": {host: {"auth": base64(user:pass)}}). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"

char *oci_auth_default_path(void)
{
    const char *dc = getenv("DOCKER_CONFIG");
    if (dc && *dc)
        return xasprintf("%s/config.json", dc);
    const char *home = getenv("HOME");
    return xasprintf("%s/.docker/config.json", home && *home ? home : ".");
}

/* Docker stores Docker Hub under its v1 index URL. */
static const char *auth_key_for(const char *host)
{
    if (!strcmp(host, "docker.io") || !strcmp(host, "registry-1.docker.io") || !strcmp(host, "index.docker.io"))
        return "https://index.docker.io/v1/";
    return host;
}

/* "https://host:5000/v1/" -> "host:5000" */
static char *key_host(const char *key)
{
    const char *p = key;
    if (cb_str_has_prefix(p, "https://"))
        p += 8;
    else if (cb_str_has_prefix(p, "http://"))
        p += 7;
    const char *slash = strchr(p, '/');
    return slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
}

static int load_config(const char *path, json_t **out, cb_err *err)
{
    cb_buf b;
    cb_buf_init(&b);
    int r = cb_read_file(path, &b, err);
    if (r == -ENOENT) {
        cb_err_clear(err);
        *out = json_object();
        cb_buf_free(&b);
        return 0;
    }
    if (r < 0) {
        cb_buf_free(&b);
        return r;
    }
    json_error_t je;
    json_t *j = b.len ? json_loadb(b.data, b.len, 0, &je) : json_object();
    cb_buf_free(&b);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return cb_fail(err, "%s: invalid JSON", path);
    }
    *out = j;
    return 0;
}

/* Docker credential helpers: `docker-credential-NAME get|store|erase` with the request on
 * stdin; `get` prints {"Username":…,"Secret":…}, or fails with "credentials not found". */
static int helper_run(const char *helper, const char *verb, const char *input, cb_buf *out, cb_err *err)
{
    int in[2], op[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return cb_error(err, errno, "pipe");
    if (pipe2(op, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return cb_error(err, errno, "pipe");
    }
    cleanup_free char *prog = xasprintf("docker-credential-%s", helper);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]), close(in[1]), close(op[0]), close(op[1]);
        return cb_error(err, e, "fork");
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(op[1], 1);
        execlp(prog, prog, verb, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(op[1]);
    /* a helper that exits without reading must not kill us with SIGPIPE */
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    if (cb_write_all(in[1], input, strlen(input)) == -EPIPE) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    close(in[1]);
    char buf[4096];
    ssize_t k;
    while ((k = read(op[0], buf, sizeof buf)) > 0)
        cb_buf_append(out, buf, (size_t)k);
    close(op[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return cb_failc(err, ENOEXEC, "credential helper %s is configured in config.json but not installed", prog);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (out->data && strstr(out->data, "credentials not found"))
            return -ENOENT;
        return cb_failc(err, EIO, "credential helper %s %s failed: %s", prog, verb, out->data ? out->data : "");
    }
    return 0;
}

static int helper_get(const char *helper, const char *server, char **user, char **pass, cb_err *err)
{
    cb_buf b;
    cb_buf_init(&b);
    int r = helper_run(helper, "get", server, &b, err);
    if (r == 0) {
        json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
        const char *u = json_string_value(json_object_get(j, "Username"));
        const char *sec = json_string_value(json_object_get(j, "Secret"));
        if (!u || !sec)
            r = cb_failc(err, EIO, "credential helper docker-credential-%s printed no Username/Secret", helper);
        else {
            *user = xstrdup(u);
            *pass = xstrdup(sec);
        }
        json_decref(j);
    }
    cb_buf_free(&b);
    return r;
}

/* The helper configured for host (credHelpers, else credsStore), or NULL. */
static char *helper_for(json_t *cfg, const char *key, const char *host)
{
    const char *h = json_string_value(json_object_get(json_object_get(cfg, "credHelpers"), host));
    if (!h)
        h = json_string_value(json_object_get(json_object_get(cfg, "credHelpers"), key));
    if (!h)
        h = json_string_value(json_object_get(cfg, "credsStore"));
    return h && *h ? xstrdup(h) : NULL;
}

int oci_auth_get(const char *path, const char *host, char **user, char **pass, cb_err *err)
{
    *user = *pass = NULL;
    cleanup_free char *def = path ? NULL : oci_auth_default_path();
    const char *p = path ? path : def;
    json_t *cfg;
    int r = load_config(p, &cfg, err);
    if (r < 0)
        return r;
    json_t *auths = json_object_get(cfg, "auths");
    const char *want = auth_key_for(host);
    cleanup_free char *want_host = key_host(want);
    cleanup_free char *helper = helper_for(cfg, want, want_host);
    if (helper) {
        json_decref(cfg);
        return helper_get(helper, want, user, pass, err);
    }
    json_t *found = NULL;
    cleanup_free char *found_key = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(auths, k, v)
    {
        cleanup_free char *kh = key_host(k);
        if (!strcmp(k, want) || !strcmp(kh, want_host)) {
            found = v;
            found_key = xstrdup(k);
            break;
        }
    }
    r = -ENOENT;
    const char *a = json_string_value(json_object_get(found, "auth"));
    if (a && *a) {
        size_t n = strlen(a);
        unsigned char *dec = xmalloc(n + 4);
        int dl = EVP_DecodeBlock(dec, (const unsigned char *)a, (int)n);
        if (dl < 0) {
            free(dec);
            r = cb_fail(err, "%s: auths[%s].auth is not valid base64", p, found_key);
            json_decref(cfg);
            return r;
        }
        while (n > 0 && a[n - 1] == '=') { /* EVP_DecodeBlock counts padding as zero bytes */
            dl--;
            n--;
        }
        dec[dl] = '\0';
        char *colon = strchr((char *)dec, ':');
        if (!colon) {
            free(dec);
            r = cb_fail(err, "%s: auths[%s].auth is not user:password", p, found_key);
            json_decref(cfg);
            return r;
        }
        *user = xstrndup((char *)dec, (size_t)(colon - (char *)dec));
        *pass = xstrdup(colon + 1);
        free(dec);
        r = 0;
    } else if (found && json_string_value(json_object_get(found, "username"))) {
        *user = xstrdup(json_string_value(json_object_get(found, "username")));
        const char *pw = json_string_value(json_object_get(found, "password"));
        *pass = xstrdup(pw ? pw : "");
        r = 0;
    }
    json_decref(cfg);
    return r;
}

static int save_config(const char *path, json_t *cfg, cb_err *err)
{
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int r = cb_mkdir_p(dir, 0700, err);
        if (r < 0)
            return r;
    }
    char *s = json_dumps(cfg, JSON_INDENT(1) | JSON_SORT_KEYS);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, s);
    cb_buf_putc(&b, '\n');
    free(s);
    int r = cb_write_file_atomic(path, b.data, b.len, 0600, err);
    cb_buf_free(&b);
    return r;
}

int oci_auth_set(const char *path, const char *host, const char *user, const char *pass, cb_err *err)
{
    cleanup_free char *def = path ? NULL : oci_auth_default_path();
    const char *p = path ? path : def;
    json_t *cfg;
    int r = load_config(p, &cfg, err);
    if (r < 0)
        return r;
    json_t *auths = json_object_get(cfg, "auths");
    if (!json_is_object(auths)) {
        auths = json_object();
        json_object_set_new(cfg, "auths", auths);
    }
    cleanup_free char *kh = key_host(auth_key_for(host));
    cleanup_free char *helper = helper_for(cfg, auth_key_for(host), kh);
    if (helper) { /* as docker: the secret goes to the helper, config.json keeps an empty entry */
        json_t *req = json_pack("{s:s,s:s,s:s}", "ServerURL", auth_key_for(host), "Username", user, "Secret", pass);
        char *txt = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        cb_buf b;
        cb_buf_init(&b);
        r = helper_run(helper, "store", txt, &b, err);
        free(txt);
        cb_buf_free(&b);
        if (r == 0 && !json_object_get(json_object_get(cfg, "credHelpers"), kh)) {
            json_object_set_new(auths, auth_key_for(host), json_object());
            r = save_config(p, cfg, err);
        }
        json_decref(cfg);
        return r;
    }
    cleanup_free char *plain = xasprintf("%s:%s", user, pass);
    size_t n = strlen(plain);
    cleanup_free unsigned char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock(enc, (const unsigned char *)plain, (int)n);
    json_t *e = json_object();
    json_object_set_new(e, "auth", json_string((char *)enc));
    json_object_set_new(auths, auth_key_for(host), e);
    r = save_config(p, cfg, err);
    json_decref(cfg);
    return r;
}

int oci_auth_remove(const char *path, const char *host, cb_err *err)
{
    cleanup_free char *def = path ? NULL : oci_auth_default_path();
    const char *p = path ? path : def;
    json_t *cfg;
    int r = load_config(p, &cfg, err);
    if (r < 0)
        return r;
    json_t *auths = json_object_get(cfg, "auths");
    const char *want = auth_key_for(host);
    cleanup_free char *want_host = key_host(want);
    cleanup_free char *helper = helper_for(cfg, want, want_host);
    if (helper) {
        cb_buf b;
        cb_buf_init(&b);
        r = helper_run(helper, "erase", want, &b, err);
        cb_buf_free(&b);
        if (r < 0 && r != -ENOENT) {
            json_decref(cfg);
            return r;
        }
    }
    cb_strv del;
    cb_strv_init(&del);
    const char *k;
    json_t *v;
    json_object_foreach(auths, k, v)
    {
        cleanup_free char *kh = key_host(k);
        if (!strcmp(k, want) || !strcmp(kh, want_host))
            cb_strv_push(&del, k);
    }
    if (!del.n)
        r = helper && r == 0 ? 0 : -ENOENT;
    else {
        for (size_t i = 0; i < del.n; i++)
            json_object_del(auths, del.v[i]);
        r = save_config(p, cfg, err);
    }
    cb_strv_free(&del);
    json_decref(cfg);
    return r;
}
