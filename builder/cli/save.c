/* cbuild save: write images to an OCI archive that skopeo and docker load accept. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

int cli_cmd_save(cli_ctx *ctx, int argc, char **argv)
{
    const char *output = NULL, *platform = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &output, "FILE", "write to FILE instead of stdout"},
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "of multi-platform images, save only this platform"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"save", "[OPTIONS] IMAGE [IMAGE...]",
                               "Save images to an OCI archive (also loadable by docker load)", opts, false, 1, -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    if (!output && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "error: refusing to write an archive to a terminal; use -o FILE or redirect stdout\n");
        return cli_call_end(&v, 1);
    }
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    cb_err err = {0};
    rc = 0;
    /* --platform: each image's manifest for it, saved under the name given */
    cb_strv refs, names;
    cb_strv_init(&refs);
    cb_strv_init(&names);
    for (size_t i = 0; i < v.pos.n; i++) {
        store_image im;
        if (!platform) {
            cb_strv_push(&refs, v.pos.v[i]);
        } else if (store_image_resolve_platform(s, v.pos.v[i], platform, &im, &err) < 0) {
            rc = cli_report(&err);
            break;
        } else {
            cb_strv_push(&refs, im.manifest_digest);
            char *n = oci_ref_normalize(v.pos.v[i], NULL);
            cb_strv_push_owned(&names, n ? n : xstrdup(""));
            store_image_free(&im);
        }
    }
    const char *const *as = platform ? (const char *const *)names.v : NULL;
    if (rc != 0) {
        ;
    } else if (output) {
        if (store_save_as(s, (const char *const *)refs.v, as, refs.n, false, output, &err) < 0)
            rc = cli_report(&err);
    } else {
        /* archive into the store's scratch space, then stream to stdout */
        cleanup_free char *tmp = xasprintf("%s/ingest/save-%d.tar", store_root(s), (int)getpid());
        if (store_save_as(s, (const char *const *)refs.v, as, refs.n, false, tmp, &err) < 0)
            rc = cli_report(&err);
        else {
            int fd = open(tmp, O_RDONLY | O_CLOEXEC);
            char buf[1 << 16];
            ssize_t k;
            while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
                if (cb_write_all(STDOUT_FILENO, buf, (size_t)k) < 0) {
                    rc = cli_report(&(cb_err){EIO, "write to stdout failed"});
                    break;
                }
            if (fd >= 0)
                close(fd);
        }
        unlink(tmp);
    }
    cb_strv_free(&refs);
    cb_strv_free(&names);
    return cli_call_end(&v, rc);
}
