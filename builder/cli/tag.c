/* cbuild tag: give an image another name. */
#include <errno.h>
#include "cli.h"
#include "store.h"

int cli_cmd_tag(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_cmd_spec spec = {"tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                                      "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", NULL, false, 2, 2};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc < 0)
        rc = cli_call_store(&v, ctx);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    rc = 0;
    store *s = v.st;
    cb_err err = {0};
    store_image im;
    cleanup_free char *dst = oci_ref_normalize(v.pos.v[1], &err);
    if (!dst)
        rc = cli_report(&err);
    else if (store_image_resolve(s, v.pos.v[0], &im, &err) < 0)
        rc = cli_report(&err);
    else {
        oci_descriptor d = {.media_type = im.manifest.media_type, .size = (int64_t)im.manifest_len};
        snprintf(d.digest, sizeof d.digest, "%s", im.manifest_digest);
        oci_ref r;
        if (oci_ref_parse(v.pos.v[1], &r, &err) == 0 && r.digest) {
            rc = cli_report(&(cb_err){EINVAL, "refusing to create a tag with a digest reference"});
        } else if (store_tag_set(s, dst, &d, &err) < 0)
            rc = cli_report(&err);
        oci_ref_free(&r);
        store_image_free(&im);
    }
    return cli_call_end(&v, rc);
}
