/* cbuild manifest inspect / imagetools inspect: an image's manifest or index as docker users
 * read it (`docker manifest inspect`, `docker buildx imagetools inspect`): the platforms of a
 * multi-platform image, from the local store or else from its registry. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "store.h"

/* The top manifest or index of ref: the store's tag (or digest), else the registry's. */
static int top_manifest(store *s, const char *ref, cli_registry_flags *rf, cb_buf *body, char **mt,
                        char digest[CB_DIGEST_STR_LEN], char **name, cb_err *err)
{
    oci_ref r;
    int rc = oci_ref_parse(ref, &r, err);
    if (rc < 0)
        return rc;
    *name = oci_ref_string(&r);
    oci_descriptor d;
    cb_err e = {0};
    if (r.digest && store_blob_exists(s, r.digest, NULL)) {
        memset(&d, 0, sizeof d);
        memcpy(d.digest, r.digest, CB_DIGEST_STR_LEN);
        rc = 0;
    } else {
        rc = store_tag_get(s, *name, &d, &e);
    }
    if (rc == 0) {
        memcpy(digest, d.digest, CB_DIGEST_STR_LEN);
        rc = store_blob_get(s, d.digest, body, err);
        if (rc == 0) {
            json_t *j = json_loadb(body->data, body->len, 0, NULL);
            const char *m = json_string_value(json_object_get(j, "mediaType"));
            *mt = xstrdup(m ? m : json_object_get(j, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST);
            json_decref(j);
        }
        oci_descriptor_free(&d);
        oci_ref_free(&r);
        return rc;
    }
    oci_registry_opts ro;
    cli_registry_flags_apply(rf, &ro);
    oci_registry *reg = NULL;
    if ((rc = oci_registry_new(&r, &ro, &reg, err)) == 0)
        rc = oci_registry_get_manifest(reg, r.repository, r.digest ? r.digest : r.tag, body, mt, digest, err);
    oci_registry_free(reg);
    oci_ref_free(&r);
    return rc;
}

static void print_platform(const json_t *p)
{
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *var = json_string_value(json_object_get(p, "variant"));
    printf("  Platform:  %s/%s%s%s\n", os ? os : "unknown", arch ? arch : "unknown", var ? "/" : "", var ? var : "");
}

/* buildx imagetools inspect's text: Name, MediaType, Digest, then each manifest of an index */
static void print_text(const char *name, const char *mt, const char *digest, const cb_buf *body)
{
    printf("Name:      %s\nMediaType: %s\nDigest:    %s\n", name, mt, digest);
    json_t *j = json_loadb(body->data, body->len, 0, NULL);
    json_t *ms = json_object_get(j, "manifests");
    if (json_is_array(ms)) {
        printf("           \nManifests: \n");
        size_t i;
        json_t *m;
        cleanup_free char *repo = xstrdup(name);
        char *colon = strrchr(repo, ':');
        if (colon && !strchr(colon, '/'))
            *colon = 0;
        json_array_foreach(ms, i, m)
        {
            if (i)
                printf("           \n");
            const char *d = json_string_value(json_object_get(m, "digest"));
            const char *t = json_string_value(json_object_get(m, "mediaType"));
            printf("  Name:      %s@%s\n  MediaType: %s\n", repo, d ? d : "", t ? t : "");
            print_platform(json_object_get(m, "platform"));
        }
    }
    json_decref(j);
}

static int mf_inspect(cli_ctx *ctx, int argc, char **argv, bool imagetools)
{
    bool raw = false;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"raw", 0, CLI_BOOL, &raw, NULL, imagetools ? "print the manifest or index JSON as stored" : "(accepted)"},
        CLI_REGISTRY_OPTS(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {imagetools ? "imagetools inspect" : "manifest inspect", "[OPTIONS] NAME[:TAG|@DIGEST]",
                               imagetools ? "Show an image's index and platforms (as buildx imagetools inspect)"
                                          : "Show an image's manifest or index JSON (as docker manifest inspect)",
                               opts, false, 1, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc < 0)
        rc = cli_call_store(&v, ctx);
    if (rc >= 0) {
        cli_registry_flags_free(&rf);
        return cli_call_end(&v, rc);
    }
    cb_err err = {0};
    cb_buf body;
    cb_buf_init(&body);
    char *mt = NULL, *name = NULL;
    char digest[CB_DIGEST_STR_LEN];
    rc = 0;
    if (top_manifest(v.st, v.pos.v[0], &rf, &body, &mt, digest, &name, &err) < 0) {
        rc = cli_report(&err);
    } else if (!imagetools || raw) {
        /* docker manifest inspect indents; --raw is the bytes as they are */
        json_t *j = raw ? NULL : json_loadb(body.data, body.len, 0, NULL);
        char *s = j ? json_dumps(j, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            printf("%s\n", s);
        else
            fwrite(body.data, 1, body.len, stdout);
        free(s);
        json_decref(j);
    } else {
        print_text(name, mt, digest, &body);
    }
    free(mt);
    free(name);
    cb_buf_free(&body);
    cli_registry_flags_free(&rf);
    return cli_call_end(&v, rc);
}

int cli_cmd_manifest_inspect(cli_ctx *ctx, int argc, char **argv)
{
    return mf_inspect(ctx, argc, argv, false);
}

int cli_cmd_imagetools_inspect(cli_ctx *ctx, int argc, char **argv)
{
    return mf_inspect(ctx, argc, argv, true);
}
