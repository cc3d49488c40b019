/* cbuild entry point: global flags, store root resolution, verb dispatch. */
#include "cli.h"
#include "containers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct cli_verb {
    const char *name;
    int (*fn)(cli_ctx *, int, char **);
    const char *summary;
} cli_verb;

static const cli_verb verbs[] = {
    {"build", cli_cmd_build, "Build an image from a Dockerfile"},
    {"bake", cli_cmd_bake, "Build several targets from a bake file (docker-bake.hcl, compose.yaml)"},
    {"run", cli_cmd_run, "Run a command in a throwaway VM booted from an image"},
    {"ps", cli_cmd_ps, "List containers (VMs left running by run -d)"},
    {"logs", cli_cmd_logs, "Fetch the output of a container"},
    {"stop", cli_cmd_stop, "Stop one or more running containers"},
    {"rm", cli_cmd_rm, "Remove one or more containers"},
    {"images", cli_cmd_images, "List images in the local store"},
    {"pull", cli_cmd_pull, "Download an image from a registry"},
    {"push", cli_cmd_push, "Upload an image to a registry"},
    {"tag", cli_cmd_tag, "Create a tag TARGET that refers to SOURCE"},
    {"inspect", cli_cmd_inspect, "Show an image's config and manifest as JSON"},
    {"rmi", cli_cmd_rmi, "Remove one or more images"},
    {"save", cli_cmd_save, "Save an image to an OCI archive"},
    {"load", cli_cmd_load, "Load an image from an OCI archive or docker save tar"},
    {"export", cli_cmd_export, "Export an image's filesystem as ext4 or tar"},
    {"login", cli_cmd_login, "Log in to a registry"},
    {"logout", cli_cmd_logout, "Log out from a registry"},
    {"ext4", cli_cmd_ext4, "Create and inspect ext4 images"},
    {"du", cli_cmd_du, "Show disk usage of the store"},
    {"prune", cli_cmd_prune, "Remove unused build cache and data"},
    {"store", cli_cmd_store, "Check the local store (store check)"},
    {"setup", cli_cmd_setup, "Install the guest kernel and initramfs into the store"},
    {"info", cli_cmd_info, "Show versions, the store, the guest kernel and the accelerator"},
    {"kernel", cli_cmd_kernel, "Export the guest kernel for other VMMs (kernel export DIR)"},
    {"debug", cli_cmd_debug, "Inspect the Dockerfile frontend (parse, plan)"},
    {"version", cli_cmd_version, "Show the cbuild version"},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* The management commands docker users know: `image ls`, `builder prune`, `system df`. */
typedef struct cli_group {
    const char *name;
    const char *summary;
    cli_verb subs[12];
} cli_group;

static const cli_group groups[] = {
    {"image",
     "Manage images (ls, rm, inspect, tag, push, pull, save, load, prune)",
     {{"ls", cli_cmd_images, "List images (= images)"},
      {"list", cli_cmd_images, "List images (= images)"},
      {"rm", cli_cmd_rmi, "Remove one or more images (= rmi)"},
      {"inspect", cli_cmd_inspect, "Show an image's config and manifest (= inspect)"},
      {"tag", cli_cmd_tag, "Create a tag TARGET that refers to SOURCE (= tag)"},
      {"push", cli_cmd_push, "Upload an image to a registry (= push)"},
      {"pull", cli_cmd_pull, "Download an image from a registry (= pull)"},
      {"save", cli_cmd_save, "Save an image to an OCI archive (= save)"},
      {"load", cli_cmd_load, "Load an image from an archive (= load)"},
      {"prune", cli_cmd_image_prune, "Remove dangling images (-a: all images)"},
      {"build", cli_cmd_build, "Build an image from a Dockerfile (= build)"},
      {NULL, NULL, NULL}}},
    {"builder",
     "Manage builds (build, prune)",
     {{"prune", cli_cmd_prune, "Remove build cache (= prune)"},
      {"build", cli_cmd_build, "Build an image from a Dockerfile (= build)"},
      {NULL, NULL, NULL}}},
    {"system",
     "Manage the store (df, prune, info)",
     {{"df", cli_cmd_du, "Show disk usage of the store (= du)"},
      {"prune", cli_cmd_system_prune, "Remove dangling images and build cache"},
      {"info", cli_cmd_info, "Show versions, the store, the guest kernel (= info)"},
      {NULL, NULL, NULL}}},
    {"manifest",
     "Show manifests and indexes (inspect)",
     {{"inspect", cli_cmd_manifest_inspect, "Show an image's manifest or index JSON (docker manifest inspect)"},
      {NULL, NULL, NULL}}},
    {"imagetools",
     "Create and show multi-platform images (create, inspect)",
     {{"create", cli_cmd_imagetools_create, "Merge images in a registry into one index (buildx imagetools create)"},
      {"inspect", cli_cmd_imagetools_inspect, "Show an image's index and platforms (buildx imagetools inspect)"},
      {NULL, NULL, NULL}}},
};
#define NGROUPS (sizeof groups / sizeof groups[0])

static void group_help(const cli_group *g, FILE *out)
{
    fprintf(out, "Usage:  cbuild %s COMMAND\n\n%s\n\nCommands:\n", g->name, g->summary);
    for (const cli_verb *v = g->subs; v->name; v++)
        fprintf(out, "  %-10s %s\n", v->name, v->summary);
    fprintf(out, "\nRun 'cbuild %s COMMAND --help' for more information on a command.\n", g->name);
}

/* argv[0] is the group; the subcommand's function gets argv from the subcommand on. */
static int group_run(cli_ctx *ctx, const cli_group *g, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        group_help(g, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    for (const cli_verb *v = g->subs; v->name; v++)
        if (!strcmp(argv[1], v->name))
            return v->fn(ctx, argc - 1, argv + 1);
    fprintf(stderr, "cbuild: '%s %s' is not a cbuild command.\nSee 'cbuild %s --help'.\n", g->name, argv[1],
            g->name);
    return CLI_EXIT_USAGE;
}

static void print_help(FILE *out)
{
    fprintf(out, "Usage:  cbuild [OPTIONS] COMMAND\n"
                 "        cbuild [OPTIONS] [BUILD OPTIONS] PATH   (same as `cbuild build`)\n\n"
                 "A daemonless image builder: every RUN step runs in its own throwaway VM.\n\n"
                 "Options:\n"
                 "      --root DIR    store root (default $CBUILD_ROOT, else $XDG_DATA_HOME/cbuild)\n"
                 "  -D, --debug       verbose logs\n"
                 "  -h, --help        show this help\n"
                 "  -v, --version     show the version\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nManagement Commands:\n");
    for (size_t i = 0; i < NGROUPS; i++)
        fprintf(out, "  %-10s %s\n", groups[i].name, groups[i].summary);
    fprintf(out, "\nRun 'cbuild COMMAND --help' for more information on a command.\n");
}

int cli_cmd_version(cli_ctx *ctx, int argc, char **argv)
{
    static const cli_cmd_spec spec = {"version", "", "Show the cbuild version", NULL, false, 0, 0};
    cb_strv pos;
    cb_strv_init(&pos);
    int r = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    cb_strv_free(&pos);
    if (r >= 0)
        return r;
    printf("cbuild version %s\n", CB_VERSION);
    return 0;
}

static char *default_root(void)
{
    const char *env = getenv("CBUILD_ROOT");
    if (env && *env)
        return xstrdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg)
        return cb_path_join(xdg, "cbuild");
    const char *home = getenv("HOME");
    return xasprintf("%s/.local/share/cbuild", home && *home ? home : ".");
}

static bool looks_like_context(const char *a)
{
    struct stat st;
    if (!strcmp(a, "-") || strchr(a, '/') || !strcmp(a, "."))
        return true;
    return stat(a, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
    cli_ctx ctx = {.root = NULL, .debug = false, .argv0 = argv[0]};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--root") && i + 1 < argc) {
            free(ctx.root);
            ctx.root = xstrdup(argv[++i]);
        } else if (!strncmp(a, "--root=", 7)) {
            free(ctx.root);
            ctx.root = xstrdup(a + 7);
        } else if (!strcmp(a, "--debug") || !strcmp(a, "-D")) {
            ctx.debug = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(stdout);
            return 0;
        } else if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("cbuild version %s\n", CB_VERSION);
            return 0;
        } else {
            break;
        }
    }
    if (ctx.debug)
        cb_log_set_level(CB_LOG_DEBUG);
    if (!ctx.root)
        ctx.root = default_root();

    int rc;
    if (i >= argc) {
        print_help(stderr);
        rc = CLI_EXIT_USAGE;
    } else {
        const cli_verb *v = NULL;
        const cli_group *g = NULL;
        for (size_t k = 0; k < NVERBS; k++)
            if (!strcmp(argv[i], verbs[k].name))
                v = &verbs[k];
        for (size_t k = 0; k < NGROUPS; k++)
            if (!strcmp(argv[i], groups[k].name))
                g = &groups[k];
        if (g) {
            rc = group_run(&ctx, g, argc - i, argv + i);
        } else if (!strcmp(argv[i], "help")) {
            print_help(stdout);
            rc = 0;
        } else if (v) {
            rc = v->fn(&ctx, argc - i, argv + i);
        } else if (argv[i][0] == '-' || looks_like_context(argv[i])) {
            /* `cbuild -t app .`: no verb means build; argv[i-1] stands in for the verb. */
            char **bargv = xcalloc((size_t)(argc - i + 2), sizeof *bargv);
            bargv[0] = "build";
            for (int k = i; k < argc; k++)
                bargv[k - i + 1] = argv[k];
            rc = cli_cmd_build(&ctx, argc - i + 1, bargv);
            free(bargv);
        } else {
            const char *names[NVERBS + NGROUPS + 1];
            for (size_t k = 0; k < NVERBS; k++)
                names[k] = verbs[k].name;
            for (size_t k = 0; k < NGROUPS; k++)
                names[NVERBS + k] = groups[k].name;
            names[NVERBS + NGROUPS] = "help";
            const char *s = cb_suggest(argv[i], names, NVERBS + NGROUPS + 1);
            fprintf(stderr, "cbuild: '%s' is not a cbuild command.\n", argv[i]);
            if (s)
                fprintf(stderr, "\nDid you mean this?\n\t%s\n", s);
            fprintf(stderr, "See 'cbuild --help'.\n");
            rc = CLI_EXIT_USAGE;
        }
    }
    free(ctx.root);
    return rc;
}
