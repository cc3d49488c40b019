/* cbuild bake: buildx bake's definition files, resolved (builder/bake/), then every target
 * built at once in this process, sharing the store, one progress display and the steps they
 * have in common (builder_shared). */
#include "cli.h"

#include "bake.h"
#include "builder.h"
#include "guest.h"
#include "oci.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t bake_signal;

static void on_signal(int sig)
{
    if (bake_signal)
        _exit(128 + sig);
    bake_signal = sig;
}

typedef struct bake_job {
    const char *name;
    json_t *t;
    cb_strv tags, args, labels, secrets, outputs, cache_from, cache_to, ncf, annotations, allow_devices;
    char *dockerfile, *platforms, *load_tar;
    guest_rlimit ulimits[GUEST_RLIMITS_MAX];
    builder_opts o;
    builder_result res;
    cb_err err;
    int rc;
    pthread_t th;
} bake_job;

/* a definition on stdin (-f -): JSON when it looks so, else HCL */
static int stdin_read(bake_def *d, cb_err *err)
{
    cb_buf b;
    cb_buf_init(&b);
    char chunk[8192];
    ssize_t n;
    while ((n = read(STDIN_FILENO, chunk, sizeof chunk)) > 0)
        cb_buf_append(&b, chunk, (size_t)n);
    const char *s = b.data ? b.data : "";
    int rc = n < 0                            ? cb_error(err, errno, "reading the definition from stdin")
             : s[strspn(s, " \t\r\n")] == '{' ? bake_json_parse(d, "-", s, err)
                                              : bake_hcl_parse(d, "-", s, err);
    cb_buf_free(&b);
    return rc;
}

static int files_read(bake_def *d, const cb_strv *files, cb_err *err)
{
    int found = 0;
    for (size_t i = 0; i < files->n; i++) {
        int rc = !strcmp(files->v[i], "-") ? stdin_read(d, err) : bake_file_read(d, files->v[i], err);
        if (rc < 0)
            return rc;
        found++;
    }
    for (const char *const *f = bake_default_files; !files->n && *f; f++) {
        if (!cb_path_exists(*f))
            continue;
        if (bake_file_read(d, *f, err) < 0)
            return -EINVAL;
        found++;
    }
    return found ? 0 : cb_failc(err, ENOENT, "couldn't find a bake definition to use");
}

static void strv_from(cb_strv *out, json_t *v)
{
    cb_strv_init(out);
    size_t i;
    const char *k;
    json_t *it;
    if (json_is_array(v))
        json_array_foreach(v, i, it) cb_strv_push(out, json_string_value(it));
    if (json_is_object(v))
        json_object_foreach(v, k, it) cb_strv_push_owned(out, xasprintf("%s=%s", k, json_string_value(it)));
}

/* A resolved target as build options; what cbuild's builder has no counterpart for is refused. */
static int job_init(bake_job *j, const char *name, json_t *t, cb_err *err)
{
    static const char *const unsupported[] = {"dockerfile-inline", "contexts", "ssh", "attest", "call", NULL};
    for (const char *const *k = unsupported; *k; k++) {
        json_t *v = json_object_get(t, *k);
        if (v && !(json_is_array(v) && !json_array_size(v)) && !(json_is_object(v) && !json_object_size(v)))
            return cb_failc(err, ENOTSUP, "target \"%s\": `%s` is not supported by cbuild bake yet", name,
                            *k);
    }
    /* buildx: each entry through docker's --ulimit parser, the last one for a name wins */
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(t, "ulimits"), i, it)
    {
        const char *u = json_string_value(it);
        if (guest_rlimits_set(j->ulimits, &j->o.n_ulimits, u ? u : "", err) < 0)
            return cb_error_wrap(err, "target \"%s\"", name);
    }
    j->o.ulimits = j->ulimits;
    j->name = name;
    j->t = t;
    strv_from(&j->tags, json_object_get(t, "tags"));
    strv_from(&j->args, json_object_get(t, "args"));
    strv_from(&j->labels, json_object_get(t, "labels"));
    strv_from(&j->secrets, json_object_get(t, "secret"));
    strv_from(&j->outputs, json_object_get(t, "output"));
    strv_from(&j->cache_from, json_object_get(t, "cache-from"));
    strv_from(&j->cache_to, json_object_get(t, "cache-to"));
    strv_from(&j->ncf, json_object_get(t, "no-cache-filter"));
    strv_from(&j->annotations, json_object_get(t, "annotations"));
    const char *ctx = json_string_value(json_object_get(t, "context"));
    const char *df = json_string_value(json_object_get(t, "dockerfile"));
    /* buildx: the Dockerfile is relative to the context */
    j->dockerfile = df[0] == '/' || !strcmp(ctx, "-") ? xstrdup(df) : xasprintf("%s/%s", ctx, df);
    cb_buf p;
    cb_buf_init(&p);
    json_array_foreach(json_object_get(t, "platforms"), i, it)
        cb_buf_printf(&p, "%s%s", i ? "," : "", json_string_value(it));
    j->platforms = cb_buf_steal(&p);
    j->o.context = ctx;
    j->o.dockerfile = j->dockerfile;
    j->o.target = json_string_value(json_object_get(t, "target"));
    j->o.platform = j->platforms && *j->platforms ? j->platforms : NULL;
    j->o.network = json_string_value(json_object_get(t, "network"));
    j->o.tags = &j->tags;
    j->o.build_args = &j->args;
    j->o.labels = &j->labels;
    j->o.secrets = &j->secrets;
    j->o.outputs = &j->outputs;
    j->o.no_cache_filter = &j->ncf;
    j->o.cache_from = &j->cache_from;
    j->o.cache_to = &j->cache_to;
    j->o.annotations = &j->annotations;
    j->o.no_cache = json_is_true(json_object_get(t, "no-cache"));
    j->o.pull = json_is_true(json_object_get(t, "pull"));
    cb_strv_init(&j->allow_devices);
    json_array_foreach(json_object_get(t, "entitlements"), i, it)
    {
        const char *e = json_string_value(it);
        if (e && !strcmp(e, "network.host"))
            j->o.allow_network_host = true;
        else if (e && (!strcmp(e, "device") || cb_str_has_prefix(e, "device=")))
            cb_strv_push(&j->allow_devices, e[6] ? e + 7 : "");
    }
    j->o.allow_devices = &j->allow_devices;
    /* buildx's build code, which bake shares, reads the policy from the environment */
    const char *pol = getenv("EXPERIMENTAL_BUILDKIT_SOURCE_POLICY");
    j->o.source_policy_file = pol && *pol ? pol : NULL;
    j->o.name = name;
    return 0;
}

static void job_free(bake_job *j)
{
    cb_strv *vs[] = {&j->tags,       &j->args,     &j->labels, &j->secrets,    &j->outputs,
                     &j->cache_from, &j->cache_to, &j->ncf,    &j->annotations, &j->allow_devices};
    for (size_t i = 0; j->name && i < sizeof vs / sizeof vs[0]; i++)
        cb_strv_free(vs[i]);
    free(j->dockerfile);
    free(j->platforms);
    if (j->load_tar)
        unlink(j->load_tar);
    free(j->load_tar);
}

static void *job_main(void *arg)
{
    bake_job *j = arg;
    cb_err_clear(&j->err);
    j->rc = builder_build(&j->o, &j->res, &j->err);
    return NULL;
}

typedef struct bake_flags {
    bool push, load, no_cache, pull;
    const char *progress;
    long jobs;
} bake_flags;

/* Every target built on its own thread; 0 when all succeeded, else the exit status. */
static int bake_build(cli_ctx *ctx, json_t *targets, const bake_flags *f, const oci_registry_opts *ro)
{
    cb_err err;
    cb_err_clear(&err);
    enum builder_progress_mode mode;
    if (builder_progress_parse(f->progress, &mode, &err) < 0)
        return cli_report(&err);
    const char *tool = f->load ? cli_load_tool() : NULL;
    if (f->load && !tool) {
        cb_fail(&err, "--load needs docker or podman to load the images into: neither is installed");
        return cli_report(&err);
    }
    size_t n = json_object_size(targets), i = 0;
    bake_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    int rc = 0;
    const char *name;
    json_t *t;
    json_object_foreach(targets, name, t)
    {
        bake_job *j = &jobs[i++];
        if (job_init(j, name, t, &err) < 0 ||
            (f->load && !(j->load_tar = cli_load_tar_path(ctx->root, &err)))) {
            rc = cli_report(&err);
            break;
        }
        if (j->load_tar)
            cb_strv_push_owned(&j->outputs, xasprintf("type=docker,dest=%s", j->load_tar));
        j->o.root = ctx->root;
        j->o.registry = ro;
        j->o.push = f->push;
        j->o.no_cache = j->o.no_cache || f->no_cache;
        j->o.pull = j->o.pull || f->pull;
        j->o.progress = mode;
        j->o.jobs = (int)f->jobs;
        j->o.out = stdout;
        j->o.log = stderr;
        j->o.interrupt = &bake_signal;
    }
    if (rc == 0) {
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old_int, old_term;
        sigemptyset(&sa.sa_mask);
        bake_signal = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        builder_shared *sh = builder_shared_new(mode, stderr);
        bool *started = xcalloc(n ? n : 1, sizeof *started);
        for (i = 0; i < n; i++) {
            jobs[i].o.shared = sh;
            started[i] = pthread_create(&jobs[i].th, NULL, job_main, &jobs[i]) == 0;
            if (!started[i])
                job_main(&jobs[i]);
        }
        for (i = 0; i < n; i++)
            if (started[i])
                pthread_join(jobs[i].th, NULL);
        free(started);
        builder_shared_free(sh);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        for (i = 0; i < n; i++) {
            if (jobs[i].rc < 0) {
                cli_report_build(&jobs[i].err);
                rc = bake_signal ? 128 + bake_signal : 1;
            } else if (jobs[i].load_tar && cli_load_run(tool, jobs[i].load_tar, &err) < 0) {
                rc = cli_report(&err);
            }
        }
    }
    for (i = 0; i < n; i++)
        job_free(&jobs[i]);
    free(jobs);
    return rc;
}

int cli_cmd_bake(cli_ctx *ctx, int argc, char **argv)
{
    cb_strv files, sets;
    cb_strv_init(&files);
    cb_strv_init(&sets);
    bool print = false;
    bake_flags f = {0};
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"file", 'f', CLI_STRINGS, &files, "FILE", "build definition file (repeatable; - reads stdin)"},
        {"print", 0, CLI_BOOL, &print, NULL, "print the resolved definition as JSON, build nothing"},
        {"set", 0, CLI_STRINGS, &sets, "TARGET.KEY=VALUE", "override a target value (TARGET may be *)"},
        {"push", 0, CLI_BOOL, &f.push, NULL, "push the results (same as --set *.push=true)"},
        {"load", 0, CLI_BOOL, &f.load, NULL, "load the results into docker (or podman)"},
        {"no-cache", 0, CLI_BOOL, &f.no_cache, NULL, "do not use the cache"},
        {"pull", 0, CLI_BOOL, &f.pull, NULL, "always pull referenced images"},
        {"progress", 0, CLI_STRING, &f.progress, "MODE", "auto, tty, plain, quiet, rawjson"},
        {"jobs", 'j', CLI_INT, &f.jobs, "N", "steps each target runs at once (default: cores)"},
        CLI_REGISTRY_OPTS(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"bake",
                               "[OPTIONS] [TARGET|GROUP...]",
                               "Build several targets from a bake file (docker-bake.hcl, compose.yaml)",
                               opts,
                               false,
                               0,
                               -1};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc < 0) {
        cb_err err;
        cb_err_clear(&err);
        bake_def d;
        bake_def_init(&d);
        json_t *res = NULL;
        if (files_read(&d, &files, &err) < 0 || bake_def_resolve(&d, &pos, &sets, &res, &err) < 0) {
            rc = cli_report(&err);
        } else if (print) {
            char *s = bake_print(res);
            fputs(s, stdout);
            free(s);
            rc = 0;
        } else {
            oci_registry_opts ro;
            cli_registry_flags_apply(&rf, &ro);
            rc = bake_build(ctx, json_object_get(res, "target"), &f, &ro);
        }
        json_decref(res);
        bake_def_free(&d);
    }
    cb_strv_free(&pos);
    cb_strv_free(&files);
    cb_strv_free(&sets);
    cli_registry_flags_free(&rf);
    return rc;
}
