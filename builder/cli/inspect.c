/* cbuild inspect: an image's config and manifest as JSON (docker image inspect's shape). */
#include <string.h>

#include "cli.h"
#include "store.h"

static json_t *image_json(store *s, const store_image *im)
{
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(im->id));
    json_t *tags = json_array(), *digests = json_array();
    store_tag *t;
    size_t n;
    cb_err e = {0};
    if (store_tag_list(s, &t, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(t[i].desc.digest, im->manifest_digest) || !t[i].name)
                continue;
            oci_ref r;
            if (oci_ref_parse(t[i].name, &r, &e) == 0) {
                cleanup_free char *fam = oci_ref_familiar_name(&r);
                json_array_append_new(tags, json_string_nocheck(t[i].name));
                char *d = xasprintf("%s@%s", fam, im->manifest_digest);
                json_array_append_new(digests, json_string(d));
                free(d);
                oci_ref_free(&r);
            }
        }
        store_tags_free(t, n);
    }
    json_object_set_new(o, "RepoTags", tags);
    json_object_set_new(o, "RepoDigests", digests);
    json_t *cfg = json_loadb(im->config_json, im->config_len, 0, NULL);
    json_object_set_new(o, "Created", json_string(im->config.created ? im->config.created : ""));
    json_object_set_new(o, "Author", json_string(im->config.author ? im->config.author : ""));
    json_object_set_new(o, "Architecture", json_string(im->config.architecture ? im->config.architecture : ""));
    if (im->config.variant)
        json_object_set_new(o, "Variant", json_string(im->config.variant));
    json_object_set_new(o, "Os", json_string(im->config.os ? im->config.os : ""));
    json_object_set_new(o, "Size", json_integer(im->size));
    json_t *c = json_object_get(cfg, "config");
    json_object_set(o, "Config", c ? c : json_object());
    json_t *rootfs = json_object_get(cfg, "rootfs");
    json_object_set(o, "RootFS", rootfs ? rootfs : json_object());
    json_t *hist = json_object_get(cfg, "history");
    json_object_set(o, "History", hist ? hist : json_array());
    json_object_set_new(o, "ManifestDigest", json_string(im->manifest_digest));
    json_t *m = json_loadb(im->manifest_json, im->manifest_len, 0, NULL);
    json_object_set_new(o, "Manifest", m ? m : json_null());
    json_decref(cfg);
    return o;
}

/* A subset of docker's Go templates: {{.A.B}} (strings raw, other values as JSON) and
 * {{json .A.B}}; text outside {{ }} is copied. Returns -1 on a malformed template. */
static int render_template(const char *tpl, json_t *obj, cb_buf *out)
{
    const char *p = tpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            cb_buf_puts(out, p);
            break;
        }
        cb_buf_append(out, p, (size_t)(open - p));
        const char *close = strstr(open, "}}");
        if (!close)
            return -1;
        cleanup_free char *expr = xstrndup(open + 2, (size_t)(close - open - 2));
        char *e = expr;
        while (*e == ' ')
            e++;
        size_t el = strlen(e);
        while (el && e[el - 1] == ' ')
            e[--el] = '\0';
        bool as_json = false;
        if (cb_str_has_prefix(e, "json ")) {
            as_json = true;
            e += 5;
            while (*e == ' ')
                e++;
        }
        if (*e != '.')
            return -1;
        json_t *v = obj;
        for (char *save = NULL, *k = strtok_r(e + 1, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
            v = json_object_get(v, k);
        if (!v && !as_json)
            cb_buf_puts(out, "<no value>");
        else if (json_is_string(v) && !as_json)
            cb_buf_puts(out, json_string_value(v));
        else {
            char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
            cb_buf_puts(out, t);
            free(t);
        }
        p = close + 2;
    }
    return 0;
}

int cli_cmd_inspect(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    const cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "FORMAT",
         "`json` (default), `config` or `manifest` (raw blob), or a template like '{{.Id}}' / '{{json .Config}}'"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"inspect", "[OPTIONS] IMAGE [IMAGE...]",
                               "Show an image's config and manifest as JSON", opts, false, 1, -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    bool tpl = format && strstr(format, "{{");
    if (format && !tpl && strcmp(format, "json") && strcmp(format, "config") && strcmp(format, "manifest")) {
        fprintf(stderr, "error: unsupported --format `%s` (want json, config, manifest or a {{template}})\n",
                format);
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    cb_err err = {0};
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
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
            if (render_template(format, o, &b) < 0) {
                fprintf(stderr, "error: malformed template `%s` (supported: {{.Field.Sub}}, {{json .Field}})\n",
                        format);
                rc = CLI_EXIT_USAGE;
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
        char *t = json_dumps(arr, JSON_INDENT(4));
        printf("%s\n", t);
        free(t);
    }
    json_decref(arr);
    return cli_call_end(&v, rc);
}
