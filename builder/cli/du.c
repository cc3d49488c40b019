/* cbuild du: disk usage of the store, like `docker system df`. */
#include <string.h>

#include "cli.h"
#include "store.h"

int cli_cmd_du(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    const cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "FORMAT", "`table` (default) or `json`"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"du", "[OPTIONS]", "Show disk usage of the store", opts, false, 0, 0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    if (format && strcmp(format, "json") && strcmp(format, "table")) {
        fprintf(stderr, "error: unsupported --format `%s` (want table or json)\n", format);
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    cb_err err = {0};
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    store_usage u;
    if (store_usage_get(s, &u, &err) < 0) {
        return cli_call_end(&v, cli_report(&err));
    }
    if (format && !strcmp(format, "json")) {
        printf("{\"Root\":\"%s\",\"Images\":%llu,\"Blobs\":%llu,\"BlobBytes\":%llu,\"LayerImages\":%llu,"
               "\"LayerImageBytes\":%llu,\"CacheRecords\":%llu,\"CacheBytes\":%llu,\"ReclaimableBytes\":%llu}\n",
               store_root(s), (unsigned long long)u.images, (unsigned long long)u.blobs,
               (unsigned long long)u.blob_bytes, (unsigned long long)u.layer_images,
               (unsigned long long)u.layer_image_bytes, (unsigned long long)u.cache_records,
               (unsigned long long)u.cache_bytes, (unsigned long long)u.reclaimable_bytes);
    } else {
        char b1[32], b2[32], b3[32], b4[32], b5[32];
        cb_format_size(u.blob_bytes, b1, sizeof b1);
        cb_format_size(u.layer_image_bytes, b2, sizeof b2);
        cb_format_size(u.cache_bytes, b3, sizeof b3);
        cb_format_size(u.reclaimable_bytes, b4, sizeof b4);
        cb_format_size(u.blob_bytes + u.layer_image_bytes + u.cache_bytes, b5, sizeof b5);
        printf("%-16s %-8s %-10s\n", "TYPE", "TOTAL", "SIZE");
        printf("%-16s %-8llu %-10s\n", "Images", (unsigned long long)u.images, "");
        printf("%-16s %-8llu %-10s\n", "Blobs", (unsigned long long)u.blobs, b1);
        printf("%-16s %-8llu %-10s\n", "Layer images", (unsigned long long)u.layer_images, b2);
        printf("%-16s %-8llu %-10s\n", "Build cache", (unsigned long long)u.cache_records, b3);
        printf("\nTotal: %s in %s; reclaimable by `cbuild prune`: %s\n", b5, store_root(s), b4);
    }
    return cli_call_end(&v, 0);
}
