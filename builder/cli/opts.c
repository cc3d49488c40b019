#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt global_opts[] = {
    {"root", 0, CLI_STRING, NULL, "DIR", "store root (default $CBUILD_ROOT or $XDG_DATA_HOME/cbuild)"},
    {"debug", 'D', CLI_BOOL, NULL, NULL, "verbose logs"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

void cli_print_usage(const cli_cmd_spec *spec, FILE *out)
{
    fprintf(out, "Usage:  cbuild %s %s\n\n%s\n", spec->name, spec->usage ? spec->usage : "", spec->summary);
    if (spec->opts && spec->opts[0].name) {
        fprintf(out, "\nOptions:\n");
        for (const cli_opt *o = spec->opts; o->name; o++) {
            char left[96];
            if (o->shortname)
                snprintf(left, sizeof left, "-%c, --%s%s%s", o->shortname, o->name, o->metavar ? " " : "",
                         o->metavar ? o->metavar : "");
            else
                snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                         o->metavar ? o->metavar : "");
            fprintf(out, "  %-30s %s\n", left, o->help ? o->help : "");
        }
    }
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
    for (const cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
    for (const cli_opt *o = opts; o && o->name; o++)
        if (o->shortname == c)
            return o;
    return NULL;
}

static int usage_error(const cli_cmd_spec *spec, const char *fmt, const char *arg, const char *hint)
{
    fprintf(stderr, "cbuild %s: ", spec->name);
    fprintf(stderr, fmt, arg);
    if (hint)
        fprintf(stderr, " (did you mean --%s?)", hint);
    fprintf(stderr, "\nSee 'cbuild %s --help'.\n", spec->name);
    return CLI_PARSE_ERROR;
}

static const char *suggest_flag(const cli_cmd_spec *spec, const char *word)
{
    const char *names[128];
    size_t n = 0;
    for (const cli_opt *o = spec->opts; o && o->name && n < 120; o++)
        names[n++] = o->name;
    for (const cli_opt *o = global_opts; o->name; o++)
        names[n++] = o->name;
    char w[128];
    snprintf(w, sizeof w, "%s", word);
    char *eq = strchr(w, '=');
    if (eq)
        *eq = 0;
    return cb_suggest(w, names, n);
}

static int apply(cli_ctx *ctx, const cli_cmd_spec *spec, const cli_opt *o, const char *dispname,
                 const char *val)
{
    void *t = o->target;
    if (o >= global_opts && o < global_opts + 3) {
        if (!strcmp(o->name, "root")) {
            free(ctx->root);
            ctx->root = xstrdup(val);
        } else {
            ctx->debug = !val || strcmp(val, "false") != 0;
            cb_log_set_level(ctx->debug ? CB_LOG_DEBUG : CB_LOG_INFO);
        }
        return 0;
    }
    switch (o->kind) {
    case CLI_BOOL:
        if (!val || !strcmp(val, "true") || !strcmp(val, "1"))
            *(bool *)t = true;
        else if (!strcmp(val, "false") || !strcmp(val, "0"))
            *(bool *)t = false;
        else
            return usage_error(spec, "invalid boolean value for %s", dispname, NULL);
        return 0;
    case CLI_STRING:
        *(const char **)t = val;
        return 0;
    case CLI_STRINGS:
        cb_strv_push((cb_strv *)t, val);
        return 0;
    case CLI_INT: {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end)
            return usage_error(spec, "invalid number for %s", dispname, NULL);
        *(long *)t = v;
        return 0;
    }
    }
    return 0;
}

int cli_parse(cli_ctx *ctx, const cli_cmd_spec *spec, int argc, char **argv, cb_strv *pos)
{
    bool flags_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (flags_done || a[0] != '-' || a[1] == 0) {
            cb_strv_push(pos, a);
            if (spec->stop_at_positional)
                flags_done = true;
            continue;
        }
        if (!strcmp(a, "--")) {
            flags_done = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_print_usage(spec, stdout);
            return CLI_PARSE_HELP;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const cli_opt *o = find_long(spec->opts, name, len);
            if (!o)
                o = find_long(global_opts, name, len);
            if (!o)
                return usage_error(spec, "unknown flag: %s", a, suggest_flag(spec, name));
            const char *val = eq ? eq + 1 : NULL;
            bool is_bool = o->kind == CLI_BOOL;
            if (!is_bool && !val) {
                if (i + 1 >= argc)
                    return usage_error(spec, "flag needs an argument: %s", a, NULL);
                val = argv[++i];
            }
            if (apply(ctx, spec, o, a, val) != 0)
                return CLI_PARSE_ERROR;
            continue;
        }
        /* short flags, possibly combined: -it, -tname, -t name */
        for (char *p = a + 1; *p; p++) {
            const cli_opt *o = find_short(spec->opts, *p);
            if (!o)
                o = find_short(global_opts, *p);
            if (!o) {
                char f[3] = {'-', *p, 0};
                return usage_error(spec, "unknown shorthand flag: %s", f, NULL);
            }
            char disp[3] = {'-', *p, 0};
            if (o->kind == CLI_BOOL) {
                if (apply(ctx, spec, o, disp, NULL) != 0)
                    return CLI_PARSE_ERROR;
                continue;
            }
            const char *val;
            if (p[1])
                val = p[1] == '=' ? p + 2 : p + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error(spec, "flag needs an argument: %s", disp, NULL);
            if (apply(ctx, spec, o, disp, val) != 0)
                return CLI_PARSE_ERROR;
            break;
        }
    }
    if ((int)pos->n < spec->min_args || (spec->max_args >= 0 && (int)pos->n > spec->max_args)) {
        if (spec->min_args == spec->max_args)
            fprintf(stderr, "cbuild %s: requires exactly %d argument%s\n", spec->name, spec->min_args,
                    spec->min_args == 1 ? "" : "s");
        else if ((int)pos->n < spec->min_args)
            fprintf(stderr, "cbuild %s: requires at least %d argument%s\n", spec->name, spec->min_args,
                    spec->min_args == 1 ? "" : "s");
        else
            fprintf(stderr, "cbuild %s: accepts at most %d argument%s\n", spec->name, spec->max_args,
                    spec->max_args == 1 ? "" : "s");
        fprintf(stderr, "See 'cbuild %s --help'.\n\nUsage:  cbuild %s %s\n", spec->name, spec->name,
                spec->usage ? spec->usage : "");
        return CLI_PARSE_ERROR;
    }
    return CLI_PARSE_OK;
}

int cli_parse_exit(int r)
{
    if (r == CLI_PARSE_HELP)
        return 0;
    if (r == CLI_PARSE_ERROR)
        return CLI_EXIT_USAGE;
    return -1;
}

/* buildx's layout for a failed build: the detail lines as they are, `ERROR: failed to solve:`
 * before the error itself (docker's CLI prints `error:` for its own errors, buildx `ERROR:`). */
int cli_report_build(const cb_err *err)
{
    const char *msg = err->msg[0] ? err->msg : "unknown error";
    /* a failed step's details end with the Dockerfile excerpt's rule; the error follows it */
    static const char rule[] = "\n--------------------\n";
    const char *last = NULL;
    for (const char *q = strstr(msg, rule); q; q = strstr(q + 1, rule))
        last = q + sizeof rule - 2;
    if (last)
        fprintf(stderr, "%.*s\n", (int)(last - msg), msg);
    const char *line = last ? last + 1 : msg;
    if (cb_log_color())
        fprintf(stderr, "\033[31mERROR:\033[0m failed to solve: %s\n", line);
    else
        fprintf(stderr, "ERROR: failed to solve: %s\n", line);
    return 1;
}

int cli_report(const cb_err *err)
{
    if (cb_log_color())
        fprintf(stderr, "\033[31merror:\033[0m %s\n", err->msg[0] ? err->msg : "unknown error");
    else
        fprintf(stderr, "error: %s\n", err->msg[0] ? err->msg : "unknown error");
    return 1;
}
