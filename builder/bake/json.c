/* docker-bake.json: {"group": {...}, "target": {...}, "variable": {"X": {"default": ...}}}. */
#include "bake.h"

#include <errno.h>
#include <string.h>

static int json_targets(bake_def *d, const char *path, json_t *ts, cb_err *err)
{
    const char *name;
    json_t *t;
    json_object_foreach(ts, name, t)
    {
        if (!json_is_object(t))
            return cb_failc(err, EINVAL, "%s: target \"%s\" must be an object", path, name);
        json_t *attrs = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(t, k, v)
        {
            char why[256];
            json_t *nv = bake_attr_normalize(k, v, why, sizeof why);
            if (!nv) {
                json_decref(attrs);
                return cb_failc(err, EINVAL, "%s: target \"%s\": %s", path, name, why);
            }
            json_object_set_new(attrs, k, nv);
        }
        bake_def_put_target(d, name, attrs);
        json_decref(attrs);
    }
    return 0;
}

static int json_groups(bake_def *d, const char *path, json_t *gs, cb_err *err)
{
    const char *name;
    json_t *g;
    json_object_foreach(gs, name, g)
    {
        json_t *tl = json_object_get(g, "targets");
        if (!json_is_object(g) || (tl && !json_is_array(tl)))
            return cb_failc(err, EINVAL, "%s: group \"%s\" must be {\"targets\": [...]}", path, name);
        size_t i;
        json_t *it;
        json_array_foreach(tl, i, it) if (!json_is_string(it)) return cb_failc(
            err, EINVAL, "%s: group \"%s\": targets must be strings", path, name);
        json_t *ng = json_object();
        json_object_set_new(ng, "targets", tl ? json_deep_copy(tl) : json_array());
        if (json_is_string(json_object_get(g, "description")))
            json_object_set(ng, "description", json_object_get(g, "description"));
        json_object_set_new(d->group, name, ng);
    }
    return 0;
}

int bake_json_parse(bake_def *d, const char *path, const char *text, cb_err *err)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root)
        return cb_failc(err, EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!json_is_object(v) && strcmp(k, "function")) {
            rc = cb_failc(err, EINVAL, "%s: `%s` must be an object", path, k);
        } else if (!strcmp(k, "target")) {
            rc = json_targets(d, path, v, err);
        } else if (!strcmp(k, "group")) {
            rc = json_groups(d, path, v, err);
        } else if (!strcmp(k, "variable")) {
            const char *vn;
            json_t *vv;
            json_object_foreach(v, vn, vv)
            {
                json_t *def = json_object_get(vv, "default");
                json_object_set(d->variable, vn, def ? def : json_null());
            }
        } else {
            rc = cb_failc(err, EINVAL, "%s: unsupported key `%s` (expected group, target or variable)", path,
                          k);
        }
        if (rc < 0)
            break;
    }
    if (!json_is_object(root))
        rc = cb_failc(err, EINVAL, "%s: a bake definition is a JSON object", path);
    json_decref(root);
    return rc;
}
