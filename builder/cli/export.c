/* cbuild export: an image's filesystem (layers flattened) as a tar or an ext4 image. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "builder.h"
#include "cli.h"
#include "ext4.h"
#include "oci.h"
#include "store.h"

/* --boot: the image's layers and config into a bootable ext4 (builder_ext4_boot_write). */
static int export_boot(store *s, const char *ref, const char *out, cb_err *err)
{
    store_image im;
    int r = store_image_resolve(s, ref, &im, err);
    if (r < 0)
        return r;
    cb_strv tars;
    cb_strv_init(&tars);
    for (size_t i = 0; i < im.manifest.n_layers; i++)
        cb_strv_push_owned(&tars, store_blob_path(s, im.manifest.layers[i].digest));
    ext4_options o;
    ext4_options_init(&o);
    o.source_date_epoch = oci_source_date_epoch();
    o.seed = im.manifest_digest;
    /* room for what the booted command writes */
    o.extra_free_space = 64ULL << 20;
    o.extra_free_inodes = 1024;
    r = builder_ext4_boot_write(out, (const char *const *)tars.v, tars.n, &o, &im.config, err);
    cb_strv_free(&tars);
    store_image_free(&im);
    return r < 0 ? cb_error_wrap(err, "exporting %s as a bootable ext4", ref) : 0;
}

int cli_cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = "tar", *output = NULL, *platform = NULL;
    bool boot = false;
    const cli_opt opts[] = {
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "of a multi-platform image, this platform's filesystem"},
        {"format", 0, CLI_STRING, &format, "FORMAT", "tar (default) or ext4"},
        {"output", 'o', CLI_STRING, &output, "FILE", "write to FILE (tar: default stdout; ext4: required)"},
        {"boot", 0, CLI_BOOL, &boot, NULL, "ext4: bootable by any VMM with init=/sbin/cbuild-init (runs the image's command)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"export", "[OPTIONS] IMAGE", "Export an image's filesystem as a tar or an ext4 image",
                               opts, false, 1, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    cb_err err = {0};
    cleanup_free char *ref = NULL; /* the platform's manifest digest, or the name as given */
    if (platform) {
        if ((rc = cli_call_store(&v, ctx)) >= 0)
            return cli_call_end(&v, rc);
        store_image im;
        if (store_image_resolve_platform(v.st, v.pos.v[0], platform, &im, &err) < 0)
            return cli_call_end(&v, cli_report(&err));
        ref = xstrdup(im.manifest_digest);
        store_image_free(&im);
    } else {
        ref = xstrdup(v.pos.v[0]);
    }
    if (strcmp(format, "tar") && strcmp(format, "ext4")) {
        fprintf(stderr, "error: unknown --format `%s` (want tar or ext4)\n", format);
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    if (boot && strcmp(format, "ext4")) {
        fprintf(stderr, "cbuild export: --boot needs --format ext4\n");
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    if (!strcmp(format, "ext4")) {
        if (!output) {
            fprintf(stderr, "error: --format ext4 needs -o FILE\n");
            return cli_call_end(&v, CLI_EXIT_USAGE);
        }
        if ((rc = cli_call_store(&v, ctx)) >= 0)
            return cli_call_end(&v, rc);
        if (boot)
            rc = export_boot(v.st, ref, output, &err) < 0 ? cli_report(&err) : 0;
        else
            rc = store_export_ext4(v.st, ref, output, 0, &err) < 0 ? cli_report(&err) : 0;
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
        else if (store_export_tar(s, ref, oci_sink_fd(af.fd), &err) < 0) {
            cb_atomic_abort(&af);
            rc = cli_report(&err);
        } else if (cb_atomic_commit(&af, &err) < 0)
            rc = cli_report(&err);
    } else if (store_export_tar(s, ref, oci_sink_fd(STDOUT_FILENO), &err) < 0)
        rc = cli_report(&err);
    return cli_call_end(&v, rc);
}
