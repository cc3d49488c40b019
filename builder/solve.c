/* The solver: Dockerfile -> plan (parser/) -> stages scheduled in parallel as soon as the
 * stages they need are done; inside a stage every filesystem step (RUN, COPY, ADD, WORKDIR)
 * has a BuildKit-style cache key (its definition + the parent's key + its inputs) and is
 * looked up in the store before it is executed. Config-only instructions are replayed from
 * the plan, so a fully cached build boots no VM and writes no layer. */
#include "internal.h"
#include "attest-sbom.h"
#include "source-policy.h"
#include "cache-io.h" /* --cache-from/--cache-to hooks */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A base image's config list (ONBUILD triggers or Env) for a platform's plan; scratch has none. */
static int base_config_list(bl_solve *s, const char *ref, const char *platform, bool onbuild, cb_strv *out,
                            cb_err *err)
{
    if (!strcmp(ref, "scratch"))
        return 0;
    /* a local named context has an empty config; reading it now would read it before the
     * plan says which of its files the build uses (bl_named_select) */
    const bl_named *nc = bl_named_find(s->b, ref);
    if (nc && nc->kind == BL_NAMED_LOCAL)
        return 0;
    const bl_image *im;
    int rc = bl_resolver_image(s->b->images, ref, platform ? platform : s->platform, &im, err);
    if (rc < 0)
        return rc;
    const cb_strv *list = onbuild ? &im->im.config.onbuild : &im->im.config.env;
    for (size_t i = 0; i < list->n; i++)
        cb_strv_push(out, list->v[i]);
    return 0;
}

static int base_onbuild_cb(void *ud, const char *ref, const char *platform, cb_strv *triggers, cb_err *err)
{
    return base_config_list(ud, ref, platform, true, triggers, err);
}

static int base_env_cb(void *ud, const char *ref, const char *platform, cb_strv *env, cb_err *err)
{
    return base_config_list(ud, ref, platform, false, env, err);
}

/* the platform of the image base_env resolved (the resolver keeps it) */
static char *base_platform_cb(void *ud, const char *ref, const char *platform)
{
    bl_build *b = ((bl_solve *)ud)->b;
    const bl_named *nc = bl_named_find(b, ref);
    if (nc && nc->kind == BL_NAMED_LOCAL) /* no platform in its config (as base_config_list) */
        return NULL;
    const bl_image *im;
    cb_err e;
    cb_err_clear(&e);
    if (bl_resolver_image(b->images, ref, platform, &im, &e) < 0 || !im->im.config.os || !im->im.config.architecture)
        return NULL;
    const oci_config *c = &im->im.config;
    return c->variant && *c->variant ? xasprintf("%s/%s/%s", c->os, c->architecture, c->variant)
                                     : xasprintf("%s/%s", c->os, c->architecture);
}

/* --build-context NAME replaces the stage NAME (dockerfile2llb asks for every stage name) */
static bool named_context_cb(void *ud, const char *name)
{
    const bl_solve *s = ud;
    return bl_named_find(s->b, name) != NULL;
}

/* ---------- step execution within a stage ---------- */

static bool is_layer_step(df_cmd_kind k)
{
    return k == DF_CMD_RUN || k == DF_CMD_COPY || k == DF_CMD_ADD;
}

static void step_name(bl_stage_job *j, const df_cmd *cmd, const char *text, cb_buf *out)
{
    (void)cmd;
    j->step_no++;
    int width = (int)(1 + log10((double)(j->n_steps > 0 ? j->n_steps : 1)));
    cb_buf_putc(out, '[');
    if (j->prefix_platform) {
        /* BuildKit's prefixCommand: the stage's platform, "->arch" when it builds for another */
        cb_buf_printf(out, "%s", j->platform);
        if (strcmp(j->platform, j->target_platform)) {
            const char *ta = strchr(j->target_platform, '/');
            size_t tos = ta ? (size_t)(ta - j->target_platform) : 0;
            const char *ja = strchr(j->platform, '/');
            size_t jos = ja ? (size_t)(ja - j->platform) : 0;
            if (ta && ja && tos == jos && !strncmp(j->platform, j->target_platform, tos))
                cb_buf_printf(out, "->%s", ta + 1);
            else
                cb_buf_printf(out, "->%s", j->target_platform);
        }
        cb_buf_putc(out, ' ');
    }
    if (j->display)
        cb_buf_printf(out, "%s ", j->display);
    cb_buf_printf(out, "%*d/%d] %s", width, j->step_no, j->n_steps, text);
}

static char *instr_text(const df_cmd *cmd)
{
    /* the instruction as written, keyword upper-cased, like BuildKit's progress names */
    const char *o = cmd->instr->original;
    while (*o == ' ' || *o == '\t')
        o++;
    const char *sp = o;
    while (*sp && *sp != ' ' && *sp != '\t')
        sp++;
    cb_buf b;
    cb_buf_init(&b);
    for (const char *p = o; p < sp; p++)
        cb_buf_putc(&b, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
    cb_buf_puts(&b, sp);
    return cb_buf_steal(&b);
}

/* BuildKit's RUN progress name: processCmdEnv with raw quotes and unset variables kept, secret
 * env= variables shown as **** (withSecretEnvMask); the text as written if expansion fails. */
static char *run_display_text(const bl_build *b, const df_cmd *cmd)
{
    char *text = instr_text(cmd);
    cb_strv env;
    cb_strv_init(&env);
    for (size_t i = 0; i < cmd->env.n; i++)
        cb_strv_push(&env, cmd->env.v[i]);
    for (size_t i = 0; i < cmd->n_mounts; i++)
        if (cmd->mounts[i].type == DF_MOUNT_SECRET && cmd->mounts[i].env)
            cb_strv_push_owned(&env, xasprintf("%s=****", cmd->mounts[i].env));
    df_lex lx = {.escape = b->file->escape, .raw_quotes = true, .skip_unset_env = true};
    char *out = NULL;
    cb_err e = {0};
    if (df_shell_word(&lx, text, &env, &out, NULL, NULL, &e) == 0) {
        free(text);
        text = out;
    }
    cb_strv_free(&env);
    return text;
}

static json_t *record_new(const bl_layer *l, const char *created, const char *chain_key)
{
    json_t *r = json_object();
    json_t *jl = json_object();
    json_object_set_new(jl, "diff_id", json_string(l->diff_id));
    json_object_set_new(jl, "digest", json_string(l->digest));
    json_object_set_new(jl, "size", json_integer(l->size));
    json_object_set_new(jl, "mediaType", json_string(l->media_type));
    json_object_set_new(r, "layer", jl);
    json_object_set_new(r, "created", json_string(created));
    if (chain_key && *chain_key)
        json_object_set_new(r, "chain_key", json_string(chain_key));
    return r;
}

static bool record_parse(store *s, json_t *r, bl_layer *l, char created[32],
                         char chain_key[CB_DIGEST_STR_LEN])
{
    json_t *jl = json_object_get(r, "layer");
    const char *di = json_string_value(json_object_get(jl, "diff_id"));
    const char *dg = json_string_value(json_object_get(jl, "digest"));
    const char *mt = json_string_value(json_object_get(jl, "mediaType"));
    const char *cr = json_string_value(json_object_get(r, "created"));
    if (!di || !dg || !mt || !cr || !cb_digest_valid(di) || !cb_digest_valid(dg))
        return false;
    memset(l, 0, sizeof *l);
    snprintf(l->diff_id, sizeof l->diff_id, "%s", di);
    snprintf(l->digest, sizeof l->digest, "%s", dg);
    snprintf(l->media_type, sizeof l->media_type, "%s", mt);
    l->size = json_integer_value(json_object_get(jl, "size"));
    snprintf(created, 32, "%s", cr);
    const char *ck = json_string_value(json_object_get(r, "chain_key"));
    if (ck && cb_digest_valid(ck))
        snprintf(chain_key, CB_DIGEST_STR_LEN, "%s", ck);
    /* a record whose blob was pruned is a miss */
    return store_blob_exists(s, l->digest, NULL);
}

static bool failed(bl_build *b)
{
    pthread_mutex_lock(&b->lock);
    bool f = b->failed;
    pthread_mutex_unlock(&b->lock);
    return f;
}

/* A step failed (on any platform) or the build was interrupted: the steps still running are
 * stopped and shown as BuildKit shows them, "ERROR: canceled". */
static bool canceled(bl_build *b)
{
    pthread_mutex_lock(&b->lock);
    bool c = b->cancel != 0;
    pthread_mutex_unlock(&b->lock);
    return c;
}

/* Error text naming the Dockerfile line, the step and, for RUN, the output's last lines. */
static int step_error(bl_build *b, const df_cmd *cmd, const char *name, int pid, cb_err *err)
{
    cb_buf m;
    cb_buf_init(&m);
    char *tail = cmd->kind == DF_CMD_RUN ? progress_tail(b->prog, pid, 8) : xstrdup("");
    /* buildx's layout: the step's last output, the Dockerfile excerpt, the error last and once */
    if (tail && *tail)
        cb_buf_printf(&m, "------\n > %s:\n%s\n------\n", name, tail);
    free(tail);
    /* the Dockerfile excerpt, as buildx prints the error's source (errdefs.Source.Print) */
    bl_source_snippet(&m, b->ctx.dockerfile_name, &b->ctx.dockerfile, cmd->instr->start_line, cmd->instr->end_line);
    cb_buf_puts(&m, err->msg);
    int code = err->code ? err->code : EIO;
    snprintf(err->msg, sizeof err->msg, "%s", m.data);
    err->code = code;
    cb_buf_free(&m);
    return -code;
}

typedef struct step_ctx {
    bl_build *b;
    bl_stage_job *j;
    bool stage_cmd_set;
} step_ctx;

/* A step's record in the store, else in the --cache-from imports. */
static bool step_lookup(bl_build *b, bool no_cache, const char *key, bl_layer *layer, char created[32],
                        char chain[CB_DIGEST_STR_LEN], cb_err *err)
{
    if (no_cache)
        return false;
    json_t *rec = NULL;
    bool hit = false;
    if (store_cache_get(b->st, key, &rec, err) == 0) {
        hit = record_parse(b->st, rec, layer, created, chain);
        json_decref(rec);
    }
    return hit || bl_cache_io_lookup(b, key, layer, created, chain);
}

/* COPY --from or RUN after a miss: its content key (key2, "" when it has none or it can't be computed) looked up; a
 * hit is recorded under the definition key too. */
static bool step_lookup_from_copy(bl_exec_in *in, const char *key, char key2[CB_DIGEST_STR_LEN],
                                  bl_layer *layer, char created[32], char chain[CB_DIGEST_STR_LEN],
                                  cb_err *err)
{
    bl_build *b = in->b;
    int rc = in->cmd->kind == DF_CMD_RUN ? bl_run_content_key(in, key2, err) : bl_copy_content_key(in, key2, err);
    if (rc < 0)
        key2[0] = 0;
    json_t *rec = NULL;
    if (!key2[0] || in->job->no_cache || store_cache_get(b->st, key2, &rec, err) < 0)
        return false;
    bool hit = record_parse(b->st, rec, layer, created, chain);
    json_decref(rec);
    if (hit) {
        json_t *r = record_new(layer, created, key2);
        store_cache_put(b->st, key, r, err);
        json_decref(r);
    }
    return hit;
}

/* COPY/ADD from the context, RUN with a bind mount of it: the steps that read the context. */
static bool reads_context(const df_cmd *cmd)
{
    if (cmd->kind == DF_CMD_COPY || cmd->kind == DF_CMD_ADD)
        return !cmd->from;
    for (size_t i = 0; cmd->kind == DF_CMD_RUN && i < cmd->n_mounts; i++)
        if (cmd->mounts[i].type == DF_MOUNT_BIND && !cmd->mounts[i].from)
            return true;
    return false;
}

/* The context vertex ends when its last reader has (as BuildKit's, before the steps after it). */
static void context_done_locked(bl_build *b)
{
    if (!b->ctx_pid)
        return;
    progress_transfer_done(b->prog, b->ctx_pid, "context", b->ctx.bytes_read);
    progress_done(b->prog, b->ctx_pid);
    b->ctx_pid = 0;
}

static void context_step_done(bl_build *b, const df_cmd *cmd)
{
    if (!reads_context(cmd))
        return;
    pthread_mutex_lock(&b->lock);
    if (b->ctx_users > 0 && --b->ctx_users == 0)
        context_done_locked(b);
    pthread_mutex_unlock(&b->lock);
}

/* One filesystem step: key, cache lookup, execution on a miss. */
static int layer_step_exec(step_ctx *sc, const df_cmd *cmd, const char *wd_mkdir, cb_err *err)
{
    bl_build *b = sc->b;
    bl_stage_job *j = sc->j;
    cleanup_free char *text = wd_mkdir                    ? xasprintf("WORKDIR %s", wd_mkdir)
                              : cmd->kind == DF_CMD_RUN ? run_display_text(b, cmd)
                                                        : instr_text(cmd);
    cb_buf name;
    cb_buf_init(&name);
    step_name(j, cmd, text, &name);
    bl_exec_in in = {
        .b = b, .job = j, .cmd = cmd, .chain = &j->chain, .config = &j->config, .parent_key = j->key};
    char key[CB_DIGEST_STR_LEN];
    int rc;
    if (wd_mkdir) {
        bl_workdir_key(j->key, wd_mkdir, j->config.user, key);
        rc = 0;
    } else if (cmd->kind == DF_CMD_RUN) {
        rc = bl_run_key(&in, key, err);
    } else {
        rc = bl_copy_key(&in, key, err);
    }
    int pid = bl_progress_add(b, name.data);
    in.progress_id = pid;
    if (rc < 0) {
        progress_error(b->prog, pid, err->msg);
        rc = step_error(b, cmd, name.data, pid, err);
        cb_buf_free(&name);
        return rc;
    }
    bl_layer layer;
    char created[32];
    /* the key the following steps build on: a COPY --from is identified by the content it
     * copies (key2), so a rebuilt stage with the same output keeps later steps cached too */
    char chain[CB_DIGEST_STR_LEN] = "";
    char key2[CB_DIGEST_STR_LEN] = "";
    bool hit = step_lookup(b, j->no_cache, key, &layer, created, chain, err);
    if (!hit && !wd_mkdir && (cmd->kind == DF_CMD_RUN || cmd->from))
        hit = step_lookup_from_copy(&in, key, key2, &layer, created, chain, err);
    /* another step running this key or having run it (another platform's, FROM
     * --platform=$BUILDPLATFORM, or another bake target's): wait for it and take its record
     * (made in this run, so even under --no-cache); one VM per key */
    bool claimed = false, done_seen = false;
    while (!hit && !claimed) {
        bl_flight f = bl_flight_claim(b->flights, key, done_seen);
        claimed = f == BL_FLIGHT_MINE;
        done_seen = done_seen || f == BL_FLIGHT_DONE;
        if (!claimed)
            hit = step_lookup(b, false, key, &layer, created, chain, err);
    }
    if (claimed && canceled(b)) { /* what it waited for was stopped with the build */
        bl_flight_release(b->flights, key, false);
        progress_error(b->prog, pid, "canceled");
        cb_failc(err, ECANCELED, "canceled");
        cb_buf_free(&name);
        return -ECANCELED;
    }
    if (hit) {
        /* the build's epoch, not the one the record was made with: BuildKit's frontend writes
         * history times from SOURCE_DATE_EPOCH whatever the cache holds */
        if (b->epoch >= 0)
            bl_time_str(b->epoch, created);
        progress_cached(b->prog, pid);
        pthread_mutex_lock(&b->lock);
        b->steps_cached++;
        pthread_mutex_unlock(&b->lock);
    } else {
        progress_start(b->prog, pid);
        if (wd_mkdir)
            rc = bl_workdir_exec(&in, wd_mkdir, &layer, err);
        else if (cmd->kind == DF_CMD_RUN)
            rc = bl_run_exec(&in, &layer, err);
        else
            rc = bl_copy_exec(&in, &layer, err);
        if (rc < 0) {
            if (claimed)
                bl_flight_release(b->flights, key, false);
            progress_error(b->prog, pid, canceled(b) ? "canceled" : err->msg);
            rc = step_error(b, cmd, name.data, pid, err);
            cb_buf_free(&name);
            return rc;
        }
        bl_time_str(b->epoch >= 0 ? b->epoch : bl_now(), created);
        json_t *r = record_new(&layer, created, key2);
        rc = store_cache_put(b->st, key, r, err);
        if (rc == 0 && key2[0])
            rc = store_cache_put(b->st, key2, r, err);
        json_decref(r);
        if (claimed)
            bl_flight_release(b->flights, key, rc == 0);
        if (rc < 0) {
            progress_error(b->prog, pid, err->msg);
            cb_buf_free(&name);
            return rc;
        }
        progress_done(b->prog, pid);
        if (key2[0])
            memcpy(chain, key2, sizeof chain);
    }
    bl_cache_io_note(b, j->solve->index, key, &layer, created, chain); /* for --cache-to */
    pthread_mutex_lock(&b->lock);
    b->steps_total++;
    pthread_mutex_unlock(&b->lock);
    /* the new state: layer, history, key */
    bl_chain_push(&j->chain, &layer);
    cb_strv_push(&j->config.diff_ids, layer.diff_id);
    char *hist = wd_mkdir                  ? xasprintf("WORKDIR %s", wd_mkdir)
                 : cmd->kind == DF_CMD_RUN ? bl_history_run(cmd, &j->config)
                                           : bl_history_copy(cmd);
    oci_config_add_history(&j->config, created, hist, "buildkit.dockerfile.v0", false);
    free(hist);
    memcpy(j->key, chain[0] ? chain : key, sizeof j->key);
    cb_buf_free(&name);
    return 0;
}

static int do_layer_step(step_ctx *sc, const df_cmd *cmd, const char *wd_mkdir, cb_err *err)
{
    int rc = layer_step_exec(sc, cmd, wd_mkdir, err);
    if (!wd_mkdir)
        context_step_done(sc->b, cmd);
    return rc;
}

static int run_cmds(step_ctx *sc, const df_cmd *cmds, size_t n, cb_err *err)
{
    bl_build *b = sc->b;
    bl_stage_job *j = sc->j;
    for (size_t i = 0; i < n; i++) {
        if (failed(b))
            return -ECANCELED;
        const df_cmd *cmd = &cmds[i];
        int rc;
        if (is_layer_step(cmd->kind)) {
            rc = do_layer_step(sc, cmd, NULL, err);
        } else if (cmd->kind == DF_CMD_WORKDIR) {
            const char *arg = cmd->args.n ? cmd->args.v[0] : "/";
            cleanup_free char *joined =
                arg[0] == '/' ? xstrdup(arg)
                              : xasprintf("%s/%s", j->config.working_dir ? j->config.working_dir : "/", arg);
            char *wd = bl_path_clean(joined);
            free(j->config.working_dir);
            j->config.working_dir = wd;
            if (strcmp(wd, "/"))
                rc = do_layer_step(sc, cmd, wd, err);
            else {
                char created[32];
                bl_time_str(b->epoch >= 0 ? b->epoch : j->last_created, created);
                oci_config_add_history(&j->config, created, "WORKDIR /", "buildkit.dockerfile.v0", true);
                rc = 0;
            }
        } else {
            char created[32];
            int64_t t = b->epoch >= 0 ? b->epoch : j->last_created;
            bl_time_str(t, created);
            /* config-only history entries carry the time of the stage's latest layer, so a
             * cached rebuild reproduces the same config (and image ID) */
            if (j->config.n_history)
                snprintf(created, sizeof created, "%s",
                         j->config.history[j->config.n_history - 1].created
                             ? j->config.history[j->config.n_history - 1].created
                             : created);
            rc = bl_config_apply(b, cmd, &j->config, created, err);
            if (rc < 0)
                rc = cb_error_wrap(err, "%s:%d", b->ctx.dockerfile_name, cmd->instr->start_line);
            if (cmd->kind == DF_CMD_CMD)
                sc->stage_cmd_set = true;
            if (cmd->kind == DF_CMD_ENTRYPOINT && !sc->stage_cmd_set) {
                cb_strv_free(&j->config.cmd);
                cb_strv_init(&j->config.cmd);
                j->config.cmd_set = false;
            }
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* os/architecture/variant (and os.version) of a config from "os[(version)]/arch[/variant]" */
static void platform_config_set(oci_config *c, const char *platform)
{
    oci_platform p;
    cb_err e;
    cb_err_clear(&e);
    if (oci_platform_parse(platform, &p, &e) < 0)
        return;
    free(c->os);
    free(c->architecture);
    free(c->variant);
    free(c->os_version);
    c->os = p.os;
    c->architecture = p.architecture;
    c->variant = p.variant;
    c->os_version = p.os_version;
}

static int stage_run(bl_build *b, bl_stage_job *j, cb_err *err)
{
    df_stage *st = j->stage;
    step_ctx sc = {.b = b, .j = j};
    cb_buf name;
    cb_buf_init(&name);
    int rc = 0;
    /* FROM */
    if (st->base_stage >= 0) {
        bl_stage_job *bj = &j->solve->jobs[st->base_stage];
        bl_chain_copy(&j->chain, &bj->chain);
        oci_config_copy(&j->config, &bj->config);
        memcpy(j->key, bj->key, sizeof j->key);
        j->last_created = bj->last_created;
        j->base_layers = bj->base_layers;
        j->base_history = bj->base_history;
        /* no vertex: BuildKit's stage continues the base stage's state */
    } else if (!strcmp(st->base, "scratch")) {
        oci_config_init(&j->config);
        platform_config_set(&j->config, j->platform);
        /* BuildKit's emptyImage: WorkingDir "/" (and PATH, below) */
        j->config.working_dir = xstrdup("/");
        bl_scratch_key(j->key);
        j->last_created = b->epoch >= 0 ? b->epoch : bl_now();
    } else {
        const bl_image *im;
        rc = bl_resolver_image(b->images, st->base, j->platform, &im, err);
        if (rc < 0) {
            rc = cb_error_wrap(err, "%s:%d", b->ctx.dockerfile_name, st->from->start_line);
            goto out;
        }
        bl_chain_copy(&j->chain, &im->chain);
        oci_config_copy(&j->config, &im->im.config);
        j->base_layers = im->chain.n;
        j->base_history = im->im.config.n_history;
        /* like BuildKit: the new image takes the base's config section, history and layers,
         * not its top-level metadata or members it doesn't know */
        free(j->config.author);
        j->config.author = NULL;
        json_decref(j->config.extra);
        j->config.extra = NULL;
        json_decref(j->config.config_extra);
        j->config.config_extra = NULL;
        memcpy(j->key, im->key, sizeof j->key);
        cleanup_free char *ref = oci_ref_normalize(st->base, err);
        cleanup_free char *t = xasprintf("FROM %s@%s", ref ? ref : st->base, im->im.manifest_digest);
        step_name(j, NULL, t, &name);
        int pid = bl_progress_add(b, name.data);
        progress_cached(b->prog, pid);
        j->last_created = b->epoch >= 0 ? b->epoch : bl_now();
        if (j->config.created) {
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            if (strptime(j->config.created, "%Y-%m-%dT%H:%M:%S", &tm))
                j->last_created = (int64_t)timegm(&tm);
        }
    }
    /* BuildKit gives every stage a PATH */
    if (!oci_config_env_get(&j->config, "PATH"))
        oci_config_env_set(&j->config, "PATH",
                           "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    /* the base's ONBUILD triggers are consumed: the plan put them first in cmds */
    cb_strv_free(&j->config.onbuild);
    cb_strv_init(&j->config.onbuild);
    rc = run_cmds(&sc, st->cmds, st->n_cmds, err);
out:
    cb_buf_free(&name);
    return rc;
}

/* ---------- scheduler ---------- */

typedef struct job_arg {
    bl_build *b;
    bl_stage_job *j;
} job_arg;

static void stage_thread(void *arg)
{
    job_arg *ja = arg;
    bl_build *b = ja->b;
    cb_err err;
    cb_err_clear(&err);
    int rc = failed(b) ? -ECANCELED : stage_run(b, ja->j, &err);
    pthread_mutex_lock(&b->lock);
    ja->j->running = false;
    if (rc < 0) {
        if (!b->failed && rc != -ECANCELED) {
            b->failed = true;
            b->first_err = err;
            b->cancel = 1; /* running VMs are stopped; other stages stop at their next step */
        } else if (!b->failed) {
            b->failed = true;
            b->first_err = err;
        }
    } else {
        ja->j->done = true;
    }
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    free(ja);
}

static bool deps_done(const bl_stage_job *j)
{
    for (size_t k = 0; k < j->stage->n_deps; k++)
        if (!j->solve->jobs[j->stage->deps[k]].done)
            return false;
    return true;
}

/* Every platform's stages in one pool, as BuildKit solves the platforms' graphs at once: a
 * stage starts when the stages it needs (of its platform) are done, at most -j (default: the
 * cores) stages, so VMs, at a time for the whole build. Ready stages are taken stage by stage
 * across the platforms, so each platform gets going. */
static int schedule(bl_build *b, cb_err *err)
{
    int nthreads = b->opts->jobs > 0 ? b->opts->jobs : cb_ncpus();
    cb_pool *pool = cb_pool_new(nthreads);
    size_t n = 0;
    for (size_t si = 0; si < b->n_solves; si++)
        if (b->solves[si].plan->n_stages > n)
            n = b->solves[si].plan->n_stages;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        bool all_done = true, any_running = false;
        for (size_t i = 0; i < n; i++)
            for (size_t si = 0; si < b->n_solves; si++) {
                bl_solve *sv = &b->solves[si];
                if (i >= sv->plan->n_stages)
                    continue;
                bl_stage_job *j = &sv->jobs[i];
                if (!j->needed || j->done)
                    continue;
                all_done = false;
                if (j->running) {
                    any_running = true;
                    continue;
                }
                if (!b->failed && !j->started && deps_done(j)) {
                    j->running = j->started = true;
                    any_running = true;
                    job_arg *ja = xmalloc(sizeof *ja);
                    ja->b = b;
                    ja->j = j;
                    cb_pool_submit(pool, stage_thread, ja);
                }
            }
        if (all_done || (!any_running && b->failed))
            break;
        if (!any_running) {
            /* nothing runnable and nothing running: a dependency cycle the plan missed */
            b->failed = true;
            cb_fail(&b->first_err, "internal: stages wait on each other");
            break;
        }
        pthread_cond_wait(&b->cond, &b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    cb_pool_free(pool);
    if (b->failed) {
        *err = b->first_err;
        return -(err->code ? err->code : EIO);
    }
    return 0;
}

/* ---------- the build ---------- */

static int parse_secrets(bl_build *b, const cb_strv *secrets, cb_err *err)
{
    for (size_t i = 0; secrets && i < secrets->n; i++) {
        cleanup_free char *s = xstrdup(secrets->v[i]);
        char *id = NULL, *src = NULL, *env = NULL, *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (cb_str_has_prefix(t, "id="))
                id = t + 3;
            else if (cb_str_has_prefix(t, "src=") || cb_str_has_prefix(t, "source="))
                src = strchr(t, '=') + 1;
            else if (cb_str_has_prefix(t, "env="))
                env = t + 4;
            else if (cb_str_has_prefix(t, "type="))
                ;
            else
                return cb_fail(err, "invalid --secret %s: unknown key in `%s` (expected id=, src=, env=)",
                               secrets->v[i], t);
        }
        if (!id)
            return cb_fail(err, "invalid --secret %s: id= is required", secrets->v[i]);
        cb_strv_push(&b->secrets_id, id);
        if (src)
            cb_strv_push(&b->secrets_src, src);
        else
            cb_strv_push_owned(&b->secrets_src, xasprintf("env:%s", env ? env : id));
    }
    return 0;
}

/* BuildKit's cmdTotal: a FROM counts only for an image (not scratch, not another stage) */
static int count_steps(const df_stage *st)
{
    int n = st->base_stage < 0 && strcmp(st->base, "scratch") ? 1 : 0;
    for (size_t i = 0; i < st->n_cmds; i++) {
        df_cmd_kind k = st->cmds[i].kind;
        if (k == DF_CMD_RUN || k == DF_CMD_COPY || k == DF_CMD_ADD || k == DF_CMD_WORKDIR)
            n++;
    }
    return n;
}

static int label_apply(oci_config *cfg, const cb_strv *labels, cb_err *err)
{
    for (size_t i = 0; labels && i < labels->n; i++) {
        const char *eq = strchr(labels->v[i], '=');
        if (!eq || eq == labels->v[i])
            return cb_fail(err, "invalid --label %s: expected KEY=VALUE", labels->v[i]);
        cleanup_free char *k = xstrndup(labels->v[i], (size_t)(eq - labels->v[i]));
        oci_config_label_set(cfg, k, eq + 1);
    }
    return 0;
}

/* --platform a,b (BuildKit normalises and dedups them); none: the host's, linux/amd64 */
static int platforms_parse(const char *spec, cb_strv *out, cb_err *err)
{
    if (!spec || !*spec) {
        cb_strv_push(out, "linux/amd64");
        return 0;
    }
    cleanup_free char *c = xstrdup(spec);
    char *save = NULL;
    for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char *e = t + strlen(t);
        while (e > t && e[-1] == ' ')
            *--e = 0;
        if (!*t)
            continue;
        cleanup_free char *parsed = NULL;
        int rc = df_platform_normalize(t, &parsed, err);
        if (rc < 0)
            return rc;
        /* dockerui's parsePlatforms: platforms.Normalize(platforms.Parse(v)), so linux/arm is
         * linux/arm/v7 (TARGETVARIANT v7) and linux/arm64/v8 is linux/arm64 */
        char *norm = df_platform_canonical(parsed);
        if (cb_strv_contains(out, norm))
            free(norm);
        else
            cb_strv_push_owned(out, norm);
    }
    if (!out->n)
        return cb_fail(err, "invalid --platform \"%s\": no platform named", spec);
    return 0;
}

/* #1: the build definition and the context, then the plan. */
static int load_definition(bl_build *b, cb_err *err)
{
    int rc;
    {
        cleanup_free char *nm = xasprintf(
            "[internal] load build definition from %s",
            b->opts->dockerfile && strcmp(b->opts->dockerfile, "-") ? b->opts->dockerfile : "Dockerfile");
        int pid = bl_progress_add(b, nm);
        progress_start(b->prog, pid);
        /* the agents first: a git context over ssh authenticates with --ssh default */
        rc = bl_ssh_start(b, err);
        if (rc == 0)
            rc = bl_context_open(b->opts->context, b->opts->dockerfile, b->tmpdir, bl_ssh_socket(b, "default"),
                                 &b->ctx, err);
        if (rc < 0) {
            progress_error(b->prog, pid, err->msg);
            return rc;
        }
        progress_transfer_done(b->prog, pid, "dockerfile", b->ctx.dockerfile.len);
        progress_done(b->prog, pid);
        if (b->ctx.ignore_name) {
            int ip = bl_progress_add(b, "[internal] load .dockerignore");
            progress_start(b->prog, ip);
            progress_done(b->prog, ip);
        }
    }
    rc = df_parse(b->ctx.dockerfile.data ? b->ctx.dockerfile.data : "", b->ctx.dockerfile.len,
                  b->ctx.dockerfile_name, &b->file, err);
    if (rc < 0)
        return cb_error_wrap(err, "failed to solve: dockerfile parse error");
    return bl_syntax_check(b, err);
}

/* The plan for s->platform (TARGETPLATFORM; BUILDPLATFORM is the host's); warnings once. */
static int solve_plan(bl_solve *s, bool warn, cb_err *err)
{
    bl_build *b = s->b;
    int rc;
    {
        df_plan_opts po = {.target = b->opts->target,
                           .target_platform = s->platform,
                           .build_platform = "linux/amd64",
                           .base_env = bl_call_resolves_images(b->opts) ? base_env_cb : NULL,
                           .base_onbuild = bl_call_resolves_images(b->opts) ? base_onbuild_cb : NULL,
                           .base_platform = base_platform_cb,
                           .ud = s,
                           .build_args = (const char *const *)b->build_args.v,
                           .n_build_args = b->build_args.n,
                           .ignore = b->ctx.ignore,
                           .named_context = named_context_cb,
                           .lint_only = bl_call_lints(b->opts)};
        rc = df_plan_new(b->file, &po, &s->plan, err);
        if (rc == 0)
            rc = bl_policy_plan(b, s->plan, err);
        if (rc < 0)
            return rc;
        bl_named_select(b, s->plan);
        /* lint rule warnings come in the summary after the build (builder_warnings_summary) */
        for (size_t i = 0; warn && i < s->plan->warnings.n; i++)
            if (b->opts->progress != BUILDER_PROGRESS_QUIET &&
                !builder_warning_is_lint(s->plan->warnings.v[i].msg))
                fprintf(b->opts->log ? b->opts->log : stderr, "%s\n", s->plan->warnings.v[i].msg);
    }
    return 0;
}

static void solve_jobs_init(bl_solve *s)
{
    const builder_opts *opts = s->b->opts;
    const df_plan *plan = s->plan;
    s->jobs = xcalloc(plan->n_stages, sizeof *s->jobs);
    size_t named_or_multi = 0;
    for (size_t i = 0; i < plan->n_stages; i++)
        if (plan->stages[i].needed)
            named_or_multi++;
    for (size_t i = 0; i < plan->n_stages; i++) {
        bl_stage_job *j = &s->jobs[i];
        df_stage *st = &plan->stages[i];
        j->index = (int)i;
        j->solve = s;
        j->stage = st;
        j->platform = xstrdup(st->platform ? st->platform : s->platform);
        j->target_platform = s->platform;
        j->prefix_platform = s->b->multi_platform;
        j->needed = st->needed;
        j->n_steps = count_steps(st);
        if (st->name)
            j->display = xstrdup(st->name);
        else if (plan->n_stages > 1 && named_or_multi > 1)
            j->display = xasprintf("stage-%zu", i);
        j->no_cache = opts->no_cache;
        for (size_t k = 0; opts->no_cache_filter && k < opts->no_cache_filter->n; k++)
            if (df_plan_find_stage(plan, opts->no_cache_filter->v[k]) == (int)i)
                j->no_cache = true;
    }
}

/* The steps of the platform that read the context (the context vertex ends after the last). */
static int solve_context_readers(const bl_solve *s)
{
    int n = 0;
    for (size_t i = 0; s->jobs && i < s->plan->n_stages; i++)
        for (size_t k = 0; s->jobs[i].needed && k < s->plan->stages[i].n_cmds; k++)
            n += reads_context(&s->plan->stages[i].cmds[k]);
    return n;
}

/* The target's config: labels, created = the newest history time (identical for a cached rebuild). */
static int target_config(bl_solve *s, oci_config *cfg, cb_err *err)
{
    bl_build *b = s->b;
    bl_stage_job *t = &s->jobs[s->plan->target];
    oci_config_copy(cfg, &t->config);
    int rc = label_apply(cfg, b->opts->labels, err);
    if (rc < 0)
        return rc;
    free(cfg->created);
    cfg->created = NULL;
    /* BuildKit's image writer: the last history entry's time (the base's created is dropped) */
    for (size_t i = cfg->n_history; i-- > 0 && !cfg->created;)
        if (cfg->history[i].created)
            cfg->created = xstrdup(cfg->history[i].created);
    if (!cfg->created) {
        char now[32];
        bl_time_str(b->epoch >= 0 ? b->epoch : bl_now(), now);
        cfg->created = xstrdup(now);
    }
    return bl_cache_io_pre_export(b, &t->chain, err); /* lazy blobs */
}

/* One platform's image: its manifest committed untagged, kept for the index. */
static int commit_platform(bl_solve *s, bl_platform_image *out, cb_err *err)
{
    bl_build *b = s->b;
    bl_stage_job *t = &s->jobs[s->plan->target];
    oci_config cfg;
    bl_chain xchain, *chain = &xchain;
    bl_chain_copy(&xchain, &t->chain); /* the exporter's (rewritten) layers; the cache keeps t's */
    int rc = target_config(s, &cfg, err);
    if (rc == 0)
        rc = bl_export_prepare(b, t->base_layers, t->base_history, &cfg, &xchain, err);
    if (rc == 0)
        rc = bl_cache_io_inline(b, s->index, &t->chain, &xchain, &cfg);
    if (rc == 0) {
        oci_descriptor *layers = bl_export_layers(chain);
        store_image im;
        rc = store_image_commit(b->st, &cfg, layers, chain->n, "", &im, err);
        bl_export_layers_free(layers, chain->n);
        if (rc == 0) {
            out->platform = xstrdup(s->platform);
            memset(&out->manifest, 0, sizeof out->manifest);
            out->manifest.media_type = xstrdup(im.manifest.media_type ? im.manifest.media_type : OCI_MT_MANIFEST);
            memcpy(out->manifest.digest, im.manifest_digest, sizeof out->manifest.digest);
            out->manifest.size = (int64_t)im.manifest_len;
            out->manifest.platform = xcalloc(1, sizeof *out->manifest.platform);
            out->manifest.platform->os = xstrdup(cfg.os ? cfg.os : "linux");
            out->manifest.platform->architecture = xstrdup(cfg.architecture ? cfg.architecture : "amd64");
            out->manifest.platform->variant = cfg.variant && *cfg.variant ? xstrdup(cfg.variant) : NULL;
            out->manifest.platform->os_version = cfg.os_version ? xstrdup(cfg.os_version) : NULL;
            memcpy(out->image_id, im.id, sizeof out->image_id);
            bl_chain_copy(&out->chain, chain);
            oci_config_copy(&out->config, &cfg);
            store_image_free(&im);
        }
    }
    oci_config_free(&cfg);
    bl_chain_free(&xchain);
    return rc;
}

/* The target's image: the outputs and the cache export (of the layers as built). */
static int export_target(bl_solve *s, builder_result *res, cb_err *err)
{
    bl_build *b = s->b;
    bl_stage_job *t = &s->jobs[s->plan->target];
    oci_config cfg;
    bl_chain xchain;
    bl_chain_copy(&xchain, &t->chain);
    int rc = target_config(s, &cfg, err);
    if (rc == 0)
        rc = bl_export_prepare(b, t->base_layers, t->base_history, &cfg, &xchain, err);
    if (rc == 0)
        rc = bl_cache_io_inline(b, s->index, &t->chain, &xchain, &cfg);
    if (rc == 0)
        rc = bl_export(b, &cfg, &xchain, res, err);
    if (rc == 0)
        rc = bl_cache_io_export(b, &t->chain, err); /* --cache-to registry/local */
    oci_config_free(&cfg);
    bl_chain_free(&xchain);
    return rc;
}

static void solve_free(bl_solve *s)
{
    for (size_t i = 0; s->jobs && i < s->plan->n_stages; i++) {
        bl_chain_free(&s->jobs[i].chain);
        oci_config_free(&s->jobs[i].config);
        free(s->jobs[i].display);
        free(s->jobs[i].base_ref);
        free(s->jobs[i].platform);
    }
    free(s->jobs);
    s->jobs = NULL;
    json_decref(s->sbom_scan);
    s->sbom_scan = NULL;
    df_plan_free(s->plan);
    s->plan = NULL;
}

static void build_free_plan(bl_build *b)
{
    for (size_t i = 0; i < b->n_solves; i++)
        solve_free(&b->solves[i]);
    free(b->solves);
    b->solves = NULL;
    b->n_solves = 0;
    df_file_free(b->file);
    bl_context_close(&b->ctx);
    bl_ssh_stop(b);
    if (b->tmpdir) {
        cb_err e;
        cb_rm_rf(b->tmpdir, &e);
        free(b->tmpdir);
    }
}

/* Several platforms: each platform's image committed, in --platform order (not the order
 * they finished in), then the index over them and the cache export of all their layers. */
static int export_platforms(bl_build *b, builder_result *res, cb_err *err)
{
    int rc = 0;
    bl_platform_image *imgs = xcalloc(b->n_solves, sizeof *imgs);
    size_t n_imgs = 0;
    bl_chain all;
    memset(&all, 0, sizeof all);
    for (size_t pi = 0; pi < b->n_solves && rc == 0; pi++) {
        if ((rc = commit_platform(&b->solves[pi], &imgs[n_imgs], err)) < 0)
            break;
        const bl_solve *sv = &b->solves[pi];
        const bl_chain *built = &sv->jobs[sv->plan->target].chain; /* the cache's, not rewritten */
        for (size_t k = 0; k < built->n; k++)
            bl_chain_push(&all, &built->v[k]);
        n_imgs++;
    }
    if (rc == 0)
        rc = bl_export_index(b, imgs, n_imgs, res, err);
    if (rc == 0)
        rc = bl_cache_io_export(b, &all, err);
    for (size_t i = 0; i < n_imgs; i++) {
        free(imgs[i].platform);
        oci_descriptor_free(&imgs[i].manifest);
        bl_chain_free(&imgs[i].chain);
        oci_config_free(&imgs[i].config);
    }
    free(imgs);
    bl_chain_free(&all);
    return rc;
}

/* Every platform planned, in --platform order, then all solved at the same time in one
 * scheduler, as BuildKit solves them: a step the platforms have in common (a FROM
 * --platform=$BUILDPLATFORM stage, equal cache keys) runs once, the other platform waiting
 * for it through the in-flight keys and taking its record. One image, or an index of one
 * image per platform. */
static int solve_platforms(bl_build *b, const cb_strv *plats, builder_result *res, cb_err *err)
{
    int rc = 0;
    b->solves = xcalloc(plats->n, sizeof *b->solves);
    for (size_t pi = 0; pi < plats->n && rc == 0; pi++) {
        bl_solve *s = &b->solves[b->n_solves++];
        s->b = b;
        s->index = pi;
        s->platform = plats->v[pi];
        if ((rc = solve_plan(s, pi == 0, err)) == 0)
            solve_jobs_init(s);
    }
    if (rc == 0) {
        pthread_mutex_lock(&b->lock); /* every platform's readers of the context */
        for (size_t pi = 0; pi < b->n_solves; pi++)
            b->ctx_users += solve_context_readers(&b->solves[pi]);
        /* the context vertex, as BuildKit's local source: only when a step reads the context
         * (only the files COPY/ADD select are read, during the steps), after the plan's lookups */
        if (b->ctx_users && b->ctx.dirfd >= 0) {
            b->ctx_pid = bl_progress_add(b, "[internal] load build context");
            progress_start(b->prog, b->ctx_pid);
        }
        if (!b->ctx_users)
            context_done_locked(b);
        pthread_mutex_unlock(&b->lock);
        rc = bl_sbom_scanner_check(b, err);
        if (rc == 0)
            rc = schedule(b, err);
    }
    if (rc == 0 && bl_interrupted(b)) {
        *err = b->first_err;
        rc = -ECANCELED;
    }
    pthread_mutex_lock(&b->lock);
    if (b->ctx_pid && rc < 0 && b->interrupted) { /* a failed step is no failure of the context */
        progress_error(b->prog, b->ctx_pid, "canceled");
        b->ctx_pid = 0;
    }
    context_done_locked(b); /* readers a failure left unrun */
    pthread_mutex_unlock(&b->lock);
    if (rc == 0)
        rc = bl_sbom_scan(b, err); /* BuildKit's frontend scans before it returns the result */
    if (rc == 0 && !b->multi_platform)
        rc = export_target(&b->solves[0], res, err);
    else if (rc == 0)
        rc = export_platforms(b, res, err);
    return rc;
}

/* A parse or plan error names its place ("Dockerfile:N: …" or "Dockerfile:N-M: …", the parser's
 * own excerpt after it): shown with the Dockerfile's lines as buildx shows an error's source. */
static void error_source(const bl_build *b, cb_err *err)
{
    if (!b->ctx.dockerfile.len || !b->ctx.dockerfile_name || strstr(err->msg, "\n--------------------\n"))
        return;
    cleanup_free char *pfx = xasprintf("%s:", b->ctx.dockerfile_name);
    const char *at = strstr(err->msg, pfx), *nl = strchr(err->msg, '\n');
    if (!at || (nl && at > nl))
        return;
    char *end;
    long s = strtol(at + strlen(pfx), &end, 10), e = s;
    if (end == at + strlen(pfx) || s < 1)
        return;
    if (*end == '-')
        e = strtol(end + 1, &end, 10);
    if (*end != ':')
        return;
    cb_buf m;
    cb_buf_init(&m);
    bl_source_snippet(&m, b->ctx.dockerfile_name, &b->ctx.dockerfile, (int)s, (int)e);
    size_t keep = nl && !strncmp(nl, "\n  ", 3) && strstr(nl, " | ") ? (size_t)(nl - err->msg) : strlen(err->msg);
    cb_buf_printf(&m, "%.*s", (int)keep, err->msg);
    snprintf(err->msg, sizeof err->msg, "%s", m.data);
    cb_buf_free(&m);
}

int builder_build(const builder_opts *opts, builder_result *res, cb_err *err)
{
    memset(res, 0, sizeof *res);
    cb_strv plats;
    cb_strv_init(&plats);
    int rc = platforms_parse(opts->platform, &plats, err);
    if (rc < 0) {
        cb_strv_free(&plats);
        return rc;
    }
    bl_build *b = xcalloc(1, sizeof *b);
    b->opts = opts;
    b->n_platforms = plats.n;
    b->platform = plats.v[0];
    b->multi_platform = plats.n > 1;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    cb_strv_init(&b->secrets_id);
    cb_strv_init(&b->http_seen);
    cb_strv_init(&b->src_urls);
    cb_strv_init(&b->cache_mounts_reset);
    cb_strv_init(&b->src_digests);
    cb_strv_init(&b->secrets_src);
    cdi_allow_init(&b->cdi_allow);
    cdi_registry_init(&b->cdi);
    b->epoch = -1; /* resolved with the Dockerfile (bl_epoch_resolve) */
    clock_gettime(CLOCK_REALTIME, &b->started);
    cb_strv_init(&b->build_args);
    for (size_t i = 0; opts->build_args && i < opts->build_args->n; i++)
        cb_strv_push(&b->build_args, opts->build_args->v[i]);
    b->ctx.dirfd = -1;
    b->images = bl_resolver_new(b);
    /* dockerui's multi-platform option: BUILDKIT_MULTI_PLATFORM=1 makes an index of one */
    for (size_t i = 0; rc == 0 && i < b->build_args.n; i++) {
        const char *a = b->build_args.v[i];
        if (!cb_str_has_prefix(a, "BUILDKIT_MULTI_PLATFORM=") || !a[24])
            continue;
        static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"},
                                 *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
        int v = -1;
        for (size_t k = 0; k < 6 && v < 0; k++)
            v = !strcmp(a + 24, t[k]) ? 1 : !strcmp(a + 24, f[k]) ? 0 : -1;
        if (v < 0)
            rc = cb_fail(err, "invalid boolean value for multi-platform: %s", a + 24);
        else if (!v && plats.n > 1)
            rc = cb_fail(err, "conflicting config: returning multiple target platforms is not allowed");
        else
            b->multi_platform = v || plats.n > 1;
    }
    for (size_t i = 0; rc == 0 && opts->allow_devices && i < opts->allow_devices->n; i++)
        rc = cdi_allow_add(&b->cdi_allow, opts->allow_devices->v[i], err);
    if (rc == 0)
        rc = parse_secrets(b, opts->secrets, err);
    if (rc == 0)
        rc = bl_named_parse(b, opts->build_contexts, err);
    if (rc == 0)
        rc = bl_policy_load(b, err);
    if (rc == 0)
        rc = bl_policy_context(b, err);
    if (rc == 0)
        rc = bl_outputs_validate(opts, err);
    if (rc == 0)
        rc = store_open(opts->root, &b->st, err);
    if (rc < 0)
        goto out_early;
    {
        cleanup_free char *ing = cb_path_join(opts->root, "ingest");
        if ((rc = cb_mkdir_p(ing, 0700, err)) < 0)
            goto out_early;
        b->tmpdir = xasprintf("%s/build-XXXXXX", ing);
        if (!mkdtemp(b->tmpdir)) {
            rc = cb_error(err, errno, "mkdtemp %s", b->tmpdir);
            free(b->tmpdir);
            b->tmpdir = NULL;
            goto out_early;
        }
    }
    b->prog = opts->shared ? bl_shared_progress(opts->shared)
                           : progress_new(opts->progress, opts->log ? opts->log : stderr);
    b->flights = opts->shared ? bl_shared_flights(opts->shared) : bl_flights_new();
    bl_cancel_watch_start(b);
    if ((rc = bl_cache_io_init(b, err)) < 0) /* --cache-to specs, --cache-from imports */
        goto out;

    if ((rc = load_definition(b, err)) < 0)
        goto out;
    if (opts->call_kind) { /* --call=check|outline|targets: the plan is the answer */
        if (!opts->shared)
            progress_free(b->prog);
        b->prog = progress_new(BUILDER_PROGRESS_QUIET, stderr); /* the answer is the output: lookups show nothing */
        bl_solve s = {.b = b, .platform = plats.v[0]};
        rc = solve_plan(&s, false, err);
        if (rc == 0)
            rc = bl_call_answer(b, s.plan, err);
        solve_free(&s);
        progress_free(b->prog);
        b->prog = NULL;
        goto out;
    }
    if ((rc = bl_epoch_resolve(b, err)) < 0)
        goto out;
    rc = solve_platforms(b, &plats, res, err);
out:
    if (rc < 0 && !opts->call_kind)
        error_source(b, err);
    bl_cancel_watch_stop(b);
    bl_cache_io_finish(b);
    if (!opts->shared)
        progress_free(b->prog);
    b->prog = NULL;
    /* the lint warnings once: the platforms' plans come from one Dockerfile */
    if (b->n_solves && b->solves[0].plan && opts->progress != BUILDER_PROGRESS_QUIET && !opts->call_kind)
        builder_warnings_summary(opts->log ? opts->log : stderr, b->solves[0].plan);
    res->vms_booted = b->vms_booted;
    res->layers_written = b->layers_written;
    res->steps_cached = b->steps_cached;
    res->steps_total = b->steps_total;
    build_free_plan(b);
out_early:
    bl_resolver_free(b->images);
    bl_named_free(b);
    bl_source_policy_free(b->policy);
    if (b->gpaths_ready)
        guest_paths_free(&b->gpaths);
    if (!opts->shared)
        bl_flights_free(b->flights);
    if (b->st)
        store_close(b->st);
    cb_strv_free(&b->secrets_id);
    cb_strv_free(&b->http_seen);
    cb_strv_free(&b->src_urls);
    cb_strv_free(&b->build_args);
    cb_strv_free(&b->cache_mounts_reset);
    cb_strv_free(&b->src_digests);
    cb_strv_free(&b->secrets_src);
    cdi_allow_free(&b->cdi_allow);
    cdi_registry_free(&b->cdi);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
    free(b);
    cb_strv_free(&plats);
    return rc;
}
