/* The SBOM scanner protocol of BuildKit (frontend/attestations/sbom, dockerfile2llb's SBOM
 * targets): --attest type=sbom,generator=IMAGE runs IMAGE's entrypoint and cmd in a VM as a
 * RUN step runs (bl_run_exec), with
 *   BUILDKIT_SCAN_SOURCE         the target stage's root, read-only;
 *   BUILDKIT_SCAN_SOURCE_EXTRAS  one folder sbom-<name> per extra, read-only: the build context
 *                                ("context") when the target has BUILDKIT_SBOM_SCAN_CONTEXT, each
 *                                stage the target reaches with BUILDKIT_SBOM_SCAN_STAGE;
 *   BUILDKIT_SCAN_DESTINATION    an empty folder: every file the scanner writes there is one
 *                                in-toto statement, one layer of the attestation manifest;
 *   BUILDKIT_SCAN_<KEY>          the --attest type=sbom options other than generator.
 * The run is cached by content: the scanner image's manifest, the scanned roots, the context. */
#include "attest-sbom.h"
#include "attest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_SRC_DIR "/run/src/"
#define SCAN_OUT_DIR "/run/out/"
#define SCAN_CORE_NAME "sbom"
#define SCAN_OUT_SIZE (1ULL << 30)
/* BuildKit's maxAttestationBytes */
#define SCAN_MAX_STATEMENT (40ull << 20)
/* the scanner runs on the build platform, as BuildKit's BuildPlatforms[0] */
#define SCAN_PLATFORM "linux/amd64"

/* strconv.ParseBool, else a comma-separated list of stage names (isEnabledForStage) */
static bool scan_enabled_for(const char *stage, const char *v)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, yes[i]))
            return true;
        if (!strcmp(v, no[i]))
            return false;
    }
    cleanup_free char *list = xstrdup(v);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (stage && !strcmp(t, stage))
            return true;
    return false;
}

/* BuildKit's stageName: AS name, else stage-N (none when the Dockerfile has one stage). */
static char *stage_name(const df_plan *p, const df_stage *st)
{
    if (st->name)
        return xstrdup(st->name);
    return p->n_stages > 1 ? xasprintf("stage-%d", st->index) : xstrdup("");
}

/* The value a stage sees for a scan ARG: the global ARG, then the ARGs it inherits from its
 * base stage, then its own, the last with a value deciding (dockerfile2llb's buildArgs). */
static void stage_scan_arg(const df_plan *p, const df_stage *st, const char *arg, const char *name, bool *on)
{
    if (st->base_stage >= 0)
        stage_scan_arg(p, &p->stages[st->base_stage], arg, name, on);
    for (size_t i = 0; i < st->n_cmds; i++)
        for (size_t k = 0; st->cmds[i].kind == DF_CMD_ARG && k < st->cmds[i].n_kvs; k++)
            if (!strcmp(st->cmds[i].kvs[k].key, arg) && st->cmds[i].kvs[k].value)
                *on = scan_enabled_for(name, st->cmds[i].kvs[k].value);
}

static bool stage_scans(const df_plan *p, const df_stage *st, const char *arg)
{
    cleanup_free char *name = stage_name(p, st);
    bool on = false;
    for (size_t i = 0; i < p->n_global_args; i++)
        if (!strcmp(p->global_args[i].key, arg) && p->global_args[i].value)
            on = scan_enabled_for(name, p->global_args[i].value);
    stage_scan_arg(p, st, arg, name, &on);
    return on;
}

static void mark_reachable(const df_plan *p, int i, bool *seen)
{
    if (seen[i])
        return;
    seen[i] = true;
    for (size_t k = 0; k < p->stages[i].n_deps; k++)
        mark_reachable(p, p->stages[i].deps[k], seen);
}

/* One thing to scan: the target (core), the context, or a stage. */
typedef struct scan_source {
    char *target; /* its folder in the scanner */
    int stage;    /* -1: the build context */
} scan_source;

typedef struct scan_run {
    bl_solve *s;
    const char *generator; /* normalised */
    const bl_image *scanner;
    scan_source *srcs; /* [0] the core */
    size_t n_srcs;
    cb_strv argv, env;
} scan_run;

static void scan_run_free(scan_run *r)
{
    for (size_t i = 0; i < r->n_srcs; i++)
        free(r->srcs[i].target);
    free(r->srcs);
    cb_strv_free(&r->argv);
    cb_strv_free(&r->env);
}

static void scan_sources(scan_run *r)
{
    const df_plan *p = r->s->plan;
    const df_stage *t = &p->stages[p->target];
    bool *seen = xcalloc(p->n_stages, sizeof *seen);
    mark_reachable(p, p->target, seen);
    r->srcs = xcalloc(p->n_stages + 2, sizeof *r->srcs);
    r->srcs[r->n_srcs++] = (scan_source){xstrdup(SCAN_SRC_DIR "core/" SCAN_CORE_NAME), p->target};
    if (stage_scans(p, t, "BUILDKIT_SBOM_SCAN_CONTEXT"))
        r->srcs[r->n_srcs++] = (scan_source){xstrdup(SCAN_SRC_DIR "extras/" SCAN_CORE_NAME "-context"), -1};
    for (size_t i = 0; i < p->n_stages; i++) {
        if (!seen[i] || (int)i == p->target || !stage_scans(p, &p->stages[i], "BUILDKIT_SBOM_SCAN_STAGE"))
            continue;
        cleanup_free char *name = stage_name(p, &p->stages[i]);
        r->srcs[r->n_srcs++] = (scan_source){xasprintf(SCAN_SRC_DIR "extras/" SCAN_CORE_NAME "-%s", name), (int)i};
    }
    free(seen);
}

static int strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scanner's command and environment from its image config (CreateSBOMScanner). */
static int scan_command(scan_run *r, const bl_attest_opts *ao, cb_err *err)
{
    const oci_config *c = &r->scanner->im.config;
    for (size_t i = 0; i < c->entrypoint.n; i++)
        cb_strv_push(&r->argv, c->entrypoint.v[i]);
    for (size_t i = 0; i < c->cmd.n; i++)
        cb_strv_push(&r->argv, c->cmd.v[i]);
    if (!r->argv.n)
        return cb_fail(err, "scanner %s does not have cmd", r->generator);
    for (size_t i = 0; i < c->env.n; i++)
        cb_strv_push(&r->env, c->env.v[i]);
    cb_strv_push(&r->env, "BUILDKIT_SCAN_DESTINATION=" SCAN_OUT_DIR);
    cb_strv_push(&r->env, "BUILDKIT_SCAN_SOURCE=" SCAN_SRC_DIR "core/" SCAN_CORE_NAME);
    if (r->n_srcs > 1)
        cb_strv_push(&r->env, "BUILDKIT_SCAN_SOURCE_EXTRAS=" SCAN_SRC_DIR "extras/");
    /* BuildKit walks a map: any order; sorted here so the cache key is stable */
    cb_strv params;
    cb_strv_init(&params);
    for (size_t i = 0; i + 1 < ao->sbom_params.n; i += 2)
        cb_strv_push_owned(&params, xasprintf("BUILDKIT_SCAN_%s=%s", ao->sbom_params.v[i], ao->sbom_params.v[i + 1]));
    if (params.n)
        qsort(params.v, params.n, sizeof *params.v, strcmp_p);
    for (size_t i = 0; i < params.n; i++)
        cb_strv_push(&r->env, params.v[i]);
    cb_strv_free(&params);
    return 0;
}

/* Content key: the scanner (manifest, command, environment), each source's folder and
 * content (a stage's layers, the context's digest). */
static int scan_key(scan_run *r, char key[CB_DIGEST_STR_LEN], cb_err *err)
{
    bl_build *b = r->s->b;
    cb_sha256 *h = cb_sha256_new();
    bl_key_str(h, "sbom-scan", "v1");
    bl_key_str(h, "scanner", r->scanner->im.manifest_digest);
    for (size_t i = 0; i < r->argv.n; i++)
        bl_key_str(h, "arg", r->argv.v[i]);
    for (size_t i = 0; i < r->env.n; i++)
        bl_key_str(h, "env", r->env.v[i]);
    bl_key_str(h, "workdir", r->scanner->im.config.working_dir);
    for (size_t i = 0; i < r->n_srcs; i++) {
        bl_key_str(h, "source", r->srcs[i].target);
        if (r->srcs[i].stage < 0) {
            char cd[CB_DIGEST_STR_LEN] = "";
            if (b->ctx.dirfd >= 0) {
                int rc = bl_context_digest(&b->ctx, "", cd, err);
                if (rc < 0) {
                    cb_sha256_free(h);
                    return rc;
                }
            }
            bl_key_str(h, "context", cd);
            continue;
        }
        const bl_chain *c = &r->s->jobs[r->srcs[i].stage].chain;
        for (size_t k = 0; k < c->n; k++)
            bl_key_str(h, "layer", c->v[k].diff_id);
    }
    cb_sha256_final(h, key);
    return 0;
}

/* BuildKit's unbundle sort: the core statement (file name sbom.*) first, the others in
 * directory order. */
static void scan_sort_core_first(json_t *list)
{
    json_t *sorted = json_array();
    for (int pass = 0; pass < 2; pass++) {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            const char *f = json_string_value(json_object_get(e, "file"));
            bool core = !strncmp(f, SCAN_CORE_NAME, strlen(SCAN_CORE_NAME)) &&
                        (f[strlen(SCAN_CORE_NAME)] == '.' || !f[strlen(SCAN_CORE_NAME)]);
            if (core == (pass == 0))
                json_array_append(sorted, e);
        }
    }
    json_array_clear(list);
    json_array_extend(list, sorted);
    json_decref(sorted);
}

/* One file of the destination: one in-toto statement of the SPDX predicate type. */
static int scan_statement(const char *name, const cb_buf *data, json_t **out, cb_err *err)
{
    json_error_t je;
    json_t *st = json_loadb(data->data ? data->data : "", data->len, 0, &je);
    if (!st || !json_is_object(st)) {
        json_decref(st);
        return cb_fail(err, "%s%s: cannot decode in-toto statement: %s", SCAN_OUT_DIR, name,
                       st ? "not a JSON object" : je.text);
    }
    const char *pt = json_string_value(json_object_get(st, "predicateType"));
    if (!pt || strcmp(pt, BL_SBOM_PREDICATE)) {
        cb_fail(err, "%s%s: bundle entry %s does not match required predicate type %s", SCAN_OUT_DIR, name,
                pt ? pt : "", BL_SBOM_PREDICATE);
        json_decref(st);
        return -EINVAL;
    }
    *out = st;
    return 0;
}

/* The destination's files (sorted bytewise, as Go's os.ReadDir), each a statement. */
static int scan_collect(const char *out_img, json_t *list, cb_err *err)
{
    cb_strv imgs, names;
    cb_strv_init(&imgs);
    cb_strv_init(&names);
    cb_strv_push(&imgs, out_img);
    bl_rootfs *fs = NULL;
    int rc = bl_rootfs_open(&imgs, &fs, err);
    if (rc == 0)
        rc = bl_rootfs_readdir(fs, "/", &names, err);
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        cleanup_free char *p = xasprintf("/%s", names.v[i]);
        bl_node nd;
        if ((rc = bl_rootfs_lookup(fs, p, &nd, err)) < 0)
            break;
        if (!S_ISREG(nd.st.mode)) {
            rc = cb_fail(err, "%s%s is not a regular file", SCAN_OUT_DIR, names.v[i]);
            break;
        }
        if (nd.st.size > SCAN_MAX_STATEMENT) {
            rc = cb_fail(err, "%s%s exceeds %llu bytes", SCAN_OUT_DIR, names.v[i],
                         (unsigned long long)SCAN_MAX_STATEMENT);
            break;
        }
        cb_buf data;
        cb_buf_init(&data);
        json_t *st = NULL;
        if ((rc = bl_rootfs_read(fs, &nd, &data, err)) == 0)
            rc = scan_statement(names.v[i], &data, &st, err);
        cb_buf_free(&data);
        if (rc == 0)
            json_array_append_new(list, json_pack("{ssso}", "file", names.v[i], "statement", st));
    }
    bl_rootfs_free(fs);
    cb_strv_free(&imgs);
    cb_strv_free(&names);
    return rc;
}

/* The scanner in a VM: a RUN of its command on its image, the sources bound read-only, a
 * tmpfs at /tmp, the destination an empty disk read afterwards. */
static int scan_exec(scan_run *r, int pid, json_t *list, cb_err *err)
{
    bl_solve *s = r->s;
    bl_build *b = s->b;
    df_instr instr = {.keyword = (char *)"run", .json = true};
    df_cmd cmd = {.kind = DF_CMD_RUN, .instr = &instr, .json = true, .from_stage = -1};
    cb_strv_init(&cmd.args);
    cb_strv_init(&cmd.build_args);
    cb_strv_init(&cmd.env);
    for (size_t i = 0; i < r->argv.n; i++)
        cb_strv_push(&cmd.args, r->argv.v[i]);
    cmd.mounts = xcalloc(r->n_srcs + 1, sizeof *cmd.mounts);
    for (size_t i = 0; i < r->n_srcs; i++) {
        df_mount *m = &cmd.mounts[cmd.n_mounts++];
        m->type = DF_MOUNT_BIND;
        m->target = r->srcs[i].target;
        m->readonly = true;
        m->from_stage = r->srcs[i].stage;
        m->from = r->srcs[i].stage >= 0 ? s->plan->stages[r->srcs[i].stage].name : NULL;
        if (r->srcs[i].stage >= 0 && !m->from)
            m->from = (char *)"stage"; /* only named in messages: from_stage selects it */
    }
    cmd.mounts[cmd.n_mounts++] = (df_mount){.type = DF_MOUNT_TMPFS, .target = (char *)"/tmp", .from_stage = -1};

    /* the scanner's own config: its environment and working directory, run as root (BuildKit
     * runs llb.Image(scanner) with no user) */
    oci_config cfg;
    oci_config_init(&cfg);
    for (size_t i = 0; i < r->env.n; i++)
        cb_strv_push(&cfg.env, r->env.v[i]);
    /* llb's exec sets a default PATH when the environment has none */
    if (!oci_config_env_get(&cfg, "PATH"))
        oci_config_env_set(&cfg, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    cfg.working_dir = r->scanner->im.config.working_dir ? xstrdup(r->scanner->im.config.working_dir) : NULL;

    char *out_img = bl_step_tmp(b, "sbom-out.ext4");
    static const char *const dirs[] = {BL_LAYER_ROOT, NULL};
    int rc = ext4_create_empty(out_img, SCAN_OUT_SIZE, dirs, NULL, err);
    guest_mount out = {.kind = GUEST_MOUNT_EXT4_RW, .target = SCAN_OUT_DIR, .image = out_img, .source = BL_LAYER_ROOT};

    /* the target's job on the build platform: its solve's stages are what the binds name */
    bl_stage_job job = s->jobs[s->plan->target];
    job.platform = (char *)SCAN_PLATFORM;
    job.no_cache = false;
    bl_exec_in in = {.b = b,
                     .job = &job,
                     .cmd = &cmd,
                     .chain = &r->scanner->chain,
                     .config = &cfg,
                     .parent_key = r->scanner->key,
                     .progress_id = pid,
                     .extra_mounts = &out,
                     .n_extra_mounts = 1,
                     .discard_upper = true};
    bl_layer unused;
    if (rc == 0)
        rc = bl_run_exec(&in, &unused, err);
    if (rc == 0)
        rc = scan_collect(out_img, list, err);
    unlink(out_img);
    free(out_img);
    oci_config_free(&cfg);
    free(cmd.mounts);
    cb_strv_free(&cmd.args);
    cb_strv_free(&cmd.build_args);
    cb_strv_free(&cmd.env);
    return rc;
}

/* The cache record: each statement file's bytes as a blob, by name. */
static int scan_record_put(bl_build *b, const char *key, const json_t *list, cb_err *err)
{
    json_t *files = json_array();
    size_t i;
    json_t *e;
    int rc = 0;
    json_array_foreach(list, i, e) {
        cleanup_free char *s = json_dumps(json_object_get(e, "statement"), JSON_COMPACT | JSON_PRESERVE_ORDER);
        char dg[CB_DIGEST_STR_LEN];
        if ((rc = store_blob_put_buf(b->st, s, strlen(s), NULL, dg, err)) < 0)
            break;
        json_array_append_new(files, json_pack("{sOss}", "file", json_object_get(e, "file"), "digest", dg));
    }
    json_t *rec = json_pack("{so}", "sbom_scan", files);
    if (rc == 0)
        rc = store_cache_put(b->st, key, rec, err);
    json_decref(rec);
    return rc;
}

/* A record whose blobs are all there: the statements, else false (scan again). */
static bool scan_record_get(bl_build *b, const char *key, json_t *list)
{
    json_t *rec = NULL;
    cb_err e;
    cb_err_clear(&e);
    if (store_cache_get(b->st, key, &rec, &e) < 0)
        return false;
    json_t *files = json_object_get(rec, "sbom_scan");
    bool ok = json_is_array(files);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        cb_buf data;
        cb_buf_init(&data);
        const char *dg = json_string_value(json_object_get(f, "digest"));
        json_t *st = NULL;
        if (ok && dg && store_blob_get(b->st, dg, &data, &e) == 0)
            st = json_loadb(data.data ? data.data : "", data.len, 0, NULL);
        cb_buf_free(&data);
        ok = ok && st;
        if (st)
            json_array_append_new(list, json_pack("{sOso}", "file", json_object_get(f, "file"), "statement", st));
    }
    json_decref(rec);
    if (!ok)
        json_array_clear(list);
    return ok;
}

static int scan_solve(bl_solve *s, const bl_attest_opts *ao, const char *generator, cb_err *err)
{
    bl_build *b = s->b;
    scan_run r = {.s = s, .generator = generator};
    cb_strv_init(&r.argv);
    cb_strv_init(&r.env);
    cleanup_free char *name = xasprintf("[%s] generating sbom using %s", s->platform, generator);
    int pid = bl_progress_add(b, name);
    int rc = bl_resolver_image(b->images, generator, SCAN_PLATFORM, &r.scanner, err);
    if (rc == 0) {
        scan_sources(&r);
        rc = scan_command(&r, ao, err);
    }
    char key[CB_DIGEST_STR_LEN];
    if (rc == 0)
        rc = scan_key(&r, key, err);
    /* --no-cache (or a --no-cache-filter naming a scanned stage) scans again, as BuildKit's
     * IsIgnoreCache */
    bool no_cache = false;
    for (size_t i = 0; i < r.n_srcs; i++)
        no_cache |= r.srcs[i].stage >= 0 && s->jobs[r.srcs[i].stage].no_cache;
    json_t *list = json_array();
    if (rc == 0 && !no_cache && scan_record_get(b, key, list)) {
        progress_cached(b->prog, pid);
    } else if (rc == 0) {
        progress_start(b->prog, pid);
        rc = scan_exec(&r, pid, list, err);
        if (rc == 0)
            rc = scan_record_put(b, key, list, err);
        if (rc == 0)
            progress_done(b->prog, pid);
    }
    if (rc < 0) {
        progress_error(b->prog, pid, err->msg);
        cb_error_wrap(err, "%s", name);
        json_decref(list);
    } else {
        scan_sort_core_first(list);
        s->sbom_scan = list;
    }
    scan_run_free(&r);
    return rc;
}

/* The options' generator, normalised as dockerui does (ParseNormalizedNamed, TagNameOnly):
 * 1 with *generator, 0 when no scanner image is asked for. */
static int scan_generator(bl_build *b, bl_attest_opts *ao, char **generator, cb_err *err)
{
    *generator = NULL;
    int rc = bl_attest_parse(b->opts->attests, ao, err);
    if (rc < 0)
        return rc;
    if (!ao->sbom || !ao->sbom_generator)
        return 0;
    *generator = oci_ref_normalize(ao->sbom_generator, err);
    if (!*generator)
        return cb_error_wrap(err, "failed to parse sbom scanner %s", ao->sbom_generator);
    return 1;
}

int bl_sbom_scanner_check(bl_build *b, cb_err *err)
{
    bl_attest_opts ao;
    cleanup_free char *generator = NULL;
    int rc = scan_generator(b, &ao, &generator, err);
    if (rc > 0) {
        const bl_image *im;
        rc = bl_resolver_image(b->images, generator, SCAN_PLATFORM, &im, err);
        if (rc == 0 && !im->im.config.entrypoint.n && !im->im.config.cmd.n)
            rc = cb_fail(err, "scanner %s does not have cmd", generator);
    }
    bl_attest_opts_free(&ao);
    return rc < 0 ? rc : 0;
}

int bl_sbom_scan(bl_build *b, cb_err *err)
{
    bl_attest_opts ao;
    cleanup_free char *generator = NULL;
    int rc = scan_generator(b, &ao, &generator, err);
    for (size_t i = 0; rc > 0 && i < b->n_solves; i++)
        if (scan_solve(&b->solves[i], &ao, generator, err) < 0)
            rc = -1;
    bl_attest_opts_free(&ao);
    return rc < 0 ? -(err->code ? err->code : EIO) : 0;
}

const json_t *bl_sbom_scanned(const bl_build *b, const char *platform)
{
    for (size_t i = 0; platform && i < b->n_solves; i++)
        if (!strcmp(b->solves[i].platform, platform))
            return b->solves[i].sbom_scan;
    return b->n_solves ? b->solves[0].sbom_scan : NULL;
}

/* fileLayerFinder: the topmost layer with an entry at path that is no whiteout, -1 none. */
static int layer_of(bl_rootfs **layers, size_t n, const char *path)
{
    for (size_t k = n; k-- > 0;) {
        bl_node nd;
        cb_err e;
        cb_err_clear(&e);
        if (layers[k] && bl_rootfs_lookup(layers[k], path, &nd, &e) == 0 &&
            !(S_ISCHR(nd.st.mode) && nd.st.rdev == 0))
            return (int)k;
    }
    return -1;
}

json_t *bl_sbom_supplement(bl_build *b, const bl_chain *chain, const char *file, const json_t *predicate)
{
    size_t cl = strcspn(file, ".");
    json_t *files = json_object_get(predicate, "files");
    /* BuildKit decodes the document as SPDX and leaves it alone when that fails */
    if (cl != strlen(SCAN_CORE_NAME) || strncmp(file, SCAN_CORE_NAME, cl) ||
        !json_is_string(json_object_get(predicate, "spdxVersion")))
        return json_incref((json_t *)predicate);
    json_t *doc = json_deep_copy(predicate);
    cb_strv paths;
    cb_strv_init(&paths);
    cb_err e;
    cb_err_clear(&e);
    bl_rootfs **layers = xcalloc(chain->n + 1, sizeof *layers);
    if (json_is_array(files) && bl_chain_images(b->st, chain, &paths, &e) == 0)
        for (size_t k = 0; k < paths.n && k < chain->n; k++) {
            cb_strv one;
            cb_strv_init(&one);
            cb_strv_push(&one, paths.v[k]);
            if (bl_rootfs_open(&one, &layers[k], &e) < 0)
                layers[k] = NULL;
            cb_strv_free(&one);
        }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(doc, "files"), i, f) {
        const char *name = json_string_value(json_object_get(f, "fileName"));
        const char *comment = json_string_value(json_object_get(f, "comment"));
        if (!name || (comment && *comment))
            continue; /* a scanner's own comment is unstructured: kept */
        cleanup_free char *joined = xasprintf("/%s", name); /* filepath.Join("/", name) */
        cleanup_free char *abs = bl_path_clean(joined);
        int k = layer_of(layers, chain->n, abs);
        if (k >= 0)
            json_object_set_new(f, "comment", json_sprintf("layerID: %s", chain->v[k].digest));
    }
    json_t *ci = json_object_get(doc, "creationInfo");
    if (!json_is_object(ci)) {
        ci = json_object();
        json_object_set_new(doc, "creationInfo", ci);
    }
    json_t *creators = json_object_get(ci, "creators");
    if (!json_is_array(creators)) {
        creators = json_array();
        json_object_set_new(ci, "creators", creators);
    }
    json_array_append_new(creators, json_string("Tool: cbuild"));
    for (size_t k = 0; k < chain->n; k++)
        bl_rootfs_free(layers[k]);
    free(layers);
    cb_strv_free(&paths);
    return doc;
}
