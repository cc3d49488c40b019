/* cbuild images: list the local store's images like `docker images`. */
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store.h"

typedef struct row {
    char *repo, *tag, *id, *digest, *created;
    int64_t created_t;
    int64_t size;
} row;

static int64_t parse_rfc3339(const char *s)
{
    if (!s)
        return 0;
    struct tm tm = {0};
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e)
        return 0;
    return (int64_t)timegm(&tm);
}

/* go-units HumanDuration, as docker prints "CREATED" */
static char *human_since(int64_t t)
{
    if (!t)
        return xstrdup("N/A");
    int64_t d = (int64_t)time(NULL) - t;
    if (d < 1)
        return xstrdup("Less than a second ago");
    if (d == 1)
        return xstrdup("1 second ago");
    if (d < 60)
        return xasprintf("%lld seconds ago", (long long)d);
    int64_t m = d / 60;
    if (m == 1)
        return xstrdup("About a minute ago");
    if (m < 60)
        return xasprintf("%lld minutes ago", (long long)m);
    int64_t h = d / 3600;
    if (h == 1)
        return xstrdup("About an hour ago");
    if (h < 48)
        return xasprintf("%lld hours ago", (long long)h);
    if (h < 24 * 7 * 2)
        return xasprintf("%lld days ago", (long long)(h / 24));
    if (h < 24 * 30 * 2)
        return xasprintf("%lld weeks ago", (long long)(h / 24 / 7));
    if (h < 24 * 365 * 2)
        return xasprintf("%lld months ago", (long long)(h / 24 / 30));
    return xasprintf("%lld years ago", (long long)(h / 24 / 365));
}

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->created_t != y->created_t)
        return x->created_t > y->created_t ? -1 : 1;
    int c = strcmp(x->repo, y->repo);
    return c ? c : strcmp(x->tag, y->tag);
}

/* -q: each image ID once. */
static void print_ids(const row *rows, size_t nr, bool no_trunc)
{
    cb_strv seen;
    cb_strv_init(&seen);
    for (size_t i = 0; i < nr; i++) {
        if (cb_strv_contains(&seen, rows[i].id))
            continue;
        cb_strv_push(&seen, rows[i].id);
        printf("%.*s\n", no_trunc ? 71 : 12, no_trunc ? rows[i].id : rows[i].id + 7);
    }
    cb_strv_free(&seen);
}

/* docker images --format json: one object per line. */
static void print_json(const row *rows, size_t nr, bool no_trunc)
{
    for (size_t i = 0; i < nr; i++) {
        char sz[32];
        cb_format_size((uint64_t)rows[i].size, sz, sizeof sz);
        cleanup_free char *since = human_since(rows[i].created_t);
        json_t *o = json_object();
        json_object_set_new(o, "Containers", json_string("N/A"));
        json_object_set_new(o, "CreatedAt", json_string(rows[i].created ? rows[i].created : ""));
        json_object_set_new(o, "CreatedSince", json_string(since));
        json_object_set_new(o, "Digest", json_string(rows[i].digest));
        char shortid[13];
        snprintf(shortid, sizeof shortid, "%.12s", rows[i].id + 7);
        json_object_set_new(o, "ID", json_string(no_trunc ? rows[i].id : shortid));
        json_object_set_new(o, "Repository", json_string(rows[i].repo));
        json_object_set_new(o, "Tag", json_string(rows[i].tag));
        json_object_set_new(o, "Size", json_string(sz));
        json_object_set_new(o, "SizeBytes", json_integer(rows[i].size));
        char *t = json_dumps(o, JSON_COMPACT);
        printf("%s\n", t);
        free(t);
        json_decref(o);
    }
}

static void print_table(const row *rows, size_t nr, bool no_trunc, bool digests)
{
    size_t wr = 10, wt = 3, wc = 7;
    char **since = xcalloc(nr + 1, sizeof *since);
    for (size_t i = 0; i < nr; i++) {
        since[i] = human_since(rows[i].created_t);
        if (strlen(rows[i].repo) > wr)
            wr = strlen(rows[i].repo);
        if (strlen(rows[i].tag) > wt)
            wt = strlen(rows[i].tag);
        if (strlen(since[i]) > wc)
            wc = strlen(since[i]);
    }
    int idw = no_trunc ? 71 : 12;
    printf("%-*s   %-*s   ", (int)wr, "REPOSITORY", (int)wt, "TAG");
    if (digests)
        printf("%-71s   ", "DIGEST");
    printf("%-*s   %-*s   %s\n", idw, "IMAGE ID", (int)wc, "CREATED", "SIZE");
    for (size_t i = 0; i < nr; i++) {
        char sz[32];
        cb_format_size((uint64_t)rows[i].size, sz, sizeof sz);
        printf("%-*s   %-*s   ", (int)wr, rows[i].repo, (int)wt, rows[i].tag);
        if (digests)
            printf("%-71s   ", rows[i].digest);
        printf("%-*.*s   %-*s   %s\n", idw, idw, no_trunc ? rows[i].id : rows[i].id + 7, (int)wc, since[i],
               sz);
        free(since[i]);
    }
    free(since);
}

int cli_cmd_images(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    bool quiet = false, digests = false, no_trunc = false;
    const cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "FORMAT", "`table` (default) or `json` (one object per line)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "only show image IDs"},
        {"digests", 0, CLI_BOOL, &digests, NULL, "show manifest digests"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL, "don't truncate output"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images in the local store", opts, false,
                               0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    bool json = format && !strcmp(format, "json");
    if (format && !json && strcmp(format, "table")) {
        fprintf(stderr, "error: unsupported --format `%s` (want table or json)\n", format);
        return cli_call_end(&v, CLI_EXIT_USAGE);
    }
    cb_err err = {0};
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    oci_ref filter = {0};
    bool filter_tag = false;
    if (v.pos.n) {
        if (oci_ref_parse(v.pos.v[0], &filter, &err) < 0)
            return cli_call_end(&v, cli_report(&err));
        filter_tag = strchr(strrchr(v.pos.v[0], '/') ? strrchr(v.pos.v[0], '/') : v.pos.v[0], ':') != NULL;
    }
    store_tag *tags;
    size_t nt;
    if (store_tag_list(s, &tags, &nt, &err) < 0)
        return cli_call_end(&v, cli_report(&err));
    row *rows = xcalloc(nt + 1, sizeof *rows);
    size_t nr = 0;
    for (size_t i = 0; i < nt; i++) {
        store_image im;
        cb_err e = {0};
        const char *name = tags[i].name;
        if (store_image_resolve(s, tags[i].desc.digest, &im, &e) < 0)
            continue;
        row *r = &rows[nr];
        oci_ref pr = {0};
        if (name && oci_ref_parse(name, &pr, &e) == 0) {
            if (v.pos.n && (strcmp(pr.registry, filter.registry) || strcmp(pr.repository, filter.repository) ||
                          (filter_tag && (!pr.tag || strcmp(pr.tag, filter.tag))))) {
                oci_ref_free(&pr);
                store_image_free(&im);
                continue;
            }
            r->repo = oci_ref_familiar_name(&pr);
            r->tag = xstrdup(pr.tag ? pr.tag : "<none>");
            oci_ref_free(&pr);
        } else {
            if (v.pos.n) {
                store_image_free(&im);
                continue;
            }
            r->repo = xstrdup("<none>");
            r->tag = xstrdup("<none>");
        }
        r->id = xstrdup(im.id);
        r->digest = xstrdup(tags[i].desc.digest);
        r->created = im.config.created ? xstrdup(im.config.created) : NULL;
        r->created_t = parse_rfc3339(im.config.created);
        r->size = im.size;
        nr++;
        store_image_free(&im);
    }
    qsort(rows, nr, sizeof *rows, row_cmp);
    if (quiet) {
        print_ids(rows, nr, no_trunc);
    } else if (json) {
        print_json(rows, nr, no_trunc);
    } else {
        print_table(rows, nr, no_trunc, digests);
    }
    for (size_t i = 0; i < nr; i++) {
        free(rows[i].repo);
        free(rows[i].tag);
        free(rows[i].id);
        free(rows[i].digest);
        free(rows[i].created);
    }
    free(rows);
    store_tags_free(tags, nt);
    oci_ref_free(&filter);
    return cli_call_end(&v, 0);
}
