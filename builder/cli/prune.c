/* cbuild prune: remove build cache and everything no image or cache record needs. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "containers.h"
#include "store.h"

int store_image_untag_all(store *s, const char *manifest_digest, cb_err *err);

/* Go durations as docker's until= filter takes them: "24h", "1h30m", "90s", "1.5h". */
static int parse_duration(const char *s, double *secs)
{
    *secs = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        double mul;
        if (!strncmp(s, "ms", 2)) {
            mul = 0.001;
            s += 2;
        } else if (*s == 'h')
            mul = 3600, s++;
        else if (*s == 'm')
            mul = 60, s++;
        else if (*s == 's')
            mul = 1, s++;
        else
            return -1;
        *secs += v * mul;
    }
    return 0;
}

/* docker's PromptForConfirmation: asked whether or not stdin is a terminal (a script pipes
 * "y" in, or passes -f); only "y" or "Y" goes on. The prompt goes to stdout, as docker's. */
static bool prune_confirm(const char *warning)
{
    printf("%s\nAre you sure you want to continue? [y/N] ", warning);
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    bool yes = false;
    if (n > 0) {
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t l = strlen(p);
        while (l && isspace((unsigned char)p[l - 1]))
            p[--l] = '\0';
        yes = !strcasecmp(p, "y");
    } else
        putchar('\n');
    free(line);
    return yes;
}

/* until=DURATION filters; rc >= 0 is a usage error already reported. */
static int prune_filters(const char *verb, const cb_strv *filters, int64_t *until)
{
    for (size_t i = 0; i < filters->n; i++) {
        double secs;
        if (!cb_str_has_prefix(filters->v[i], "until=") || parse_duration(filters->v[i] + 6, &secs) < 0) {
            fprintf(stderr, "error: %s: invalid filter `%s` (want until=DURATION, e.g. until=24h)\n", verb,
                    filters->v[i]);
            return CLI_EXIT_USAGE;
        }
        *until = (int64_t)time(NULL) - (int64_t)secs;
    }
    return -1;
}

/* The manifest digests and image IDs the containers' images resolve to. */
static void images_in_use(store *s, const char *root, cb_strv *used)
{
    cb_strv names;
    cb_strv_init(&names);
    cli_containers_images(root, &names);
    for (size_t i = 0; i < names.n; i++) {
        store_image im;
        cb_err e = {0};
        if (store_image_resolve(s, names.v[i], &im, &e) < 0)
            continue; /* an --ext4 file, or an image removed since */
        cb_strv_push(used, im.manifest_digest);
        cb_strv_push(used, im.id);
        store_image_free(&im);
    }
    cb_strv_free(&names);
}

/* Untag dangling images (all: every image no container uses), as docker's image prune. */
static int prune_images(store *s, const char *root, bool all, int64_t until, uint64_t *count, cb_err *err)
{
    cb_strv used;
    cb_strv_init(&used);
    if (all)
        images_in_use(s, root, &used);
    store_tag *tags;
    size_t nt;
    if (store_tag_list(s, &tags, &nt, err) < 0)
        return -EIO;
    int rc = 0;
    bool header = false;
    cb_strv done;
    cb_strv_init(&done);
    for (size_t i = 0; i < nt && rc == 0; i++) {
        const char *d = tags[i].desc.digest;
        if (cb_strv_contains(&done, d))
            continue;
        bool named = false;
        for (size_t k = 0; k < nt; k++)
            named |= !strcmp(tags[k].desc.digest, d) && tags[k].name;
        if (named && !all)
            continue;
        store_image im;
        cb_err e = {0};
        if (store_image_resolve(s, d, &im, &e) < 0)
            continue;
        if (cb_strv_contains(&used, im.manifest_digest) || cb_strv_contains(&used, im.id)) {
            cb_strv_push(&done, d);
            store_image_free(&im);
            continue;
        }
        struct tm tm = {0};
        bool old = !until || (im.config.created && strptime(im.config.created, "%Y-%m-%dT%H:%M:%S", &tm) &&
                              (int64_t)timegm(&tm) < until);
        if (old) {
            if (!header)
                printf("Deleted Images:\n");
            header = true;
            for (size_t k = 0; k < nt; k++) {
                oci_ref r;
                if (strcmp(tags[k].desc.digest, d) || !tags[k].name ||
                    oci_ref_parse(tags[k].name, &r, &e) < 0)
                    continue;
                cleanup_free char *fam = oci_ref_familiar_name(&r);
                printf("untagged: %s:%s\n", fam, r.tag ? r.tag : "");
                oci_ref_free(&r);
            }
            if ((rc = store_image_untag_all(s, d, err)) == 0) {
                printf("deleted: %s\n", im.id);
                (*count)++;
            }
        }
        cb_strv_push(&done, d);
        store_image_free(&im);
    }
    if (header)
        putchar('\n');
    cb_strv_free(&done);
    cb_strv_free(&used);
    store_tags_free(tags, nt);
    return rc;
}

enum prune_kind { PRUNE_BUILDER, PRUNE_IMAGES, PRUNE_SYSTEM };

static int prune_run(cli_ctx *ctx, enum prune_kind kind, int argc, char **argv)
{
    bool all = false, force = false;
    const char *keep = NULL;
    cb_strv filters;
    cb_strv_init(&filters);
    const cli_opt builder_opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "remove all build cache, not just dangling records"},
        {"filter", 0, CLI_STRINGS, &filters, "until=DURATION", "only cache not used for DURATION (e.g. 24h)"},
        {"keep-storage", 0, CLI_STRING, &keep, "SIZE",
         "drop least recently used cache until the store fits SIZE"},
        {"force", 'f', CLI_BOOL, &force, NULL, "do not prompt for confirmation"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_opt image_opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         kind == PRUNE_IMAGES ? "remove all images (no image is used by a container), not just dangling ones"
                              : "remove all images and all build cache, not just dangling ones"},
        {"filter", 0, CLI_STRINGS, &filters, "until=DURATION", "only images created DURATION ago or earlier"},
        {"force", 'f', CLI_BOOL, &force, NULL, "do not prompt for confirmation"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec specs[] = {
        {"prune", "[OPTIONS]",
         "Remove build cache and unreferenced data from the store (also: builder prune)", builder_opts, false,
         0, 0},
        {"image prune", "[OPTIONS]", "Remove dangling images (-a: all images)", image_opts, false, 0, 0},
        {"system prune", "[OPTIONS]", "Remove dangling images and build cache (-a: all images, all cache)",
         image_opts, false, 0, 0},
    };
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &specs[kind], argc, argv);
    int64_t until = 0;
    if (rc < 0)
        rc = prune_filters(specs[kind].name, &filters, &until);
    cb_strv_free(&filters);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    store_prune_opts po = {.all = all && kind != PRUNE_IMAGES, .until = kind == PRUNE_BUILDER ? until : 0};
    if (keep && cb_parse_size(keep, &po.keep_storage, &v.err) < 0)
        return cli_call_end(&v, cli_report(&v.err));
    const char *warning =
        kind == PRUNE_BUILDER ? (all ? "WARNING! This will remove all build cache."
                                     : "WARNING! This will remove all dangling build cache.")
        : kind == PRUNE_IMAGES
            ? (all ? "WARNING! This will remove all images without at least one container associated to them."
                   : "WARNING! This will remove all dangling images.")
            : (all ? "WARNING! This will remove:\n  - all stopped containers\n"
                     "  - all images without at least one container associated to them\n"
                     "  - all build cache\n"
                   : "WARNING! This will remove:\n  - all stopped containers\n  - all dangling images\n"
                     "  - all dangling build cache\n");
    if (!force && !prune_confirm(warning))
        return cli_call_end(&v, 0);
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    uint64_t freed = 0, count = 0;
    rc = 0;
    if (kind == PRUNE_SYSTEM)
        cli_containers_prune(ctx->root);
    if (kind != PRUNE_BUILDER && prune_images(v.st, ctx->root, all, until, &count, &v.err) < 0)
        rc = cli_report(&v.err);
    else if (store_prune(v.st, &po, &freed, &v.err) < 0)
        rc = cli_report(&v.err);
    else {
        char b[32];
        cb_format_size(freed, b, sizeof b);
        printf("Total reclaimed space: %s\n", b);
    }
    return cli_call_end(&v, rc);
}

int cli_cmd_prune(cli_ctx *ctx, int argc, char **argv)
{
    return prune_run(ctx, PRUNE_BUILDER, argc, argv);
}

int cli_cmd_image_prune(cli_ctx *ctx, int argc, char **argv)
{
    return prune_run(ctx, PRUNE_IMAGES, argc, argv);
}

int cli_cmd_system_prune(cli_ctx *ctx, int argc, char **argv)
{
    return prune_run(ctx, PRUNE_SYSTEM, argc, argv);
}
