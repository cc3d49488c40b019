/* builder/ internals shared by the planner, the solver, the executors and the exporters. */
#ifndef CB_BUILDER_INTERNAL_H
#define CB_BUILDER_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder.h"
#include "cdi.h"
#include "dockerfile.h"
#include "ext4.h"
#include "guest.h"
#include "oci.h"
#include "progress.h"
#include "store.h"

/* ---------- layers and image states ---------- */

/* Where a layer image keeps its tree: under upper/ (ext4.h's overlay layout), which guest/
 * recognises in a lower (an image root holding only upper/) and mounts as lowerdir=.../upper.
 * A RUN's upper disk then is the new layer image as it is. ("" would keep the tree at the
 * image root, the layout of a flattened image.) */
#define BL_LAYER_ROOT EXT4_OVERLAY_UPPER_DIR

typedef struct bl_layer {
    char diff_id[CB_DIGEST_STR_LEN];
    char digest[CB_DIGEST_STR_LEN];
    int64_t size;
    char media_type[64];
    char rewritten[24]; /* an exported layer's buildkit/rewritten-timestamp (the epoch), "" none */
} bl_layer;

/* A filesystem state: a chain of layers, bottom first. */
typedef struct bl_chain {
    bl_layer *v;
    size_t n;
} bl_chain;
void bl_chain_copy(bl_chain *dst, const bl_chain *src);
void bl_chain_push(bl_chain *c, const bl_layer *l);
void bl_chain_free(bl_chain *c);

/* BuildKit's rewrite-timestamp=true for one exported layer: every entry time after epoch is
 * epoch (a new blob in the store, unless nothing changed), out->rewritten is the epoch. */
int bl_layer_rewrite_timestamp(store *s, const bl_layer *in, int64_t epoch, bl_layer *out, cb_err *err);
/* The layer's blob in another compression (co: algorithm, level): a new store blob, the same
 * diffID (checked); out may be in. */
int bl_layer_recompress(store *s, const bl_layer *in, const oci_compress_opts *co, bl_layer *out, cb_err *err);

/* Make sure every layer of the chain has its overlay ext4 image in the store (built from
 * the blob when missing); fills paths (bottom first, owned strings). */

int bl_chain_images(store *s, const bl_chain *c, cb_strv *paths, cb_err *err);

/* ---------- merged read-only view of a chain of overlay layer images ---------- */

typedef struct bl_rootfs bl_rootfs;
typedef struct bl_node {
    int layer; /* index into the images, -1 for the implicit root */
    uint32_t ino;
    ext4_stat st;
} bl_node;
int bl_rootfs_open(const cb_strv *images, bl_rootfs **out, cb_err *err);
void bl_rootfs_free(bl_rootfs *r);
/* Look path up ("/a/b" or "a/b") without following symlinks anywhere: 0, -ENOENT, -ENOTDIR. */
int bl_rootfs_lookup(bl_rootfs *r, const char *path, bl_node *out, cb_err *err);
/* Resolve path following symlinks (intermediate always; final when follow_final) as if
 * the root were /: absolute targets and ".." stay inside. *resolved gets the canonical
 * path ("/a/b"). Missing final component: -ENOENT with *resolved set. */
int bl_rootfs_resolve(bl_rootfs *r, const char *path, bool follow_final, char **resolved, bl_node *out,
                      cb_err *err);
/* Merged directory listing (whiteouts and opaque dirs applied), sorted bytewise. */
int bl_rootfs_readdir(bl_rootfs *r, const char *dir, cb_strv *names, cb_err *err);
/* Read a whole (small) regular file. */
int bl_rootfs_read(bl_rootfs *r, const bl_node *n, cb_buf *out, cb_err *err);
int bl_rootfs_copy_to_fd(bl_rootfs *r, const bl_node *n, int fd, cb_err *err);
int bl_rootfs_readlink(bl_rootfs *r, const bl_node *n, char **out, cb_err *err);
int bl_rootfs_xattrs(bl_rootfs *r, const bl_node *n, ext4_xattr **out, size_t *nx, cb_err *err);

/* uid/gid for "user[:group]" from the view's /etc/passwd and /etc/group (numbers pass). */
int bl_rootfs_resolve_user(bl_rootfs *r, const char *spec, uint32_t *uid, uint32_t *gid, cb_err *err);

/* ---------- lint warnings (call.c) ---------- */

/* BuildKit's errdefs.Source.Print of the Dockerfile data: "NAME:START", a rule, the lines
 * start..end marked ">>>" with up to two lines of context around, a rule (nothing when start
 * is out of range). */
void bl_source_snippet(cb_buf *out, const char *name, const cb_buf *data, int start, int end);

/* msg is "RuleName: ..." of one of BuildKit's lint rules */
bool builder_warning_is_lint(const char *msg);
/* buildx's summary after a build: "N warnings found (use docker --debug to expand):" and
 * " - Rule: detail (line N)" lines; nothing when there are none. */
void builder_warnings_summary(FILE *out, const df_plan *p);

/* ---------- build context ---------- */

typedef struct bl_context {
    char *dir; /* context root on disk (a temp dir for a tar on stdin), or NULL (no context) */
    bool dir_is_temp;
    int dirfd;             /* O_PATH of dir, or -1 */
    df_ignore *ignore;     /* NULL when no .dockerignore */
    char *dockerfile_name; /* for messages ("Dockerfile", "-") */
    cb_buf dockerfile;     /* contents */
    char *ignore_name;     /* which ignore file was used, or NULL */
    uint64_t bytes_read;   /* context bytes read so far (progress) */
    char *url;             /* a URL context (git or HTTP) as given; NULL for a directory or stdin */
    char git_commit[65];   /* a git context's resolved commit (sha1 or sha256 hex), else "" */
    char http_digest[CB_DIGEST_STR_LEN]; /* an HTTP context's download ("sha256:…"), else "" */
    int64_t epoch;         /* SOURCE_DATE_EPOCH=context: a git context's commit time, an HTTP one's
                              Last-Modified or its archive's newest file; -1 for none (local) */
    pthread_mutex_t lock;
} bl_context;

int bl_context_open(const char *context, const char *dockerfile, const char *tmpdir, const char *ssh_sock,
                    bl_context *out, cb_err *err);
/* A directory with its own .dockerignore and no Dockerfile (a named local context). */
int bl_context_open_dir(const char *dir, bl_context *out, cb_err *err);
void bl_context_close(bl_context *c);
/* A URL context (context-url.c): a git repository or an HTTP(S) tarball into c->dir below
 * tmpdir, or a Dockerfile alone into c->dockerfile (c->dir NULL); c->url, git_commit, epoch. */
bool bl_context_is_url(const char *context);
int bl_context_fetch_url(bl_context *c, const char *url, const char *tmpdir, const char *ssh_sock, cb_err *err);
/* The newest modification time of a (compressed) tar's regular files, -1 when none or no tar. */
int64_t bl_archive_newest_mtime(const char *path);

/* rel with its symlinks resolved inside the context after .dockerignore (a final symlink
 * only when follow): -ENOENT when it is or goes through an ignored path; *out (malloc'd,
 * also on error) is the canonical path reached. */
int bl_context_resolve(bl_context *c, const char *rel, bool follow, char **out);
int bl_context_openat(bl_context *c, const char *rel, int flags, int *fd,
                      cb_err *err); /* -errno, err untouched */
/* Open a context path for reading, confined to the context (symlinks resolved inside it). */
int bl_context_open_file(bl_context *c, const char *rel, int *fd, cb_err *err);

/* ---------- planning ---------- */

enum bl_step_kind { BL_STEP_CONFIG = 0, BL_STEP_RUN, BL_STEP_COPY, BL_STEP_ADD, BL_STEP_WORKDIR };

typedef struct bl_stage_job bl_stage_job;
typedef struct bl_resolver bl_resolver;
typedef struct bl_solve bl_solve;
typedef struct bl_flights bl_flights;

/* --build-context NAME=VALUE (builder/named-context.c) */
typedef enum bl_named_kind { BL_NAMED_LOCAL, BL_NAMED_IMAGE, BL_NAMED_OCI, BL_NAMED_URL } bl_named_kind;
typedef struct bl_named {
    char *name;  /* familiar form, lower case, no ":latest" */
    bl_named_kind kind;
    char *value;  /* local: the directory (real path); image: the reference; oci: the layout;
                     url: a git or HTTP(S) URL */
    char *select; /* oci: the tag or "sha256:…" digest, or NULL */
    /* local: the paths the build reads from it (clean, relative, patterns allowed), as
     * dockerfile2llb's FollowPaths; read whole when `whole` or when none were found */
    cb_strv follow;
    bool whole;
} bl_named;

typedef struct bl_build {
    const builder_opts *opts;
    store *st;
    progress *prog;
    bl_context ctx;
    df_file *file;
    bl_solve *solves; /* one per platform, in --platform order */
    size_t n_solves;
    char *tmpdir; /* <root>/ingest/build-XXXX */
    guest_paths gpaths;
    bool gpaths_ready;
    pthread_mutex_t lock; /* guards the fields below and gpaths setup */
    pthread_cond_t cond;
    volatile sig_atomic_t cancel;
    bool failed;
    cb_err first_err;
    bl_resolver *images;             /* images the build uses */
    bl_named *named;                 /* --build-context */
    size_t n_named;
    int64_t epoch;                   /* SOURCE_DATE_EPOCH resolved (bl_epoch_resolve), or -1 */
    cb_strv build_args;              /* --build-arg with SOURCE_DATE_EPOCH's resolved value: the plan's */
    struct timespec started;         /* the build's start (provenance's startedOn) */
    const char *platform;            /* the first --platform, normalised (a one-platform build's) */
    size_t n_platforms;              /* --platform a,b: solved at the same time, one index made */
    bool multi_platform;             /* an index (of one platform with BUILDKIT_MULTI_PLATFORM=1) */
    cb_strv secrets_id, secrets_src; /* --secret id -> file path ("env:VAR" for env=) */
    cb_strv http_seen;               /* URLs fetched or revalidated by this build (http.c) */
    cb_strv cache_mounts_reset;      /* cache mount images emptied by this --no-cache build */
    cb_strv src_urls, src_digests;   /* ADD <url>/<git> sources read, credentials redacted, with
                                        their "alg:hex" pins: provenance materials (under lock) */
    cdi_allow cdi_allow;             /* --allow device[=NAME[,alias=ALIAS]] */
    cdi_registry cdi;                /* the CDI specs, read at the first RUN --device (under lock) */
    bool cdi_loaded;
    struct bl_source_policy *policy; /* --source-policy-file / EXPERIMENTAL_BUILDKIT_SOURCE_POLICY, or NULL */
    struct bl_ssh_agent *ssh;        /* --ssh agents by id (ssh.c) */
    size_t n_ssh;
    int vms_booted, layers_written, steps_cached, steps_total;
    int ctx_pid, ctx_users; /* the context vertex, the steps (of every platform) still to read it */
    bl_flights *flights;    /* keys being executed: bake's shared table, else the build's own */
    int ninternal;
    bool interrupted, watch_stop, watching; /* builder/cancel.c, under lock */
    pthread_t watcher;
} bl_build;

/* One platform's solve: its plan (TARGETPLATFORM = platform) and a job per plan stage. The
 * solves of a build run in one scheduler, their steps sharing the store, the progress, the
 * context and the in-flight keys. */
struct bl_solve {
    bl_build *b;
    size_t index;         /* in --platform order */
    const char *platform; /* "linux/arm64", normalised */
    df_plan *plan;
    bl_stage_job *jobs;
    /* --attest type=sbom,generator=IMAGE: what the scanner wrote ([{"file", "statement"}], the
     * core first; builder/sbom-scan.c), or NULL (no scanner ran) */
    json_t *sbom_scan;
};
/* builder/epoch.c: SOURCE_DATE_EPOCH from --build-arg, else the Dockerfile's global ARG default:
 * a number, "context", a named context or a source-only stage, as BuildKit resolves it; sets
 * b->epoch and b->build_args. Errors are BuildKit's ("invalid SOURCE_DATE_EPOCH: …"). */
int bl_epoch_resolve(bl_build *b, cb_err *err);
/* builder/syntax.c: the frontend `# syntax=` or BUILDKIT_SYNTAX names is docker/dockerfile (any
 * tag or digest: cbuild's own frontend), else an error naming it (cbuild runs no frontend images). */
int bl_syntax_check(const bl_build *b, cb_err *err);

/* builder/shared.c: the work builds of one process share (opts->shared) */
bl_flights *bl_flights_new(void);
void bl_flights_free(bl_flights *f);
progress *bl_shared_progress(builder_shared *s);
bl_flights *bl_shared_flights(builder_shared *s);
typedef enum bl_flight {
    BL_FLIGHT_MINE,   /* the caller executes key (bl_flight_release after) */
    BL_FLIGHT_WAITED, /* another step was executing it and has finished: look the store up again
                       * (a miss: it failed; claim again) */
    BL_FLIGHT_DONE,   /* another step executed it before: its record is in the store (a miss:
                       * claim again with ignore_done) */
} bl_flight;
bl_flight bl_flight_claim(bl_flights *f, const char *key, bool ignore_done);
/* executed: the key's record is in the store */
void bl_flight_release(bl_flights *f, const char *key, bool executed);
/* progress_add with the vertex name prefixed by opts->name */
int bl_progress_add(bl_build *b, const char *name);

/* builder/cancel.c: with opts->interrupt, a watcher cancels the build when it turns non-zero. */
void bl_cancel_watch_start(bl_build *b);
void bl_cancel_watch_stop(bl_build *b);
bool bl_interrupted(bl_build *b);

struct bl_stage_job {
    int index;
    bl_solve *solve; /* the platform's solve it belongs to */
    df_stage *stage;
    bool needed, done, running, started;
    bool no_cache;               /* --no-cache or --no-cache-filter names it */
    char key[CB_DIGEST_STR_LEN]; /* filesystem key of the stage's result */
    bl_chain chain;              /* result layers */
    oci_config config;           /* result config (with history) */
    bool config_ready;
    char *base_ref; /* resolved base image reference (for display) */
    char *platform; /* the stage's platform: FROM --platform, else the build's */
    const char *target_platform; /* the build's (TARGETPLATFORM) */
    bool prefix_platform;        /* several platforms: step names start with the platform */
    int n_steps;    /* RUN/COPY/ADD/WORKDIR + FROM: the n of [k/n] */
    int step_no;
    char *display;        /* stage name for [name k/n] */
    int64_t last_created; /* created time of the last layer (history) */
    size_t base_layers, base_history; /* the base image's layers and history entries (FROM an
                             image, or its stage's), first in chain and config: an export keeps them */
};

/* The state a step runs in (immutable while the step runs). */
typedef struct bl_exec_in {
    bl_build *b;
    bl_stage_job *job;
    const df_cmd *cmd;
    const bl_chain *chain;    /* parent layers */
    const oci_config *config; /* parent config (env, user, workdir, shell) */
    const char *parent_key;
    int progress_id;
    /* a RUN the builder makes itself (the SBOM scanner): mounts after the command's own, and
     * no layer: what it writes outside its mounts is dropped with the upper disk */
    const guest_mount *extra_mounts;
    size_t n_extra_mounts;
    bool discard_upper;
} bl_exec_in;

/* ---------- image resolution (resolve.c) ---------- */

/* An image a build uses (FROM, --from, mount from=), valid for the whole build. */
typedef struct bl_image {
    char *ref;
    char *platform;
    store_image im;
    bl_chain chain;
    char key[CB_DIGEST_STR_LEN];
    /* what it was loaded from after the named contexts and the source policy: an image
     * reference (source_kind -1, source the reference) or a named context's kind (source_named
     * the --build-context, NULL for one the policy made) */
    int source_kind;
    char *source;
    const bl_named *source_named;
    bool ready; /* resolved, or failed (rc, err) */
    int rc;
    cb_err err;
} bl_image;

char *bl_named_key(const char *ref);
int bl_named_parse(bl_build *b, const cb_strv *specs, cb_err *err);
void bl_named_free(bl_build *b);
/* The named context a reference (or stage name) stands for, or NULL. */
const bl_named *bl_named_find(const bl_build *b, const char *ref);
/* An oci-layout context's manifest: by digest, by tag (org.opencontainers.image.ref.name,
 * full or tag alone), or the layout's only one. */
int bl_named_oci_pick(const bl_named *n, char digest[CB_DIGEST_STR_LEN], cb_err *err);
/* A git or HTTP(S) context fetched into *dir below the build's tmpdir: the checkout (subdir),
 * or the download alone as the file "context"; *epoch its time for SOURCE_DATE_EPOCH (commit
 * time; Last-Modified, else an archive's newest file; -1). material: note it for provenance. */
int bl_named_url_fetch(bl_build *b, const bl_named *n, bool material, char **dir, int64_t *epoch, cb_err *err);
/* A named context other than docker-image:// as an image in the store. */
int bl_named_fetch(bl_build *b, const bl_named *n, const char *platform, store_image *im, cb_err *err);
/* What the plan reads of each local named context (bl_named.follow, .whole); every platform's
 * plan adds to it before any step runs. */
void bl_named_select(bl_build *b, const df_plan *plan);
/* A local named context's files after selection: bytes read (the transfer's size). */
int bl_named_fetch_local(bl_build *b, const bl_named *n, store_image *im, uint64_t *bytes, cb_err *err);

/* ---------- source policy (source-policy.c) ---------- */

/* b->policy from opts->source_policy_file (none: NULL). */
int bl_policy_load(bl_build *b, cb_err *err);
/* The build context and Dockerfile (local://context, local://dockerfile, a URL context) against
 * the policy: a denied one fails the build; cbuild converts none of them. */
int bl_policy_context(bl_build *b, cb_err *err);
/* What an image reference (FROM, COPY --from, RUN --mount from=) loads after the named contexts
 * and the policy: the named context `named` (a --build-context, or `conv`, a source the policy
 * converted it to), else the image `ref`. */
typedef struct bl_policy_image {
    const bl_named *named;
    bl_named conv;
    char *ref;
} bl_policy_image;
int bl_policy_resolve_image(bl_build *b, const char *ref, bl_policy_image *out, cb_err *err);
void bl_policy_image_free(bl_policy_image *pi);
/* ADD's git and HTTP(S) sources of the plan converted in place (their URL, --checksum), before
 * any cache key is computed: a converted source is the new source. */
int bl_policy_plan(bl_build *b, df_plan *plan, cb_err *err);

/* One per build: each reference resolved once (local store unless --pull, cache import, pull);
 * concurrent askers for one reference wait for the first, other references go in parallel. */
typedef struct bl_resolver bl_resolver;
bl_resolver *bl_resolver_new(bl_build *b);
void bl_resolver_free(bl_resolver *r);
/* ref for platform ("linux/arm64"): an index's entry for it, pulled when not in the store. */
int bl_resolver_image(bl_resolver *r, const char *ref, const char *platform, const bl_image **out, cb_err *err);
/* The images resolved so far (entries not ready or failed included), for provenance. */
size_t bl_resolver_count(bl_resolver *r);
const bl_image *bl_resolver_at(bl_resolver *r, size_t i);
/* The build's registry options (the CLI's registry flags) for pulls, pushes, cache transfers. */
static inline void bl_registry_opts(const builder_opts *o, oci_registry_opts *ro)
{
    if (o->registry)
        *ro = *o->registry;
    else
        oci_registry_opts_default(ro);
}

/* COPY --from / RUN --mount from= of a step: a stage's result (from_stage >= 0) of the step's
 * platform, or an image for the stage's platform (pulled when missing). The chain stays valid
 * for the whole build. */
int bl_resolve_from(const bl_exec_in *in, const char *from, int from_stage, const bl_chain **chain,
                    const char **key, cb_err *err);

/* Steps: compute the cache key (may read the context) then execute on a miss. The result
 * is one new layer. */
int bl_run_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err);
/* RUN's second key: bind mounts from stages keyed by their content; "" when it has none. */
int bl_run_content_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err);
int bl_run_exec(bl_exec_in *in, bl_layer *out, cb_err *err);
int bl_copy_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err);
int bl_copy_exec(bl_exec_in *in, bl_layer *out, cb_err *err);
int bl_copy_content_key(bl_exec_in *in, char key[CB_DIGEST_STR_LEN], cb_err *err);
int bl_workdir_exec(bl_exec_in *in, const char *dir, bl_layer *out, cb_err *err);

/* Config-only changes, with history entries exactly as BuildKit writes them. */
int bl_config_apply(bl_build *b, const df_cmd *cmd, oci_config *cfg, const char *created, cb_err *err);
/* BuildKit's history text for a layer step ("RUN /bin/sh -c make # buildkit"). */
char *bl_history_run(const df_cmd *cmd, const oci_config *cfg);
char *bl_history_copy(const df_cmd *cmd);
/* RUN's command line (SHELL for the shell form, heredocs as BuildKit runs them); a RUN that
 * is one #! heredoc runs /dev/pipes/NAME: *script gets its body, *script_path that path. */
void bl_run_argv(const df_cmd *cmd, const oci_config *cfg, cb_strv *argv, char **script, char **script_path);
/* RUN's environment: ENV plus the ARGs in scope that ENV doesn't set. */
void bl_run_env(const df_cmd *cmd, const oci_config *cfg, cb_strv *env);
int bl_run_network(bl_exec_in *in, enum guest_network *out, cb_err *err);
/* RUN --device: the CDI specs read once, the device entitlement checked, the devices' env
 * edits set in env (a key already there replaced); optional devices not found in warnings. */
int bl_run_devices(bl_exec_in *in, cb_strv *env, cb_strv *warnings, cb_err *err);
/* The RUN hostname from the BUILDKIT_SANDBOX_HOSTNAME build arg, or NULL (a random one). */
const char *bl_run_hostname(const bl_build *b);
/* Cache keys (key.c). A field: tag=value\0 (NULL: tag=\xff). */
void bl_key_str(cb_sha256 *h, const char *tag, const char *s);
/* FROM keys, here rather than in key.c so the resolver needs nothing above it. */
static inline void bl_image_key(const char *manifest_digest, char key[CB_DIGEST_STR_LEN])
{
    char *kk = xasprintf("image\n%s", manifest_digest);
    cb_sha256_buf(kk, strlen(kk), key);
    free(kk);
}
static inline void bl_scratch_key(char key[CB_DIGEST_STR_LEN])
{
    cb_sha256_buf("scratch", 7, key);
}
void bl_workdir_key(const char *parent_key, const char *dir, const char *user, char key[CB_DIGEST_STR_LEN]);
/* Walk the context below rel (.dockerignore applied), parents before children. fd: the opened
 * regular file (-1 when it can't be opened or isn't one); link: a symlink's target or NULL. */
typedef int (*bl_context_visit_fn)(void *ud, const char *path, const struct stat *st, bool excluded, int fd,
                                   const char *link, cb_err *err);
/* a visitor's answer for a directory whose contents it does not want walked */
#define BL_WALK_SKIP 1
int bl_context_walk(bl_context *c, const char *rel, bl_context_visit_fn fn, void *ud, cb_err *err);
int bl_context_digest(bl_context *c, const char *sub, char out[CB_DIGEST_STR_LEN], cb_err *err);
/* Docker's argv for RUN/CMD/ENTRYPOINT shell form: SHELL (default /bin/sh -c) + the line. */
void bl_shell_argv(const oci_config *cfg, const char *line, cb_strv *out);
/* Go's %q of a []string: ["a" "b"]. */
void bl_go_quote_list(cb_buf *b, const cb_strv *v);

/* Layers written by executors: a tar into a store blob and an overlay ext4 image together. */
typedef struct bl_layer_out {
    bl_build *b;
    store_layer_writer *tw;
    ext4_writer *ew;
    char *img_tmp;
} bl_layer_out;
int bl_layer_out_open(bl_build *b, bl_layer_out *lo, cb_err *err);
/* Add one entry to both (data from fd when >= 0, else buf). */
int bl_layer_out_add(bl_layer_out *lo, const oci_tar_entry *e, int fd, const void *buf, cb_err *err);
int bl_layer_out_commit(bl_layer_out *lo, bl_layer *out, cb_err *err);
void bl_layer_out_abort(bl_layer_out *lo);

/* Parent directories of `path` (a destination in the image) as they exist in the view
 * (their metadata), or as created (mode, uid:gid) — added to the layer so the overlay
 * keeps their metadata. */
int bl_layer_out_parents(bl_layer_out *lo, bl_rootfs *view, const char *path, mode_t mode, uint32_t uid,
                         uint32_t gid, cb_strv *done, cb_err *err);

/* One platform's image of a multi-platform build. */
typedef struct bl_platform_image {
    char *platform;          /* "linux/arm64" */
    oci_descriptor manifest; /* with its platform, as the index lists it */
    char image_id[CB_DIGEST_STR_LEN];
    bl_chain chain;
    oci_config config;
} bl_platform_image;

/* Outputs (export.c): validated before the build, written after it. */
int bl_outputs_validate(const builder_opts *o, cb_err *err);
int bl_export(bl_build *b, const oci_config *cfg, const bl_chain *chain, builder_result *res, cb_err *err);
/* The image exporters' view of the result (BuildKit's exporter epoch): with source-date-epoch
 * of an output, history times after it clamped; with rewrite-timestamp=true, the layers after
 * the base image's rewritten (bl_layer_rewrite_timestamp) and cfg's diff_ids with them. */
int bl_export_prepare(bl_build *b, size_t base_layers, size_t base_history, oci_config *cfg, bl_chain *chain,
                      cb_err *err);
/* chain as manifest layer descriptors (annotated when rewritten); freed by bl_export_layers_free */
oci_descriptor *bl_export_layers(const bl_chain *c);
void bl_export_layers_free(oci_descriptor *ls, size_t n);
/* The same for several platforms: an OCI index over their manifests, tagged and pushed;
 * local/tar/ext4 outputs get one folder (or image) per platform. */
int bl_export_index(bl_build *b, const bl_platform_image *imgs, size_t n, builder_result *res, cb_err *err);

/* Utilities */
char *bl_path_clean(const char *p); /* "/a/./b/../c/" -> "/a/c" (always absolute) */
int64_t bl_now(void);
void bl_time_str(int64_t t, char out[32]);
char *bl_step_tmp(bl_build *b, const char *what); /* unique path under the build's tmpdir */
/* --ssh (ssh.c): each ID's agent socket, the user's or a private ssh-agent cbuild starts for
 * key files (stopped by bl_ssh_stop); bl_ssh_socket is NULL for an ID not given. */
int bl_ssh_start(bl_build *b, cb_err *err);
const char *bl_ssh_socket(const bl_build *b, const char *id);
void bl_ssh_stop(bl_build *b);
void bl_emit_line(bl_build *b, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* call.c: is opts->call_kind the lint request (--call=check)? */
bool bl_call_lints(const builder_opts *o);
/* call.c: may the plan of opts->call_kind resolve base images (their env, ONBUILD)? */
bool bl_call_resolves_images(const builder_opts *o);
/* call.c: the answer to opts->call_kind once the plan is made (no step runs) */
int bl_call_answer(bl_build *b, const df_plan *plan, cb_err *err);

#endif
