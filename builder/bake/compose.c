/* compose.yaml: each service's `build:` section as a target named after the service (its
 * `image:` the first tag), the group "default" listing them, as buildx's compose loader.
 * ${VAR} and ${VAR:-default} come from the environment, as compose interpolates. */
#include "bake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct compose {
    bake_def *d;
    yaml_document_t doc;
    const char *path;
    char *dir; /* the file's directory: contexts are relative to it */
    cb_err *err;
} compose;

static yaml_node_t *node(compose *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static yaml_node_t *map_get(compose *c, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return node(c, p->value);
    }
    return NULL;
}

static int fail_at(compose *c, yaml_node_t *n, const char *what)
{
    return cb_failc(c->err, EINVAL, "%s:%zu: %s", c->path, n ? n->start_mark.line + 1 : 0, what);
}

/* compose's interpolation from the environment; the result escaped from bake's own */
static json_t *scalar(yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    cb_buf b;
    cb_buf_init(&b);
    for (const char *p = s; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            cb_buf_putc(&b, '$');
            p++;
        } else if (p[0] == '$' && p[1] == '{' && strchr(p, '}')) {
            const char *end = strchr(p, '}');
            cleanup_free char *inner = xstrndup(p + 2, (size_t)(end - p - 2));
            char *dflt = strstr(inner, ":-");
            bool colon = dflt != NULL;
            if (!dflt && (dflt = strchr(inner, '-')))
                colon = false;
            if (dflt)
                *dflt = 0;
            const char *v = getenv(inner);
            if (dflt && (!v || (colon && !*v)))
                v = dflt + (colon ? 2 : 1);
            cb_buf_puts(&b, v ? v : "");
            p = end;
            continue;
        } else {
            cb_buf_putc(&b, *p);
        }
    }
    cb_buf esc; /* a "${" left is literal text: bake's interpolation must keep it */
    cb_buf_init(&esc);
    for (const char *p = b.data ? b.data : ""; *p; p++) {
        if (p[0] == '$' && p[1] == '{')
            cb_buf_putc(&esc, '$');
        cb_buf_putc(&esc, *p);
    }
    json_t *out = json_string(esc.data ? esc.data : "");
    cb_buf_free(&b);
    cb_buf_free(&esc);
    return out;
}

/* a list of strings, or a map / "K=V" list for args and labels (map == true) */
static json_t *strings(compose *c, yaml_node_t *n, bool map)
{
    json_t *out = map ? json_object() : json_array();
    if (n->type == YAML_SCALAR_NODE && !map) {
        json_array_append_new(out, scalar(n));
        return out;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
            yaml_node_t *it = node(c, *i);
            if (!it || it->type != YAML_SCALAR_NODE) {
                json_decref(out);
                return NULL;
            }
            json_t *s = scalar(it);
            if (map) {
                const char *kv = json_string_value(s);
                const char *eq = strchr(kv, '=');
                cleanup_free char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
                const char *env = getenv(k); /* "KEY" alone: compose takes it from the environment */
                if (eq || env)
                    json_object_set_new(out, k, json_string(eq ? eq + 1 : env));
                json_decref(s);
            } else {
                json_array_append_new(out, s);
            }
        }
        return out;
    }
    if (n->type == YAML_MAPPING_NODE && map) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
            if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, (const char *)k->data.scalar.value, scalar(v));
        }
        return out;
    }
    json_decref(out);
    return NULL;
}

static bool yaml_bool(yaml_node_t *n, bool *out)
{
    const char *s = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes"))
        return (*out = true);
    *out = false;
    return !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no");
}

/* build.secrets names top-level secrets: `secrets: {NAME: {file: PATH} | {environment: VAR}}` */
static json_t *secrets(compose *c, yaml_node_t *root, yaml_node_t *n)
{
    json_t *out = json_array();
    for (yaml_node_item_t *i = n->data.sequence.items.start;
         n->type == YAML_SEQUENCE_NODE && i < n->data.sequence.items.top; i++) {
        yaml_node_t *it = node(c, *i);
        yaml_node_t *src = it && it->type == YAML_MAPPING_NODE ? map_get(c, it, "source") : it;
        if (!src || src->type != YAML_SCALAR_NODE)
            continue;
        const char *name = (const char *)src->data.scalar.value;
        yaml_node_t *def = map_get(c, map_get(c, root, "secrets"), name);
        yaml_node_t *file = map_get(c, def, "file"), *env = map_get(c, def, "environment");
        if (file && file->type == YAML_SCALAR_NODE)
            json_array_append_new(out, json_sprintf("id=%s,src=%s", name, file->data.scalar.value));
        else if (env && env->type == YAML_SCALAR_NODE)
            json_array_append_new(out, json_sprintf("id=%s,env=%s", name, env->data.scalar.value));
    }
    return out;
}

static const struct {
    const char *compose, *bake;
    int kind; /* 0 string, 1 list, 2 map, 3 bool */
} keys[] = {
    {"dockerfile", "dockerfile", 0},
    {"dockerfile_inline", "dockerfile-inline", 0},
    {"target", "target", 0},
    {"network", "network", 0},
    {"shm_size", "shm-size", 0},
    {"args", "args", 2},
    {"labels", "labels", 2},
    {"additional_contexts", "contexts", 2},
    {"tags", "tags", 1},
    {"cache_from", "cache-from", 1},
    {"cache_to", "cache-to", 1},
    {"platforms", "platforms", 1},
    {"no_cache", "no-cache", 3},
    {"pull", "pull", 3},
};

static int service(compose *c, yaml_node_t *root, const char *name, yaml_node_t *svc, json_t *group)
{
    yaml_node_t *b = map_get(c, svc, "build");
    if (!b)
        return 0;
    json_t *t = json_object();
    yaml_node_t *ctxn = b->type == YAML_SCALAR_NODE ? b : map_get(c, b, "context");
    if (ctxn && ctxn->type != YAML_SCALAR_NODE) {
        json_decref(t);
        return fail_at(c, ctxn, "build.context must be a string");
    }
    json_t *ctx = ctxn ? scalar(ctxn) : json_string(".");
    const char *cs = json_string_value(ctx);
    if (cs[0] != '/' && strcmp(c->dir, "."))
        json_object_set_new(t, "context", json_sprintf("%s/%s", c->dir, cs));
    else
        json_object_set(t, "context", ctx);
    json_decref(ctx);
    json_t *tags = json_array();
    yaml_node_t *img = map_get(c, svc, "image");
    if (img && img->type == YAML_SCALAR_NODE)
        json_array_append_new(tags, scalar(img));
    json_object_set_new(t, "tags", tags);
    for (size_t i = 0; b->type == YAML_MAPPING_NODE && i < sizeof keys / sizeof keys[0]; i++) {
        yaml_node_t *v = map_get(c, b, keys[i].compose);
        if (!v)
            continue;
        json_t *jv = NULL;
        bool bv;
        if (keys[i].kind == 0 && v->type == YAML_SCALAR_NODE)
            jv = scalar(v);
        else if (keys[i].kind == 1 || keys[i].kind == 2)
            jv = strings(c, v, keys[i].kind == 2);
        else if (keys[i].kind == 3 && yaml_bool(v, &bv))
            jv = json_boolean(bv);
        if (!jv) {
            char why[128];
            snprintf(why, sizeof why, "service \"%s\": build.%s has the wrong type", name, keys[i].compose);
            json_decref(t);
            return fail_at(c, v, why);
        }
        if (!strcmp(keys[i].bake, "tags"))
            json_array_extend(tags, jv), json_decref(jv);
        else
            json_object_set_new(t, keys[i].bake, jv);
    }
    yaml_node_t *sec = map_get(c, b, "secrets");
    if (sec)
        json_object_set_new(t, "secret", secrets(c, root, sec));
    if (!json_array_size(tags))
        json_object_del(t, "tags");
    bake_def_put_target(c->d, name, t);
    json_array_append_new(group, json_string(name));
    json_decref(t);
    return 0;
}

int bake_compose_parse(bake_def *d, const char *path, const char *text, cb_err *err)
{
    compose c = {.d = d, .path = path, .err = err};
    const char *slash = strrchr(path, '/');
    c.dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    int rc = 0;
    if (!yaml_parser_load(&parser, &c.doc)) {
        rc = cb_failc(err, EINVAL, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                      parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        free(c.dir);
        return rc;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    yaml_node_t *svcs = map_get(&c, root, "services");
    if (!root || root->type != YAML_MAPPING_NODE || !svcs || svcs->type != YAML_MAPPING_NODE)
        rc = fail_at(&c, root, "a compose file needs a `services` map");
    json_t *group = json_array();
    for (yaml_node_pair_t *p = rc ? NULL : svcs->data.mapping.pairs.start;
         p && p < svcs->data.mapping.pairs.top && rc == 0; p++) {
        yaml_node_t *k = node(&c, p->key), *v = node(&c, p->value);
        if (k && k->type == YAML_SCALAR_NODE && v && v->type == YAML_MAPPING_NODE)
            rc = service(&c, root, (const char *)k->data.scalar.value, v, group);
    }
    if (rc == 0 && json_array_size(group)) {
        json_t *g = json_object_get(d->group, "default");
        if (g)
            json_array_extend(json_object_get(g, "targets"), group);
        else
            json_object_set_new(d->group, "default", json_pack("{s:O}", "targets", group));
    }
    json_decref(group);
    yaml_document_delete(&c.doc);
    free(c.dir);
    return rc;
}
