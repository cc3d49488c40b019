/* cbuild prune: remove build cache and everything no image or cache record needs. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

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

int cli_cmd_prune(cli_ctx *ctx, int argc, char **argv)
{
    bool all = false, force = false;
    const char *keep = NULL;
    cb_strv filters;
    cb_strv_init(&filters);
    const cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "remove all build cache, not just dangling records"},
        {"filter", 0, CLI_STRINGS, &filters, "until=DURATION", "only cache not used for DURATION (e.g. 24h)"},
        {"keep-storage", 0, CLI_STRING, &keep, "SIZE", "drop least recently used cache until the store fits SIZE"},
        {"force", 'f', CLI_BOOL, &force, NULL, "do not prompt for confirmation"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"prune", "[OPTIONS]", "Remove build cache and unreferenced data from the store", opts,
                               false, 0, 0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        cb_strv_free(&filters);
        return cli_call_end(&v, rc);
    }
    cb_err err = {0};
    store_prune_opts po = {.all = all};
    for (size_t i = 0; i < filters.n; i++) {
        double secs;
        if (!cb_str_has_prefix(filters.v[i], "until=") || parse_duration(filters.v[i] + 6, &secs) < 0) {
            fprintf(stderr, "error: invalid filter `%s` (want until=DURATION, e.g. until=24h)\n", filters.v[i]);
            cb_strv_free(&filters);
            return cli_call_end(&v, CLI_EXIT_USAGE);
        }
        po.until = (int64_t)time(NULL) - (int64_t)secs;
    }
    cb_strv_free(&filters);
    if (keep && cb_parse_size(keep, &po.keep_storage, &err) < 0)
        return cli_call_end(&v, cli_report(&err));
    if (!force && isatty(STDIN_FILENO)) {
        fprintf(stderr, "WARNING! This will remove %s build cache and unreferenced blobs. Are you sure you want to "
                        "continue? [y/N] ",
                all ? "all" : "dangling");
        int c = getchar();
        if (c != 'y' && c != 'Y')
            return cli_call_end(&v, 0);
    }
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    uint64_t freed = 0;
    rc = 0;
    if (store_prune(s, &po, &freed, &err) < 0)
        rc = cli_report(&err);
    else {
        char b[32];
        cb_format_size(freed, b, sizeof b);
        printf("Total reclaimed space: %s\n", b);
    }
    return cli_call_end(&v, rc);
}
