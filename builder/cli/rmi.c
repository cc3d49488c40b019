/* cbuild rmi: remove images (untag; blobs no longer referenced are deleted). */
#include <string.h>

#include "cli.h"
#include "store.h"

int store_image_untag_all(store *s, const char *manifest_digest, cb_err *err);

int cli_cmd_rmi(cli_ctx *ctx, int argc, char **argv)
{
    bool force = false;
    const cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL, "remove every tag of an image given by ID"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", opts, false, 1, -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc < 0)
        rc = cli_call_store(&v, ctx);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    cb_err err = {0};
    rc = 0;
    for (size_t i = 0; i < v.pos.n; i++) {
        store_image im;
        if (store_image_resolve(s, v.pos.v[i], &im, &err) < 0) {
            rc = cli_report(&err);
            continue;
        }
        store_tag *tags;
        size_t nt;
        if (store_tag_list(s, &tags, &nt, &err) < 0) {
            rc = cli_report(&err);
            store_image_free(&im);
            continue;
        }
        size_t refs = 0;
        const char *by_name = NULL;
        cleanup_free char *norm = oci_ref_normalize(v.pos.v[i], NULL);
        for (size_t k = 0; k < nt; k++)
            if (store_tag_names(s, &tags[k], im.manifest_digest)) {
                refs++;
                if (norm && tags[k].name && !strcmp(tags[k].name, norm))
                    by_name = tags[k].name;
            }
        if (by_name) {
            oci_ref r;
            if (store_tag_remove(s, by_name, &err) < 0)
                rc = cli_report(&err);
            else if (oci_ref_parse(by_name, &r, &err) == 0) {
                cleanup_free char *fam = oci_ref_familiar_name(&r);
                printf("Untagged: %s:%s\n", fam, r.tag ? r.tag : "");
                oci_ref_free(&r);
                if (refs == 1)
                    printf("Deleted: %s\n", im.id);
            }
        } else if (refs > 1 && !force) {
            rc = 1;
            fprintf(stderr, "error: conflict: unable to delete %.12s (must be forced) - image is referenced in "
                            "multiple repositories\n",
                    im.id + 7);
        } else {
            for (size_t k = 0; k < nt; k++)
                if (store_tag_names(s, &tags[k], im.manifest_digest) && tags[k].name) {
                    oci_ref r;
                    if (oci_ref_parse(tags[k].name, &r, &err) == 0) {
                        cleanup_free char *fam = oci_ref_familiar_name(&r);
                        printf("Untagged: %s:%s\n", fam, r.tag ? r.tag : "");
                        oci_ref_free(&r);
                    }
                }
            if (store_image_untag_all(s, im.manifest_digest, &err) < 0)
                rc = cli_report(&err);
            else
                printf("Deleted: %s\n", im.id);
        }
        store_tags_free(tags, nt);
        store_image_free(&im);
    }
    /* free what no tag or cache record needs any more; skip when a build holds the store */
    store_prune_opts po = {.try_lock = true};
    uint64_t freed;
    cb_err e = {0};
    store_prune(s, &po, &freed, &e);
    return cli_call_end(&v, rc);
}
