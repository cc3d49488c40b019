/* cbuild debug parse|plan: inspect the Dockerfile frontend (parser/). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dockerfile.h"

static int read_input(const char *path, cb_buf *out, cb_err *err)
{
    if (path && strcmp(path, "-") != 0)
        return cb_read_file(path, out, err);
    char tmp[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cb_error(err, errno, "read standard input");
        }
        if (n == 0)
            return 0;
        cb_buf_append(out, tmp, (size_t)n);
    }
}

static void print_warnings(const df_file *f)
{
    for (size_t i = 0; i < f->warnings.n; i++)
        fprintf(stderr, "WARNING: %s:%d: %s\n", f->filename, f->warnings.v[i].line, f->warnings.v[i].msg);
}

static int cmd_parse(cli_ctx *ctx, int argc, char **argv)
{
    const cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    const cli_cmd_spec spec = {"debug parse", "[FILE | -]",
                               "Print a Dockerfile's syntax tree in BuildKit's parser test format "
                               "(standard input when no FILE)",
                               opts, false, 0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        return cli_call_end(&v, rc);
    }
    const char *path = v.pos.n ? v.pos.v[0] : NULL;
    cb_buf in;
    cb_buf_init(&in);
    cb_err err = {0};
    df_file *f = NULL;
    if (read_input(path, &in, &err) < 0 ||
        df_parse(in.data ? in.data : "", in.len, path && strcmp(path, "-") ? path : "Dockerfile", &f, &err) < 0) {
        rc = cli_report(&err);
    } else {
        cb_buf out;
        cb_buf_init(&out);
        df_file_dump(f, &out);
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        cb_buf_free(&out);
        print_warnings(f);
        rc = 0;
    }
    df_file_free(f);
    cb_buf_free(&in);
    return cli_call_end(&v, rc);
}

/* Which .dockerignore applies and whether its patterns compile; text goes to out. */
static int describe_ignore(const char *file, const char *context, cb_buf *out, cb_err *err)
{
    char *first, *second;
    df_ignore_candidates(file, context, &first, &second);
    const char *use = first && cb_path_exists(first) ? first : (cb_path_exists(second) ? second : NULL);
    int rc = 0;
    if (!use) {
        cb_buf_printf(out, "\ndockerignore: none (looked for %s%s%s)\n", first ? first : "", first ? " and " : "",
                      second);
    } else {
        cb_buf data;
        cb_buf_init(&data);
        cb_strv pats;
        cb_strv_init(&pats);
        df_ignore *m = NULL;
        if ((rc = cb_read_file(use, &data, err)) == 0) {
            df_ignore_read(data.data ? data.data : "", data.len, &pats);
            if ((rc = df_ignore_new((const char *const *)pats.v, pats.n, &m, err)) < 0)
                cb_error_wrap(err, "%s", use);
        }
        if (rc == 0) {
            cb_buf_printf(out, "\ndockerignore: %s (%zu pattern%s%s)\n", use, pats.n, pats.n == 1 ? "" : "s",
                          df_ignore_has_exclusions(m) ? ", with ! exceptions" : "");
            for (size_t i = 0; i < pats.n; i++)
                cb_buf_printf(out, "  %s\n", pats.v[i]);
        }
        df_ignore_free(m);
        cb_strv_free(&pats);
        cb_buf_free(&data);
    }
    free(first);
    free(second);
    return rc;
}

static int cmd_plan(cli_ctx *ctx, int argc, char **argv)
{
    const char *file = NULL, *target = NULL, *format = NULL, *platform = NULL;
    cb_strv build_args;
    cb_strv_init(&build_args);
    const cli_opt opts[] = {
        {"file", 'f', CLI_STRING, &file, "PATH", "Dockerfile (default CONTEXT/Dockerfile; - reads stdin)"},
        {"target", 0, CLI_STRING, &target, "STAGE", "stage to build (default: the last one)"},
        {"build-arg", 0, CLI_STRINGS, &build_args, "KEY=VALUE", "set a build-time variable (repeatable)"},
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "target platform (default linux/amd64)"},
        {"format", 0, CLI_STRING, &format, "FORMAT", "output format: text (default) or json"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"debug plan", "[OPTIONS] [CONTEXT]",
                               "Print the build stages after ARG resolution: bases, expanded instructions, "
                               "dependencies and the stages the target needs",
                               opts, false, 0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        goto out;
    if (format && strcmp(format, "json") && strcmp(format, "text")) {
        fprintf(stderr, "error: unknown format \"%s\" (use text or json)\n", format);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    const char *context = v.pos.n ? v.pos.v[0] : ".";
    char *path = file ? xstrdup(file) : cb_path_join(context, "Dockerfile");
    cb_buf in;
    cb_buf_init(&in);
    cb_err err = {0};
    df_file *f = NULL;
    df_plan *p = NULL;
    df_plan_opts po = {.target = target,
                       .build_args = (const char *const *)build_args.v,
                       .n_build_args = build_args.n,
                       .target_platform = platform};
    if (read_input(path, &in, &err) < 0 ||
        df_parse(in.data ? in.data : "", in.len, strcmp(path, "-") ? path : "Dockerfile", &f, &err) < 0 ||
        df_plan_new(f, &po, &p, &err) < 0) {
        rc = cli_report(&err);
    } else {
        cb_buf o;
        cb_buf_init(&o);
        rc = 0;
        if (format && !strcmp(format, "json")) {
            df_plan_print_json(p, f, &o);
        } else {
            df_plan_print(p, f, &o);
            if (describe_ignore(file && strcmp(file, "-") ? file : NULL, context, &o, &err) < 0)
                rc = cli_report(&err);
        }
        if (rc == 0)
            fwrite(o.data ? o.data : "", 1, o.len, stdout);
        cb_buf_free(&o);
    }
    df_plan_free(p);
    df_file_free(f);
    cb_buf_free(&in);
    free(path);
out:
    cli_call_end(&v, 0);
    cb_strv_free(&build_args);
    return rc;
}

int cli_cmd_debug(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const subs[] = {"parse", "plan"};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *o = argc < 2 ? stderr : stdout;
        fprintf(o, "Usage:  cbuild debug COMMAND\n\nInspect the Dockerfile frontend\n\nCommands:\n"
                   "  parse [FILE]            print the syntax tree (BuildKit parser test format)\n"
                   "  plan [OPTIONS] [CONTEXT]  print the stages after ARG resolution\n");
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "parse"))
        return cmd_parse(ctx, argc - 1, argv + 1);
    if (!strcmp(argv[1], "plan"))
        return cmd_plan(ctx, argc - 1, argv + 1);
    const char *s = cb_suggest(argv[1], subs, 2);
    fprintf(stderr, "error: unknown command \"%s\"%s%s%s\nSee 'cbuild debug --help'.\n", argv[1],
            s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
    return CLI_EXIT_USAGE;
}
