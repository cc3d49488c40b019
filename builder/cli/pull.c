/* cbuild pull: download an image from a registry into the local store. */
#include <string.h>

#include "cli.h"
#include "store.h"

int cli_cmd_pull(cli_ctx *ctx, int argc, char **argv)
{
    const char *platform = NULL, *cert_dir = NULL, *authfile = NULL, *creds = NULL;
    bool quiet = false, tls_verify = true;
    cb_strv insecure;
    cb_strv_init(&insecure);
    cleanup_free char *user = NULL;
    const cli_opt opts[] = {
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "pull this platform (default linux/amd64)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "suppress progress output"},
        {"insecure-registry", 0, CLI_STRINGS, &insecure, "HOST[:PORT]", "use plain HTTP for this registry (repeatable)"},
        {"tls-verify", 0, CLI_BOOL, &tls_verify, NULL, "verify TLS certificates (default true)"},
        {"cert-dir", 0, CLI_STRING, &cert_dir, "DIR", "CA certificates as DIR/HOST[:PORT]/ca.crt (default /etc/docker/certs.d)"},
        {"authfile", 0, CLI_STRING, &authfile, "FILE", "credentials file (default ~/.docker/config.json)"},
        {"creds", 0, CLI_STRING, &creds, "USER[:PASS]", "credentials for the registry"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", opts,
                               false, 1, 1};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc >= 0)
        goto out;
    cb_err err = {0};
    oci_registry_opts ro;
    oci_registry_opts_default(&ro);
    ro.insecure_registries = &insecure;
    ro.tls_verify = tls_verify;
    ro.cert_dir = cert_dir;
    ro.auth_file = authfile;
    ro.progress = quiet ? NULL : stdout;
    if (creds) {
        user = xstrdup(creds);
        char *c = strchr(user, ':');
        if (c)
            *c++ = '\0';
        ro.username = user;
        ro.password = c ? c : "";
    }
    store *s;
    if (store_open(ctx->root, &s, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (!quiet && !strchr(strrchr(pos.v[0], '/') ? strrchr(pos.v[0], '/') : pos.v[0], ':') && !strchr(pos.v[0], '@'))
        printf("Using default tag: latest\n");
    store_image im;
    if (store_pull(s, pos.v[0], platform, &ro, &im, &err) < 0)
        rc = cli_report(&err);
    else {
        if (quiet) {
            cleanup_free char *n = oci_ref_normalize(pos.v[0], NULL);
            printf("%s\n", n ? n : pos.v[0]);
        }
        store_image_free(&im);
        rc = 0;
    }
    store_close(s);
out:
    cb_strv_free(&pos);
    cb_strv_free(&insecure);
    return rc;
}
