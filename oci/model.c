/* Descriptors, manifests, indexes and image configs (jansson). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

bool oci_media_type_is_index(const char *mt)
{
    return mt && (!strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, DOCKER_MT_LIST));
}

bool oci_media_type_is_manifest(const char *mt)
{
    return mt && (!strcmp(mt, OCI_MT_MANIFEST) || !strcmp(mt, DOCKER_MT_MANIFEST));
}

bool oci_media_type_is_layer(const char *mt)
{
    return mt && (cb_str_has_prefix(mt, "application/vnd.oci.image.layer.") ||
                  cb_str_has_prefix(mt, "application/vnd.docker.image.rootfs."));
}

/* ---------- platform ---------- */

void oci_platform_free(oci_platform *p)
{
    if (!p)
        return;
    free(p->os);
    free(p->architecture);
    free(p->variant);
    free(p->os_version);
    memset(p, 0, sizeof *p);
}

int oci_platform_parse(const char *s, oci_platform *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return cb_fail(err, "invalid platform: empty");
    cleanup_free char *c = xstrdup(s);
    char *parts[3] = {0};
    int n = 0;
    for (char *save = NULL, *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n == 3)
            return cb_fail(err, "invalid platform `%s`: want os/arch[/variant]", s);
        parts[n++] = t;
    }
    if (n == 0)
        return cb_fail(err, "invalid platform `%s`: want os/arch[/variant]", s);
    if (n == 1) {
        out->os = xstrdup("linux");
        out->architecture = xstrdup(parts[0]);
    } else {
        char *open = strchr(parts[0], '('), *close = open ? strchr(open, ')') : NULL;
        if (open && (!close || close[1]))
            return cb_fail(err, "invalid platform `%s`: want os[(version)]/arch[/variant]", s);
        if (open) {
            *close = 0;
            out->os_version = *(open + 1) ? xstrdup(open + 1) : NULL;
            *open = 0;
        }
        out->os = xstrdup(parts[0]);
        out->architecture = xstrdup(parts[1]);
        if (n == 3)
            out->variant = xstrdup(parts[2]);
    }
    /* normalise like containerd: x86_64 -> amd64, aarch64 -> arm64 */
    if (!strcmp(out->architecture, "x86_64") || !strcmp(out->architecture, "x86-64")) {
        free(out->architecture);
        out->architecture = xstrdup("amd64");
    } else if (!strcmp(out->architecture, "aarch64")) {
        free(out->architecture);
        out->architecture = xstrdup("arm64");
    }
    return 0;
}

/* ---------- descriptors ---------- */

void oci_descriptor_free(oci_descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    json_decref(d->annotations);
    json_decref(d->extra);
    if (d->platform) {
        oci_platform_free(d->platform);
        free(d->platform);
    }
    memset(d, 0, sizeof *d);
}

void oci_descriptor_copy(oci_descriptor *dst, const oci_descriptor *src)
{
    memset(dst, 0, sizeof *dst);
    dst->media_type = src->media_type ? xstrdup(src->media_type) : NULL;
    memcpy(dst->digest, src->digest, sizeof dst->digest);
    dst->size = src->size;
    dst->annotations = src->annotations ? json_deep_copy(src->annotations) : NULL;
    dst->extra = src->extra ? json_deep_copy(src->extra) : NULL;
    if (src->platform) {
        dst->platform = xcalloc(1, sizeof *dst->platform);
        dst->platform->os = src->platform->os ? xstrdup(src->platform->os) : NULL;
        dst->platform->architecture = src->platform->architecture ? xstrdup(src->platform->architecture) : NULL;
        dst->platform->variant = src->platform->variant ? xstrdup(src->platform->variant) : NULL;
        dst->platform->os_version = src->platform->os_version ? xstrdup(src->platform->os_version) : NULL;
    }
}

const char *oci_descriptor_annotation(const oci_descriptor *d, const char *key)
{
    if (!d->annotations)
        return NULL;
    return json_string_value(json_object_get(d->annotations, key));
}

void oci_descriptor_set_annotation(oci_descriptor *d, const char *key, const char *value)
{
    if (!d->annotations)
        d->annotations = json_object();
    json_object_set_new(d->annotations, key, json_string(value));
}

json_t *oci_descriptor_to_json(const oci_descriptor *d)
{
    json_t *j = json_object();
    json_object_set_new(j, "mediaType", json_string(d->media_type ? d->media_type : ""));
    json_object_set_new(j, "digest", json_string(d->digest));
    json_object_set_new(j, "size", json_integer(d->size));
    if (d->extra) {
        const char *k;
        json_t *v;
        json_object_foreach(d->extra, k, v) json_object_set(j, k, v);
    }
    if (d->annotations && json_object_size(d->annotations))
        json_object_set(j, "annotations", d->annotations);
    if (d->platform) {
        json_t *p = json_object();
        json_object_set_new(p, "architecture", json_string(d->platform->architecture ? d->platform->architecture : ""));
        json_object_set_new(p, "os", json_string(d->platform->os ? d->platform->os : ""));
        if (d->platform->os_version)
            json_object_set_new(p, "os.version", json_string(d->platform->os_version));
        if (d->platform->variant)
            json_object_set_new(p, "variant", json_string(d->platform->variant));
        json_object_set_new(j, "platform", p);
    }
    return j;
}

int oci_descriptor_from_json(json_t *j, oci_descriptor *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return cb_fail(err, "descriptor is not a JSON object");
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    const char *dg = json_string_value(json_object_get(j, "digest"));
    json_t *sz = json_object_get(j, "size");
    if (!dg || !cb_digest_valid(dg))
        return cb_fail(err, "descriptor has a missing or unsupported digest `%s`", dg ? dg : "");
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return cb_fail(err, "descriptor %s has no valid size", dg);
    out->media_type = xstrdup(mt ? mt : "");
    snprintf(out->digest, sizeof out->digest, "%s", dg);
    out->size = json_integer_value(sz);
    json_t *an = json_object_get(j, "annotations");
    if (json_is_object(an))
        out->annotations = json_deep_copy(an);
    json_t *pl = json_object_get(j, "platform");
    if (json_is_object(pl)) {
        out->platform = xcalloc(1, sizeof *out->platform);
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *ar = json_string_value(json_object_get(pl, "architecture"));
        const char *va = json_string_value(json_object_get(pl, "variant"));
        const char *ov = json_string_value(json_object_get(pl, "os.version"));
        out->platform->os = os ? xstrdup(os) : NULL;
        out->platform->architecture = ar ? xstrdup(ar) : NULL;
        out->platform->variant = va ? xstrdup(va) : NULL;
        out->platform->os_version = ov && *ov ? xstrdup(ov) : NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!strcmp(k, "mediaType") || !strcmp(k, "digest") || !strcmp(k, "size") || !strcmp(k, "annotations") ||
            !strcmp(k, "platform"))
            continue;
        if (!out->extra)
            out->extra = json_object();
        json_object_set(out->extra, k, v);
    }
    return 0;
}

static char *dump(json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        abort();
    if (len)
        *len = strlen(s);
    return s;
}

static json_t *load(const char *json, size_t len, const char *what, cb_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(json, len, 0, &je);
    if (!j) {
        cb_fail(err, "invalid %s JSON at line %d column %d: %s", what, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        cb_fail(err, "invalid %s: not a JSON object", what);
        return NULL;
    }
    return j;
}

/* ---------- manifests ---------- */

void oci_manifest_free(oci_manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    oci_descriptor_free(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        oci_descriptor_free(&m->layers[i]);
    free(m->layers);
    json_decref(m->annotations);
    memset(m, 0, sizeof *m);
}

/* A JSON array of descriptors (manifest layers, index manifests); `what` names an entry in errors. */
static int descriptors_from_json(json_t *arr, oci_descriptor **out, size_t *n, const char *what, cb_err *err)
{
    *out = xcalloc(json_array_size(arr) + 1, sizeof **out);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int r = oci_descriptor_from_json(v, &(*out)[i], err);
        if (r < 0)
            return cb_error_wrap(err, "%s %zu", what, i);
        *n = i + 1;
    }
    return 0;
}

static json_t *descriptors_to_json(const oci_descriptor *d, size_t n)
{
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(l, oci_descriptor_to_json(&d[i]));
    return l;
}

int oci_manifest_parse(const char *json, size_t len, oci_manifest *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = load(json, len, "manifest", err);
    if (!j)
        return -EINVAL;
    int r = 0;
    json_int_t sv = json_integer_value(json_object_get(j, "schemaVersion"));
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (sv == 1) {
        r = cb_fail(err, "Docker schema 1 manifests are not supported (push the image again with a current client)");
        goto out;
    }
    if (sv != 2) {
        r = cb_fail(err, "invalid manifest: schemaVersion %lld, want 2", (long long)sv);
        goto out;
    }
    if (json_object_get(j, "manifests") || oci_media_type_is_index(mt)) {
        r = cb_fail(err, "invalid manifest: this is an image index (manifest list)");
        goto out;
    }
    out->media_type = xstrdup(mt ? mt : OCI_MT_MANIFEST);
    r = oci_descriptor_from_json(json_object_get(j, "config"), &out->config, err);
    if (r < 0) {
        cb_error_wrap(err, "manifest config");
        goto out;
    }
    json_t *layers = json_object_get(j, "layers");
    if (!json_is_array(layers)) {
        r = cb_fail(err, "invalid manifest: no layers array");
        goto out;
    }
    r = descriptors_from_json(layers, &out->layers, &out->n_layers, "manifest layer", err);
    if (r < 0)
        goto out;
    json_t *an = json_object_get(j, "annotations");
    if (json_is_object(an))
        out->annotations = json_deep_copy(an);
out:
    json_decref(j);
    if (r < 0)
        oci_manifest_free(out);
    return r;
}

char *oci_manifest_serialize(const oci_manifest *m, size_t *len)
{
    json_t *j = json_object();
    json_object_set_new(j, "schemaVersion", json_integer(2));
    json_object_set_new(j, "mediaType", json_string(m->media_type ? m->media_type : OCI_MT_MANIFEST));
    json_object_set_new(j, "config", oci_descriptor_to_json(&m->config));
    json_object_set_new(j, "layers", descriptors_to_json(m->layers, m->n_layers));
    if (m->annotations && json_object_size(m->annotations))
        json_object_set(j, "annotations", m->annotations);
    char *s = dump(j, len);
    json_decref(j);
    return s;
}

void oci_manifest_add_layer(oci_manifest *m, const oci_descriptor *layer)
{
    m->layers = xrealloc(m->layers, (m->n_layers + 1) * sizeof *m->layers);
    oci_descriptor_copy(&m->layers[m->n_layers++], layer);
}

/* ---------- indexes ---------- */

void oci_index_free(oci_index *ix)
{
    if (!ix)
        return;
    free(ix->media_type);
    for (size_t i = 0; i < ix->n_manifests; i++)
        oci_descriptor_free(&ix->manifests[i]);
    free(ix->manifests);
    json_decref(ix->annotations);
    memset(ix, 0, sizeof *ix);
}

int oci_index_parse(const char *json, size_t len, oci_index *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = load(json, len, "image index", err);
    if (!j)
        return -EINVAL;
    int r = 0;
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    json_t *ms = json_object_get(j, "manifests");
    if (json_integer_value(json_object_get(j, "schemaVersion")) != 2 || !json_is_array(ms)) {
        r = cb_fail(err, "invalid image index: want schemaVersion 2 and a manifests array");
        goto out;
    }
    out->media_type = xstrdup(mt ? mt : OCI_MT_INDEX);
    r = descriptors_from_json(ms, &out->manifests, &out->n_manifests, "image index entry", err);
    if (r < 0)
        goto out;
    json_t *an = json_object_get(j, "annotations");
    if (json_is_object(an))
        out->annotations = json_deep_copy(an);
out:
    json_decref(j);
    if (r < 0)
        oci_index_free(out);
    return r;
}

char *oci_index_serialize(const oci_index *ix, size_t *len)
{
    json_t *j = json_object();
    json_object_set_new(j, "schemaVersion", json_integer(2));
    json_object_set_new(j, "mediaType", json_string(ix->media_type ? ix->media_type : OCI_MT_INDEX));
    json_object_set_new(j, "manifests", descriptors_to_json(ix->manifests, ix->n_manifests));
    if (ix->annotations && json_object_size(ix->annotations))
        json_object_set(j, "annotations", ix->annotations);
    char *s = dump(j, len);
    json_decref(j);
    return s;
}

void oci_index_add(oci_index *ix, const oci_descriptor *d)
{
    ix->manifests = xrealloc(ix->manifests, (ix->n_manifests + 1) * sizeof *ix->manifests);
    oci_descriptor_copy(&ix->manifests[ix->n_manifests++], d);
}

/* containerd's platforms matcher: arm64 without a variant is arm64/v8, arm without one arm/v7. */
static const char *variant_norm(const char *arch, const char *v)
{
    if (v && *v)
        return v;
    if (!strcmp(arch, "arm64"))
        return "v8";
    if (!strcmp(arch, "arm"))
        return "v7";
    return "";
}

bool oci_platform_matches(const char *os, const char *arch, const char *variant, const oci_platform *want)
{
    if (!os || !arch || strcmp(os, want->os) || strcmp(arch, want->architecture))
        return false;
    if (!want->variant)
        return true;
    return !strcmp(variant_norm(arch, variant), variant_norm(arch, want->variant));
}

/* containerd's windows matcher: an OS version asked for is matched on its first three
 * components (major.minor.build), as a prefix of the entry's */
static bool os_version_matches(const char *have, const oci_platform *want)
{
    if (!want->os_version || !*want->os_version || strcmp(want->os, "windows"))
        return true;
    const char *w = want->os_version, *e = w;
    for (int dots = 0; *e && (dots < 2 || *e != '.'); e++)
        dots += *e == '.';
    return have && !strncmp(have, w, (size_t)(e - w));
}

const oci_descriptor *oci_index_select(const oci_index *ix, const oci_platform *want)
{
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const oci_descriptor *d = &ix->manifests[i];
        if (d->platform &&
            oci_platform_matches(d->platform->os, d->platform->architecture, d->platform->variant, want) &&
            os_version_matches(d->platform->os_version, want))
            return d;
    }
    return NULL;
}

char *oci_platform_string(const oci_platform *p)
{
    cleanup_free char *os = p->os_version ? xasprintf("%s(%s)", p->os, p->os_version) : xstrdup(p->os);
    return p->variant && *p->variant ? xasprintf("%s/%s/%s", os, p->architecture, p->variant)
                                     : xasprintf("%s/%s", os, p->architecture);
}

/* ---------- config ---------- */

void oci_config_init(oci_config *c)
{
    memset(c, 0, sizeof *c);
    c->architecture = xstrdup("amd64");
    c->os = xstrdup("linux");
    c->labels = json_object();
    cb_strv_init(&c->env);
    cb_strv_init(&c->entrypoint);
    cb_strv_init(&c->cmd);
    cb_strv_init(&c->exposed_ports);
    cb_strv_init(&c->volumes);
    cb_strv_init(&c->onbuild);
    cb_strv_init(&c->shell);
    cb_strv_init(&c->diff_ids);
}

static void history_free(oci_history *h)
{
    free(h->created);
    free(h->created_by);
    free(h->author);
    free(h->comment);
}

static void healthcheck_free(oci_healthcheck *h)
{
    if (!h)
        return;
    cb_strv_free(&h->test);
    free(h);
}

void oci_config_free(oci_config *c)
{
    if (!c)
        return;
    free(c->created);
    free(c->author);
    free(c->architecture);
    free(c->os);
    free(c->variant);
    free(c->os_version);
    free(c->user);
    cb_strv_free(&c->env);
    cb_strv_free(&c->entrypoint);
    cb_strv_free(&c->cmd);
    free(c->working_dir);
    cb_strv_free(&c->exposed_ports);
    cb_strv_free(&c->volumes);
    json_decref(c->labels);
    free(c->stop_signal);
    healthcheck_free(c->healthcheck);
    cb_strv_free(&c->onbuild);
    cb_strv_free(&c->shell);
    cb_strv_free(&c->diff_ids);
    for (size_t i = 0; i < c->n_history; i++)
        history_free(&c->history[i]);
    free(c->history);
    json_decref(c->extra);
    json_decref(c->config_extra);
    memset(c, 0, sizeof *c);
}

static char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? xstrdup(s) : NULL;
}

static int strv_from_array(json_t *a, cb_strv *out, bool *set, const char *what, cb_err *err)
{
    if (set)
        *set = false;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return cb_fail(err, "invalid image config: %s is not an array", what);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return cb_fail(err, "invalid image config: %s[%zu] is not a string", what, i);
        cb_strv_push(out, json_string_value(v));
    }
    if (set)
        *set = true;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_sort(cb_strv *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

static int strv_from_keys(json_t *o, cb_strv *out, const char *what, cb_err *err)
{
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return cb_fail(err, "invalid image config: %s is not an object", what);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) cb_strv_push(out, k);
    strv_sort(out);
    return 0;
}

static const char *const config_known[] = {"User", "Env", "Entrypoint", "Cmd", "WorkingDir", "ExposedPorts",
                                           "Volumes", "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell",
                                           "ArgsEscaped", NULL};
static const char *const top_known[] = {"created", "author", "architecture", "os", "os.version", "variant",
                                        "config", "rootfs", "history", NULL};

static bool in_list(const char *const *l, const char *k)
{
    for (; *l; l++)
        if (!strcmp(*l, k))
            return true;
    return false;
}

/* Long: one field of the image-spec config after another, each validated where it is read. */
int oci_config_parse(const char *json, size_t len, oci_config *out, cb_err *err)
{
    oci_config_init(out);
    json_t *j = load(json, len, "image config", err);
    if (!j) {
        oci_config_free(out);
        return -EINVAL;
    }
    int r = 0;
    out->created = jstr(j, "created");
    out->author = jstr(j, "author");
    char *a = jstr(j, "architecture");
    if (a) {
        free(out->architecture);
        out->architecture = a;
    }
    char *o = jstr(j, "os");
    if (o) {
        free(out->os);
        out->os = o;
    }
    out->variant = jstr(j, "variant");
    out->os_version = jstr(j, "os.version");
    json_t *c = json_object_get(j, "config");
    if (json_is_object(c)) {
        out->user = jstr(c, "User");
        if ((r = strv_from_array(json_object_get(c, "Env"), &out->env, NULL, "Env", err)) < 0 ||
            (r = strv_from_array(json_object_get(c, "Entrypoint"), &out->entrypoint, &out->entrypoint_set,
                                 "Entrypoint", err)) < 0 ||
            (r = strv_from_array(json_object_get(c, "Cmd"), &out->cmd, &out->cmd_set, "Cmd", err)) < 0 ||
            (r = strv_from_array(json_object_get(c, "OnBuild"), &out->onbuild, NULL, "OnBuild", err)) < 0 ||
            (r = strv_from_array(json_object_get(c, "Shell"), &out->shell, &out->shell_set, "Shell", err)) < 0 ||
            (r = strv_from_keys(json_object_get(c, "ExposedPorts"), &out->exposed_ports, "ExposedPorts", err)) < 0 ||
            (r = strv_from_keys(json_object_get(c, "Volumes"), &out->volumes, "Volumes", err)) < 0)
            goto out;
        out->working_dir = jstr(c, "WorkingDir");
        out->stop_signal = jstr(c, "StopSignal");
        out->args_escaped = json_is_true(json_object_get(c, "ArgsEscaped"));
        json_t *lb = json_object_get(c, "Labels");
        if (json_is_object(lb)) {
            const char *k;
            json_t *v;
            json_object_foreach(lb, k, v) if (json_is_string(v)) json_object_set(out->labels, k, v);
        }
        json_t *hc = json_object_get(c, "Healthcheck");
        if (json_is_object(hc)) {
            out->healthcheck = xcalloc(1, sizeof *out->healthcheck);
            cb_strv_init(&out->healthcheck->test);
            if ((r = strv_from_array(json_object_get(hc, "Test"), &out->healthcheck->test, NULL, "Healthcheck.Test",
                                     err)) < 0)
                goto out;
            out->healthcheck->interval_ns = json_integer_value(json_object_get(hc, "Interval"));
            out->healthcheck->timeout_ns = json_integer_value(json_object_get(hc, "Timeout"));
            out->healthcheck->start_period_ns = json_integer_value(json_object_get(hc, "StartPeriod"));
            out->healthcheck->start_interval_ns = json_integer_value(json_object_get(hc, "StartInterval"));
            out->healthcheck->retries = (int)json_integer_value(json_object_get(hc, "Retries"));
        }
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            if (in_list(config_known, k))
                continue;
            if (!out->config_extra)
                out->config_extra = json_object();
            json_object_set(out->config_extra, k, v);
        }
    }
    json_t *rootfs = json_object_get(j, "rootfs");
    if (rootfs) {
        if (!json_is_object(rootfs)) {
            r = cb_fail(err, "invalid image config: rootfs is not an object");
            goto out;
        }
        if ((r = strv_from_array(json_object_get(rootfs, "diff_ids"), &out->diff_ids, NULL, "rootfs.diff_ids", err)) <
            0)
            goto out;
        for (size_t i = 0; i < out->diff_ids.n; i++)
            if (!cb_digest_valid(out->diff_ids.v[i])) {
                r = cb_fail(err, "invalid image config: rootfs.diff_ids[%zu] `%s` is not a sha256 digest", i,
                            out->diff_ids.v[i]);
                goto out;
            }
    }
    json_t *hist = json_object_get(j, "history");
    if (json_is_array(hist)) {
        out->history = xcalloc(json_array_size(hist) + 1, sizeof *out->history);
        size_t i;
        json_t *h;
        json_array_foreach(hist, i, h)
        {
            oci_history *e = &out->history[out->n_history++];
            e->created = jstr(h, "created");
            e->created_by = jstr(h, "created_by");
            e->author = jstr(h, "author");
            e->comment = jstr(h, "comment");
            e->empty_layer = json_is_true(json_object_get(h, "empty_layer"));
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (in_list(top_known, k))
            continue;
        if (!out->extra)
            out->extra = json_object();
        json_object_set(out->extra, k, v);
    }
out:
    json_decref(j);
    if (r < 0)
        oci_config_free(out);
    return r;
}

static json_t *strv_to_array(const cb_strv *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

static json_t *strv_to_keys(const cb_strv *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < s->n; i++)
        json_object_set_new(o, s->v[i], json_object());
    return o;
}

char *oci_config_serialize(const oci_config *c, size_t *len)
{
    json_t *j = json_object();
    if (c->extra)
        json_object_update(j, c->extra);
    if (c->created)
        json_object_set_new(j, "created", json_string(c->created));
    if (c->author)
        json_object_set_new(j, "author", json_string(c->author));
    json_object_set_new(j, "architecture", json_string(c->architecture ? c->architecture : "amd64"));
    json_object_set_new(j, "os", json_string(c->os ? c->os : "linux"));
    if (c->os_version)
        json_object_set_new(j, "os.version", json_string(c->os_version));
    if (c->variant)
        json_object_set_new(j, "variant", json_string(c->variant));
    json_t *cf = json_object();
    if (c->config_extra)
        json_object_update(cf, c->config_extra);
    if (c->user && *c->user)
        json_object_set_new(cf, "User", json_string(c->user));
    if (c->env.n)
        json_object_set_new(cf, "Env", strv_to_array(&c->env));
    if (c->entrypoint_set)
        json_object_set_new(cf, "Entrypoint", strv_to_array(&c->entrypoint));
    if (c->cmd_set)
        json_object_set_new(cf, "Cmd", strv_to_array(&c->cmd));
    if (c->working_dir && *c->working_dir)
        json_object_set_new(cf, "WorkingDir", json_string(c->working_dir));
    if (c->exposed_ports.n)
        json_object_set_new(cf, "ExposedPorts", strv_to_keys(&c->exposed_ports));
    if (c->volumes.n)
        json_object_set_new(cf, "Volumes", strv_to_keys(&c->volumes));
    if (c->labels && json_object_size(c->labels))
        json_object_set(cf, "Labels", c->labels);
    if (c->stop_signal && *c->stop_signal)
        json_object_set_new(cf, "StopSignal", json_string(c->stop_signal));
    if (c->healthcheck) {
        json_t *h = json_object();
        json_object_set_new(h, "Test", strv_to_array(&c->healthcheck->test));
        if (c->healthcheck->interval_ns)
            json_object_set_new(h, "Interval", json_integer(c->healthcheck->interval_ns));
        if (c->healthcheck->timeout_ns)
            json_object_set_new(h, "Timeout", json_integer(c->healthcheck->timeout_ns));
        if (c->healthcheck->start_period_ns)
            json_object_set_new(h, "StartPeriod", json_integer(c->healthcheck->start_period_ns));
        if (c->healthcheck->start_interval_ns)
            json_object_set_new(h, "StartInterval", json_integer(c->healthcheck->start_interval_ns));
        if (c->healthcheck->retries)
            json_object_set_new(h, "Retries", json_integer(c->healthcheck->retries));
        json_object_set_new(cf, "Healthcheck", h);
    }
    if (c->onbuild.n)
        json_object_set_new(cf, "OnBuild", strv_to_array(&c->onbuild));
    if (c->shell_set)
        json_object_set_new(cf, "Shell", strv_to_array(&c->shell));
    if (c->args_escaped)
        json_object_set_new(cf, "ArgsEscaped", json_true());
    json_object_set_new(j, "config", cf);
    json_t *rootfs = json_object();
    json_object_set_new(rootfs, "type", json_string("layers"));
    json_object_set_new(rootfs, "diff_ids", strv_to_array(&c->diff_ids));
    json_object_set_new(j, "rootfs", rootfs);
    if (c->n_history) {
        json_t *ha = json_array();
        for (size_t i = 0; i < c->n_history; i++) {
            const oci_history *e = &c->history[i];
            json_t *h = json_object();
            if (e->created)
                json_object_set_new(h, "created", json_string(e->created));
            if (e->created_by)
                json_object_set_new(h, "created_by", json_string(e->created_by));
            if (e->author)
                json_object_set_new(h, "author", json_string(e->author));
            if (e->comment)
                json_object_set_new(h, "comment", json_string(e->comment));
            if (e->empty_layer)
                json_object_set_new(h, "empty_layer", json_true());
            json_array_append_new(ha, h);
        }
        json_object_set_new(j, "history", ha);
    }
    char *s = dump(j, len);
    json_decref(j);
    return s;
}

void oci_config_copy(oci_config *dst, const oci_config *src)
{
    size_t n;
    cleanup_free char *s = oci_config_serialize(src, &n);
    if (oci_config_parse(s, n, dst, NULL) < 0)
        abort(); /* our own output always parses */
    dst->entrypoint_set = src->entrypoint_set;
    dst->cmd_set = src->cmd_set;
    dst->shell_set = src->shell_set;
}

void oci_config_env_set(oci_config *c, const char *key, const char *value)
{
    size_t kl = strlen(key);
    char *kv = xasprintf("%s=%s", key, value);
    for (size_t i = 0; i < c->env.n; i++)
        if (!strncmp(c->env.v[i], key, kl) && c->env.v[i][kl] == '=') {
            free(c->env.v[i]);
            c->env.v[i] = kv;
            return;
        }
    cb_strv_push_owned(&c->env, kv);
}

const char *oci_config_env_get(const oci_config *c, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < c->env.n; i++)
        if (!strncmp(c->env.v[i], key, kl) && c->env.v[i][kl] == '=')
            return c->env.v[i] + kl + 1;
    return NULL;
}

void oci_config_label_set(oci_config *c, const char *key, const char *value)
{
    if (!c->labels)
        c->labels = json_object();
    json_object_set_new(c->labels, key, json_string(value));
}

void oci_config_add_history(oci_config *c, const char *created, const char *created_by, const char *comment,
                            bool empty_layer)
{
    c->history = xrealloc(c->history, (c->n_history + 1) * sizeof *c->history);
    oci_history *h = &c->history[c->n_history++];
    memset(h, 0, sizeof *h);
    h->created = created ? xstrdup(created) : NULL;
    h->created_by = created_by ? xstrdup(created_by) : NULL;
    h->comment = comment ? xstrdup(comment) : NULL;
    h->empty_layer = empty_layer;
}

void oci_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t oci_source_date_epoch(void)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    return v;
}
