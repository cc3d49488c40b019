/* cbuild store check: is the local store intact (after a crash, a full disk, a bad copy)? */
#include <string.h>

#include "cli.h"
#include "store.h"

static json_t *items_json(const store_check_item *v, size_t n, bool bytes)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s}", "path", v[i].path, bytes ? "kind" : "problem", v[i].what);
        if (bytes)
            json_object_set_new(o, "bytes", json_integer((json_int_t)v[i].bytes));
        json_array_append_new(a, o);
    }
    return a;
}

static void print_json(const store *s, const store_check_report *r)
{
    json_t *j = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "root", store_root(s), "intact",
                          r->n_problems == 0, "blobs", (json_int_t)r->blobs, "images", (json_int_t)r->images,
                          "records", (json_int_t)r->records, "layer_images", (json_int_t)r->layer_images,
                          "unreferenced_layer_images", (json_int_t)r->unreferenced_layer_images,
                          "reclaimable_bytes", (json_int_t)r->leftover_bytes);
    json_object_set_new(j, "problems", items_json(r->problems, r->n_problems, false));
    json_object_set_new(j, "leftovers", items_json(r->leftovers, r->n_leftovers, true));
    char *txt = json_dumps(j, JSON_COMPACT);
    printf("%s\n", txt);
    free(txt);
    json_decref(j);
}

static void print_text(const store *s, const store_check_report *r)
{
    for (size_t i = 0; i < r->n_problems; i++)
        printf("%s: %s\n", r->problems[i].path, r->problems[i].what);
    if (r->n_leftovers) {
        char b[32];
        cb_format_size(r->leftover_bytes, b, sizeof b);
        printf("reclaimable: %zu leftover%s of interrupted writes (%s), removed by `cbuild prune`\n",
               r->n_leftovers, r->n_leftovers == 1 ? "" : "s", b);
    }
    const char *verdict = r->n_problems ? "store damaged" : "store intact";
    printf("%s: %llu blobs, %llu images, %llu records, %llu layer images", verdict,
           (unsigned long long)r->blobs, (unsigned long long)r->images, (unsigned long long)r->records,
           (unsigned long long)r->layer_images);
    if (r->n_problems)
        printf("; %zu problem%s in %s\n", r->n_problems, r->n_problems == 1 ? "" : "s", store_root(s));
    else
        printf("\n");
}

static int store_check_verb(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    const cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "FORMAT", "`text` (default) or `json`"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"store check",
                               "[OPTIONS]",
                               "Verify every blob, tag, cache record and layer image in the store",
                               opts,
                               false,
                               0,
                               0};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    cb_strv_free(&pos);
    if (rc >= 0)
        return rc;
    if (format && strcmp(format, "json") && strcmp(format, "text")) {
        fprintf(stderr, "cbuild store check: unsupported --format `%s` (want text or json)\n", format);
        return CLI_EXIT_USAGE;
    }
    cb_err err = {0};
    store *s;
    if (store_open(ctx->root, &s, &err) < 0)
        return cli_report(&err);
    store_check_report r;
    if (store_check(s, &r, &err) < 0) {
        store_close(s);
        return cli_report(&err);
    }
    if (format && !strcmp(format, "json"))
        print_json(s, &r);
    else
        print_text(s, &r);
    rc = r.n_problems ? 1 : 0;
    store_check_report_free(&r);
    store_close(s);
    return rc;
}

int cli_cmd_store(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const subs[] = {"check"};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "Usage:  cbuild store COMMAND\n\nManage the local store\n\nCommands:\n"
                     "  check    Verify every blob, tag, cache record and layer image in the store\n");
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "check"))
        return store_check_verb(ctx, argc - 1, argv + 1);
    const char *sg = cb_suggest(argv[1], subs, 1);
    fprintf(stderr, "error: unknown command `%s`%s%s%s\nSee 'cbuild store --help'.\n", argv[1],
            sg ? " (did you mean `" : "", sg ? sg : "", sg ? "`?)" : "");
    return CLI_EXIT_USAGE;
}
