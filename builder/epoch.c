/* SOURCE_DATE_EPOCH as BuildKit's Dockerfile frontend resolves it (dockerfile2llb/epoch.go):
 * the value comes from --build-arg SOURCE_DATE_EPOCH (buildx passes the environment's), else
 * from the Dockerfile's global `ARG SOURCE_DATE_EPOCH=…`; it is a number of seconds, "context"
 * (the time of a git or HTTP context), the name of a named context, or the name of a
 * source-only stage (`FROM scratch` and one remote ADD) whose source gives the time. The
 * resolved number replaces the build arg for the whole build (RUN sees it) and is the epoch
 * of the config, the layers and the exporters. */
#include "copy.h"
#include "git.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SDE "SOURCE_DATE_EPOCH"

/* The last --build-arg SOURCE_DATE_EPOCH[=V] (a bare name takes the environment's value). */
static const char *build_arg_value(const cb_strv *args, bool *given)
{
    const char *v = NULL;
    *given = false;
    for (size_t i = 0; args && i < args->n; i++) {
        const char *a = args->v[i];
        if (!strcmp(a, SDE)) {
            v = getenv(SDE);
            *given = v != NULL;
        } else if (cb_str_has_prefix(a, SDE "=")) {
            v = a + sizeof SDE;
            *given = true;
        }
    }
    return v;
}

static bool parse_int(const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return false;
    *out = n;
    return true;
}

/* The one remote ADD of a source-only stage: its time (HTTP Last-Modified, else the newest file
 * of the download when it is an archive; a git source's commit time), -1 when it has none. */
static int stage_source_time(bl_build *b, const df_stage *st, int64_t *out, cb_err *err)
{
    *out = -1;
    if (strcmp(st->base, "scratch"))
        return cb_fail(err, "SOURCE_DATE_EPOCH stage must use FROM scratch");
    const df_cmd *add = NULL;
    for (size_t i = 0; i < st->n_cmds; i++) {
        const df_cmd *c = &st->cmds[i];
        if (c->kind == DF_CMD_ARG)
            continue;
        if (c->kind != DF_CMD_ADD)
            return cb_fail(err, "SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported %s instruction",
                           c->instr && c->instr->keyword ? c->instr->keyword : "unknown");
        if (add)
            return cb_fail(err, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD");
        add = c;
    }
    if (!add)
        return cb_fail(err, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD");
    if (add->n_inline_files || add->args.n != 2)
        return cb_fail(err, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source");
    const char *src = add->args.v[0];
    if (bl_git_is_url(src)) {
        bl_git_ref r;
        int rc = bl_git_ref_parse(src, &r, err);
        if (rc < 0)
            return rc;
        if (add->checksum && !r.checksum)
            r.checksum = xstrdup(add->checksum);
        r.ssh_sock = bl_ssh_socket(b, "default");
        cleanup_free char *dest = bl_step_tmp(b, "epoch-git");
        char commit[BL_GIT_COMMIT_MAX];
        rc = bl_git_checkout(&r, false, NULL, dest, commit, out, err);
        bl_git_ref_free(&r);
        cb_err e;
        cb_rm_rf(dest, &e);
        return rc;
    }
    if (!cb_str_has_prefix(src, "http://") && !cb_str_has_prefix(src, "https://"))
        return cb_fail(err, "SOURCE_DATE_EPOCH stage source must be a single HTTP(S) or Git ADD");
    cleanup_free char *tmp = bl_step_tmp(b, "epoch-download");
    int rc = bl_http_fetch(b, src, tmp, out, err);
    if (rc == 0 && add->checksum) {
        char got[CB_DIGEST_STR_LEN];
        if ((rc = cb_sha256_file(tmp, got, err)) == 0 && strcmp(got, add->checksum))
            rc = cb_fail(err, "digest mismatch for %s: %s (expected: %s)", src, got, add->checksum);
    }
    if (rc == 0 && *out < 0)
        *out = bl_archive_newest_mtime(tmp); /* not an archive: no time */
    unlink(tmp);
    return rc;
}

/* resolveSourceDateEpochValue: "" none, a number, "context", a named context, a stage. */
static int resolve_value(bl_build *b, const df_plan *p, const char *v, int64_t *out, cb_err *err)
{
    *out = -1;
    if (!*v || parse_int(v, out))
        return 0;
    if (!strcmp(v, "context")) {
        int pid = bl_progress_add(b, "[internal] resolve main build context metadata");
        progress_start(b->prog, pid);
        *out = b->ctx.epoch; /* a local context has none */
        progress_done(b->prog, pid);
        return 0;
    }
    const bl_named *nc = bl_named_find(b, v);
    if (nc) {
        /* a git or HTTP(S) URL has a time; a directory, an image or an OCI layout none */
        cleanup_free char *nm = xasprintf("[internal] resolve SOURCE_DATE_EPOCH named context %s", v);
        int pid = bl_progress_add(b, nm);
        progress_start(b->prog, pid);
        char *dir = NULL;
        bl_policy_image pi; /* the context as the source policy converts it */
        int rc = bl_policy_resolve_image(b, v, &pi, err);
        if (rc == 0 && pi.named && pi.named->kind == BL_NAMED_URL)
            rc = bl_named_url_fetch(b, pi.named, false, &dir, out, err);
        bl_policy_image_free(&pi);
        if (dir) {
            cb_err e;
            cb_rm_rf(dir, &e);
            free(dir);
        }
        if (rc < 0)
            progress_error(b->prog, pid, err->msg);
        else
            progress_done(b->prog, pid);
        return rc;
    }
    for (size_t i = 0; p && i < p->n_stages; i++) {
        const df_stage *st = &p->stages[i];
        if (!st->name || strcasecmp(st->name, v))
            continue;
        cleanup_free char *nm = xasprintf("[internal] resolve SOURCE_DATE_EPOCH source stage %s", st->name);
        int pid = bl_progress_add(b, nm);
        progress_start(b->prog, pid);
        int rc = stage_source_time(b, st, out, err);
        if (rc < 0) {
            cb_error_wrap(err, "%s:%d", b->ctx.dockerfile_name, st->from ? st->from->start_line : 0);
            progress_error(b->prog, pid, err->msg);
        } else {
            progress_done(b->prog, pid);
        }
        return rc;
    }
    return cb_fail(err, "invalid SOURCE_DATE_EPOCH: %s", v);
}

/* The Dockerfile's global SOURCE_DATE_EPOCH (after --build-arg overrides) and its stages: a
 * plan that resolves no image (no base env, no ONBUILD triggers). */
static int trial_plan(bl_build *b, df_plan **out, cb_err *err)
{
    df_plan_opts po = {.target = b->opts->target,
                       .target_platform = b->platform,
                       .build_platform = "linux/amd64",
                       .build_args = (const char *const *)b->build_args.v,
                       .n_build_args = b->build_args.n,
                       .ignore = b->ctx.ignore};
    return df_plan_new(b->file, &po, out, err);
}

/* Does an ARG before the first FROM declare SOURCE_DATE_EPOCH? */
static bool global_arg_declared(const df_file *f)
{
    for (size_t i = 0; f && i < f->n_instrs && strcmp(f->instrs[i].keyword, "from"); i++)
        for (size_t a = 0; !strcmp(f->instrs[i].keyword, "arg") && a < f->instrs[i].args.n; a++)
            if (!strncmp(f->instrs[i].args.v[a], SDE, sizeof SDE - 1) &&
                (!f->instrs[i].args.v[a][sizeof SDE - 1] || f->instrs[i].args.v[a][sizeof SDE - 1] == '='))
                return true;
    return false;
}

static void build_arg_set(cb_strv *args, const char *value)
{
    cb_strv keep;
    cb_strv_init(&keep);
    for (size_t i = 0; i < args->n; i++)
        if (strcmp(args->v[i], SDE) && !cb_str_has_prefix(args->v[i], SDE "="))
            cb_strv_push(&keep, args->v[i]);
    if (value)
        cb_strv_push_owned(&keep, xasprintf(SDE "=%s", value));
    cb_strv_free(args);
    *args = keep;
}

int bl_epoch_resolve(bl_build *b, cb_err *err)
{
    bool given;
    const char *v = build_arg_value(&b->build_args, &given);
    bool from_env = false;
    if (!given && getenv(SDE)) { /* buildx passes the environment's as the build arg */
        v = getenv(SDE);
        from_env = true;
    }
    int64_t n;
    if (v && (!*v || parse_int(v, &n))) {
        b->epoch = *v ? n : -1;
        return 0;
    }
    if (!v && !global_arg_declared(b->file)) {
        b->epoch = -1;
        return 0;
    }
    df_plan *p = NULL;
    int rc = 0;
    cleanup_free char *dflt = NULL;
    if (!v || strcmp(v, "context")) { /* the Dockerfile's default, or stages to look in */
        cb_err e;
        cb_err_clear(&e);
        if (trial_plan(b, &p, &e) < 0) {
            df_plan_free(p);
            b->epoch = -1;
            return 0; /* the build's own plan reports the error */
        }
        for (size_t i = 0; !v && i < p->n_global_args; i++)
            if (!strcmp(p->global_args[i].key, SDE) && p->global_args[i].value && *p->global_args[i].value)
                v = dflt = xstrdup(p->global_args[i].value);
    }
    if (!v) {
        df_plan_free(p);
        b->epoch = -1;
        return 0;
    }
    if (p) /* a source-only stage's ADD as the source policy converts it, as the build will */
        rc = bl_policy_plan(b, p, err);
    if (rc == 0)
        rc = resolve_value(b, p, v, &b->epoch, err);
    df_plan_free(p);
    if (rc < 0)
        return rc;
    /* setBuildArgValue: the number replaces the value everywhere, none removes it */
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)b->epoch);
    if (from_env)
        return 0;
    build_arg_set(&b->build_args, b->epoch >= 0 ? num : dflt ? "" : NULL);
    return 0;
}
