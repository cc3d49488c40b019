/* cbuild tag: give an image another name. */
#include <errno.h>
#include <string.h>

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
        /* a multi-platform image: the new name names its index, as docker tag does */
        cleanup_free char *src = oci_ref_normalize(v.pos.v[0], NULL);
        oci_descriptor sd;
        cb_err e = {0};
        bool index = src && store_tag_get(s, src, &sd, &e) == 0;
        if (index && oci_media_type_is_index(sd.media_type)) {
            d.size = sd.size;
            snprintf(d.digest, sizeof d.digest, "%s", sd.digest);
            d.media_type = strstr(sd.media_type, "docker") ? (char *)DOCKER_MT_LIST : (char *)OCI_MT_INDEX;
        }
        if (index)
            oci_descriptor_free(&sd);
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
