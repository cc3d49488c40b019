/* builder/cli/: the cbuild command line. One file per verb; main.c dispatches. */
#ifndef CB_CLI_H
#define CB_CLI_H

#include "common.h"

/* Exit status for cbuild's own usage errors, as docker's CLI uses. */
#define CLI_EXIT_USAGE 125

typedef struct cli_ctx {
    char *root;      /* store root (resolved: --root, CBUILD_ROOT, XDG_DATA_HOME/cbuild) */
    bool debug;
    const char *argv0;
} cli_ctx;

enum cli_opt_kind {
    CLI_BOOL,    /* target: bool*; accepts --flag, --flag=true|false */
    CLI_STRING,  /* target: const char**; last one wins */
    CLI_STRINGS, /* target: cb_strv*; repeatable */
    CLI_INT,     /* target: long*; */
};

typedef struct cli_opt {
    const char *name;  /* long name without dashes, e.g. "tag" */
    char shortname;    /* e.g. 't', or 0 */
    enum cli_opt_kind kind;
    void *target;
    const char *metavar; /* e.g. "NAME"; NULL for bools */
    const char *help;
} cli_opt;

typedef struct cli_cmd_spec {
    const char *name;  /* "build", "ext4 create" */
    const char *usage; /* "[OPTIONS] PATH | -" */
    const char *summary;
    const cli_opt *opts; /* terminated by an entry with name == NULL */
    bool stop_at_positional; /* flags end at the first positional (run IMAGE CMD...) */
    int min_args;
    int max_args; /* -1 = unlimited */
} cli_cmd_spec;

enum { CLI_PARSE_OK = 0, CLI_PARSE_HELP = 1, CLI_PARSE_ERROR = 2 };

/* Parse argv[1..] (argv[0] is the verb) against spec. Global flags --root and --debug are
 * accepted anywhere. Positionals go to pos. On HELP the usage was printed to stdout; on
 * ERROR a message with a suggestion was printed to stderr. */
int cli_parse(cli_ctx *ctx, const cli_cmd_spec *spec, int argc, char **argv, cb_strv *pos);
void cli_print_usage(const cli_cmd_spec *spec, FILE *out);
/* Map a parse result to an exit code for the verb to return: -1 means "go on". */
int cli_parse_exit(int parse_result);
/* Print "cbuild: error: <msg>" and return 1. */
int cli_report(const cb_err *err);
/* a failed build, as buildx prints it: details, then `ERROR: failed to solve: ...` */
int cli_report_build(const cb_err *err);

/* A verb's parsed arguments, its store and its error. Every verb returns cli_call_end(). */
struct store;
typedef struct cli_call {
    cb_strv pos;
    struct store *st; /* after cli_call_store */
    cb_err err;
} cli_call;
/* Parse argv: -1 to go on, else the verb's exit status (help printed, usage error). */
int cli_call_begin(cli_call *v, cli_ctx *ctx, const cli_cmd_spec *spec, int argc, char **argv);
/* Open the store: -1 to go on, else the exit status (the error reported). */
int cli_call_store(cli_call *v, cli_ctx *ctx);
/* Close the store, free the arguments; returns rc. */
int cli_call_end(cli_call *v, int rc);

/* Registry flags shared by build, pull, push and login. */
typedef struct cli_registry_flags {
    cb_strv insecure;
    bool tls_verify;
    const char *cert_dir;
    const char *authfile;
    const char *creds; /* USER[:PASS] */
    char *user;        /* owned copy of creds, split at ':' */
} cli_registry_flags;
#define CLI_REGISTRY_OPTS(rf)                                                                                    \
    {"insecure-registry", 0, CLI_STRINGS, &(rf)->insecure, "HOST[:PORT]",                                       \
     "use plain HTTP for this registry (repeatable)"},                                                          \
        {"tls-verify", 0, CLI_BOOL, &(rf)->tls_verify, NULL, "verify TLS certificates (default true)"},         \
        {"cert-dir", 0, CLI_STRING, &(rf)->cert_dir, "DIR",                                                     \
         "CA certificates as DIR/HOST[:PORT]/ca.crt (default /etc/docker/certs.d)"},                            \
        {"authfile", 0, CLI_STRING, &(rf)->authfile, "FILE", "credentials file (default ~/.docker/config.json)"}
#define CLI_CREDS_OPT(rf) {"creds", 0, CLI_STRING, &(rf)->creds, "USER[:PASS]", "credentials for the registry"}
struct oci_registry_opts;
void cli_registry_flags_init(cli_registry_flags *rf);
void cli_registry_flags_free(cli_registry_flags *rf);
/* Fill ro: the defaults, then the flags; --creds sets username and password. */
void cli_registry_flags_apply(cli_registry_flags *rf, struct oci_registry_opts *ro);

/* Verbs. Each returns the process exit status. argv[0] is the verb name. */
int cli_cmd_build(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_bake(cli_ctx *ctx, int argc, char **argv);
/* build --load (build.c), bake --load: docker, else podman, or NULL; the archive's path; the load */
const char *cli_load_tool(void);
char *cli_load_tar_path(const char *root, cb_err *err);
int cli_load_run(const char *tool, const char *tar, cb_err *err);
int cli_cmd_version(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_debug(cli_ctx *ctx, int argc, char **argv);   /* debug parse | debug plan */
int cli_cmd_ext4(cli_ctx *ctx, int argc, char **argv);    /* ext4 create|ls|cat|export */
int cli_cmd_run(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_setup(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_info(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_kernel(cli_ctx *ctx, int argc, char **argv); /* kernel export DIR */
int cli_cmd_pull(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_push(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_tag(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_manifest_inspect(cli_ctx *ctx, int argc, char **argv);   /* manifest inspect */
int cli_cmd_imagetools_inspect(cli_ctx *ctx, int argc, char **argv); /* imagetools inspect */
int cli_cmd_imagetools_create(cli_ctx *ctx, int argc, char **argv);  /* imagetools create */
int cli_cmd_images(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_inspect(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_rmi(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_save(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_load(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_export(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_login(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_logout(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_du(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_prune(cli_ctx *ctx, int argc, char **argv);        /* also `builder prune` */
int cli_cmd_image_prune(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_system_prune(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_store(cli_ctx *ctx, int argc, char **argv);   /* store check */

#endif
