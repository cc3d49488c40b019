/* cbuild push: upload an image from the local store to a registry. */
#include <string.h>

#include "cli.h"
#include "store.h"

int cli_cmd_push(cli_ctx *ctx, int argc, char **argv)
{
    const char *digestfile = NULL, *chunk = NULL, *compression = NULL;
    long level = 0;
    bool quiet = false;
    long jobs = 0;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "suppress progress output"},
        CLI_REGISTRY_OPTS(&rf),
        CLI_CREDS_OPT(&rf),
        {"digestfile", 0, CLI_STRING, &digestfile, "FILE", "write the pushed manifest digest to FILE"},
        {"chunk-size", 0, CLI_STRING, &chunk, "SIZE", "upload blobs in chunks of SIZE (default: one request)"},
        {"jobs", 'j', CLI_INT, &jobs, "N", "blobs uploaded at once (default 4)"},
        {"compression-format", 0, CLI_STRING, &compression, "gzip|zstd", "recompress layers to this format before pushing"},
        {"compression-level", 0, CLI_INT, &level, "N", "compression level for --compression-format"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"push", "[OPTIONS] NAME[:TAG] [DESTINATION]", "Upload an image to a registry", opts,
                               false, 1, 2};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        goto out;
    cb_err err = {0};
    oci_registry_opts ro;
    cli_registry_flags_apply(&rf, &ro);
    ro.progress = quiet ? NULL : stdout;
    if (jobs > 0)
        ro.parallel = (int)jobs;
    if (chunk) {
        uint64_t cs;
        if (cb_parse_size(chunk, &cs, &err) < 0) {
            rc = cli_report(&err);
            goto out;
        }
        ro.chunk_size = (int64_t)cs;
    }
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        goto out;
    store *s = v.st;
    char digest[CB_DIGEST_STR_LEN];
    int pr;
    if (compression) {
        oci_compress_opts co = {OCI_COMPRESSION_GZIP, (int)level, 0};
        if ((pr = oci_compression_parse(compression, &co.algo, &err)) == 0)
            pr = store_push_compressed(s, v.pos.v[0], v.pos.n > 1 ? v.pos.v[1] : NULL, &co, &ro, digest, &err);
    } else {
        pr = store_push(s, v.pos.v[0], v.pos.n > 1 ? v.pos.v[1] : NULL, &ro, digest, &err);
    }
    if (pr < 0)
        rc = cli_report(&err);
    else {
        rc = 0;
        if (digestfile) {
            if (cb_write_file_atomic(digestfile, digest, strlen(digest), 0644, &err) < 0)
                rc = cli_report(&err);
        }
    }
out:
    cli_call_end(&v, 0);
    cli_registry_flags_free(&rf);
    return rc;
}
