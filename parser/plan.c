/* Stage plan: BuildKit's instructions.Parse + the planning half of dockerfile2llb
 * (global ARGs, stage bases, typed options, expansion, dependencies, reachable stages). */
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ small helpers */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void env_set(cb_strv *env, const char *key, const char *value)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < env->n; i++) {
        const char *e = env->v[i];
        if (strncmp(e, key, kl) == 0 && (e[kl] == '=' || e[kl] == 0)) {
            free(env->v[i]);
            env->v[i] = xasprintf("%s=%s", key, value);
            return;
        }
    }
    cb_strv_push_owned(env, xasprintf("%s=%s", key, value));
}

static const char *env_get(const cb_strv *env, const char *key)
{
    size_t kl = strlen(key);
    const char *r = NULL;
    for (size_t i = 0; i < env->n; i++) {
        const char *e = env->v[i];
        if (strncmp(e, key, kl) == 0 && e[kl] == '=')
            r = e + kl + 1;
        else if (strcmp(e, key) == 0)
            r = "";
    }
    return r;
}

void df_strv_copy(cb_strv *dst, const cb_strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        cb_strv_push(dst, src->v[i]);
}

char *df_str_lower(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return u;
}

/* Prefix the message with file:line and show the instruction. */
int df_err_at(cb_err *err, const df_file *f, const df_instr *in)
{
    char msg[sizeof(err->msg)];
    memcpy(msg, err->msg, sizeof(msg));
    cb_buf b;
    cb_buf_init(&b);
    if (in->end_line > in->start_line)
        cb_buf_printf(&b, "%s:%d-%d: %s", f->filename, in->start_line, in->end_line, msg);
    else
        cb_buf_printf(&b, "%s:%d: %s", f->filename, in->start_line, msg);
    size_t tl = strcspn(in->original, "\n");
    cb_buf_printf(&b, "\n  %5d | %.*s%s", in->start_line, (int)(tl > 200 ? 200 : tl), in->original,
                  tl > 200 ? "..." : "");
    size_t n = b.len < sizeof(err->msg) - 1 ? b.len : sizeof(err->msg) - 1;
    memcpy(err->msg, b.data, n);
    err->msg[n] = 0;
    cb_buf_free(&b);
    return -(err->code ? err->code : EINVAL);
}

bool df_arg_is_predefined(const char *name)
{
    static const char *const pre[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (!strcmp(name, pre[i]))
            return true;
    return false;
}

bool df_keyword_expands(const char *kw)
{
    static const char *const ex[] = {"add",   "arg",    "copy", "env",    "expose",
                                     "label", "stopsignal", "user", "volume", "workdir"};
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
        if (!strcmp(kw, ex[i]))
            return true;
    return false;
}
/* --------------------------------------------------------------- the plan */

static void stage_free(df_stage *s)
{
    free(s->name);
    free(s->base);
    free(s->platform);
    for (size_t i = 0; i < s->n_cmds; i++)
        df_cmd_free(&s->cmds[i]);
    free(s->cmds);
    free(s->deps);
}

void df_plan_free(df_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_stages; i++)
        stage_free(&p->stages[i]);
    free(p->stages);
    for (size_t i = 0; i < p->n_global_args; i++) {
        free(p->global_args[i].key);
        free(p->global_args[i].value);
    }
    free(p->global_args);
    df_warnings_free(&p->warnings);
    free(p->lint_error);
    for (size_t i = 0; i < p->n_onbuild_files; i++)
        df_file_free(p->onbuild_files[i]);
    free(p->onbuild_files);
    free(p);
}

int df_plan_find_stage(const df_plan *p, const char *s)
{
    for (size_t i = 0; i < p->n_stages; i++)
        if (p->stages[i].name && !strcasecmp(p->stages[i].name, s))
            return (int)i;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && !*end && !errno && v >= 0 && (size_t)v < p->n_stages)
        return (int)v;
    return -1;
}

static bool valid_stage_name(const char *n)
{
    if (!(*n >= 'a' && *n <= 'z'))
        return false;
    for (const char *p = n + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static void global_add(cb_strv *g, const char *k, const char *v)
{
    env_set(g, k, v ? v : "");
}

typedef struct xctx {
    df_lex lx;
    const cb_strv *env;
    cb_strv *matched;
    cb_strv *unmatched; /* variables looked up but not set (UndefinedVar) */
} xctx;

static char *xexpand(void *ud, const char *word, cb_err *err, int *rc)
{
    xctx *x = ud;
    char *out = NULL;
    *rc = df_shell_word(&x->lx, word, x->env, &out, x->matched, x->unmatched, err);
    return out;
}

static int expand_in_place(xctx *x, char **s, cb_err *err)
{
    if (!*s)
        return 0;
    int rc;
    char *n = xexpand(x, *s, err, &rc);
    if (rc < 0)
        return rc;
    free(*s);
    *s = n;
    return 0;
}

static int expand_strv(xctx *x, cb_strv *v, cb_err *err)
{
    for (size_t i = 0; i < v->n; i++) {
        int rc = expand_in_place(x, &v->v[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Stage lookup for --from / from=: decimal index, then (case-insensitive) name. */
static int resolve_from(df_plan *p, const char *from, int *idx, cb_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(from, &end, 10);
    if (*from && !*end && !errno) {
        if (v < 0 || (size_t)v >= p->n_stages)
            return cb_fail(err, "invalid stage index %ld", v);
        *idx = (int)v;
        return 0;
    }
    *idx = -1;
    for (size_t i = p->n_stages; i-- > 0;)
        if (p->stages[i].name && !strcasecmp(p->stages[i].name, from)) {
            *idx = (int)i;
            break;
        }
    return 0;
}

static void add_dep(df_stage *s, int d)
{
    for (size_t i = 0; i < s->n_deps; i++)
        if (s->deps[i] == d)
            return;
    s->deps = xrealloc(s->deps, (s->n_deps + 1) * sizeof(int));
    size_t i = s->n_deps++;
    while (i > 0 && s->deps[i - 1] > d) {
        s->deps[i] = s->deps[i - 1];
        i--;
    }
    s->deps[i] = d;
}


/* Parse ONBUILD trigger expressions and put them before the stage's own commands. */
static int add_triggers(df_plan *p, const df_file *f, df_pstage *ps, const cb_strv *exprs, cb_err *err)
{
    if (!exprs->n)
        return 0;
    df_cmd *nc = xcalloc(exprs->n + ps->n, sizeof(df_cmd));
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < exprs->n && rc == 0; i++) {
        df_file *tf = NULL;
        if (df_parse(exprs->v[i], strlen(exprs->v[i]), f->filename, &tf, err) < 0) {
            rc = df_err_at(err, f, ps->from);
            break;
        }
        p->onbuild_files = xrealloc(p->onbuild_files, (p->n_onbuild_files + 1) * sizeof(df_file *));
        p->onbuild_files[p->n_onbuild_files++] = tf;
        if (tf->n_instrs != 1) {
            cb_fail(err, "onbuild trigger should be a single expression");
            rc = df_err_at(err, f, ps->from);
            break;
        }
        df_instr *in = &tf->instrs[0];
        in->start_line = ps->from->start_line;
        in->end_line = ps->from->end_line;
        df_cmd *c = &nc[k];
        cb_strv_init(&c->args);
        if (df_cmd_parse_typed(in, c, err) < 0) {
            cb_error_wrap(err, "ONBUILD trigger \"%s\"", exprs->v[i]);
            df_cmd_free(c);
            memset(c, 0, sizeof(*c));
            rc = df_err_at(err, f, ps->from);
            break;
        }
        k++;
    }
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            df_cmd_free(&nc[i]);
        free(nc);
        return rc;
    }
    memcpy(nc + k, ps->cmds, ps->n * sizeof(df_cmd));
    free(ps->cmds);
    ps->cmds = nc;
    ps->n += k;
    ps->n_triggers += k;
    return 0;
}

/* Stage dependencies of one command, from the raw --from / from= values. */
static int cmd_deps(df_plan *p, const df_file *f, size_t i, df_cmd *c, cb_err *err)
{
    if (c->kind == DF_CMD_COPY && c->from) {
        if (strchr(c->from, '$')) {
            /* BuildKit's text first (users search for it), our hint after it */
            cb_fail(err,
                    "variable expansion is not supported for --from, define a new stage with FROM using ARG "
                    "from global scope as a workaround (COPY --from=%s: --from does not expand variables; "
                    "e.g. ARG VAR at the top, FROM ${VAR} AS src, COPY --from=src)",
                    c->from);
            return df_err_at(err, f, c->instr);
        }
        if (resolve_from(p, c->from, &c->from_stage, err) < 0)
            return df_err_at(err, f, c->instr);
        if (c->from_stage >= 0)
            add_dep(&p->stages[i], c->from_stage);
    }
    if (c->kind != DF_CMD_RUN)
        return 0;
    for (size_t m = 0; m < c->instr->n_flags; m++) {
        const df_flag *fl = &c->instr->flags[m];
        if (strcmp(fl->name, "mount") || !fl->value)
            continue;
        df_mount mt;
        if (df_mount_parse(fl->value, &mt, NULL, NULL, 0, err) < 0)
            return df_err_at(err, f, c->instr);
        int idx = -1;
        int r2 = mt.from ? resolve_from(p, mt.from, &idx, err) : 0;
        free(mt.target);
        free(mt.source);
        free(mt.from);
        free(mt.id);
        free(mt.env);
        if (r2 < 0)
            return df_err_at(err, f, c->instr);
        if (idx >= 0)
            add_dep(&p->stages[i], idx);
    }
    return 0;
}

static void mark_needed(df_plan *p, int i)
{
    if (p->stages[i].needed)
        return;
    p->stages[i].needed = true;
    for (size_t k = 0; k < p->stages[i].n_deps; k++)
        mark_needed(p, p->stages[i].deps[k]);
}

static bool cycle_from(df_plan *p, int i, uint8_t *state)
{
    if (state[i] == 1)
        return true;
    if (state[i] == 2)
        return false;
    state[i] = 1;
    for (size_t k = 0; k < p->stages[i].n_deps; k++)
        if (cycle_from(p, p->stages[i].deps[k], state))
            return true;
    state[i] = 2;
    return false;
}

typedef struct sstate {
    cb_strv env;        /* state env: image env + ENV + ARG */
    cb_strv build_args; /* ARGs with values */
    cb_strv declared;   /* every ARG name declared (with or without a value) */
    bool env_known;     /* the base environment is known (scratch root or base_env callback) */
} sstate;


/* UndefinedVar (reportUnmatchedVariables): a variable expanded but neither set nor declared
 * as an ARG; suggests the closest name in the environment. */
static void report_undefined(df_plan *p, const df_cmd *c, const sstate *ss, const cb_strv *unmatched)
{
    for (size_t i = 0; i < unmatched->n; i++) {
        const char *v = unmatched->v[i];
        if (cb_strv_contains(&ss->declared, v) || !strcmp(v, "BUILDKIT_SBOM_SCAN_CONTEXT") ||
            !strcmp(v, "BUILDKIT_SBOM_SCAN_STAGE"))
            continue;
        const char **keys = xcalloc(ss->env.n + 1, sizeof(char *));
        char **owned = xcalloc(ss->env.n + 1, sizeof(char *));
        for (size_t k = 0; k < ss->env.n; k++)
            keys[k] = owned[k] = xstrndup(ss->env.v[k], strcspn(ss->env.v[k], "="));
        const char *s = cb_suggest(v, keys, ss->env.n);
        if (s)
            df_warnings_add(&p->warnings, c->instr->start_line,
                            "UndefinedVar: Usage of undefined variable '$%s' (did you mean $%s?)", v, s);
        else
            df_warnings_add(&p->warnings, c->instr->start_line, "UndefinedVar: Usage of undefined variable '$%s'", v);
        for (size_t k = 0; k < ss->env.n; k++)
            free(owned[k]);
        free(owned);
        free(keys);
    }
}

/* go-digest's Digest.Validate with the algorithms cbuild verifies (sha256), and its texts. */
static int checksum_validate(const char *s, cb_err *err)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return cb_fail(err, "invalid checksum digest format");
    size_t alen = (size_t)(colon - s), elen = strlen(colon + 1);
    if (alen != 6 || strncmp(s, "sha256", 6)) {
        /* the anchored DigestRegexp: [a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+ */
        bool ok = islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]);
        for (size_t i = 1; ok && i < alen; i++) {
            bool alnum = islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]);
            ok = alnum || (strchr(".+_-", s[i]) && i + 1 < alen &&
                           (islower((unsigned char)s[i + 1]) || isdigit((unsigned char)s[i + 1])));
        }
        for (size_t i = 0; ok && i < elen; i++)
            ok = isalnum((unsigned char)colon[1 + i]) || strchr("=_-", colon[1 + i]);
        return cb_fail(err, ok ? "unsupported digest algorithm" : "invalid checksum digest format");
    }
    if (elen != 64)
        return cb_fail(err, "invalid checksum digest length");
    for (size_t i = 0; i < elen; i++)
        if (!isdigit((unsigned char)colon[1 + i]) && !(colon[1 + i] >= 'a' && colon[1 + i] <= 'f'))
            return cb_fail(err, "invalid checksum digest format");
    return 0;
}

/* A git source for ADD --checksum (builder/git.c parses it in full): git://, ssh://, user@host:…,
 * or an HTTP(S) URL whose path ends with .git. */
static bool looks_like_git(const char *s)
{
    if (cb_str_has_prefix(s, "git://") || cb_str_has_prefix(s, "ssh://") ||
        (strchr(s, '@') && strchr(s, ':') > strchr(s, '@') && !strstr(s, "://")))
        return true;
    size_t n = strcspn(s, "?#");
    return (cb_str_has_prefix(s, "http://") || cb_str_has_prefix(s, "https://")) && n >= 4 &&
           !strncmp(s + n - 4, ".git", 4);
}

/* Expand one command in place (BuildKit's dispatch: Expand / ExpandRaw / ARG). */
static int dispatch_cmd(df_plan *p, const df_file *f, const cb_strv *globals, const cb_strv *build_arg_values,
                        cb_strv *consumed, sstate *ss, df_cmd *c, int ssh_base, cb_strv *unmatched, cb_err *err)
{
    (void)p;
    xctx x = {{.escape = f->escape}, &ss->env, NULL, unmatched};
    int rc = 0;
    switch (c->kind) {
    case DF_CMD_ENV:
    case DF_CMD_LABEL:
        for (size_t i = 0; i < c->n_kvs && rc == 0; i++) {
            rc = expand_in_place(&x, &c->kvs[i].key, err);
            if (rc == 0)
                rc = expand_in_place(&x, &c->kvs[i].value, err);
            if (rc == 0 && c->kind == DF_CMD_ENV)
                env_set(&ss->env, c->kvs[i].key, c->kvs[i].value);
        }
        break;
    case DF_CMD_ADD:
    case DF_CMD_COPY:
        if ((rc = expand_in_place(&x, &c->chown, err)) < 0 || (rc = expand_in_place(&x, &c->chmod, err)) < 0 ||
            (rc = expand_in_place(&x, &c->checksum, err)) < 0 || (rc = expand_strv(&x, &c->args, err)) < 0 ||
            (rc = expand_strv(&x, &c->excludes, err)) < 0)
            break;
        for (size_t i = 0; i < c->n_inline_files && rc == 0; i++) {
            if (!c->inline_files[i].expand)
                continue;
            xctx raw = {{.escape = '\\', .skip_process_quotes = true}, &ss->env, NULL, unmatched};
            rc = expand_in_place(&raw, &c->inline_files[i].content, err);
        }
        if (rc == 0 && c->chmod)
            rc = df_chmod_check(c->chmod, err);
        if (rc == 0 && c->checksum) {
            if (c->kind == DF_CMD_COPY)
                rc = cb_fail(err, "checksum can't be specified for COPY");
            else if (c->args.n != 2)
                rc = cb_fail(err, "checksum can't be specified for multiple sources");
            else if (looks_like_git(c->args.v[0]))
                ; /* a commit: checked against the resolved ref by the builder */
            else if (!cb_str_has_prefix(c->args.v[0], "http://") && !cb_str_has_prefix(c->args.v[0], "https://"))
                rc = cb_fail(err, "checksum requires HTTP(S) or Git sources");
            else
                rc = checksum_validate(c->checksum, err);
        }
        break;
    case DF_CMD_WORKDIR:
    case DF_CMD_USER:
    case DF_CMD_STOPSIGNAL:
    case DF_CMD_VOLUME:
        rc = expand_strv(&x, &c->args, err);
        if (rc == 0 && c->kind == DF_CMD_VOLUME)
            for (size_t i = 0; i < c->args.n; i++)
                if (!*c->args.v[i])
                    rc = cb_fail(err, "VOLUME specified can not be an empty string");
        break;
    case DF_CMD_EXPOSE: {
        cb_strv ports;
        cb_strv_init(&ports);
        /* BuildKit's parseExpose sorts the words as written, before expansion */
        if (c->args.n > 1)
            qsort(c->args.v, c->args.n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < c->args.n && rc == 0; i++)
            rc = df_shell_words(&x.lx, c->args.v[i], &ss->env, &ports, err);
        for (size_t i = 0; i < ports.n && rc == 0; i++)
            rc = df_cmd_add_port(c, ports.v[i], err);
        if (rc == 0) {
            cb_strv_free(&c->args);
            c->args = ports;
        } else {
            cb_strv_free(&ports);
        }
        break;
    }
    case DF_CMD_ARG:
        for (size_t i = 0; i < c->n_kvs && rc == 0; i++) {
            df_kv *kv = &c->kvs[i];
            const char *bav = env_get(build_arg_values, kv->key);
            if (!cb_strv_contains(&ss->declared, kv->key))
                cb_strv_push(&ss->declared, kv->key);
            if (bav && !cb_strv_contains(consumed, kv->key))
                cb_strv_push(consumed, kv->key);
            if (!kv->value && !bav) {
                const char *g = env_get(globals, kv->key);
                if (g)
                    kv->value = xstrdup(g);
            } else if (bav) {
                free(kv->value);
                kv->value = xstrdup(bav);
            } else {
                rc = expand_in_place(&x, &kv->value, err);
            }
            if (rc == 0 && kv->value) {
                if (strcmp(kv->key, "BUILDKIT_SBOM_SCAN_CONTEXT") && strcmp(kv->key, "BUILDKIT_SBOM_SCAN_STAGE"))
                    env_set(&ss->env, kv->key, kv->value);
                env_set(&ss->build_args, kv->key, kv->value);
            }
        }
        break;
    case DF_CMD_RUN: {
        bool present;
        (void)present;
        int ssh = ssh_base;
        for (size_t k = 0; k < c->instr->n_flags && rc == 0; k++) {
            const df_flag *fl = &c->instr->flags[k];
            if (strcmp(fl->name, "mount"))
                continue;
            df_mount m;
            rc = df_mount_parse(fl->value, &m, xexpand, &x, ssh, err);
            if (rc < 0)
                break;
            if (m.type == DF_MOUNT_SSH)
                ssh++;
            c->mounts = xrealloc(c->mounts, (c->n_mounts + 1) * sizeof(df_mount));
            c->mounts[c->n_mounts++] = m;
        }
        break;
    }
    default:
        break;
    }
    if (rc == 0 && c->kind == DF_CMD_RUN) {
        /* only RUN needs the state: it runs with it and its cache key includes the ARGs */
        df_strv_copy(&c->env, &ss->env);
        df_strv_copy(&c->build_args, &ss->build_args);
    }
    return rc;
}

/* State of one df_plan_new call, shared by its phases. */
typedef struct planctx {
    df_plan *p;
    const df_file *f;
    const df_plan_opts *opts;
    cb_strv bargs, globals, meta_declared, consumed;
    cb_strv defaults; /* the global ARGs as if no --build-arg were given (InvalidDefaultArgInFrom) */
    df_pstage *ps;
    size_t nps;
    df_cmd *meta; /* ARGs before the first FROM */
    size_t nmeta;
    char *tp_norm, *bp_norm;
    const char *tp, *bp;
    df_lex lx;
    long parse_error_at; /* the instruction an instruction parse failed on, or -1 */
    char *parse_error;   /* its message, without location or suggestion */
} planctx;

static void planctx_free(planctx *x)
{
    for (size_t i = 0; i < x->nmeta; i++)
        df_cmd_free(&x->meta[i]);
    free(x->meta);
    for (size_t i = 0; i < x->nps; i++) {
        for (size_t k = 0; k < x->ps[i].n; k++)
            df_cmd_free(&x->ps[i].cmds[k]);
        free(x->ps[i].cmds);
        free(x->ps[i].raw_base);
        free(x->ps[i].raw_platform);
    }
    free(x->ps);
    free(x->parse_error);
    cb_strv_free(&x->bargs);
    cb_strv_free(&x->globals);
    cb_strv_free(&x->meta_declared);
    cb_strv_free(&x->defaults);
    cb_strv_free(&x->consumed);
    free(x->tp_norm);
    free(x->bp_norm);
}

/* 0. --build-arg K=V, or K alone (value from the environment; dropped when unset, as docker does) */
static int plan_read_opts(planctx *x, cb_err *err)
{
    const df_plan_opts *opts = x->opts;
    for (size_t i = 0; i < opts->n_build_args; i++) {
        const char *a = opts->build_args[i];
        const char *eq = strchr(a, '=');
        if (eq == a)
            return cb_fail(err, "invalid --build-arg \"%s\": empty name", a);
        if (eq) {
            char *k = xstrndup(a, (size_t)(eq - a));
            env_set(&x->bargs, k, eq + 1);
            free(k);
        } else if (getenv(a)) {
            env_set(&x->bargs, a, getenv(a));
        }
    }
    int rc;
    if (opts->target_platform) {
        if ((rc = df_platform_normalize(opts->target_platform, &x->tp_norm, err)) < 0)
            return rc;
        x->tp = x->tp_norm;
    }
    if (opts->build_platform) {
        if ((rc = df_platform_normalize(opts->build_platform, &x->bp_norm, err)) < 0)
            return rc;
        x->bp = x->bp_norm;
    }
    return 0;
}

static int plan_add_stage(planctx *x, const df_instr *in, cb_err *err)
{
    static const df_fspec from_f[] = {{"platform", DF_F_STRING}};
    df_fval v[1];
    memset(v, 0, sizeof(v));
    const cb_strv *a = &in->args;
    if (a->n == 3 && !strcasecmp(a->v[1], "as")) {
        char *nm = df_str_lower(a->v[2]);
        bool ok = valid_stage_name(nm);
        free(nm);
        if (!ok) {
            cb_fail(err, "invalid name for build stage: \"%s\", name can't start with a number or contain symbols",
                    a->v[2]);
            return df_err_at(err, x->f, in);
        }
    } else if (a->n != 1) {
        cb_fail(err, "FROM requires either one or three arguments");
        return df_err_at(err, x->f, in);
    }
    if (df_flags_parse(in, from_f, 1, v, err) < 0) {
        df_flags_free(v, 1);
        return df_err_at(err, x->f, in);
    }
    x->ps = xrealloc(x->ps, (x->nps + 1) * sizeof(df_pstage));
    df_pstage *s = &x->ps[x->nps++];
    memset(s, 0, sizeof(df_pstage));
    s->from = in;
    s->raw_base = xstrdup(a->v[0]);
    s->raw_platform = df_flag_str(&v[0]);
    df_flags_free(v, 1);
    return 0;
}

/* 1. typed parse, stages */
static int plan_parse_instrs(planctx *x, cb_err *err)
{
    const df_file *f = x->f;
    for (size_t i = 0; i < f->n_instrs; i++) {
        const df_instr *in = &f->instrs[i];
        int rc;
        if (!strcmp(in->keyword, "from")) {
            if ((rc = plan_add_stage(x, in, err)) < 0) {
                x->parse_error_at = (long)i;
                return rc;
            }
            continue;
        }
        df_cmd c;
        memset(&c, 0, sizeof(c));
        cb_strv_init(&c.args);
        if (df_cmd_parse_typed(in, &c, err) < 0) {
            df_cmd_free(&c);
            x->parse_error_at = (long)i;
            x->parse_error = xstrndup(err->msg, strcspn(err->msg, "("));
            for (size_t n = strlen(x->parse_error); n && x->parse_error[n - 1] == ' ';)
                x->parse_error[--n] = 0;
            return df_err_at(err, f, in);
        }
        if (x->nps == 0) {
            if (c.kind != DF_CMD_ARG) {
                df_cmd_free(&c);
                cb_fail(err, "no build stage in current context (only ARG may come before the first FROM)");
                return df_err_at(err, f, in);
            }
            x->meta = xrealloc(x->meta, (x->nmeta + 1) * sizeof(df_cmd));
            x->meta[x->nmeta++] = c;
            continue;
        }
        df_pstage *s = &x->ps[x->nps - 1];
        s->cmds = xrealloc(s->cmds, (s->n + 1) * sizeof(df_cmd));
        s->cmds[s->n++] = c;
    }
    if (x->nps == 0)
        return cb_fail(err, "%s: dockerfile contains no stages to build (no FROM instruction)", f->filename);
    /* BuildKit reports it on the instruction's last line */
    for (size_t i = 0; i < f->warnings.n; i++) {
        int line = f->warnings.v[i].line;
        for (size_t k = 0; k < f->n_instrs; k++)
            if (f->instrs[k].start_line == f->warnings.v[i].line)
                line = f->instrs[k].end_line;
        df_warnings_add(&x->p->warnings, line, "NoEmptyContinuation: Empty continuation line");
    }
    df_lint_file(x->p, f);
    return 0;
}

/* 2. global args: platform args, then ARGs before the first FROM */
static int plan_global_args(planctx *x, cb_err *err)
{
    df_plan *p = x->p;
    char *tos, *tarch, *tvar, *bos, *barch, *bvar;
    df_platform_split(x->tp, &tos, &tarch, &tvar);
    df_platform_split(x->bp, &bos, &barch, &bvar);
    cleanup_free char *tver = df_platform_os_version(x->tp), *bver = df_platform_os_version(x->bp);
    const char *target_name = x->opts->target;
    char *last_name = NULL;
    if (!target_name || !*target_name) {
        const df_instr *last = x->ps[x->nps - 1].from;
        /* BuildKit's defaultArgs: the last stage's name, "default" for an unnamed one */
        target_name = last->args.n == 3 ? (last_name = df_str_lower(last->args.v[2])) : "default";
    }
    const char *kv[][2] = {{"BUILDPLATFORM", x->bp}, {"BUILDOS", bos},         {"BUILDOSVERSION", bver},
                           {"BUILDARCH", barch},     {"BUILDVARIANT", bvar},   {"TARGETPLATFORM", x->tp},
                           {"TARGETOS", tos},        {"TARGETOSVERSION", tver}, {"TARGETARCH", tarch},
                           {"TARGETVARIANT", tvar},  {"TARGETSTAGE", target_name}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        const char *ov = env_get(&x->bargs, kv[i][0]);
        global_add(&x->globals, kv[i][0], ov ? ov : kv[i][1]);
        global_add(&x->defaults, kv[i][0], kv[i][1]);
    }
    free(last_name);
    free(tos);
    free(tarch);
    free(tvar);
    free(bos);
    free(barch);
    free(bvar);
    for (size_t i = 0; i < x->nmeta; i++) {
        df_cmd *c = &x->meta[i];
        for (size_t k = 0; k < c->n_kvs; k++) {
            df_kv *kv = &c->kvs[k];
            const char *bav = env_get(&x->bargs, kv->key);
            cb_strv_push(&x->meta_declared, kv->key);
            if (kv->value) {
                char *d = NULL;
                cb_err ignored;
                if (df_shell_word(&x->lx, kv->value, &x->defaults, &d, NULL, NULL, &ignored) == 0)
                    global_add(&x->defaults, kv->key, d);
                free(d);
            }
            if (bav) {
                free(kv->value);
                kv->value = xstrdup(bav);
            } else if (kv->value) {
                char *o = NULL;
                if (df_shell_word(&x->lx, kv->value, &x->globals, &o, NULL, NULL, err) < 0)
                    return df_err_at(err, x->f, c->instr);
                free(kv->value);
                kv->value = o;
            }
            if (kv->value)
                global_add(&x->globals, kv->key, kv->value);
            p->global_args = xrealloc(p->global_args, (p->n_global_args + 1) * sizeof(df_kv));
            p->global_args[p->n_global_args].key = xstrdup(kv->key);
            p->global_args[p->n_global_args].value = kv->value ? xstrdup(kv->value) : NULL;
            p->n_global_args++;
        }
    }
    return 0;
}

static int plan_stage_platform(planctx *x, df_stage *s, const df_pstage *ps, cb_err *err)
{
    char *o = NULL;
    if (df_shell_word(&x->lx, ps->raw_platform, &x->globals, &o, NULL, NULL, err) < 0) {
        cb_error_wrap(err, "failed to process arguments for platform %s", ps->raw_platform);
        return df_err_at(err, x->f, ps->from);
    }
    if (!*o) {
        free(o);
        cb_fail(err, "empty platform value from expression %s", ps->raw_platform);
        return df_err_at(err, x->f, ps->from);
    }
    char *norm = NULL;
    int rc = df_platform_normalize(o, &norm, err);
    free(o);
    if (rc < 0)
        return df_err_at(err, x->f, ps->from);
    s->platform = norm;
    return 0;
}

/* 3. stages: expand FROM with the global args, find bases among earlier stages */
static int plan_stages(planctx *x, cb_err *err)
{
    df_plan *p = x->p;
    df_pstage *ps = x->ps;
    size_t nps = x->nps;
    p->stages = xcalloc(nps, sizeof(df_stage));
    p->n_stages = nps;
    for (size_t i = 0; i < nps; i++) {
        df_stage *s = &p->stages[i];
        ps[i].st = s;
        s->index = (int)i;
        s->from = ps[i].from;
        s->base_stage = -1;
        if (ps[i].from->args.n == 3)
            s->name = df_str_lower(ps[i].from->args.v[2]);
        char *o = NULL;
        cb_strv unm;
        cb_strv_init(&unm);
        if (df_shell_word(&x->lx, ps[i].raw_base, &x->globals, &o, NULL, &unm, err) < 0) {
            cb_strv_free(&unm);
            return df_err_at(err, x->f, ps[i].from);
        }
        for (size_t k = 0; k < unm.n; k++)
            if (!cb_strv_contains(&x->meta_declared, unm.v[k]))
                df_warnings_add(&p->warnings, ps[i].from->start_line,
                                "UndefinedArgInFrom: FROM argument '%s' is not declared", unm.v[k]);
        cb_strv_free(&unm);
        char *dflt = NULL;
        cb_err ignored;
        if (strchr(ps[i].raw_base, '$') &&
            df_shell_word(&x->lx, ps[i].raw_base, &x->defaults, &dflt, NULL, NULL, &ignored) == 0 &&
            !df_lint_ref_valid(dflt))
            df_warnings_add(&p->warnings, ps[i].from->start_line,
                            "InvalidDefaultArgInFrom: Default value for ARG %s results in empty or invalid base image name",
                            ps[i].raw_base);
        free(dflt);
        if (!*o) {
            free(o);
            cb_fail(err, "base name (%s) should not be blank", ps[i].raw_base);
            return df_err_at(err, x->f, ps[i].from);
        }
        s->base = o;
        int rc;
        if (ps[i].raw_platform && (rc = plan_stage_platform(x, s, &ps[i], err)) < 0)
            return rc;
        if (s->name && x->opts->named_context && x->opts->named_context(x->opts->ud, s->name)) {
            free(s->base);
            s->base = xstrdup(s->name);
            for (size_t k = 0; k < ps[i].n; k++)
                df_cmd_free(&ps[i].cmds[k]);
            free(ps[i].cmds);
            ps[i].cmds = NULL;
            ps[i].n = 0;
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if (p->stages[k].name && !strcmp(p->stages[k].name, s->base)) {
                s->base_stage = (int)k; /* the latest earlier stage of that name */
            }
        }
        if (s->base_stage >= 0)
            add_dep(s, s->base_stage);
        if (s->name) {
            for (size_t k = 0; k < i; k++)
                if (p->stages[k].name && !strcmp(p->stages[k].name, s->name))
                    df_warnings_add(&p->warnings, ps[i].from->start_line,
                                    "DuplicateStageName: Duplicate stage name \"%s\", stage names should be unique",
                                    s->name);
            if (!strcmp(s->name, "scratch") || !strcmp(s->name, "context"))
                df_warnings_add(&p->warnings, ps[i].from->start_line,
                                "ReservedStageName: Stage name should not use the same name as reserved stage \"%s\"",
                                s->name);
        }
    }
    return 0;
}

/* 4. ONBUILD instructions of a base stage run first in the stages built on it */
static int plan_stage_triggers(planctx *x, cb_err *err)
{
    df_pstage *ps = x->ps;
    for (size_t i = 0; i < x->nps; i++) {
        int b = x->p->stages[i].base_stage;
        if (b < 0)
            continue;
        cb_strv trig;
        cb_strv_init(&trig);
        for (size_t k = 0; k < ps[b].n; k++)
            if (ps[b].cmds[k].kind == DF_CMD_ONBUILD && ps[b].cmds[k].args.n)
                cb_strv_push(&trig, ps[b].cmds[k].args.v[0]);
        int rc = add_triggers(x->p, x->f, &ps[i], &trig, err);
        cb_strv_free(&trig);
        if (rc < 0)
            return rc;
    }
    df_lint_stages(x->p, x->f, ps, x->nps);
    return 0;
}

/* 5. dependencies from raw --from / from= (BuildKit resolves them before expansion) */
static int plan_deps(planctx *x, cb_err *err)
{
    df_plan *p = x->p;
    int rc;
    for (size_t i = 0; i < x->nps; i++)
        for (size_t k = 0; k < x->ps[i].n; k++)
            if ((rc = cmd_deps(p, x->f, i, &x->ps[i].cmds[k], err)) < 0)
                return rc;
    uint8_t *state = xcalloc(x->nps, 1);
    rc = 0;
    for (size_t i = 0; i < x->nps && rc == 0; i++)
        if (cycle_from(p, (int)i, state))
            rc = cb_fail(err, "%s: circular dependency detected on stage: %s", x->f->filename,
                         p->stages[i].name ? p->stages[i].name : "(unnamed)");
    free(state);
    return rc;
}

/* 6. target and the stages it needs */
static int plan_target(planctx *x, cb_err *err)
{
    df_plan *p = x->p;
    const char *target = x->opts->target;
    p->target = (int)x->nps - 1;
    if (target) {
        p->target = -1;
        for (size_t i = 0; i < x->nps; i++)
            if (p->stages[i].name && !strcasecmp(p->stages[i].name, target))
                p->target = (int)i;
        if (p->target < 0) {
            const char *names[256];
            size_t nn = 0;
            for (size_t i = 0; i < x->nps && nn < 256; i++)
                if (p->stages[i].name)
                    names[nn++] = p->stages[i].name;
            const char *s = cb_suggest(target, names, nn);
            return s ? cb_fail(err, "target stage \"%s\" could not be found (did you mean %s?)", target, s)
                     : cb_fail(err, "target stage \"%s\" could not be found", target);
        }
    }
    mark_needed(p, p->target);
    return 0;
}

static int plan_base_triggers_of(planctx *x, size_t i, bool *again, cb_err *err)
{
    df_plan *p = x->p;
    df_stage *s = &p->stages[i];
    cb_strv trig;
    cb_strv_init(&trig);
    int rc;
    if (x->opts->base_onbuild(x->opts->ud, s->base, s->platform ? s->platform : x->tp, &trig, err) < 0) {
        cb_error_wrap(err, "%s", s->base);
        rc = df_err_at(err, x->f, s->from);
    } else {
        size_t before = x->ps[i].n;
        rc = add_triggers(p, x->f, &x->ps[i], &trig, err);
        for (size_t k = 0; rc == 0 && k < x->ps[i].n - before; k++)
            rc = cmd_deps(p, x->f, i, &x->ps[i].cmds[k], err);
        for (size_t k = 0; k < s->n_deps; k++)
            if (!p->stages[s->deps[k]].needed) {
                mark_needed(p, s->deps[k]);
                *again = true;
            }
    }
    cb_strv_free(&trig);
    return rc;
}

/* 6b. ONBUILD triggers of base images (needed stages only); new deps may need more stages */
static int plan_base_triggers(planctx *x, cb_err *err)
{
    if (!x->opts->base_onbuild)
        return 0;
    int rc = 0;
    bool *asked = xcalloc(x->nps, sizeof(bool));
    bool again = true;
    while (again && rc == 0) {
        again = false;
        for (size_t i = 0; i < x->nps && rc == 0; i++) {
            df_stage *s = &x->p->stages[i];
            if (!s->needed || asked[i] || s->base_stage >= 0 || !strcmp(s->base, "scratch"))
                continue;
            asked[i] = true;
            rc = plan_base_triggers_of(x, i, &again, err);
        }
    }
    free(asked);
    return rc;
}

/* InvalidBaseImagePlatform (validateBaseImagePlatform): the image's os or architecture is not
 * the stage's; both named normalised (platforms.FormatAll(platforms.Normalize(p))). */
static void lint_base_platform(planctx *x, const df_stage *s)
{
    const char *want = s->platform ? s->platform : x->tp;
    char *have = x->opts->base_platform ? x->opts->base_platform(x->opts->ud, s->base, want) : NULL;
    if (!have)
        return;
    char *wo, *wa, *wv, *ho, *ha, *hv;
    df_platform_split(want, &wo, &wa, &wv);
    df_platform_split(have, &ho, &ha, &hv);
    if (strcmp(wo, ho) || strcmp(wa, ha)) {
        char *hc = df_platform_canonical(have), *wc = df_platform_canonical(want);
        df_warnings_add(&x->p->warnings, s->from->start_line,
                        "InvalidBaseImagePlatform: Base image %s was pulled with platform \"%s\", expected \"%s\" for "
                        "current build",
                        s->base, hc, wc);
        free(hc);
        free(wc);
    }
    free(wo), free(wa), free(wv), free(ho), free(ha), free(hv);
    free(have);
}

/* The environment a stage starts with: its base stage's, or the base image's (when asked). */
static int plan_stage_env(planctx *x, size_t i, sstate *states, cb_err *err)
{
    df_stage *s = &x->p->stages[i];
    sstate *ss = &states[i];
    ss->env_known = s->base_stage >= 0 ? states[s->base_stage].env_known
                                        : (!strcmp(s->base, "scratch") || x->opts->base_env != NULL);
    if (s->base_stage >= 0) {
        df_strv_copy(&ss->env, &states[s->base_stage].env);
        df_strv_copy(&ss->build_args, &states[s->base_stage].build_args);
        df_strv_copy(&ss->declared, &states[s->base_stage].declared);
    } else if (strcmp(s->base, "scratch") != 0 && s->needed && x->opts->base_env) {
        cb_strv img;
        cb_strv_init(&img);
        if (x->opts->base_env(x->opts->ud, s->base, s->platform ? s->platform : x->tp, &img, err) < 0) {
            cb_strv_free(&img);
            cb_error_wrap(err, "%s", s->base);
            return df_err_at(err, x->f, s->from);
        }
        for (size_t k = 0; k < img.n; k++) {
            const char *eq = strchr(img.v[k], '=');
            char *key = eq ? xstrndup(img.v[k], (size_t)(eq - img.v[k])) : xstrdup(img.v[k]);
            env_set(&ss->env, key, eq ? eq + 1 : "");
            free(key);
        }
        cb_strv_free(&img);
        lint_base_platform(x, s);
    }
    if (s->base_stage < 0 && !env_get(&ss->env, "PATH"))
        env_set(&ss->env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    return 0;
}

static int plan_dispatch_stage(planctx *x, size_t i, sstate *ss, cb_err *err)
{
    df_plan *p = x->p;
    df_stage *s = &p->stages[i];
    s->cmds = x->ps[i].cmds;
    s->n_cmds = x->ps[i].n;
    s->n_triggers = x->ps[i].n_triggers;
    x->ps[i].cmds = NULL;
    x->ps[i].n = 0;
    int ssh = 0;
    for (size_t k = 0; k < s->n_cmds; k++) {
        df_cmd *c = &s->cmds[k];
        cb_err e2 = {0};
        cb_strv ignored, unm;
        cb_strv_init(&ignored);
        cb_strv_init(&unm);
        int r = dispatch_cmd(p, x->f, &x->globals, &x->bargs, s->needed ? &x->consumed : &ignored, ss, c, ssh, &unm,
                             s->needed ? err : &e2);
        /* a lint request reports every stage (BuildKit lints them all), a build its own */
        if (r == 0 && (s->needed || x->opts->lint_only) && ss->env_known)
            report_undefined(p, c, ss, &unm);
        cb_strv_free(&unm);
        cb_strv_free(&ignored);
        if (r < 0 && s->needed)
            return df_err_at(err, x->f, c->instr);
        for (size_t m = 0; m < c->n_mounts; m++)
            ssh += c->mounts[m].type == DF_MOUNT_SSH;
        if (c->kind == DF_CMD_COPY && c->from_stage >= 0 && s->needed && (size_t)c->from_stage > i) {
            cb_fail(err, "cannot copy from stage \"%s\", it needs to be defined before current stage \"%s\"", c->from,
                    s->name ? s->name : "");
            return df_err_at(err, x->f, c->instr);
        }
        for (size_t m = 0; m < c->n_mounts; m++) {
            df_mount *mt = &c->mounts[m];
            if (mt->from) {
                cb_err e3;
                resolve_from(p, mt->from, &mt->from_stage, &e3);
            }
        }
    }
    return 0;
}

/* 7. dispatch: expand every stage in order, as BuildKit does for the reachable ones */
static int plan_dispatch(planctx *x, cb_err *err)
{
    sstate *states = xcalloc(x->nps, sizeof(sstate));
    int rc = 0;
    for (size_t i = 0; i < x->nps && rc == 0; i++) {
        cb_strv_init(&states[i].env);
        cb_strv_init(&states[i].build_args);
        cb_strv_init(&states[i].declared);
        rc = plan_stage_env(x, i, states, err);
        if (rc == 0)
            rc = plan_dispatch_stage(x, i, &states[i], err);
    }
    for (size_t i = 0; i < x->nps; i++) {
        cb_strv_free(&states[i].env);
        cb_strv_free(&states[i].build_args);
        cb_strv_free(&states[i].declared);
    }
    free(states);
    return rc;
}

/* warnings in file order (0 = not tied to a line: last), then the check= directive */
static int plan_finish_warnings(planctx *x, cb_err *err)
{
    df_plan *p = x->p;
    df_lint_ignored(p, x->opts->ignore);
    /* a build reports the instructions of the stages it runs (a lint request: all of them) */
    for (size_t i = 0; i < p->n_stages && !x->opts->lint_only; i++) {
        if (p->stages[i].needed)
            continue;
        size_t w = 0;
        for (size_t k = 0; k < p->warnings.n; k++) {
            bool drop = false;
            for (size_t c = 0; c < p->stages[i].n_cmds && !drop; c++)
                drop = p->stages[i].cmds[c].instr->start_line == p->warnings.v[k].line &&
                       !cb_str_has_prefix(p->warnings.v[k].msg, "ConsistentInstructionCasing:") &&
                       !cb_str_has_prefix(p->warnings.v[k].msg, "NoEmptyContinuation:");
            if (drop)
                free(p->warnings.v[k].msg);
            else
                p->warnings.v[w++] = p->warnings.v[k];
        }
        p->warnings.n = w;
    }
    for (size_t i = 1; i < p->warnings.n; i++) {
        df_warning w = p->warnings.v[i];
        size_t j = i;
        unsigned wl = (unsigned)w.line - 1u;
        while (j > 0 && (unsigned)p->warnings.v[j - 1].line - 1u > wl) {
            p->warnings.v[j] = p->warnings.v[j - 1];
            j--;
        }
        p->warnings.v[j] = w;
    }
    const char *cfg = env_get(&x->bargs, "BUILDKIT_DOCKERFILE_CHECK");
    int rc = df_lint_apply_check(p, x->f, cfg ? cfg : x->f->check, err);
    if (rc < 0 && x->opts->lint_only && !strncmp(err->msg, "lint violation", 14)) {
        p->lint_error = xstrndup(err->msg, strcspn(err->msg, "("));
        for (size_t n = strlen(p->lint_error); n && p->lint_error[n - 1] == ' ';)
            p->lint_error[--n] = 0;
        cb_err_clear(err);
        return 0;
    }
    if (rc < 0)
        cb_error_wrap(err, "%s", x->f->filename);
    return rc;
}

/* 8. --build-arg nobody consumed */
static void plan_unused_build_args(planctx *x)
{
    cb_strv unused;
    cb_strv_init(&unused);
    for (size_t i = 0; i < x->bargs.n; i++) {
        char *k = xstrndup(x->bargs.v[i], strcspn(x->bargs.v[i], "="));
        bool used = cb_strv_contains(&x->consumed, k) || cb_strv_contains(&x->meta_declared, k) ||
                    df_arg_is_predefined(k) || cb_str_has_prefix(k, "BUILDKIT_") || env_get(&x->globals, k);
        if (!used)
            cb_strv_push(&unused, k);
        free(k);
    }
    if (unused.n) {
        qsort(unused.v, unused.n, sizeof(char *), (int (*)(const void *, const void *))strcmp);
        cb_buf b;
        cb_buf_init(&b);
        for (size_t i = 0; i < unused.n; i++)
            cb_buf_printf(&b, "%s%s", i ? " " : "", unused.v[i]);
        df_warnings_add(&x->p->warnings, 0, "[Warning] One or more build-args [%s] were not consumed", b.data);
        cb_buf_free(&b);
    }
    cb_strv_free(&unused);
}

/* An instruction that does not parse: BuildKit has linted the ones before it (the rules it checks
 * while parsing), so a plan of those warnings alone comes back, no stages. A lint request
 * answers with them and the error as its buildError ("dockerfile parse error on line N: …"); a
 * build fails with rc and reports them. */
static int plan_parse_failed(planctx *x, int rc, df_plan **out, cb_err *err)
{
    df_plan *p = x->p;
    for (size_t i = 0; i < p->n_stages; i++)
        p->stages[i].cmds = NULL; /* owned by x->ps */
    p->n_stages = 0;
    for (size_t i = 0; i < p->warnings.n; i++)
        free(p->warnings.v[i].msg);
    p->warnings.n = 0;
    df_lint_parsed(p, x->f, (size_t)x->parse_error_at);
    cb_err saved = *err, e;
    cb_err_clear(&e);
    df_lint_apply_check(p, x->f, x->f->check, &e); /* skip= applies; error= yields to the parse error */
    *out = p;
    if (x->opts->lint_only && x->parse_error) {
        p->lint_error = xasprintf("dockerfile parse error on line %d: %s", x->f->instrs[x->parse_error_at].start_line,
                                  x->parse_error);
        return 0;
    }
    *err = saved;
    return rc;
}

int df_plan_new(const df_file *f, const df_plan_opts *opts, df_plan **out, cb_err *err)
{
    static const df_plan_opts defaults = {0};
    planctx x = {.f = f, .opts = opts ? opts : &defaults, .tp = "linux/amd64", .bp = "linux/amd64"};
    x.lx.escape = f->escape;
    cb_strv_init(&x.bargs);
    cb_strv_init(&x.globals);
    cb_strv_init(&x.meta_declared);
    cb_strv_init(&x.defaults);
    cb_strv_init(&x.consumed);
    x.p = xcalloc(1, sizeof(df_plan));
    x.p->target = -1;
    x.parse_error_at = -1;
    int (*const phases[])(planctx *, cb_err *) = {plan_read_opts,      plan_parse_instrs, plan_global_args,
                                                  plan_stages,         plan_stage_triggers, plan_deps,
                                                  plan_target,         plan_base_triggers, plan_dispatch,
                                                  plan_finish_warnings};
    int rc = 0;
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && rc == 0; i++)
        rc = phases[i](&x, err);
    if (rc == 0) {
        plan_unused_build_args(&x);
        *out = x.p;
    } else if (x.parse_error_at >= 0) {
        rc = plan_parse_failed(&x, rc, out, err);
    } else {
        df_plan_free(x.p);
        *out = NULL;
    }
    planctx_free(&x);
    return rc;
}

int df_cmd_run_argv(const df_cmd *c, const cb_strv *shell, cb_strv *argv, const df_heredoc **pipe_file, cb_err *err)
{
    if (pipe_file)
        *pipe_file = NULL;
    const df_instr *in = c->instr;
    bool prepend = !c->json;
    cb_strv args;
    cb_strv_init(&args);
    df_strv_copy(&args, &c->args);
    if (c->kind == DF_CMD_RUN && in->n_heredocs > 0) {
        if (args.n != 1 || !prepend) {
            cb_strv_free(&args);
            return cb_fail(err, "parsing produced an invalid run command");
        }
        char *hn = NULL;
        bool e, ch;
        int fd;
        cb_err ign;
        if (df_heredoc_parse_word(args.v[0], &hn, &e, &ch, &fd, &ign) == 0 && hn) {
            const df_heredoc *h = &c->inline_files[0]; /* chomped when <<- */
            free(args.v[0]);
            if (cb_str_has_prefix(h->content, "#!")) {
                args.v[0] = xasprintf("/dev/pipes/%s", h->name);
                if (pipe_file)
                    *pipe_file = h;
            } else {
                args.v[0] = xstrdup(h->content);
            }
            free(hn);
        } else {
            cb_buf full;
            cb_buf_init(&full);
            cb_buf_puts(&full, args.v[0]);
            for (size_t i = 0; i < in->n_heredocs; i++)
                cb_buf_printf(&full, "\n%s%s", in->heredocs[i].content, in->heredocs[i].name);
            free(args.v[0]);
            args.v[0] = cb_buf_steal(&full);
        }
    }
    if (prepend) {
        if (shell && shell->n)
            df_strv_copy(argv, shell);
        else {
            cb_strv_push(argv, "/bin/sh");
            cb_strv_push(argv, "-c");
        }
    }
    df_strv_copy(argv, &args);
    cb_strv_free(&args);
    return 0;
}
