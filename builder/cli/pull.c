/* cbuild pull: download an image from a registry into the local store. */
#include <string.h>

#include "cli.h"
#include "store.h"

int cli_cmd_pull(cli_ctx *ctx, int argc, char **argv)
{
    const char *platform = NULL;
    bool quiet = false;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "pull this platform (default linux/amd64)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "suppress progress output"},
        CLI_REGISTRY_OPTS(&rf),
        CLI_CREDS_OPT(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", opts,
                               false, 1, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        goto out;
    cb_err err = {0};
    oci_registry_opts ro;
    cli_registry_flags_apply(&rf, &ro);
    ro.progress = quiet ? NULL : stdout;
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        goto out;
    store *s = v.st;
    if (!quiet && !strchr(strrchr(v.pos.v[0], '/') ? strrchr(v.pos.v[0], '/') : v.pos.v[0], ':') && !strchr(v.pos.v[0], '@'))
        printf("Using default tag: latest\n");
    store_image im;
    if (store_pull(s, v.pos.v[0], platform, &ro, &im, &err) < 0)
        rc = cli_report(&err);
    else {
        if (quiet) {
            cleanup_free char *n = oci_ref_normalize(v.pos.v[0], NULL);
            printf("%s\n", n ? n : v.pos.v[0]);
        }
        store_image_free(&im);
        rc = 0;
    }
out:
    cli_call_end(&v, 0);
    cli_registry_flags_free(&rf);
    return rc;
}
