/* cbuild inspect: an image's config and manifest as JSON (docker image inspect's shape). */
#include <string.h>

#include "cli.h"
#include "store.h"
#include "template.h"

/* docker writes RepoTags familiar ("eco/app:1", "alpine:3"), RepoDigests once per repository. */
static void repo_refs(store *s, const store_image *im, json_t *tags, json_t *digests)
{
    store_tag *t;
    size_t n;
    cb_err e = {0};
    if (store_tag_list(s, &t, &n, &e) < 0)
        return;
    cb_strv seen;
    cb_strv_init(&seen);
    for (size_t i = 0; i < n; i++) {
        if (!store_tag_names(s, &t[i], im->manifest_digest) || !t[i].name)
            continue;
        oci_ref r;
        if (oci_ref_parse(t[i].name, &r, &e) < 0)
            continue;
        cleanup_free char *fam = oci_ref_familiar_name(&r);
        if (r.tag) {
            cleanup_free char *ft = xasprintf("%s:%s", fam, r.tag);
            if (!cb_strv_contains(&seen, ft))
                json_array_append_new(tags, json_string(ft));
            cb_strv_push(&seen, ft);
        }
        cleanup_free char *d = xasprintf("%s@%s", fam, t[i].desc.digest); /* an index: its digest */
        if (!cb_strv_contains(&seen, d)) {
            json_array_append_new(digests, json_string(d));
            cb_strv_push(&seen, d);
        }
        oci_ref_free(&r);
    }
    cb_strv_free(&seen);
    store_tags_free(t, n);
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* The fields of docker's container.Config that it always writes, so templates find them. */
static json_t *docker_config(json_t *cfg)
{
    json_t *c = json_object();
    static const char *const strs[] = {"Hostname", "Domainname", "User", NULL};
    for (size_t i = 0; strs[i]; i++)
        json_object_set_new(c, strs[i], json_string(""));
    static const char *const bools[] = {
        "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", NULL};
    for (size_t i = 0; bools[i]; i++)
        json_object_set_new(c, bools[i], json_false());
    static const char *const rest[] = {"Env",        "Cmd",     "Image",  "Volumes", "WorkingDir",
                                       "Entrypoint", "OnBuild", "Labels", NULL};
    for (size_t i = 0; rest[i]; i++)
        json_object_set_new(c, rest[i],
                            !strcmp(rest[i], "Image") || !strcmp(rest[i], "WorkingDir") ? json_string("")
                                                                                        : json_null());
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v) json_object_set(c, k, v);
    return c;
}

/* docker image inspect's shape; History, Manifest and ManifestDigest are cbuild's additions. */
static json_t *image_json(store *s, const store_image *im)
{
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(im->id));
    json_t *tags = json_array(), *digests = json_array();
    repo_refs(s, im, tags, digests);
    json_object_set_new(o, "RepoTags", tags);
    json_object_set_new(o, "RepoDigests", digests);
    json_t *cfg = json_loadb(im->config_json, im->config_len, 0, NULL);
    json_object_set_new(o, "Parent", json_string(""));
    json_t *comment = json_object_get(cfg, "comment");
    json_object_set_new(o, "Comment", json_is_string(comment) ? json_incref(comment) : json_string(""));
    json_object_set_new(o, "Created", str_or_empty(im->config.created));
    json_object_set_new(o, "DockerVersion", json_string(""));
    json_object_set_new(o, "Author", str_or_empty(im->config.author));
    json_t *c = json_object_get(cfg, "config");
    json_object_set_new(o, "Config", docker_config(json_is_object(c) ? c : NULL));
    json_object_set_new(o, "Architecture", str_or_empty(im->config.architecture));
    if (im->config.variant)
        json_object_set_new(o, "Variant", json_string(im->config.variant));
    json_object_set_new(o, "Os", str_or_empty(im->config.os));
    json_object_set_new(o, "Size", json_integer(im->size));
    json_object_set_new(o, "VirtualSize", json_integer(im->size));
    json_t *rootfs = json_object(), *layers = json_array();
    json_t *rf = json_object_get(cfg, "rootfs");
    json_t *type = json_object_get(rf, "type");
    json_object_set_new(rootfs, "Type", json_is_string(type) ? json_incref(type) : json_string("layers"));
    json_t *ids = json_object_get(rf, "diff_ids");
    for (size_t i = 0; i < json_array_size(ids); i++)
        json_array_append(layers, json_array_get(ids, i));
    json_object_set_new(rootfs, "Layers", layers);
    json_object_set_new(o, "RootFS", rootfs);
    json_t *meta = json_object();
    json_object_set_new(meta, "LastTagTime", json_string("0001-01-01T00:00:00Z"));
    json_object_set_new(o, "Metadata", meta);
    json_t *hist = json_object_get(cfg, "history");
    json_object_set(o, "History", hist ? hist : json_array());
    json_object_set_new(o, "ManifestDigest", json_string(im->manifest_digest));
    json_t *m = json_loadb(im->manifest_json, im->manifest_len, 0, NULL);
    json_object_set_new(o, "Manifest", m ? m : json_null());
    json_decref(cfg);
    return o;
}

static void set_default(json_t *o, const char *k, json_t *v)
{
    if (!json_object_get(o, k))
        json_object_set(o, k, v);
    json_decref(v);
}

/* What docker's typed ImageInspect gives a template: the fields its JSON omits when empty are
 * there, zero; a field neither has is an error, as docker's ("map has no entry for key"). */
static int render_inspect(const cli_template *t, json_t *o, cb_buf *out, cb_err *err)
{
    json_t *view = json_deep_copy(o);
    set_default(view, "Container", json_string(""));
    set_default(view, "Variant", json_string(""));
    set_default(view, "OsVersion", json_string(""));
    json_t *gd = json_object();
    json_object_set_new(gd, "Data", json_null());
    json_object_set_new(gd, "Name", json_string(""));
    set_default(view, "GraphDriver", gd);
    json_t *c = json_object_get(view, "Config");
    static const char *const nulls[] = {"ExposedPorts", "Healthcheck", "StopTimeout", "Shell", NULL};
    for (size_t i = 0; nulls[i]; i++)
        set_default(c, nulls[i], json_null());
    set_default(c, "ArgsEscaped", json_false());
    set_default(c, "NetworkDisabled", json_false());
    set_default(c, "MacAddress", json_string(""));
    set_default(c, "StopSignal", json_string(""));
    cli_template_struct st[] = {
        {view, NULL},
        {c, NULL},
        {json_object_get(view, "RootFS"), NULL},
        {json_object_get(view, "Metadata"), NULL},
        {gd, NULL},
    };
    int rc = cli_template_exec_structs(t, view, st, sizeof st / sizeof st[0], out, err);
    json_decref(view);
    return rc;
}

int cli_cmd_inspect(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    const cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "FORMAT",
         "`json` (default), `config` or `manifest` (raw blob), or a Go template like '{{.Id}}', "
         "'{{index .Config.Labels \"k\"}}', '{{range .Config.Env}}{{println .}}{{end}}'"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"inspect",
                               "[OPTIONS] IMAGE [IMAGE...]",
                               "Show an image's config and manifest as JSON",
                               opts,
                               false,
                               1,
                               -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    bool tpl = format && strcmp(format, "json") && strcmp(format, "config") && strcmp(format, "manifest");
    cli_template *t = NULL;
    if (tpl && cli_template_parse(format, &t, &v.err) < 0) {
        /* docker: "template parsing error: …", status 64 */
        fprintf(stderr, "error: template parsing error: %s\n", v.err.msg);
        return cli_call_end(&v, 64);
    }
    cb_err err = {0};
    if ((rc = cli_call_store(&v, ctx)) >= 0) {
        cli_template_free(t);
        return cli_call_end(&v, rc);
    }
    store *s = v.st;
    json_t *arr = json_array();
    rc = 0;
    for (size_t i = 0; i < v.pos.n; i++) {
        store_image im;
        if (store_image_resolve(s, v.pos.v[i], &im, &err) < 0) {
            rc = cli_report(&err);
            continue;
        }
        if (tpl) {
            json_t *o = image_json(s, &im);
            cb_buf b;
            cb_buf_init(&b);
            if (render_inspect(t, o, &b, &err) < 0) {
                fprintf(stderr, "error: template parsing error: %s\n", err.msg);
                rc = 1;
            } else
                printf("%s\n", b.data ? b.data : "");
            cb_buf_free(&b);
            json_decref(o);
        } else if (format && !strcmp(format, "config"))
            printf("%.*s\n", (int)im.config_len, im.config_json);
        else if (format && !strcmp(format, "manifest"))
            printf("%.*s\n", (int)im.manifest_len, im.manifest_json);
        else
            json_array_append_new(arr, image_json(s, &im));
        store_image_free(&im);
    }
    if (!tpl && (!format || !strcmp(format, "json"))) {
        char *j = json_dumps(arr, JSON_INDENT(4));
        printf("%s\n", j);
        free(j);
    }
    json_decref(arr);
    cli_template_free(t);
    return cli_call_end(&v, rc);
}
