/* docker-bake.hcl, the subset people write: `variable`, `group` and `target` blocks whose
 * attributes are strings (with ${NAME} interpolation), numbers, bools, lists, maps and
 * variable references. Functions, operators, conditionals, heredocs and `%{}` directives
 * fail with FILE:LINE. Values keep "${NAME}" for bake_def_resolve to interpolate. */
#include "bake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hcl {
    bake_def *d;
    const char *path;
    const char *p;
    int line;
    cb_err *err;
} hcl;

__attribute__((format(printf, 2, 3))) static int hcl_fail(hcl *h, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cb_failc(h->err, EINVAL, "%s:%d: %s", h->path, h->line, msg);
}

/* spaces and comments; newlines too when nl */
static void skip(hcl *h, bool nl)
{
    for (;;) {
        const char *p = h->p;
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            h->p++;
        } else if (*p == '\n' && nl) {
            h->line++;
            h->p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*h->p && *h->p != '\n')
                h->p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            for (const char *q = p; q < (e ? e : p + strlen(p)); q++)
                h->line += *q == '\n';
            h->p = e ? e + 2 : p + strlen(p);
        } else {
            return;
        }
    }
}

static bool is_ident(char c, bool first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && ((c >= '0' && c <= '9') || c == '-'));
}

static char *ident(hcl *h)
{
    const char *s = h->p;
    if (!is_ident(*s, true))
        return NULL;
    while (is_ident(*h->p, false))
        h->p++;
    return xstrndup(s, (size_t)(h->p - s));
}

static void ref_note(hcl *h, const char *name)
{
    cb_strv_push_owned(&h->d->refs, xasprintf("%s:%d\t%s", h->path, h->line, name));
}

/* "…" with escapes; ${NAME} kept for interpolation, $${ kept as the escape it is */
static int string_lit(hcl *h, json_t **out)
{
    cb_buf b;
    cb_buf_init(&b);
    h->p++;
    int rc = 0;
    while (rc == 0) {
        char c = *h->p;
        if (!c || c == '\n') {
            rc = hcl_fail(h, "unterminated string");
        } else if (c == '"') {
            h->p++;
            break;
        } else if (c == '\\') {
            char e = h->p[1];
            const char *rep = e == 'n'    ? "\n"
                              : e == 't'  ? "\t"
                              : e == 'r'  ? "\r"
                              : e == '"'  ? "\""
                              : e == '\\' ? "\\"
                                          : NULL;
            if (!rep) {
                rc = hcl_fail(h, "unsupported escape sequence \\%.1s", h->p + 1);
                break;
            }
            cb_buf_puts(&b, rep);
            h->p += 2;
        } else if (c == '$' && h->p[1] == '$' && h->p[2] == '{') {
            cb_buf_puts(&b, "$${");
            h->p += 3;
        } else if (c == '%' && h->p[1] == '%' && h->p[2] == '{') {
            cb_buf_puts(&b, "%{");
            h->p += 3;
        } else if (c == '%' && h->p[1] == '{') {
            rc = hcl_fail(h, "%%{ } template directives are not supported");
        } else if (c == '$' && h->p[1] == '{') {
            h->p += 2;
            while (*h->p == ' ')
                h->p++;
            cleanup_free char *name = ident(h);
            while (*h->p == ' ')
                h->p++;
            if (!name || *h->p != '}') {
                rc = hcl_fail(h, "unsupported interpolation `${%.40s`: only ${NAME} is supported",
                              name ? name : h->p);
                break;
            }
            h->p++;
            ref_note(h, name);
            cb_buf_printf(&b, "${%s}", name);
        } else {
            cb_buf_putc(&b, c);
            h->p++;
        }
    }
    if (rc == 0)
        *out = json_string(b.data ? b.data : "");
    cb_buf_free(&b);
    return rc;
}

static int expr(hcl *h, json_t **out);

/* [a, b,] and { k = v, "k": v } across lines */
static int collection(hcl *h, bool list, json_t **out)
{
    char close = list ? ']' : '}';
    json_t *c = list ? json_array() : json_object();
    h->p++;
    for (;;) {
        skip(h, true);
        if (*h->p == close) {
            h->p++;
            *out = c;
            return 0;
        }
        char *key = NULL;
        if (!list) {
            json_t *ks = NULL;
            if (*h->p == '"') {
                if (string_lit(h, &ks) < 0) {
                    json_decref(c);
                    return -EINVAL;
                }
                key = xstrdup(json_string_value(ks));
                json_decref(ks);
            } else if (!(key = ident(h))) {
                json_decref(c);
                return hcl_fail(h, "expected a key in a map, found `%.20s`", h->p);
            }
            skip(h, false);
            if (*h->p != '=' && *h->p != ':') {
                free(key);
                json_decref(c);
                return hcl_fail(h, "expected `=` after a map key, found `%.20s`", h->p);
            }
            h->p++;
            skip(h, true);
        }
        json_t *v = NULL;
        if (expr(h, &v) < 0) {
            free(key);
            json_decref(c);
            return -EINVAL;
        }
        if (list)
            json_array_append_new(c, v);
        else
            json_object_set_new(c, key, v);
        free(key);
        skip(h, false);
        if (*h->p == ',')
            h->p++;
        else if (*h->p != '\n' && *h->p != close && *h->p != '#' && *h->p != '/') {
            json_decref(c);
            return hcl_fail(h, "unexpected `%.20s` (operators and function calls are not supported)", h->p);
        }
    }
}

static int primary(hcl *h, json_t **out)
{
    char c = *h->p;
    if (c == '"')
        return string_lit(h, out);
    if (c == '[' || c == '{')
        return collection(h, c == '[', out);
    if (c == '<' && h->p[1] == '<')
        return hcl_fail(h, "heredoc strings are not supported");
    if ((c >= '0' && c <= '9') || (c == '-' && h->p[1] >= '0' && h->p[1] <= '9')) {
        char *end;
        double v = strtod(h->p, &end);
        bool integral = strcspn(h->p, ".eE") >= (size_t)(end - h->p);
        *out = integral ? json_integer((json_int_t)v) : json_real(v);
        h->p = end;
        return 0;
    }
    cleanup_free char *id = ident(h);
    if (!id)
        return hcl_fail(h, "unsupported expression `%.20s`", h->p);
    if (*h->p == '(')
        return hcl_fail(h, "function calls are not supported (%s)", id);
    if (*h->p == '.' || *h->p == '[')
        return hcl_fail(h, "attribute references are not supported (%s)", id);
    if (!strcmp(id, "true") || !strcmp(id, "false")) {
        *out = json_boolean(!strcmp(id, "true"));
        return 0;
    }
    if (!strcmp(id, "null")) {
        *out = json_null();
        return 0;
    }
    ref_note(h, id);
    *out = json_sprintf("${%s}", id);
    return 0;
}

static int expr(hcl *h, json_t **out)
{
    if (primary(h, out) < 0)
        return -EINVAL;
    skip(h, false);
    if (*h->p && strchr("?+-*/%=!<>&|", *h->p) && !(h->p[0] == '/' && (h->p[1] == '/' || h->p[1] == '*'))) {
        json_decref(*out);
        return hcl_fail(h, "operators and conditionals are not supported (`%.20s`)", h->p);
    }
    return 0;
}

enum block_kind { B_TOP, B_TARGET, B_GROUP, B_VARIABLE };

/* the attribute `name = value` inside a block of kind k, into obj */
static int attribute(hcl *h, enum block_kind k, const char *name, json_t *obj)
{
    int line = h->line;
    json_t *v = NULL;
    if (expr(h, &v) < 0)
        return -EINVAL;
    char why[256] = "";
    json_t *nv = NULL;
    if (k == B_TARGET) {
        nv = bake_attr_normalize(name, v, why, sizeof why);
    } else if (k == B_GROUP && !strcmp(name, "targets")) {
        nv = bake_attr_normalize("tags", v, why, sizeof why); /* a list of strings */
        if (!nv)
            snprintf(why, sizeof why, "`targets` must be a list of strings");
    } else if ((k == B_GROUP && !strcmp(name, "description")) ||
               (k == B_VARIABLE && (!strcmp(name, "default") || !strcmp(name, "description")))) {
        nv = json_incref(v);
    } else {
        snprintf(why, sizeof why, "unsupported attribute `%s` in a %s block", name,
                 k == B_GROUP ? "group" : "variable");
    }
    json_decref(v);
    if (!nv) {
        h->line = line;
        return hcl_fail(h, "%s", why);
    }
    json_object_set_new(obj, name, nv);
    return 0;
}

static int body(hcl *h, enum block_kind k, json_t *obj);

static int block(hcl *h, const char *type)
{
    enum block_kind k = !strcmp(type, "target")     ? B_TARGET
                        : !strcmp(type, "group")    ? B_GROUP
                        : !strcmp(type, "variable") ? B_VARIABLE
                                                    : B_TOP;
    if (k == B_TOP)
        return hcl_fail(h, "unsupported block `%s` (expected variable, group or target)", type);
    json_t *label = NULL;
    skip(h, false);
    if (*h->p == '"') {
        if (string_lit(h, &label) < 0)
            return -EINVAL;
    } else {
        cleanup_free char *id = ident(h);
        if (id)
            label = json_string(id);
    }
    skip(h, false);
    if (!label || *h->p != '{') {
        json_decref(label);
        return hcl_fail(h, "a %s block is `NAME { ... }` with one name", type);
    }
    h->p++;
    json_t *obj = json_object();
    int rc = body(h, k, obj);
    const char *name = json_string_value(label);
    if (rc == 0 && k == B_TARGET) {
        bake_def_put_target(h->d, name, obj);
    } else if (rc == 0 && k == B_GROUP) {
        if (!json_object_get(obj, "targets"))
            json_object_set_new(obj, "targets", json_array());
        json_object_set(h->d->group, name, obj);
    } else if (rc == 0) {
        json_t *def = json_object_get(obj, "default");
        json_object_set(h->d->variable, name, def ? def : json_null());
    }
    json_decref(obj);
    json_decref(label);
    return rc;
}

/* attributes and blocks up to the closing brace (or the end of the file at the top) */
static int body(hcl *h, enum block_kind k, json_t *obj)
{
    for (;;) {
        skip(h, true);
        if (!*h->p)
            return k == B_TOP ? 0 : hcl_fail(h, "unexpected end of file: a block is not closed");
        if (*h->p == '}') {
            if (k == B_TOP)
                return hcl_fail(h, "unexpected `}`");
            h->p++;
            return 0;
        }
        cleanup_free char *name = ident(h);
        if (!name)
            return hcl_fail(h, "expected an attribute or a block, found `%.20s`", h->p);
        skip(h, false);
        int rc;
        if (*h->p == '=' && h->p[1] != '=') {
            h->p++;
            skip(h, false);
            /* a top-level attribute is a variable with that default (buildx) */
            if (k == B_TOP) {
                json_t *v = json_object();
                rc = attribute(h, B_VARIABLE, "default", v);
                if (rc == 0)
                    json_object_set(h->d->variable, name, json_object_get(v, "default"));
                json_decref(v);
            } else {
                rc = attribute(h, k, name, obj);
            }
        } else if (k == B_TOP) {
            rc = block(h, name);
        } else {
            rc = hcl_fail(h, "unsupported nested block `%s`", name);
        }
        if (rc < 0)
            return rc;
        skip(h, false);
        if (*h->p && *h->p != '\n' && *h->p != '}')
            return hcl_fail(h, "expected a new line after an attribute or block, found `%.20s`", h->p);
    }
}

int bake_hcl_parse(bake_def *d, const char *path, const char *text, cb_err *err)
{
    hcl h = {.d = d, .path = path, .p = text, .line = 1, .err = err};
    return body(&h, B_TOP, NULL);
}
