/* The bake model: attribute types, merging, variables and ${VAR} interpolation, --set
 * overrides, and resolving requested names as buildx's ReadTargets does. */
#include "bake.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

const char *const bake_default_files[] = {
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "docker-bake.json",
    "docker-bake.hcl",
    "docker-bake.override.json",
    "docker-bake.override.hcl",
    NULL,
};

enum attr_kind { A_STRING, A_LIST, A_MAP, A_BOOL };
typedef struct attr_spec {
    const char *key;
    enum attr_kind kind;
    bool merge; /* lists: appended by Merge (buildx's "merge"), else replaced */
} attr_spec;

static const attr_spec attrs[] = {
    {"description", A_STRING, false}, {"inherits", A_LIST, false},
    {"annotations", A_LIST, true},    {"attest", A_LIST, true},
    {"context", A_STRING, false},     {"contexts", A_MAP, false},
    {"dockerfile", A_STRING, false},  {"dockerfile-inline", A_STRING, false},
    {"args", A_MAP, false},           {"labels", A_MAP, false},
    {"tags", A_LIST, false},          {"cache-from", A_LIST, true},
    {"cache-to", A_LIST, false},      {"target", A_STRING, false},
    {"secret", A_LIST, true},         {"ssh", A_LIST, true},
    {"platforms", A_LIST, false},     {"output", A_LIST, false},
    {"pull", A_BOOL, false},          {"no-cache", A_BOOL, false},
    {"network", A_STRING, false},     {"no-cache-filter", A_LIST, true},
    {"shm-size", A_STRING, false},    {"ulimits", A_LIST, true},
    {"call", A_STRING, false},        {"entitlements", A_LIST, true},
};
#define NATTRS (sizeof attrs / sizeof attrs[0])

static const attr_spec *attr_find(const char *key)
{
    for (size_t i = 0; i < NATTRS; i++)
        if (!strcmp(attrs[i].key, key))
            return &attrs[i];
    return NULL;
}

void bake_def_init(bake_def *d)
{
    d->target = json_object();
    d->group = json_object();
    d->variable = json_object();
    cb_strv_init(&d->refs);
}

void bake_def_free(bake_def *d)
{
    json_decref(d->target);
    json_decref(d->group);
    json_decref(d->variable);
    cb_strv_free(&d->refs);
}

int bake_file_read(bake_def *d, const char *path, cb_err *err)
{
    cb_buf text;
    cb_buf_init(&text);
    int rc = cb_read_file(path, &text, err);
    if (rc == 0) {
        const char *s = text.data ? text.data : "";
        if (cb_str_has_suffix(path, ".json"))
            rc = bake_json_parse(d, path, s, err);
        else if (cb_str_has_suffix(path, ".hcl"))
            rc = bake_hcl_parse(d, path, s, err);
        else
            rc = bake_compose_parse(d, path, s, err);
    }
    cb_buf_free(&text);
    return rc;
}

/* a scalar as the string buildx's cty conversion makes of it; NULL for other types */
static json_t *scalar_string(json_t *v)
{
    if (json_is_string(v))
        return json_incref(v);
    if (json_is_integer(v))
        return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v))
        return json_sprintf("%g", json_real_value(v));
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    return NULL;
}

json_t *bake_attr_normalize(const char *key, json_t *val, char *why, size_t n)
{
    const attr_spec *a = attr_find(key);
    if (!a) {
        snprintf(why, n, "unknown target attribute `%s`", key);
        return NULL;
    }
    json_t *out = NULL;
    switch (a->kind) {
    case A_STRING:
        if (!(out = scalar_string(val)))
            snprintf(why, n, "`%s` must be a string", key);
        return out;
    case A_BOOL:
        if (json_is_boolean(val) || json_is_string(val))
            return json_incref(val); /* a string ("${NOCACHE}") is checked after interpolation */
        snprintf(why, n, "`%s` must be true or false", key);
        return NULL;
    case A_LIST: {
        if (json_is_string(val) && (!strcmp(key, "platforms") || !strcmp(key, "tags"))) {
            out = json_array(); /* a single value where a list goes */
            json_array_append(out, val);
            return out;
        }
        if (!json_is_array(val)) {
            snprintf(why, n, "`%s` must be a list of strings", key);
            return NULL;
        }
        out = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(val, i, it)
        {
            json_t *s = scalar_string(it);
            if (!s) {
                snprintf(why, n, "`%s` must be a list of strings", key);
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, s);
        }
        return out;
    }
    case A_MAP: {
        if (!json_is_object(val)) {
            snprintf(why, n, "`%s` must be a map of strings", key);
            return NULL;
        }
        out = json_object();
        const char *k;
        json_t *it;
        json_object_foreach(val, k, it)
        {
            if (json_is_null(it))
                continue; /* buildx's nil *string: no value, the key is dropped */
            json_t *s = scalar_string(it);
            if (!s) {
                snprintf(why, n, "`%s.%s` must be a string", key, k);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, s);
        }
        return out;
    }
    }
    return NULL;
}

void bake_target_merge(json_t *t, json_t *t2)
{
    const char *k;
    json_t *v;
    json_object_foreach(t2, k, v)
    {
        const attr_spec *a = attr_find(k);
        json_t *cur = json_object_get(t, k);
        if (a && a->kind == A_MAP && json_is_object(cur))
            json_object_update(cur, v);
        else if (a && a->kind == A_LIST && a->merge && json_is_array(cur))
            json_array_extend(cur, v);
        else
            json_object_set_new(t, k, json_deep_copy(v));
    }
}

void bake_def_put_target(bake_def *d, const char *name, json_t *attrs)
{
    json_t *cur = json_object_get(d->target, name);
    if (cur)
        bake_target_merge(cur, attrs);
    else
        json_object_set_new(d->target, name, json_deep_copy(attrs));
}

/* ---------- variables ---------- */

typedef struct interp_ctx {
    bake_def *d;
    int depth; /* variables whose defaults name variables: a cycle ends here */
} interp_ctx;

static int interp(interp_ctx *c, const char *s, cb_buf *out, cb_err *err);

static int var_value(interp_ctx *c, const char *name, cb_buf *out, cb_err *err)
{
    json_t *def = json_object_get(c->d->variable, name);
    if (!def) {
        for (size_t i = 0; i < c->d->refs.n; i++) {
            const char *tab = strchr(c->d->refs.v[i], '\t');
            if (tab && !strcmp(tab + 1, name))
                return cb_failc(err, EINVAL, "%.*s: Unknown variable; There is no variable named \"%s\".",
                                (int)(tab - c->d->refs.v[i]), c->d->refs.v[i], name);
        }
        return cb_failc(err, EINVAL, "Unknown variable; There is no variable named \"%s\".", name);
    }
    const char *env = getenv(name); /* buildx: a variable's default yields to the environment */
    if (env) {
        cb_buf_puts(out, env);
        return 0;
    }
    if (json_is_null(def))
        return 0;
    if (json_is_string(def)) {
        if (++c->depth > 32)
            return cb_failc(err, EINVAL, "variable \"%s\": its default refers to itself", name);
        int rc = interp(c, json_string_value(def), out, err);
        c->depth--;
        return rc;
    }
    json_t *s = scalar_string(def);
    if (!s)
        return cb_failc(err, EINVAL, "variable \"%s\": only string, number and bool defaults are supported",
                        name);
    cb_buf_puts(out, json_string_value(s));
    json_decref(s);
    return 0;
}

static bool ident_char(char ch, bool first)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (!first && ch >= '0' && ch <= '9') || (!first && ch == '-');
}

/* "${NAME}" replaced by the variable's value, "$${" kept as a literal "${" (HCL's escape) */
static int interp(interp_ctx *c, const char *s, cb_buf *out, cb_err *err)
{
    for (const char *p = s; *p; p++) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            cb_buf_puts(out, "${");
            p += 2;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            cb_buf_putc(out, *p);
            continue;
        }
        const char *q = p + 2;
        while (*q == ' ')
            q++;
        const char *name = q;
        while (ident_char(*q, q == name))
            q++;
        size_t len = (size_t)(q - name);
        while (*q == ' ')
            q++;
        if (!len || *q != '}')
            return cb_failc(err, EINVAL, "unsupported interpolation in \"%s\": only ${NAME} is supported", s);
        cleanup_free char *nm = xstrndup(name, len);
        int rc = var_value(c, nm, out, err);
        if (rc < 0)
            return rc;
        p = q;
    }
    return 0;
}

/* every string in v interpolated, in place */
static int interp_json(interp_ctx *c, json_t *v, cb_err *err)
{
    if (json_is_string(v)) {
        cb_buf b;
        cb_buf_init(&b);
        int rc = interp(c, json_string_value(v), &b, err);
        if (rc == 0)
            json_string_set(v, b.data ? b.data : "");
        cb_buf_free(&b);
        return rc;
    }
    size_t i;
    const char *k;
    json_t *it;
    if (json_is_array(v))
        json_array_foreach(v, i, it) if (interp_json(c, it, err) < 0) return -EINVAL;
    if (json_is_object(v))
        json_object_foreach(v, k, it) if (interp_json(c, it, err) < 0) return -EINVAL;
    return 0;
}

/* ---------- resolving ---------- */

static int target_resolve(bake_def *d, const char *name, json_t *visiting, json_t **out, cb_err *err);

static int target_build(bake_def *d, const char *name, json_t *t, json_t *visiting, json_t **out, cb_err *err)
{
    json_t *res = json_object();
    json_t *inh = json_object_get(t, "inherits");
    size_t i;
    json_t *it;
    json_array_foreach(inh, i, it)
    {
        json_t *parent = NULL;
        int rc = target_resolve(d, json_string_value(it), visiting, &parent, err);
        if (rc < 0) {
            json_decref(res);
            return cb_error_wrap(err, "target \"%s\" inherits", name);
        }
        bake_target_merge(res, parent);
        json_decref(parent);
    }
    bake_target_merge(res, t);
    json_object_del(res, "inherits");
    *out = res;
    return 0;
}

static int target_resolve(bake_def *d, const char *name, json_t *visiting, json_t **out, cb_err *err)
{
    json_t *t = json_object_get(d->target, name);
    if (!t)
        return cb_failc(err, ENOENT, "failed to find target %s", name);
    if (json_object_get(visiting, name))
        return cb_failc(err, ELOOP, "target \"%s\" inherits from itself", name);
    json_object_set_new(visiting, name, json_true());
    int rc = target_build(d, name, t, visiting, out, err);
    json_object_del(visiting, name);
    return rc;
}

/* buildx's Config.group: a group's targets, groups inside expanded; groups visited to seen */
static void group_expand(bake_def *d, const char *name, json_t *targets, json_t *seen, int depth)
{
    json_t *g = json_object_get(d->group, name);
    if (!g || depth > 32) {
        json_array_append_new(targets, json_string(name));
        return;
    }
    if (json_object_get(seen, name))
        return;
    json_object_set(seen, name, g);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(g, "targets"), i, it)
        group_expand(d, json_string_value(it), targets, seen, depth + 1);
}

static void list_dedup(json_t *t, const char *key)
{
    json_t *l = json_object_get(t, key);
    if (!json_is_array(l))
        return;
    json_t *out = json_array();
    size_t i, j;
    json_t *it, *o;
    json_array_foreach(l, i, it)
    {
        bool dup = false;
        json_array_foreach(out, j, o) dup = dup || json_equal(o, it);
        if (!dup)
            json_array_append(out, it);
    }
    json_object_set_new(t, key, out);
}

static const char *set_key_alias(const char *k)
{
    if (!strcmp(k, "platform"))
        return "platforms";
    if (!strcmp(k, "secrets"))
        return "secret";
    if (!strcmp(k, "outputs"))
        return "output";
    if (!strcmp(k, "tag"))
        return "tags";
    return k;
}

static bool bool_parse(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return true;
    }
    return false;
}

/* --set push=true: as buildx, push=true on the image outputs, or an image output that pushes */
static void set_push(json_t *t)
{
    json_t *outs = json_object_get(t, "output");
    if (!json_array_size(outs)) {
        json_t *l = json_array();
        json_array_append_new(l, json_string("type=image,push=true"));
        json_object_set_new(t, "output", l);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(outs, i, it)
    {
        const char *s = json_string_value(it);
        if ((strstr(s, "type=image") || strstr(s, "type=registry")) && !strstr(s, "push=")) {
            cleanup_free char *p = xasprintf("%s,push=true", s);
            json_string_set(it, p);
        }
    }
}

/* One target's --set values for key (all of them: a list key takes every value, as buildx) */
static int set_apply(json_t *t, const char *key, const cb_strv *vals, cb_err *err)
{
    const char *dot = strchr(key, '.');
    if (dot && (!strncmp(key, "args.", 5) || !strncmp(key, "labels.", 7) || !strncmp(key, "contexts.", 9))) {
        cleanup_free char *m = xstrndup(key, (size_t)(dot - key));
        json_t *map = json_object_get(t, m);
        if (!json_is_object(map)) {
            map = json_object();
            json_object_set_new(t, m, map);
        }
        json_object_set_new(map, dot + 1, json_string(vals->v[vals->n - 1]));
        return 0;
    }
    if (!strcmp(key, "push")) {
        bool b;
        if (!bool_parse(vals->v[vals->n - 1], &b))
            return cb_failc(err, EINVAL, "invalid value %s for boolean key push", vals->v[vals->n - 1]);
        if (b)
            set_push(t);
        return 0;
    }
    const char *k = set_key_alias(key);
    const attr_spec *a = attr_find(k);
    if (!a || !strcmp(k, "inherits") || !strcmp(k, "description"))
        return cb_failc(err, EINVAL, "unknown key: %s", key);
    if (a->kind == A_LIST) {
        json_t *l = json_array();
        for (size_t i = 0; i < vals->n; i++) /* platforms: a,b as buildx splits it */
            if (!strcmp(k, "platforms")) {
                cleanup_free char *dup = xstrdup(vals->v[i]);
                char *save = NULL;
                for (char *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save))
                    json_array_append_new(l, json_string(p));
            } else {
                json_array_append_new(l, json_string(vals->v[i]));
            }
        json_object_set_new(t, k, l);
    } else if (a->kind == A_BOOL) {
        bool b;
        if (!bool_parse(vals->v[vals->n - 1], &b))
            return cb_failc(err, EINVAL, "invalid value %s for boolean key %s", vals->v[vals->n - 1], key);
        json_object_set_new(t, k, json_boolean(b));
    } else if (a->kind == A_STRING) {
        json_object_set_new(t, k, json_string(vals->v[vals->n - 1]));
    } else {
        return cb_failc(err, EINVAL, "invalid key %s: set %s.NAME=VALUE", key, key);
    }
    return 0;
}

/* Every --set whose pattern matches name, grouped by key in the order the keys came. */
static int overrides_apply(json_t *t, const char *name, const cb_strv *sets, cb_err *err)
{
    cb_strv keys;
    cb_strv_init(&keys);
    int rc = 0;
    for (size_t i = 0; sets && i < sets->n && rc == 0; i++) {
        const char *s = sets->v[i];
        const char *eq = strchr(s, '=');
        const char *dot = strchr(s, '.');
        if (!eq || !dot || dot > eq) {
            rc = cb_failc(err, EINVAL, "invalid override %s, expected target.name=value", s);
            break;
        }
        cleanup_free char *pat = xstrndup(s, (size_t)(dot - s));
        cleanup_free char *key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
        if (fnmatch(pat, name, 0) || cb_strv_contains(&keys, key))
            continue;
        cb_strv_push(&keys, key);
        cb_strv vals;
        cb_strv_init(&vals);
        for (size_t j = i; j < sets->n; j++) {
            const char *s2 = sets->v[j];
            const char *eq2 = strchr(s2, '='), *dot2 = strchr(s2, '.');
            if (!eq2 || !dot2 || dot2 > eq2)
                continue;
            cleanup_free char *pat2 = xstrndup(s2, (size_t)(dot2 - s2));
            if (!fnmatch(pat2, name, 0) && (size_t)(eq2 - dot2 - 1) == strlen(key) &&
                !strncmp(dot2 + 1, key, strlen(key)))
                cb_strv_push(&vals, eq2 + 1);
        }
        rc = set_apply(t, key, &vals, err);
        cb_strv_free(&vals);
    }
    cb_strv_free(&keys);
    return rc;
}

/* After interpolation: bools from strings, defaults, lists without repeats (buildx's normalize). */
static int target_finish(json_t *t, const char *name, cb_err *err)
{
    static const char *const bools[] = {"pull", "no-cache"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(t, bools[i]);
        bool b;
        if (json_is_string(v)) {
            if (!bool_parse(json_string_value(v), &b))
                return cb_failc(err, EINVAL, "target \"%s\": `%s` must be true or false, not \"%s\"", name,
                                bools[i], json_string_value(v));
            json_object_set_new(t, bools[i], json_boolean(b));
        }
    }
    if (!json_object_get(t, "context"))
        json_object_set_new(t, "context", json_string("."));
    json_t *df = json_object_get(t, "dockerfile");
    if (!df || !json_string_length(df))
        json_object_set_new(t, "dockerfile", json_string("Dockerfile"));
    for (size_t i = 0; i < NATTRS; i++)
        if (attrs[i].kind == A_LIST)
            list_dedup(t, attrs[i].key);
    return 0;
}

static int strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* buildx's ReadTargets: every requested name's targets, the groups met, and the group
 * "default" listing the names asked for (sorted) unless "default" was asked for and is a group. */
int bake_def_resolve(bake_def *d, const cb_strv *names, const cb_strv *sets, json_t **out, cb_err *err)
{
    cb_strv req;
    cb_strv_init(&req);
    for (size_t i = 0; names && i < names->n; i++)
        if (!cb_strv_contains(&req, names->v[i]))
            cb_strv_push(&req, names->v[i]);
    if (!req.n)
        cb_strv_push(&req, "default");
    json_t *groups = json_object(), *targets = json_object(), *visiting = json_object();
    interp_ctx ic = {.d = d};
    int rc = 0;
    for (size_t i = 0; i < req.n && rc == 0; i++) {
        json_t *tl = json_array();
        group_expand(d, req.v[i], tl, groups, 0);
        size_t k;
        json_t *it;
        json_array_foreach(tl, k, it)
        {
            const char *tn = json_string_value(it);
            json_t *t = NULL;
            if (json_object_get(targets, tn))
                continue;
            if ((rc = target_resolve(d, tn, visiting, &t, err)) < 0)
                break;
            if ((rc = overrides_apply(t, tn, sets, err)) == 0 && (rc = interp_json(&ic, t, err)) == 0)
                rc = target_finish(t, tn, err);
            if (rc < 0) {
                json_decref(t);
                cb_error_wrap(err, "target \"%s\"", tn);
                break;
            }
            json_object_set_new(targets, tn, t);
        }
        json_decref(tl);
    }
    if (rc == 0) {
        json_t *dg = json_object_get(groups, "default");
        cb_strv dt;
        cb_strv_init(&dt);
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(dg, "targets"), k, it) cb_strv_push(&dt, json_string_value(it));
        for (size_t i = 0; i < req.n; i++)
            if (!(dg && !strcmp(req.v[i], "default")) && !cb_strv_contains(&dt, req.v[i]))
                cb_strv_push(&dt, req.v[i]);
        qsort(dt.v, dt.n, sizeof *dt.v, strcmp_p);
        json_t *g = json_object(), *l = json_array();
        if (dg && json_object_get(dg, "description"))
            json_object_set(g, "description", json_object_get(dg, "description"));
        for (size_t i = 0; i < dt.n; i++)
            json_array_append_new(l, json_string(dt.v[i]));
        json_object_set_new(g, "targets", l);
        json_object_set_new(groups, "default", g);
        cb_strv_free(&dt);
        *out = json_pack("{s:o,s:o}", "group", groups, "target", targets);
    } else {
        json_decref(groups);
        json_decref(targets);
    }
    json_decref(visiting);
    cb_strv_free(&req);
    return rc;
}
