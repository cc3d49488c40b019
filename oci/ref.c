/* Image references, parsed and normalised as Docker's distribution/reference does. */
#include <ctype.h>
#include <string.h>

#include "oci.h"

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_valid(const char *s, size_t n)
{
    if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_alnum_lower(c))
            continue;
        if (c == '.' || c == '_') {
            if (c == '_' && i + 1 < n && s[i + 1] == '_') {
                i++;
            }
            if (!is_alnum_lower(s[i + 1]))
                return false;
            continue;
        }
        if (c == '-') {
            while (i + 1 < n && s[i + 1] == '-')
                i++;
            if (!is_alnum_lower(s[i + 1]))
                return false;
            continue;
        }
        return false;
    }
    return true;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return false;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

static bool domain_valid(const char *d, size_t n)
{
    if (n == 0)
        return false;
    if (d[0] == '[') /* IPv6 literal */
        return memchr(d, ']', n) != NULL;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == ':'))
            return false;
    }
    return true;
}

void oci_ref_free(oci_ref *r)
{
    if (!r)
        return;
    free(r->registry);
    free(r->repository);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof *r);
}

int oci_ref_parse(const char *s, oci_ref *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return cb_fail(err, "invalid reference format: empty name");
    cleanup_free char *name = xstrdup(s);
    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        const char *dg = at + 1;
        if (!cb_digest_valid(dg))
            return cb_fail(err, "invalid reference format: `%s`: bad digest `%s` (want sha256:<64 hex>)", s, dg);
        out->digest = xstrdup(dg);
    }
    char *slash = strrchr(name, '/');
    char *colon = strrchr(name, ':');
    if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        if (!tag_valid(colon + 1)) {
            oci_ref_free(out);
            return cb_fail(err, "invalid reference format: `%s`: bad tag `%s`", s, colon + 1);
        }
        out->tag = xstrdup(colon + 1);
    }
    const char *first_slash = strchr(name, '/');
    const char *repo = name;
    if (first_slash) {
        size_t n = (size_t)(first_slash - name);
        bool is_domain = memchr(name, '.', n) || memchr(name, ':', n) || (n == 9 && !strncmp(name, "localhost", 9));
        for (size_t i = 0; i < n && !is_domain; i++)
            if (isupper((unsigned char)name[i]))
                is_domain = true;
        if (is_domain) {
            if (!domain_valid(name, n)) {
                oci_ref_free(out);
                return cb_fail(err, "invalid reference format: `%s`: bad registry host", s);
            }
            out->registry = xstrndup(name, n);
            repo = first_slash + 1;
        }
    }
    if (!out->registry)
        out->registry = xstrdup("docker.io");
    if (!strcmp(out->registry, "index.docker.io") || !strcmp(out->registry, "registry-1.docker.io")) {
        free(out->registry);
        out->registry = xstrdup("docker.io");
    }
    if (!strcmp(out->registry, "docker.io") && !strchr(repo, '/'))
        out->repository = xasprintf("library/%s", repo);
    else
        out->repository = xstrdup(repo);
    /* validate path components */
    const char *p = out->repository;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        for (size_t i = 0; i < n; i++)
            if (isupper((unsigned char)p[i])) {
                oci_ref_free(out);
                return cb_fail(err, "invalid reference format: repository name (%s) must be lowercase", s);
            }
        if (!component_valid(p, n)) {
            oci_ref_free(out);
            return cb_fail(err, "invalid reference format: `%s`", s);
        }
        if (!e)
            break;
        p = e + 1;
    }
    if (strlen(out->registry) + 1 + strlen(out->repository) > 255) {
        oci_ref_free(out);
        return cb_fail(err, "invalid reference format: `%s`: repository name must not be more than 255 characters", s);
    }
    if (!out->tag && !out->digest)
        out->tag = xstrdup("latest");
    return 0;
}

char *oci_ref_name(const oci_ref *r)
{
    return xasprintf("%s/%s", r->registry, r->repository);
}

char *oci_ref_string(const oci_ref *r)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_printf(&b, "%s/%s", r->registry, r->repository);
    if (r->tag)
        cb_buf_printf(&b, ":%s", r->tag);
    if (r->digest)
        cb_buf_printf(&b, "@%s", r->digest);
    return cb_buf_steal(&b);
}

char *oci_ref_familiar_name(const oci_ref *r)
{
    if (!strcmp(r->registry, "docker.io")) {
        if (cb_str_has_prefix(r->repository, "library/") && !strchr(r->repository + 8, '/'))
            return xstrdup(r->repository + 8);
        return xstrdup(r->repository);
    }
    return oci_ref_name(r);
}

char *oci_ref_normalize(const char *s, cb_err *err)
{
    oci_ref r;
    if (oci_ref_parse(s, &r, err) < 0)
        return NULL;
    char *out = oci_ref_string(&r);
    oci_ref_free(&r);
    return out;
}

const char *oci_ref_api_host(const oci_ref *r)
{
    if (!strcmp(r->registry, "docker.io"))
        return "registry-1.docker.io";
    return r->registry;
}
