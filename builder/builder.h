/* builder/: Dockerfile -> DAG planning, the solver (parallel scheduling, cache lookups),
 * step executors (RUN in a VM, COPY/ADD on the host, config-only changes), build context
 * handling, exporters and the progress display. `cbuild build` is a thin wrapper. */
#ifndef CB_BUILDER_H
#define CB_BUILDER_H
#include <signal.h>

#include "common.h"

enum builder_progress_mode {
    BUILDER_PROGRESS_AUTO = 0, /* tty when stderr is a terminal, else plain */
    BUILDER_PROGRESS_TTY,
    BUILDER_PROGRESS_PLAIN,
    BUILDER_PROGRESS_QUIET,
    BUILDER_PROGRESS_RAWJSON,
};

struct ext4_options;
struct guest_rlimit;
struct oci_config;
/* A bootable flattened ext4 (`-o type=ext4,boot=true`, `cbuild export --format ext4 --boot`):
 * the layer tars in order, then vminitd as /sbin/cbuild-init and cfg's command, env, user,
 * working directory and hostname in /etc/cbuild-init.conf, for init=/sbin/cbuild-init. */
int builder_ext4_boot_write(const char *out_path, const char *const *tars, size_t ntars,
                            const struct ext4_options *opts, const struct oci_config *cfg, cb_err *err);

/* Parse "auto|tty|plain|quiet|rawjson". */
int builder_progress_parse(const char *s, enum builder_progress_mode *out, cb_err *err);

/* What the builds of one process share (cbuild bake): one progress display, and each cache key
 * executed by one build at a time (the others wait and take its result from the store). */
typedef struct builder_shared builder_shared;
builder_shared *builder_shared_new(enum builder_progress_mode mode, FILE *log);
void builder_shared_free(builder_shared *s); /* prints the final progress view */

typedef struct builder_opts {
    const char *root;       /* store root */
    const char *context;    /* directory, or "-" for a tar (or a Dockerfile) on stdin */
    const char *dockerfile; /* NULL: <context>/Dockerfile; "-": stdin */
    const char *target;     /* stage name or NULL for the last stage */
    const char *platform;   /* NULL or "linux/amd64" */
    const char *network;    /* NULL/"default", "none", "host" */
    const char *iidfile;
    const char *metadata_file;
    const cb_strv *tags;
    const cb_strv *build_args; /* KEY=VALUE or KEY (taken from the environment) */
    const cb_strv *labels;     /* KEY=VALUE */
    const cb_strv *secrets;    /* id=ID[,src=PATH|,env=VAR] */
    const cb_strv *ssh;        /* --ssh default|ID[=SOCKET|KEY[,KEY…]] (builder/ssh.c) */
    const cb_strv *outputs;    /* type=...,dest=... */
    const cb_strv *no_cache_filter;
    const cb_strv *cache_from; /* --cache-from specs (builder/cache-io.c) */
    const cb_strv *cache_to;   /* --cache-to specs */
    const cb_strv *build_contexts; /* --build-context NAME=DIR|docker-image://REF|oci-layout://PATH[:TAG|@DIGEST] */
    /* every registry call of the build (base pulls, --push, cache-from/to); NULL: defaults */
    const struct oci_registry_opts *registry;
    /* a BuildKit source policy (JSON pb.Policy): buildctl's --source-policy-file, buildx's
     * EXPERIMENTAL_BUILDKIT_SOURCE_POLICY; NULL: none */
    const char *source_policy_file;
    bool no_cache;
    bool allow_network_host; /* --allow network.host: RUN --network=host and --network host */
    bool allow_security_insecure; /* --allow security.insecure: RUN --security=insecure */
    const cb_strv *allow_devices; /* --allow device[=NAME[,alias=ALIAS]]: what follows "device", "="
                                     dropped ("" for every device) */
    const char *cdi_spec_dirs;    /* colon-separated CDI spec directories; NULL: $CBUILD_CDI_SPEC_DIRS,
                                     else /etc/cdi:/var/run/cdi */
    bool pull;
    bool push;
    enum builder_progress_mode progress;
    int jobs;  /* <= 0: number of cores */
    FILE *out; /* stdout (image ID for -q) */
    FILE *log; /* progress (stderr) */
    /* docker build's RUN VM sizing and annotations (issue 15/17) */
    uint64_t run_memory;        /* --memory: RUN VM RAM in bytes; 0: the VM default, 1 GiB */
    int run_cpus;               /* --cpus rounded up: RUN VM vCPUs; 0: 1 */
    uint64_t shm_size;          /* --shm-size: /dev/shm in RUN VMs; 0: 64 MiB, as docker */
    const cb_strv *add_hosts;   /* --add-host NAME:IP (host-gateway already resolved) */
    const struct guest_rlimit *ulimits; /* --ulimit, sorted by name (guest_rlimits_set) */
    size_t n_ulimits;
    const cb_strv *annotations; /* --annotation [manifest:|index:…]KEY=VALUE */
    const cb_strv *attests;     /* --attest type=provenance|sbom[,…] (builder/attest.c) */
    /* A signal handler's flag (the signal number, 0 until one arrives), or NULL: once set,
     * running steps end as `ERROR: canceled`, VMs are killed, the build fails -ECANCELED. */
    volatile sig_atomic_t *interrupt;
    /* --call other than build (builder_call sets these): plan with the base images' config,
     * print the answer on out, run no step; *call_status is the exit status */
    int call_kind;
    bool call_json;
    int *call_status;
    /* cbuild bake: the progress and in-flight keys shared with the other targets' builds (NULL:
     * none), and the target's name, which prefixes its vertex names */
    builder_shared *shared;
    const char *name;
} builder_opts;

typedef struct builder_result {
    char image_id[CB_DIGEST_STR_LEN]; /* config digest */
    char manifest_digest[CB_DIGEST_STR_LEN];
    int vms_booted; /* RUN steps executed (0 on a fully cached build) */
    int layers_written;
    int steps_cached;
    int steps_total;
} builder_result;

/* Build. On failure err names the Dockerfile line and, for RUN, the exit code and the
 * command's last output lines. */
int builder_build(const builder_opts *opts, builder_result *res, cb_err *err);

/* --call=NAME[,format=json] (builder/call.c): NAME is build, check, outline or targets;
 * *kind is 0 for build. */
int builder_call_parse(const char *call, int *kind, bool *json, cb_err *err);
/* Answer a --call other than build from the Dockerfile alone (BuildKit's frontend
 * subrequests, printed as buildx prints them) on opts->out; *status: the exit status (check:
 * 1 when there are warnings). */
int builder_call(const builder_opts *opts, int kind, bool json, int *status, cb_err *err);

#endif
