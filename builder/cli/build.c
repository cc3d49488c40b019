/* cbuild build: docker build's flags; the build itself is builder_build(). */
#include "cli.h"

#include "builder.h"
#include "oci.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t build_signal;

/* The first SIGINT/SIGTERM cancels the build (cleanup runs); a second one quits at once. */
static void on_signal(int sig)
{
    if (build_signal)
        _exit(128 + sig);
    build_signal = sig;
}

static int build_with_signals(builder_opts *o, builder_result *res, cb_err *err)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    build_signal = 0;
    o->interrupt = &build_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = builder_build(o, res, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* Long: docker build's option table is most of it. */
int cli_cmd_build(cli_ctx *ctx, int argc, char **argv)
{
    cb_strv tags, build_args, labels, secrets, outputs, cache_from, cache_to, no_cache_filter;
    cb_strv_init(&tags);
    cb_strv_init(&build_args);
    cb_strv_init(&labels);
    cb_strv_init(&secrets);
    cb_strv_init(&outputs);
    cb_strv_init(&cache_from);
    cb_strv_init(&cache_to);
    cb_strv_init(&no_cache_filter);
    cb_strv allow;
    cb_strv_init(&allow);
    const char *file = NULL, *target = NULL, *platform = NULL, *network = NULL, *iidfile = NULL,
               *metadata_file = NULL, *progress = NULL;
    bool no_cache = false, pull = false, quiet = false, push = false;
    long jobs = 0;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"tag", 't', CLI_STRINGS, &tags, "NAME[:TAG]", "name and optionally a tag (repeatable)"},
        {"file", 'f', CLI_STRING, &file, "PATH", "Dockerfile (default PATH/Dockerfile; - reads stdin)"},
        {"build-arg", 0, CLI_STRINGS, &build_args, "KEY=VALUE", "set a build-time variable"},
        {"target", 0, CLI_STRING, &target, "STAGE", "build this stage"},
        {"label", 0, CLI_STRINGS, &labels, "KEY=VALUE", "set image metadata"},
        {"no-cache", 0, CLI_BOOL, &no_cache, NULL, "do not use the cache"},
        {"no-cache-filter", 0, CLI_STRINGS, &no_cache_filter, "STAGE", "do not cache this stage"},
        {"pull", 0, CLI_BOOL, &pull, NULL, "always pull referenced images"},
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "target platform (linux/amd64)"},
        {"secret", 0, CLI_STRINGS, &secrets, "id=ID,src=PATH", "secret to expose to RUN --mount=type=secret"},
        {"network", 0, CLI_STRING, &network, "MODE", "network for RUN: default, none, host"},
        {"allow", 0, CLI_STRINGS, &allow, "ENTITLEMENT", "grant an entitlement: network.host (repeatable)"},
        {"iidfile", 0, CLI_STRING, &iidfile, "FILE", "write the image ID to FILE"},
        {"metadata-file", 0, CLI_STRING, &metadata_file, "FILE", "write build result metadata to FILE"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "print only the image ID"},
        {"push", 0, CLI_BOOL, &push, NULL, "push the result (same as --output type=image,push=true)"},
        {"output", 'o', CLI_STRINGS, &outputs, "type=TYPE,dest=PATH",
         "output: image, oci, docker, ext4, tar, local"},
        {"progress", 0, CLI_STRING, &progress, "MODE", "auto, tty, plain, quiet, rawjson"},
        {"cache-from", 0, CLI_STRINGS, &cache_from, "SOURCE", "external cache sources"},
        {"cache-to", 0, CLI_STRINGS, &cache_to, "DEST", "cache export destinations"},
        {"jobs", 'j', CLI_INT, &jobs, "N", "steps run at once (default: cores)"},
        CLI_REGISTRY_OPTS(&rf),
        CLI_CREDS_OPT(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "build", "[OPTIONS] PATH | -", "Build an image from a Dockerfile", opts, false, 1, 1};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc < 0) {
        cb_err err;
        cb_err_clear(&err);
        builder_opts o = {
            .root = ctx->root,
            .context = pos.v[0],
            .dockerfile = file,
            .target = target,
            .platform = platform,
            .network = network,
            .iidfile = iidfile,
            .metadata_file = metadata_file,
            .tags = &tags,
            .build_args = &build_args,
            .labels = &labels,
            .secrets = &secrets,
            .outputs = &outputs,
            .no_cache_filter = &no_cache_filter,
            .no_cache = no_cache,
            .pull = pull,
            .push = push,
            .jobs = (int)jobs,
            .out = stdout,
            .log = stderr,
        };
        o.cache_from = &cache_from;
        o.cache_to = &cache_to;
        const char *bad_allow = NULL;
        for (size_t i = 0; i < allow.n; i++) {
            if (!strcmp(allow.v[i], "network.host"))
                o.allow_network_host = true;
            else if (!bad_allow)
                bad_allow = allow.v[i];
        }
        oci_registry_opts ro;
        cli_registry_flags_apply(&rf, &ro);
        o.registry = &ro;
        if (network && strcmp(network, "default") && strcmp(network, "none") && strcmp(network, "host")) {
            cb_fail(&err, "invalid --network %s: expected default, none or host", network);
            rc = cli_report(&err);
        } else if (bad_allow) {
            cb_fail(&err, "invalid --allow %s: only network.host is supported", bad_allow);
            rc = cli_report(&err);
        } else if (jobs < 0) {
            cb_fail(&err, "invalid --jobs %ld: must be at least 1", jobs);
            rc = cli_report(&err);
        } else if (builder_progress_parse(progress, &o.progress, &err) < 0) {
            rc = cli_report(&err);
        } else {
            if (quiet)
                o.progress = BUILDER_PROGRESS_QUIET;
            builder_result res;
            if (build_with_signals(&o, &res, &err) < 0) {
                rc = cli_report_build(&err);
                if (build_signal) /* as a shell reports a command killed by the signal */
                    rc = 128 + build_signal;
            } else {
                if (o.progress == BUILDER_PROGRESS_QUIET)
                    printf("%s\n", res.image_id);
                rc = 0;
            }
        }
    }
    cb_strv_free(&pos);
    cb_strv_free(&allow);
    cb_strv_free(&tags);
    cb_strv_free(&build_args);
    cb_strv_free(&labels);
    cb_strv_free(&secrets);
    cb_strv_free(&outputs);
    cb_strv_free(&cache_from);
    cb_strv_free(&cache_to);
    cb_strv_free(&no_cache_filter);
    cli_registry_flags_free(&rf);
    return rc;
}
