/* cbuild export: an image's filesystem (layers flattened) as a tar or an ext4 image. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

int cli_cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = "tar", *output = NULL;
    const cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "FORMAT", "tar (default) or ext4"},
        {"output", 'o', CLI_STRING, &output, "FILE", "write to FILE (tar: default stdout; ext4: required)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"export", "[OPTIONS] IMAGE", "Export an image's filesystem as a tar or an ext4 image",
                               opts, false, 1, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    cb_err err = {0};
    if (strcmp(format, "tar") && strcmp(format, "ext4")) {
        fprintf(stderr, "error: unknown --format `%s` (want tar or ext4)\n", format);
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    if (!strcmp(format, "ext4")) {
        if (!output) {
            fprintf(stderr, "error: --format ext4 needs -o FILE\n");
            return cli_call_end(&v, CLI_EXIT_USAGE);
        }
        if ((rc = cli_call_store(&v, ctx)) >= 0)
            return cli_call_end(&v, rc);
        rc = store_export_ext4(v.st, v.pos.v[0], output, 0, &err) < 0 ? cli_report(&err) : 0;
        return cli_call_end(&v, rc);
    }
    if (!output && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "error: refusing to write a tar to a terminal; use -o FILE or redirect stdout\n");
        return cli_call_end(&v, 1);
    }
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    rc = 0;
    if (output) {
        cb_atomic_file af;
        if (cb_atomic_open(&af, output, 0644, &err) < 0)
            rc = cli_report(&err);
        else if (store_export_tar(s, v.pos.v[0], oci_sink_fd(af.fd), &err) < 0) {
            cb_atomic_abort(&af);
            rc = cli_report(&err);
        } else if (cb_atomic_commit(&af, &err) < 0)
            rc = cli_report(&err);
    } else if (store_export_tar(s, v.pos.v[0], oci_sink_fd(STDOUT_FILENO), &err) < 0)
        rc = cli_report(&err);
    return cli_call_end(&v, rc);
}
