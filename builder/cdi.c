/* CDI spec files read with libyaml (JSON specs too: CDI reads both with a YAML parser), device
 * lookup as BuildKit's cdidevices.Manager, the device entitlement as its ValidateEntitlements. */
#include "cdi.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define ANNOTATION_CLASS "org.mobyproject.buildkit.device.class"
#define ANNOTATION_AUTOALLOW "org.mobyproject.buildkit.device.autoallow"

typedef struct spec_reader {
    yaml_document_t doc;
    const char *path;
    cb_err *err;
} spec_reader;

static yaml_node_t *node(spec_reader *s, int id)
{
    return yaml_document_get_node(&s->doc, id);
}

static size_t line_of(const yaml_node_t *n)
{
    return n ? n->start_mark.line + 1 : 0;
}

static int fail_at(spec_reader *s, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(spec_reader *s, const yaml_node_t *n, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cb_failc(s->err, EINVAL, "CDI spec %s:%zu: %s", s->path, line_of(n), what);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* an empty list or map, or YAML's null: the field is as good as absent */
static bool yaml_empty(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type == YAML_SEQUENCE_NODE)
        return n->data.sequence.items.start == n->data.sequence.items.top;
    if (n->type == YAML_MAPPING_NODE)
        return n->data.mapping.pairs.start == n->data.mapping.pairs.top;
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!strcmp(scalar(n), nulls[i]) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return true;
    return false;
}

static yaml_node_t *map_get(spec_reader *s, const yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(s, p->key));
        if (k && !strcmp(k, key))
            return node(s, p->value);
    }
    return NULL;
}

/* Go's strconv.ParseBool, which BuildKit reads the autoallow annotation with */
static bool parse_true(const char *v)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    for (size_t i = 0; v && i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(v, t[i]))
            return true;
    return false;
}

/* annotations: a string map; BuildKit merges the spec's under the device's */
static int read_annotations(spec_reader *s, const yaml_node_t *m, char **cls, bool *autoallow)
{
    if (!m || yaml_empty(m))
        return 0;
    if (m->type != YAML_MAPPING_NODE)
        return fail_at(s, m, "annotations must be a map");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(s, p->key)), *v = scalar(node(s, p->value));
        if (!k || !v)
            return fail_at(s, node(s, p->key), "annotation %s must be a string", k ? k : "key");
        if (!strcmp(k, ANNOTATION_CLASS)) {
            free(*cls);
            *cls = xstrdup(v);
        } else if (!strcmp(k, ANNOTATION_AUTOALLOW)) {
            *autoallow = parse_true(v);
        }
    }
    return 0;
}

/* containerEdits: env goes into the RUN; the rest needs a container on the host */
static int read_edits(spec_reader *s, const yaml_node_t *m, cdi_edits *e)
{
    static const char *const host_only[] = {"deviceNodes", "mounts", "hooks", "additionalGids", "intelRdt",
                                            "netDevices"};
    if (!m || yaml_empty(m))
        return 0;
    if (m->type != YAML_MAPPING_NODE)
        return fail_at(s, m, "containerEdits must be a map");
    const yaml_node_t *env = map_get(s, m, "env");
    if (env && yaml_empty(env))
        env = NULL;
    if (env && env->type != YAML_SEQUENCE_NODE)
        return fail_at(s, env, "containerEdits.env must be a list of KEY=VALUE strings");
    for (yaml_node_item_t *it = env ? env->data.sequence.items.start : NULL; env && it < env->data.sequence.items.top;
         it++) {
        const yaml_node_t *n = node(s, *it);
        const char *kv = scalar(n);
        if (!kv || !strchr(kv, '=') || kv[0] == '=')
            return fail_at(s, n, "invalid environment variable \"%s\" in containerEdits.env (want KEY=VALUE)",
                           kv ? kv : "");
        cb_strv_push(&e->env, kv);
    }
    for (size_t i = 0; i < sizeof host_only / sizeof host_only[0] && !e->unsupported; i++) {
        const yaml_node_t *n = map_get(s, m, host_only[i]);
        if (!n || yaml_empty(n))
            continue;
        e->unsupported = host_only[i];
    }
    return 0;
}

/* CDI's name rules (pkg/parser): vendor and class start with a letter, a device name with a
 * letter or digit; all end with a letter or digit. */
static bool name_ok(const char *s, size_t n, const char *extra, bool digit_first)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || (digit_first && isdigit((unsigned char)s[0]))) ||
        !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

static bool kind_ok(const char *kind)
{
    const char *slash = strchr(kind, '/');
    return slash && name_ok(kind, (size_t)(slash - kind), "-_.", false) &&
           name_ok(slash + 1, strlen(slash + 1), "-_", false);
}

static void edits_free(cdi_edits *e)
{
    cb_strv_free(&e->env);
}

static void device_free(cdi_device *d)
{
    free(d->name);
    free(d->class_annotation);
    edits_free(&d->edits);
}

void cdi_registry_init(cdi_registry *r)
{
    memset(r, 0, sizeof *r);
}

void cdi_registry_free(cdi_registry *r)
{
    for (size_t i = 0; i < r->n_specs; i++) {
        free(r->specs[i].path);
        free(r->specs[i].kind);
        edits_free(&r->specs[i].edits);
    }
    for (size_t i = 0; i < r->n_devices; i++)
        device_free(&r->devices[i]);
    free(r->specs);
    free(r->devices);
    cdi_registry_init(r);
}

const cdi_device *cdi_registry_get(const cdi_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n_devices; i++)
        if (!strcmp(r->devices[i].name, name))
            return &r->devices[i];
    return NULL;
}

/* a device defined again: a later directory wins (CDI's priority), one directory twice is an error */
static int add_device(cdi_registry *r, cdi_device *d, cb_err *err)
{
    for (size_t i = 0; i < r->n_devices; i++) {
        cdi_device *old = &r->devices[i];
        if (strcmp(old->name, d->name))
            continue;
        const cdi_spec *os = &r->specs[old->spec], *ns = &r->specs[d->spec];
        if (os->dir == ns->dir)
            return cb_failc(err, EINVAL, "CDI device %s is defined twice: in %s:%zu and in %s:%zu", d->name,
                            os->path, old->line, ns->path, d->line);
        device_free(old);
        *old = *d;
        return 0;
    }
    r->devices = xrealloc(r->devices, (r->n_devices + 1) * sizeof *r->devices);
    r->devices[r->n_devices++] = *d;
    return 0;
}

static int read_spec(spec_reader *s, cdi_registry *r, size_t dir, cb_err *err)
{
    const yaml_node_t *root = yaml_document_get_root_node(&s->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return fail_at(s, root, "a spec is a map with cdiVersion, kind and devices");
    const yaml_node_t *ver = map_get(s, root, "cdiVersion"), *kind = map_get(s, root, "kind");
    const yaml_node_t *devs = map_get(s, root, "devices");
    if (!scalar(ver) || !*scalar(ver))
        return fail_at(s, ver ? ver : root, "cdiVersion is missing");
    if (!scalar(kind))
        return fail_at(s, root, "kind is missing");
    if (!kind_ok(scalar(kind)))
        return fail_at(s, kind, "invalid kind \"%s\" (want vendor.com/class)", scalar(kind));
    if (!devs || devs->type != YAML_SEQUENCE_NODE || devs->data.sequence.items.start == devs->data.sequence.items.top)
        return fail_at(s, devs ? devs : root, "devices must be a non-empty list");
    char *spec_class = NULL;
    bool spec_autoallow = false;
    cdi_spec sp = {.path = xstrdup(s->path), .kind = xstrdup(scalar(kind)), .dir = dir};
    cb_strv_init(&sp.edits.env);
    int rc = read_annotations(s, map_get(s, root, "annotations"), &spec_class, &spec_autoallow);
    if (rc == 0)
        rc = read_edits(s, map_get(s, root, "containerEdits"), &sp.edits);
    if (rc < 0) {
        free(spec_class);
        free(sp.path);
        free(sp.kind);
        edits_free(&sp.edits);
        return rc;
    }
    r->specs = xrealloc(r->specs, (r->n_specs + 1) * sizeof *r->specs);
    r->specs[r->n_specs++] = sp;
    for (yaml_node_item_t *it = devs->data.sequence.items.start; it < devs->data.sequence.items.top && rc == 0;
         it++) {
        const yaml_node_t *dn = node(s, *it);
        const char *name = scalar(map_get(s, dn, "name"));
        if (!dn || dn->type != YAML_MAPPING_NODE || !name) {
            rc = fail_at(s, dn, "a device needs a name");
            break;
        }
        if (!name_ok(name, strlen(name), "-_.:", true)) {
            rc = fail_at(s, dn, "invalid device name \"%s\" (letters, digits, '-', '_', '.', ':')", name);
            break;
        }
        cdi_device d = {.name = xasprintf("%s=%s", sp.kind, name),
                        .spec = r->n_specs - 1,
                        .line = line_of(dn),
                        .class_annotation = spec_class ? xstrdup(spec_class) : NULL,
                        .autoallow = spec_autoallow};
        cb_strv_init(&d.edits.env);
        /* BuildKit: a device's annotation replaces the spec's of the same key */
        rc = read_annotations(s, map_get(s, dn, "annotations"), &d.class_annotation, &d.autoallow);
        if (rc == 0)
            rc = read_edits(s, map_get(s, dn, "containerEdits"), &d.edits);
        if (rc == 0)
            rc = add_device(r, &d, err);
        if (rc < 0)
            device_free(&d);
    }
    free(spec_class);
    return rc;
}

static int device_cmp(const void *a, const void *b)
{
    return strcmp(((const cdi_device *)a)->name, ((const cdi_device *)b)->name);
}

int cdi_registry_add_spec(cdi_registry *r, const char *path, const char *text, size_t len, size_t dir,
                          cb_err *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return cb_failc(err, ENOMEM, "CDI spec %s: yaml parser init", path);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    spec_reader s = {.path = path, .err = err};
    int rc = 0;
    if (!yaml_parser_load(&p, &s.doc)) {
        rc = cb_failc(err, EINVAL, "CDI spec %s:%zu: %s", path, p.problem_mark.line + 1,
                      p.problem ? p.problem : "invalid YAML");
        yaml_parser_delete(&p);
        return rc;
    }
    rc = read_spec(&s, r, dir, err);
    /* in name order, as CDI's cache lists them: "vendor.com/class" picks the first by name */
    if (r->n_devices)
        qsort(r->devices, r->n_devices, sizeof *r->devices, device_cmp);
    yaml_document_delete(&s.doc);
    yaml_parser_delete(&p);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(cdi_registry *r, const char *dir, size_t index, cb_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return cb_error(err, errno, "CDI spec directory %s", dir);
    }
    cb_strv names;
    cb_strv_init(&names);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && (cb_str_has_suffix(e->d_name, ".yaml") || cb_str_has_suffix(e->d_name, ".json")))
            cb_strv_push(&names, e->d_name);
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, name_cmp);
    int rc = 0;
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        cleanup_free char *path = cb_path_join(dir, names.v[i]);
        cb_buf text;
        cb_buf_init(&text);
        rc = cb_read_file(path, &text, err);
        if (rc == 0)
            rc = cdi_registry_add_spec(r, path, text.data ? text.data : "", text.len, index, err);
        cb_buf_free(&text);
    }
    cb_strv_free(&names);
    return rc;
}

int cdi_registry_load(cdi_registry *r, const char *dirs, cb_err *err)
{
    size_t index = 0;
    for (const char *p = dirs; *p;) {
        size_t n = strcspn(p, ":");
        if (n) {
            cleanup_free char *dir = xstrndup(p, n);
            int rc = load_dir(r, dir, index++, err);
            if (rc < 0)
                return rc;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* ---------- the entitlement ---------- */

void cdi_allow_init(cdi_allow *a)
{
    memset(a, 0, sizeof *a);
    cb_strv_init(&a->names);
    cb_strv_init(&a->aliases);
}

void cdi_allow_free(cdi_allow *a)
{
    cb_strv_free(&a->names);
    cb_strv_free(&a->aliases);
}

/* BuildKit's ParseDevicesConfig: NAME then key=value options, alias= the only one */
int cdi_allow_add(cdi_allow *a, const char *value, cb_err *err)
{
    if (!value || !*value) {
        a->all = true;
        return 0;
    }
    cleanup_free char *copy = xstrdup(value);
    char *save = NULL, *name = strtok_r(copy, ",", &save);
    const char *alias = "";
    for (char *f = strtok_r(NULL, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(f, '=');
        if (!eq)
            return cb_fail(err, "invalid device config \"%s\" in --allow device=%s", f, value);
        *eq = 0;
        if (strcmp(f, "alias"))
            return cb_fail(err, "unknown device config key \"%s\" in --allow device=%s", f, value);
        alias = eq + 1;
    }
    if (!name || !*name)
        return cb_fail(err, "--allow device=%s names no device", value);
    cb_strv_push(&a->names, name);
    cb_strv_push(&a->aliases, alias);
    return 0;
}

/* ---------- lookup ---------- */

static void push_unique(cb_strv *v, const char *s)
{
    if (!cb_strv_contains(v, s))
        cb_strv_push(v, s);
}

/* BuildKit's parseDevice: "kind=name", "kind" (its first device), "kind=*" (all of them); a
 * request no qualified name matches is tried as a class annotation. */
static void find_devices(const cdi_registry *r, const char *req, cb_strv *out)
{
    const char *eq = strchr(req, '=');
    cleanup_free char *kind = eq ? xstrndup(req, (size_t)(eq - req)) : xstrdup(req);
    const char *name = eq ? eq + 1 : "";
    const char *slash = strchr(kind, '/');
    bool qualified = slash && slash != kind && slash[1];
    bool matched = false;
    for (size_t i = 0; qualified && i < r->n_devices; i++) {
        const cdi_device *d = &r->devices[i];
        size_t kl = strlen(kind);
        if (!*name || !strcmp(name, "*")) {
            if (strncmp(d->name, kind, kl) || d->name[kl] != '=' || (matched && *name != '*'))
                continue;
        } else if (strcmp(d->name, req)) {
            continue;
        }
        push_unique(out, d->name);
        matched = true;
    }
    if (matched)
        return;
    for (size_t i = 0; i < r->n_devices; i++)
        if (r->devices[i].class_annotation && !strcmp(r->devices[i].class_annotation, req))
            push_unique(out, r->devices[i].name);
}

/* the host-side edits a VM has no place for, said with the reason */
static int refuse_host_edit(const cdi_device *d, const char *path, const char *field, cb_err *err)
{
    const char *why = !strcmp(field, "deviceNodes") ? "a RUN step runs in its own VM, which has none of the host's device nodes"
                      : !strcmp(field, "mounts")    ? "a RUN step runs in its own VM, which shares no host directories"
                      : !strcmp(field, "hooks")     ? "CDI hooks run on the host against a container; a RUN step is a VM"
                                                    : "a RUN step runs in its own VM, not in a host container";
    return cb_failc(err, ENOTSUP, "device %s (%s): containerEdits.%s cannot be applied: %s", d->name, path, field, why);
}

/* CDI's env edit: a key already set is replaced, a new one appended */
static void env_set(cb_strv *env, const char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; i < env->n; i++)
        if (!strncmp(env->v[i], kv, kl) && env->v[i][kl] == '=') {
            free(env->v[i]);
            env->v[i] = xstrdup(kv);
            return;
        }
    cb_strv_push(env, kv);
}

static int inject_edits(const cdi_registry *r, const cb_strv *found, cb_strv *env, cb_err *err)
{
    bool *spec_done = xcalloc(r->n_specs + 1, sizeof *spec_done);
    int rc = 0;
    for (size_t i = 0; i < found->n && rc == 0; i++) {
        const cdi_device *d = cdi_registry_get(r, found->v[i]);
        const cdi_spec *sp = &r->specs[d->spec];
        if (!spec_done[d->spec]) {
            spec_done[d->spec] = true;
            if (sp->edits.unsupported) {
                rc = refuse_host_edit(d, sp->path, sp->edits.unsupported, err);
                break;
            }
            for (size_t k = 0; k < sp->edits.env.n; k++)
                env_set(env, sp->edits.env.v[k]);
        }
        if (d->edits.unsupported) {
            rc = refuse_host_edit(d, sp->path, d->edits.unsupported, err);
            break;
        }
        for (size_t k = 0; k < d->edits.env.n; k++)
            env_set(env, d->edits.env.v[k]);
    }
    free(spec_done);
    return rc;
}

int cdi_resolve(const cdi_registry *r, const cdi_allow *a, const df_device *reqs, size_t n, cb_strv *env,
                cb_strv *warnings, cb_err *err)
{
    cb_strv found, checked, granted;
    cb_strv_init(&found);
    cb_strv_init(&checked); /* found through a request the entitlement has to allow */
    cb_strv_init(&granted);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *name = reqs[i].name;
        bool aliased = false;
        /* an alias names the device the build may use under the Dockerfile's name */
        for (size_t k = 0; k < a->aliases.n && !aliased; k++)
            if (*a->aliases.v[k] && !strcmp(a->aliases.v[k], name)) {
                name = a->names.v[k];
                aliased = true;
            }
        size_t before = found.n;
        find_devices(r, name, &found);
        if (found.n == before) {
            if (reqs[i].required)
                rc = cb_failc(err, ENODEV, "required device \"%s\" is not registered", name);
            else
                cb_strv_push_owned(warnings, xasprintf("Optional device \"%s\" is not registered", name));
        }
        for (size_t k = before; !aliased && k < found.n; k++)
            push_unique(&checked, found.v[k]);
    }
    for (size_t k = 0; rc == 0 && !a->all && k < a->names.n; k++) {
        if (*a->aliases.v[k])
            continue;
        size_t before = granted.n;
        find_devices(r, a->names.v[k], &granted);
        if (granted.n == before && checked.n)
            rc = cb_failc(err, ENODEV, "required device \"%s\" is not registered", a->names.v[k]);
    }
    cb_buf forbidden;
    cb_buf_init(&forbidden);
    size_t n_forbidden = 0;
    for (size_t k = 0; rc == 0 && !a->all && k < checked.n; k++) {
        if (cb_strv_contains(&granted, checked.v[k]) || cdi_registry_get(r, checked.v[k])->autoallow)
            continue;
        cb_buf_printf(&forbidden, "%s%s", n_forbidden++ ? ", " : "", checked.v[k]);
    }
    if (n_forbidden == 1)
        rc = cb_failc(err, EPERM, "device %s is requested by the build but not allowed", forbidden.data);
    else if (n_forbidden > 1)
        rc = cb_failc(err, EPERM, "devices %s are requested by the build but not allowed", forbidden.data);
    cb_buf_free(&forbidden);
    if (rc == 0)
        rc = inject_edits(r, &found, env, err);
    cb_strv_free(&found);
    cb_strv_free(&checked);
    cb_strv_free(&granted);
    return rc;
}
