/* `bake --print`: the resolved definition as buildx prints it (json.MarshalIndent of its
 * Group and Target structs: struct fields in declaration order, map keys sorted, cache and
 * output entries as objects of their attributes). */
#include "bake.h"

#include <stdlib.h>
#include <string.h>

/* buildx's Target fields in declaration order (bake/bake.go) */
static const char *const order[] = {
    "description", "annotations", "attest", "context",      "contexts", "dockerfile", "dockerfile-inline",
    "args",        "labels",      "tags",   "cache-from",   "cache-to", "target",     "secret",
    "ssh",         "platforms",   "output", "pull",         "no-cache", "network",    "no-cache-filter",
    "shm-size",    "ulimits",     "call",   "entitlements", NULL,
};

static int strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* a copy of obj with its keys in sorted order (Go marshals maps so) */
static json_t *sorted_object(json_t *obj, json_t *(*value)(json_t *))
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, strcmp_p);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        json_object_set_new(out, keys[i],
                            value ? value(json_object_get(obj, keys[i]))
                                  : json_deep_copy(json_object_get(obj, keys[i])));
    free(keys);
    return out;
}

/* "type=registry,ref=x" as {"ref": "x", "type": "registry"}; a bare value is what buildx
 * makes of it: a registry ref for caches, a local directory for outputs */
static json_t *entry_object(const char *s, const char *bare_key, const char *bare_type)
{
    json_t *m = json_object();
    if (!strchr(s, '=')) {
        if (!strcmp(s, "-"))
            json_object_set_new(m, "type", json_string("tar"));
        else
            json_object_set_new(m, "type", json_string(bare_type));
        json_object_set_new(m, bare_key, json_string(s));
    } else {
        cleanup_free char *dup = xstrdup(s);
        char *save = NULL;
        for (char *f = strtok_r(dup, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(f, '=');
            if (!eq)
                continue;
            *eq = 0;
            json_object_set_new(m, f, json_string(eq + 1));
        }
    }
    json_t *out = sorted_object(m, NULL);
    json_decref(m);
    return out;
}

/* buildx's Secret struct: id, src, env */
static json_t *secret_object(const char *s)
{
    json_t *m = entry_object(s, "id", "file");
    json_t *out = json_object();
    const char *src = json_string_value(json_object_get(m, "src"));
    if (!src)
        src = json_string_value(json_object_get(m, "source"));
    const char *env = json_string_value(json_object_get(m, "env"));
    const char *type = json_string_value(json_object_get(m, "type"));
    if (json_object_get(m, "id"))
        json_object_set(out, "id", json_object_get(m, "id"));
    if (src && !(type && !strcmp(type, "env")))
        json_object_set_new(out, "src", json_string(src));
    if (env || (type && !strcmp(type, "env") && src))
        json_object_set_new(out, "env", json_string(env ? env : src));
    json_decref(m);
    return out;
}

static json_t *target_object(json_t *t)
{
    json_t *out = json_object();
    for (const char *const *k = order; *k; k++) {
        json_t *v = json_object_get(t, *k);
        if (!v || (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)) ||
            (json_is_string(v) && !json_string_length(v) && strcmp(*k, "context")))
            continue;
        json_t *pv;
        if (json_is_object(v)) {
            pv = sorted_object(v, NULL);
        } else if (json_is_array(v) && (!strcmp(*k, "cache-from") || !strcmp(*k, "cache-to") ||
                                        !strcmp(*k, "output") || !strcmp(*k, "secret"))) {
            pv = json_array();
            size_t i;
            json_t *it;
            json_array_foreach(v, i, it)
            {
                const char *s = json_string_value(it);
                json_array_append_new(pv, !strcmp(*k, "secret")   ? secret_object(s)
                                          : !strcmp(*k, "output") ? entry_object(s, "dest", "local")
                                                                  : entry_object(s, "ref", "registry"));
            }
        } else {
            pv = json_deep_copy(v);
        }
        json_object_set_new(out, *k, pv);
    }
    return out;
}

static json_t *group_object(json_t *g)
{
    json_t *out = json_object();
    json_t *desc = json_object_get(g, "description");
    if (json_string_length(desc))
        json_object_set(out, "description", desc);
    json_t *t = json_object_get(g, "targets");
    json_object_set_new(out, "targets", t ? json_deep_copy(t) : json_array());
    return out;
}

char *bake_print(json_t *resolved)
{
    json_t *doc = json_object();
    json_t *g = json_object_get(resolved, "group");
    if (json_object_size(g))
        json_object_set_new(doc, "group", sorted_object(g, group_object));
    json_object_set_new(doc, "target", sorted_object(json_object_get(resolved, "target"), target_object));
    char *s = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    char *out = xasprintf("%s\n", s);
    free(s);
    return out;
}
