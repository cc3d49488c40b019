/* Stage plan: BuildKit's instructions.Parse + the planning half of dockerfile2llb
 * (global ARGs, stage bases, typed options, expansion, dependencies, reachable stages). */
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ small helpers */

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

static void strv_copy(cb_strv *dst, const cb_strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        cb_strv_push(dst, src->v[i]);
}

static char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

static char *lower(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return u;
}

/* Prefix the message with file:line and show the instruction. */
static int at(cb_err *err, const df_file *f, const df_instr *in)
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

/* ------------------------------------------------------------ durations */

int df_parse_duration(const char *orig, int64_t *ns, cb_err *err)
{
    const char *s = orig;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return cb_fail(err, "time: invalid duration \"%s\"", orig);
    double total = 0;
    while (*s) {
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return cb_fail(err, "time: invalid duration \"%s\"", orig);
        const char *st = s;
        double v = 0, scale = 1;
        bool pre = false, post = false;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s - '0');
            s++;
            pre = true;
        }
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                scale /= 10;
                v += (*s - '0') * scale;
                s++;
                post = true;
            }
        }
        if (!pre && !post)
            return cb_fail(err, "time: invalid duration \"%s\"", orig);
        (void)st;
        const char *u = s;
        while (*s && !((*s >= '0' && *s <= '9') || *s == '.'))
            s++;
        size_t ul = (size_t)(s - u);
        double mult;
        if (ul == 2 && !strncmp(u, "ns", 2))
            mult = 1;
        else if ((ul == 2 && !strncmp(u, "us", 2)) || (ul == 3 && (!strncmp(u, "\xC2\xB5s", 3) || !strncmp(u, "\xCE\xBCs", 3))))
            mult = 1e3;
        else if (ul == 2 && !strncmp(u, "ms", 2))
            mult = 1e6;
        else if (ul == 1 && *u == 's')
            mult = 1e9;
        else if (ul == 1 && *u == 'm')
            mult = 60e9;
        else if (ul == 1 && *u == 'h')
            mult = 3600e9;
        else if (ul == 0)
            return cb_fail(err, "time: missing unit in duration \"%s\"", orig);
        else
            return cb_fail(err, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ul, u, orig);
        total += v * mult;
        if (total > 9.2233720368547758e18)
            return cb_fail(err, "time: invalid duration \"%s\"", orig);
    }
    *ns = (int64_t)(neg ? -total : total);
    return 0;
}

/* ------------------------------------------------------------ flags (BFlags) */

enum { F_BOOL, F_STRING, F_STRINGS };
typedef struct fspec {
    const char *name;
    int type;
} fspec;

typedef struct fval {
    bool set;
    char *value; /* F_BOOL: "true"/"false"; F_STRING: value */
    cb_strv values;
} fval;

static int parse_flags(const df_instr *in, const fspec *specs, size_t n, fval *vals, cb_err *err)
{
    for (size_t i = 0; i < n; i++)
        cb_strv_init(&vals[i].values);
    for (size_t k = 0; k < in->n_flags; k++) {
        const df_flag *fl = &in->flags[k];
        if (!cb_str_has_prefix(fl->raw, "--"))
            return cb_fail(err, "arg should start with -- : %s", fl->raw);
        size_t i;
        for (i = 0; i < n; i++)
            if (!strcmp(specs[i].name, fl->name))
                break;
        if (i == n) {
            const char *cands[16];
            for (size_t j = 0; j < n && j < 16; j++)
                cands[j] = specs[j].name;
            const char *s = cb_suggest(fl->name, cands, n < 16 ? n : 16);
            if (s)
                return cb_fail(err, "unknown flag: %s (did you mean %s?)", fl->name, s);
            return cb_fail(err, "unknown flag: %s", fl->name);
        }
        if (vals[i].set && specs[i].type != F_STRINGS)
            return cb_fail(err, "duplicate flag specified: %s", fl->name);
        vals[i].set = true;
        switch (specs[i].type) {
        case F_BOOL: {
            if (fl->value && !*fl->value)
                return cb_fail(err, "missing a value on flag: %s", fl->name);
            char *lv = fl->value ? lower(fl->value) : xstrdup("true");
            if (strcmp(lv, "true") && strcmp(lv, "false")) {
                free(lv);
                return cb_fail(err, "expecting boolean value for flag %s, not: %s", fl->name, fl->value);
            }
            free(vals[i].value);
            vals[i].value = lv;
            break;
        }
        case F_STRING:
            if (!fl->value)
                return cb_fail(err, "missing a value on flag: %s", fl->name);
            free(vals[i].value);
            vals[i].value = xstrdup(fl->value);
            break;
        default:
            if (!fl->value)
                return cb_fail(err, "missing a value on flag: %s", fl->name);
            cb_strv_push(&vals[i].values, fl->value);
        }
    }
    return 0;
}

static void fvals_free(fval *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].value);
        cb_strv_free(&v[i].values);
    }
}

static bool fbool(const fval *v)
{
    return v->set && !strcmp(v->value, "true");
}

static char *fstr(const fval *v)
{
    return v->set && v->value && *v->value ? xstrdup(v->value) : NULL;
}

/* ------------------------------------------------------------ typed parse */

static df_cmd_kind kind_of(const char *kw)
{
    static const struct {
        const char *k;
        df_cmd_kind v;
    } t[] = {{"add", DF_CMD_ADD},         {"arg", DF_CMD_ARG},
             {"cmd", DF_CMD_CMD},         {"copy", DF_CMD_COPY},
             {"entrypoint", DF_CMD_ENTRYPOINT}, {"env", DF_CMD_ENV},
             {"expose", DF_CMD_EXPOSE},   {"healthcheck", DF_CMD_HEALTHCHECK},
             {"label", DF_CMD_LABEL},     {"maintainer", DF_CMD_MAINTAINER},
             {"onbuild", DF_CMD_ONBUILD}, {"run", DF_CMD_RUN},
             {"shell", DF_CMD_SHELL},     {"stopsignal", DF_CMD_STOPSIGNAL},
             {"user", DF_CMD_USER},       {"volume", DF_CMD_VOLUME},
             {"workdir", DF_CMD_WORKDIR}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(kw, t[i].k))
            return t[i].v;
    return DF_CMD_UNKNOWN;
}

static void cmd_free(df_cmd *c)
{
    cb_strv_free(&c->args);
    cb_strv_free(&c->build_args);
    cb_strv_free(&c->env);
    for (size_t i = 0; i < c->n_kvs; i++) {
        free(c->kvs[i].key);
        free(c->kvs[i].value);
    }
    free(c->kvs);
    for (size_t i = 0; i < c->n_mounts; i++) {
        df_mount *m = &c->mounts[i];
        free(m->target);
        free(m->source);
        free(m->from);
        free(m->id);
        free(m->env);
    }
    free(c->mounts);
    free(c->network);
    free(c->security);
    free(c->from);
    free(c->chown);
    free(c->chmod);
    free(c->checksum);
    cb_strv_free(&c->excludes);
    for (size_t i = 0; i < c->n_inline_files; i++) {
        free(c->inline_files[i].name);
        free(c->inline_files[i].content);
    }
    free(c->inline_files);
    free(c->ports);
}

static void kv_push(df_cmd *c, const char *k, const char *v)
{
    c->kvs = xrealloc(c->kvs, (c->n_kvs + 1) * sizeof(df_kv));
    c->kvs[c->n_kvs].key = xstrdup(k);
    c->kvs[c->n_kvs].value = v ? xstrdup(v) : NULL;
    c->n_kvs++;
}

/* handleJSONArgs: exec form as is, shell form joined into one string */
static void shell_dependent(const df_instr *in, cb_strv *out, size_t from)
{
    if (in->json) {
        for (size_t i = from; i < in->args.n; i++)
            cb_strv_push(out, in->args.v[i]);
        return;
    }
    if (in->args.n <= from)
        return;
    cb_buf b;
    cb_buf_init(&b);
    for (size_t i = from; i < in->args.n; i++) {
        if (i > from)
            cb_buf_putc(&b, ' ');
        cb_buf_puts(&b, in->args.v[i]);
    }
    cb_strv_push_owned(out, cb_buf_steal(&b));
}

static int parse_kvps(const df_instr *in, df_cmd *c, const char *name, cb_err *err)
{
    if (in->args.n == 0)
        return cb_fail(err, "%s requires at least one argument", name);
    if (in->args.n % 3 != 0)
        return cb_fail(err, "Bad input to %s, too many arguments", name);
    for (size_t i = 0; i + 2 < in->args.n; i += 3) {
        if (!*in->args.v[i])
            return cb_fail(err, "%s names can not be blank", name);
        kv_push(c, in->args.v[i], in->args.v[i + 1]);
    }
    return 0;
}

static int no_flags(const df_instr *in, cb_err *err)
{
    fval v[1];
    memset(v, 0, sizeof(v));
    int rc = parse_flags(in, NULL, 0, v, err);
    fvals_free(v, 0);
    return rc;
}

static int exactly_one(const df_instr *in, const char *name, cb_err *err)
{
    if (in->args.n != 1)
        return cb_fail(err, "%s requires exactly one argument", name);
    return 0;
}

/* COPY/ADD: split args into paths and heredoc sources */
static int sources_and_dest(const df_instr *in, df_cmd *c, const char *name, cb_err *err)
{
    const char *dest = in->args.v[in->args.n - 1];
    char *hn = NULL;
    bool e, ch;
    int fd;
    cb_err ign;
    if (df_heredoc_parse_word(dest, &hn, &e, &ch, &fd, &ign) == 0 && hn) {
        free(hn);
        return cb_fail(err, "%s cannot accept a heredoc as a destination", name);
    }
    for (size_t i = 0; i + 1 < in->args.n; i++) {
        const char *src = in->args.v[i];
        hn = NULL;
        if (df_heredoc_parse_word(src, &hn, &e, &ch, &fd, &ign) == 0 && hn) {
            const char *content = "";
            for (size_t h = 0; h < in->n_heredocs; h++)
                if (!strcmp(in->heredocs[h].name, hn))
                    content = in->heredocs[h].content;
            c->inline_files = xrealloc(c->inline_files, (c->n_inline_files + 1) * sizeof(df_heredoc));
            c->inline_files[c->n_inline_files++] =
                (df_heredoc){hn, ch ? df_heredoc_chomp(content) : xstrdup(content), e, ch, fd};
        } else {
            cb_strv_push(&c->args, src);
        }
    }
    cb_strv_push(&c->args, dest);
    return 0;
}

/* RUN --mount value (CSV "k=v,k=v"), with BuildKit's validation; values are expanded
 * later (df_mount fields hold raw values until then). */
static int split_csv(const char *s, cb_strv *out, cb_err *err)
{
    size_t n = strlen(s), i = 0;
    for (;;) {
        cb_buf f;
        cb_buf_init(&f);
        cb_buf_puts(&f, "");
        if (i < n && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) {
                    cb_buf_free(&f);
                    return cb_fail(err, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        cb_buf_putc(&f, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                cb_buf_putc(&f, s[i++]);
            }
            if (i < n && s[i] != ',') {
                cb_buf_free(&f);
                return cb_fail(err, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
            }
        } else {
            while (i < n && s[i] != ',') {
                if (s[i] == '"') {
                    cb_buf_free(&f);
                    return cb_fail(err, "failed to parse csv mounts: bare \" in non-quoted-field");
                }
                cb_buf_putc(&f, s[i++]);
            }
        }
        cb_strv_push_owned(out, cb_buf_steal(&f));
        if (i >= n)
            break;
        i++; /* ',' */
    }
    return 0;
}

static int parse_bool_str(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, t[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(v, f[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
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

static int parse_uint(const char *v, int base, uint64_t max, uint64_t *out)
{
    if (!*v)
        return -1;
    uint64_t r = 0;
    for (const char *p = v; *p; p++) {
        int d = *p - '0';
        if (d < 0 || d >= base)
            return -1;
        if (r > (max - (uint64_t)d) / (uint64_t)base)
            return -1;
        r = r * (uint64_t)base + (uint64_t)d;
    }
    *out = r;
    return 0;
}

typedef char *(*expand_fn)(void *ud, const char *word, cb_err *err, int *rc);

static int parse_mount(const char *value, df_mount *m, expand_fn ex, void *ud, int ssh_index, cb_err *err)
{
    cb_strv fields;
    cb_strv_init(&fields);
    int rc = split_csv(value, &fields, err);
    if (rc < 0)
        return rc;
    memset(m, 0, sizeof(*m));
    m->type = DF_MOUNT_BIND;
    m->from_stage = -1;
    bool ro_auto = true, has_sharing = false, has_uid = false, has_gid = false, has_size = false;
    uint64_t uid = 0, gid = 0, mode = 0;
    char *cache_id = NULL;
    static const char *const all_keys[] = {"type", "from", "source", "target", "readonly", "id", "sharing",
                                           "required", "mode", "uid", "gid", "src", "dst", "destination",
                                           "ro", "rw", "readwrite", "size", "env"};
    static const char *const types[] = {"bind", "cache", "tmpfs", "secret", "ssh"};
    for (size_t i = 0; i < fields.n && rc == 0; i++) {
        const char *field = fields.v[i];
        const char *eq = strchr(field, '=');
        char *rawkey = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
        char *key = lower(rawkey);
        free(rawkey);
        if (!eq) {
            if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
                m->readonly = true;
                ro_auto = false;
                free(key);
                continue;
            }
            if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
                m->readonly = false;
                ro_auto = false;
                free(key);
                continue;
            }
            if (!strcmp(key, "required")) {
                if (m->type == DF_MOUNT_SECRET || m->type == DF_MOUNT_SSH) {
                    m->required = true;
                    free(key);
                    continue;
                }
                rc = cb_fail(err, "unexpected key '%s' for mount type '%s'", key, types[m->type]);
                free(key);
                break;
            }
            rc = cb_fail(err, "invalid field '%s' must be a key=value pair", field);
            free(key);
            break;
        }
        char *val;
        if (!strcmp(key, "from") && strstr(eq + 1, "$") && eq[1] && strchr(eq + 1, '$')[1]) {
            rc = cb_fail(err, "'%s' doesn't support variable expansion, define alias stage instead", key);
            free(key);
            break;
        }
        if (ex) {
            int erc = 0;
            val = ex(ud, eq + 1, err, &erc);
            if (erc < 0) {
                rc = erc;
                free(key);
                break;
            }
        } else {
            val = xstrdup(eq + 1);
        }
        if (!strcmp(key, "type")) {
            char *lv = lower(val);
            size_t t;
            for (t = 0; t < 5; t++)
                if (!strcmp(lv, types[t]))
                    break;
            if (t == 5) {
                const char *s = cb_suggest(lv, types, 5);
                rc = s ? cb_fail(err, "unsupported mount type \"%s\" (did you mean %s?)", val, s)
                       : cb_fail(err, "unsupported mount type \"%s\"", val);
            } else {
                m->type = (df_mount_type)t;
            }
            free(lv);
        } else if (!strcmp(key, "from")) {
            free(m->from);
            m->from = xstrdup(val);
        } else if (!strcmp(key, "source") || !strcmp(key, "src")) {
            free(m->source);
            m->source = xstrdup(val);
        } else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination")) {
            free(m->target);
            m->target = xstrdup(val);
        } else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
            if (parse_bool_str(val, &m->readonly) < 0)
                rc = cb_fail(err, "invalid value for %s: %s", key, val);
            ro_auto = false;
        } else if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
            bool rw;
            if (parse_bool_str(val, &rw) < 0)
                rc = cb_fail(err, "invalid value for %s: %s", key, val);
            m->readonly = !rw;
            ro_auto = false;
        } else if (!strcmp(key, "required")) {
            if (m->type == DF_MOUNT_SECRET || m->type == DF_MOUNT_SSH) {
                if (parse_bool_str(val, &m->required) < 0)
                    rc = cb_fail(err, "invalid value for %s: %s", key, val);
            } else {
                rc = cb_fail(err, "unexpected key '%s' for mount type '%s'", key, types[m->type]);
            }
        } else if (!strcmp(key, "id")) {
            free(cache_id);
            cache_id = xstrdup(val);
        } else if (!strcmp(key, "sharing")) {
            char *lv = lower(val);
            if (!strcmp(lv, "shared"))
                m->sharing = DF_SHARING_SHARED;
            else if (!strcmp(lv, "private"))
                m->sharing = DF_SHARING_PRIVATE;
            else if (!strcmp(lv, "locked"))
                m->sharing = DF_SHARING_LOCKED;
            else
                rc = cb_fail(err, "unsupported sharing value \"%s\"", val);
            has_sharing = true;
            free(lv);
        } else if (!strcmp(key, "mode")) {
            if (parse_uint(val, 8, 0xFFFFFFFFu, &mode) < 0)
                rc = cb_fail(err, "invalid value %s for mode", val);
            m->has_mode = true;
        } else if (!strcmp(key, "uid")) {
            if (parse_uint(val, 10, 0xFFFFFFFFu, &uid) < 0)
                rc = cb_fail(err, "invalid value %s for uid", val);
            has_uid = true;
        } else if (!strcmp(key, "gid")) {
            if (parse_uint(val, 10, 0xFFFFFFFFu, &gid) < 0)
                rc = cb_fail(err, "invalid value %s for gid", val);
            has_gid = true;
        } else if (!strcmp(key, "size")) {
            if (cb_parse_size(val, &m->size, err) < 0)
                rc = cb_fail(err, "invalid value %s for size", val);
            has_size = true;
        } else if (!strcmp(key, "env")) {
            free(m->env);
            m->env = xstrdup(val);
        } else {
            const char *s = cb_suggest(key, all_keys, sizeof(all_keys) / sizeof(all_keys[0]));
            rc = s ? cb_fail(err, "unexpected key '%s' in '%s' (did you mean %s?)", key, field, s)
                   : cb_fail(err, "unexpected key '%s' in '%s'", key, field);
        }
        free(val);
        free(key);
    }
    cb_strv_free(&fields);
    const char *tn = types[m->type];
    bool file_info = m->type == DF_MOUNT_SECRET || m->type == DF_MOUNT_SSH || m->type == DF_MOUNT_CACHE;
    if (rc == 0 && m->has_mode && !file_info)
        rc = cb_fail(err, "mode not allowed for \"%s\" type mounts", tn);
    if (rc == 0 && has_uid && !file_info)
        rc = cb_fail(err, "uid not allowed for \"%s\" type mounts", tn);
    if (rc == 0 && has_gid && !file_info)
        rc = cb_fail(err, "gid not allowed for \"%s\" type mounts", tn);
    if (rc == 0 && has_size && m->type != DF_MOUNT_TMPFS)
        rc = cb_fail(err, "size not allowed for \"%s\" type mounts", tn);
    if (rc == 0 && m->env && m->type != DF_MOUNT_SECRET)
        rc = cb_fail(err, "env not allowed for \"%s\" type mounts", tn);
    if (rc == 0 && ro_auto)
        m->readonly = !(m->type == DF_MOUNT_CACHE || m->type == DF_MOUNT_TMPFS);
    if (rc == 0 && has_sharing && m->type != DF_MOUNT_CACHE)
        rc = cb_fail(err, "invalid cache sharing set for %s mount", tn);
    if (rc == 0 && m->type == DF_MOUNT_SECRET) {
        if (m->from)
            rc = cb_fail(err, "secret mount should not have a from");
        else if (!m->source && !m->target && !cache_id && !m->env)
            rc = cb_fail(err, "invalid secret mount. one of source, target required");
        else if (m->source && cache_id)
            rc = cb_fail(err, "both source and id can't be set");
    }
    if (rc == 0 && (m->type == DF_MOUNT_BIND || m->type == DF_MOUNT_CACHE || m->type == DF_MOUNT_TMPFS) && !m->target)
        rc = cb_fail(err, "mount type %s requires a target (target=PATH)", tn);
    if (rc < 0) {
        free(cache_id);
        return rc;
    }
    m->uid = (uint32_t)uid;
    m->gid = (uint32_t)gid;
    switch (m->type) {
    case DF_MOUNT_CACHE:
        m->id = cache_id ? cache_id : xstrdup(m->target);
        m->mode = m->has_mode ? (uint32_t)mode : 0755;
        break;
    case DF_MOUNT_SECRET: {
        const char *id = m->source ? m->source : cache_id;
        if (id) {
            m->id = xstrdup(id);
        } else {
            const char *b = m->target ? strrchr(m->target, '/') : NULL;
            m->id = xstrdup(b ? b + 1 : (m->target ? m->target : ""));
        }
        free(cache_id);
        if (!m->target && !m->env) {
            const char *b = strrchr(m->id, '/');
            m->target = xasprintf("/run/secrets/%s", b ? b + 1 : m->id);
        }
        m->mode = m->has_mode ? (uint32_t)mode : 0400;
        break;
    }
    case DF_MOUNT_SSH:
        m->id = cache_id ? cache_id : xstrdup("default");
        if (!m->target)
            m->target = xasprintf("/run/buildkit/ssh_agent.%d", ssh_index);
        m->mode = m->has_mode ? (uint32_t)mode : 0600;
        break;
    default:
        m->id = cache_id;
        m->mode = (uint32_t)mode;
    }
    return 0;
}

static int add_port(df_cmd *c, const char *raw_in, cb_err *err)
{
    /* nat.ParsePortSpec accepts ip:hostPort:containerPort; only the container port is exposed */
    const char *raw = raw_in;
    const char *colon = strrchr(raw_in, ':');
    if (colon)
        raw = colon + 1;
    const char *slash = strchr(raw, '/');
    char *port = slash ? xstrndup(raw, (size_t)(slash - raw)) : xstrdup(raw);
    char *proto = lower(slash && slash[1] ? slash + 1 : "tcp");
    const char *dash = strchr(port, '-');
    char *s1 = dash ? xstrndup(port, (size_t)(dash - port)) : xstrdup(port);
    const char *s2 = dash ? dash + 1 : port;
    uint64_t a = 0, b = 0;
    int rc = 0;
    if (!*port)
        rc = cb_fail(err, "invalid port \"%s\": no port given", raw);
    else if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
        rc = cb_fail(err, "invalid proto: %s (use tcp, udp or sctp)", proto);
    else if (parse_uint(s1, 10, 65535, &a) < 0 || parse_uint(s2, 10, 65535, &b) < 0)
        rc = cb_fail(err, "invalid containerPort: %s", port);
    else if (b < a)
        rc = cb_fail(err, "invalid range specified for containerPort: %s", port);
    if (rc == 0) {
        c->ports = xrealloc(c->ports, (c->n_ports + 1) * sizeof(df_port));
        df_port *p = &c->ports[c->n_ports++];
        p->start = (uint16_t)a;
        p->end = (uint16_t)b;
        snprintf(p->proto, sizeof(p->proto), "%s", proto);
    }
    free(s1);
    free(port);
    free(proto);
    return rc;
}

/* Typed parse of one instruction: validation that needs no variables. */
static int parse_typed(const df_instr *in, df_cmd *c, cb_err *err)
{
    c->instr = in;
    c->kind = kind_of(in->keyword);
    c->from_stage = -1;
    c->unpack = -1;
    c->json = in->json;
    int rc = 0;
    switch (c->kind) {
    case DF_CMD_ENV:
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        return parse_kvps(in, c, "ENV", err);
    case DF_CMD_LABEL:
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        return parse_kvps(in, c, "LABEL", err);
    case DF_CMD_MAINTAINER:
        if ((rc = exactly_one(in, "MAINTAINER", err)) < 0 || (rc = no_flags(in, err)) < 0)
            return rc;
        cb_strv_push(&c->args, in->args.v[0]);
        return 0;
    case DF_CMD_ADD:
    case DF_CMD_COPY: {
        bool add = c->kind == DF_CMD_ADD;
        const char *name = add ? "ADD" : "COPY";
        if (in->args.n < 2)
            return cb_fail(err, "%s requires at least two arguments, but only one was provided. Destination could not be determined", name);
        static const fspec add_f[] = {{"chown", F_STRING}, {"chmod", F_STRING},   {"link", F_BOOL},
                                      {"keep-git-dir", F_BOOL}, {"checksum", F_STRING}, {"exclude", F_STRINGS},
                                      {"unpack", F_BOOL}};
        static const fspec copy_f[] = {{"chown", F_STRING}, {"from", F_STRING},    {"chmod", F_STRING},
                                       {"link", F_BOOL},    {"parents", F_BOOL},   {"exclude", F_STRINGS}};
        fval v[7];
        memset(v, 0, sizeof(v));
        rc = parse_flags(in, add ? add_f : copy_f, add ? 7 : 6, v, err);
        if (rc == 0) {
            if (add) {
                c->chown = fstr(&v[0]);
                c->chmod = fstr(&v[1]);
                c->link = fbool(&v[2]);
                c->keep_git_dir = fbool(&v[3]);
                c->checksum = fstr(&v[4]);
                strv_copy(&c->excludes, &v[5].values);
                c->unpack = v[6].set ? fbool(&v[6]) : -1;
            } else {
                c->chown = fstr(&v[0]);
                c->from = fstr(&v[1]);
                c->chmod = fstr(&v[2]);
                c->link = fbool(&v[3]);
                c->parents = fbool(&v[4]);
                strv_copy(&c->excludes, &v[5].values);
            }
            rc = sources_and_dest(in, c, name, err);
        }
        fvals_free(v, 7);
        return rc;
    }
    case DF_CMD_ONBUILD: {
        if (!in->onbuild || !*in->onbuild->keyword)
            return cb_fail(err, "ONBUILD requires at least one argument");
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        const char *t = in->onbuild->keyword;
        if (!strcmp(t, "onbuild"))
            return cb_fail(err, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (!strcmp(t, "maintainer") || !strcmp(t, "from")) {
            char *u = upper(t);
            rc = cb_fail(err, "%s isn't allowed as an ONBUILD trigger", u);
            free(u);
            return rc;
        }
        /* the trigger expression: the text after ONBUILD, plus heredoc bodies */
        const char *o = in->original;
        while (*o == ' ' || *o == '\t')
            o++;
        o += strlen("onbuild");
        while (*o == ' ' || *o == '\t')
            o++;
        cb_buf b;
        cb_buf_init(&b);
        cb_buf_puts(&b, o);
        for (size_t h = 0; h < in->n_heredocs; h++)
            cb_buf_printf(&b, "\n%s%s", in->heredocs[h].content, in->heredocs[h].name);
        cb_strv_push_owned(&c->args, cb_buf_steal(&b));
        return 0;
    }
    case DF_CMD_WORKDIR:
        if ((rc = exactly_one(in, "WORKDIR", err)) < 0 || (rc = no_flags(in, err)) < 0)
            return rc;
        cb_strv_push(&c->args, in->args.v[0]);
        return 0;
    case DF_CMD_RUN: {
        static const fspec run_f[] = {{"mount", F_STRINGS}, {"network", F_STRING}, {"security", F_STRING}};
        fval v[3];
        memset(v, 0, sizeof(v));
        rc = parse_flags(in, run_f, 3, v, err);
        if (rc == 0 && v[1].set) {
            if (strcmp(v[1].value, "default") && strcmp(v[1].value, "none") && strcmp(v[1].value, "host"))
                rc = cb_fail(err, "unsupported network mode \"%s\" (use default, none or host)", v[1].value);
            else
                c->network = xstrdup(v[1].value);
        }
        if (rc == 0 && v[2].set) {
            if (strcmp(v[2].value, "sandbox") && strcmp(v[2].value, "insecure"))
                rc = cb_fail(err, "unsupported security mode \"%s\" (use sandbox or insecure)", v[2].value);
            else
                c->security = xstrdup(v[2].value);
        }
        /* validate mounts now (values unexpanded); re-parsed with expansion in the plan */
        int ssh = 0;
        for (size_t i = 0; rc == 0 && i < v[0].values.n; i++) {
            df_mount m;
            rc = parse_mount(v[0].values.v[i], &m, NULL, NULL, ssh, err);
            if (rc == 0) {
                if (m.type == DF_MOUNT_SSH)
                    ssh++;
                free(m.target);
                free(m.source);
                free(m.from);
                free(m.id);
                free(m.env);
            }
        }
        fvals_free(v, 3);
        if (rc < 0)
            return rc;
        shell_dependent(in, &c->args, 0);
        for (size_t h = 0; h < in->n_heredocs; h++) {
            const df_heredoc *d = &in->heredocs[h];
            c->inline_files = xrealloc(c->inline_files, (c->n_inline_files + 1) * sizeof(df_heredoc));
            c->inline_files[c->n_inline_files++] = (df_heredoc){
                xstrdup(d->name), d->chomp ? df_heredoc_chomp(d->content) : xstrdup(d->content), d->expand, d->chomp,
                d->fd};
        }
        return 0;
    }
    case DF_CMD_CMD:
    case DF_CMD_ENTRYPOINT:
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        shell_dependent(in, &c->args, 0);
        return 0;
    case DF_CMD_HEALTHCHECK: {
        if (in->args.n == 0)
            return cb_fail(err, "HEALTHCHECK requires at least one argument");
        char *typ = upper(in->args.v[0]);
        if (!strcmp(typ, "NONE")) {
            if (in->args.n != 1)
                rc = cb_fail(err, "HEALTHCHECK NONE takes no arguments");
            else
                cb_strv_push(&c->args, "NONE");
            free(typ);
            return rc;
        }
        static const fspec hc_f[] = {{"interval", F_STRING},       {"timeout", F_STRING}, {"start-period", F_STRING},
                                     {"start-interval", F_STRING}, {"retries", F_STRING}};
        fval v[5];
        memset(v, 0, sizeof(v));
        rc = parse_flags(in, hc_f, 5, v, err);
        if (rc == 0 && strcmp(typ, "CMD"))
            rc = cb_fail(err, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
        if (rc == 0) {
            cb_strv cmdv;
            cb_strv_init(&cmdv);
            shell_dependent(in, &cmdv, 1);
            if (cmdv.n == 0) {
                rc = cb_fail(err, "Missing command after HEALTHCHECK CMD");
            } else {
                cb_strv_push(&c->args, in->json ? "CMD" : "CMD-SHELL");
                strv_copy(&c->args, &cmdv);
            }
            cb_strv_free(&cmdv);
        }
        int64_t *dst[4] = {&c->hc_interval, &c->hc_timeout, &c->hc_start_period, &c->hc_start_interval};
        for (int i = 0; rc == 0 && i < 4; i++) {
            if (!v[i].set || !*v[i].value)
                continue;
            rc = df_parse_duration(v[i].value, dst[i], err);
            if (rc == 0 && *dst[i] != 0 && *dst[i] < 1000000)
                rc = cb_fail(err, "Interval \"%s\" cannot be less than 1ms", hc_f[i].name);
        }
        if (rc == 0 && v[4].set && *v[4].value) {
            char *end;
            errno = 0;
            long long r = strtoll(v[4].value, &end, 10);
            if (*end || errno || r > INT_MAX || r < INT_MIN)
                rc = cb_fail(err, "strconv.ParseInt: parsing \"%s\": invalid syntax", v[4].value);
            else if (r < 0)
                rc = cb_fail(err, "--retries cannot be negative (%lld)", r);
            else
                c->hc_retries = (int)r;
        }
        fvals_free(v, 5);
        free(typ);
        return rc;
    }
    case DF_CMD_EXPOSE:
        if (in->args.n == 0)
            return cb_fail(err, "EXPOSE requires at least one argument");
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        strv_copy(&c->args, &in->args);
        return 0;
    case DF_CMD_USER:
        if ((rc = exactly_one(in, "USER", err)) < 0 || (rc = no_flags(in, err)) < 0)
            return rc;
        cb_strv_push(&c->args, in->args.v[0]);
        return 0;
    case DF_CMD_VOLUME:
        if (in->args.n == 0)
            return cb_fail(err, "VOLUME requires at least one argument");
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        for (size_t i = 0; i < in->args.n; i++) {
            const char *s = in->args.v[i];
            size_t n = strlen(s);
            df_trim_space(&s, &n);
            if (n == 0)
                return cb_fail(err, "VOLUME specified can not be an empty string");
            cb_strv_push_owned(&c->args, xstrndup(s, n));
        }
        return 0;
    case DF_CMD_STOPSIGNAL:
        if ((rc = exactly_one(in, "STOPSIGNAL", err)) < 0)
            return rc;
        cb_strv_push(&c->args, in->args.v[0]);
        return 0;
    case DF_CMD_ARG:
        if (in->args.n == 0)
            return cb_fail(err, "ARG requires at least one argument");
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        for (size_t i = 0; i < in->args.n; i++) {
            const char *a = in->args.v[i];
            const char *eq = strchr(a, '=');
            if (eq) {
                if (eq == a)
                    return cb_fail(err, "ARG names can not be blank");
                char *k = xstrndup(a, (size_t)(eq - a));
                kv_push(c, k, eq + 1);
                free(k);
            } else {
                kv_push(c, a, NULL);
            }
        }
        return 0;
    case DF_CMD_SHELL:
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        if (in->args.n == 0)
            return cb_fail(err, "SHELL requires at least one argument");
        if (!in->json)
            return cb_fail(err, "SHELL requires the arguments to be in JSON form");
        strv_copy(&c->args, &in->args);
        return 0;
    default: {
        char *u = upper(in->keyword);
        const char *cand[32];
        char *ups[32];
        for (size_t i = 0; i < df_n_keywords; i++)
            cand[i] = ups[i] = upper(df_keywords[i]);
        const char *s = cb_suggest(u, cand, df_n_keywords);
        /* the keyword as written */
        const char *o = in->original;
        while (*o == ' ' || *o == '\t')
            o++;
        int kl = (int)strcspn(o, " \t\v\f\r");
        if (s)
            rc = cb_fail(err, "unknown instruction: %.*s (did you mean %s?)", kl, o, s);
        else
            rc = cb_fail(err, "unknown instruction: %.*s", kl, o);
        for (size_t i = 0; i < df_n_keywords; i++)
            free(ups[i]);
        free(u);
        return rc;
    }
    }
}

/* --------------------------------------------------------------- the plan */

typedef struct pstage {
    df_stage *st;
    df_cmd *cmds; /* typed, unexpanded */
    size_t n;
    size_t n_triggers;
    const df_instr *from;
    char *raw_base;
    char *raw_platform;
} pstage;

static void stage_free(df_stage *s)
{
    free(s->name);
    free(s->base);
    free(s->platform);
    for (size_t i = 0; i < s->n_cmds; i++)
        cmd_free(&s->cmds[i]);
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

static void split_platform(const char *p, char **os, char **arch, char **variant)
{
    const char *a = strchr(p, '/');
    const char *v = a ? strchr(a + 1, '/') : NULL;
    *os = a ? xstrndup(p, (size_t)(a - p)) : xstrdup(p);
    *arch = a ? (v ? xstrndup(a + 1, (size_t)(v - a - 1)) : xstrdup(a + 1)) : xstrdup("");
    *variant = v ? xstrdup(v + 1) : xstrdup("");
}

/* containerd platforms.Parse + Normalize: "linux/arm64", "arm64", "linux", "x86_64",
 * "linux/arm/7" ... -> canonical "os/arch[/variant]" in *out. */
static int normalize_platform(const char *spec, char **out, cb_err *err)
{
    static const char *const oses[] = {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios",
                                       "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1",
                                       "windows", "zos"};
    static const char *const arches[] = {"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64",
                                         "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
                                         "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64",
                                         "wasm"};
    cb_strv parts;
    cb_strv_init(&parts);
    const char *st = spec;
    for (const char *c = spec;; c++) {
        if (*c == '/' || !*c) {
            cb_strv_push_owned(&parts, xstrndup(st, (size_t)(c - st)));
            st = c + 1;
            if (!*c)
                break;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < parts.n && rc == 0; i++) {
        const char *q = parts.v[i];
        bool ok = *q != 0;
        for (; *q && ok; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-';
        if (!ok)
            rc = cb_fail(err, "failed to parse platform %s: \"%s\": must match ^[A-Za-z0-9_-]+$: invalid argument", spec,
                         parts.v[i]);
    }
    if (rc == 0 && parts.n > 3)
        rc = cb_fail(err, "failed to parse platform %s: \"%s\": cannot parse platform specifier: invalid argument",
                     spec, spec);
    if (rc < 0) {
        cb_strv_free(&parts);
        return rc;
    }
    char *os = NULL, *arch = NULL, *variant = NULL;
    char *p0 = lower(parts.v[0]);
    if (parts.n == 1) {
        if (!strcmp(p0, "macos")) {
            free(p0);
            p0 = xstrdup("darwin");
        }
        for (size_t i = 0; i < sizeof(oses) / sizeof(oses[0]) && !os; i++)
            if (!strcmp(p0, oses[i]))
                os = xstrdup(p0);
        if (os) {
            arch = xstrdup("amd64");
            variant = xstrdup("");
        } else {
            arch = p0;
            p0 = NULL;
            variant = xstrdup("");
            os = xstrdup("linux");
        }
    } else {
        os = !strcmp(p0, "macos") ? xstrdup("darwin") : xstrdup(p0);
        arch = lower(parts.v[1]);
        variant = parts.n == 3 ? lower(parts.v[2]) : xstrdup("");
    }
    free(p0);
    /* normalizeArch */
    if (!strcmp(arch, "i386")) {
        free(arch);
        arch = xstrdup("386");
        variant[0] = 0;
    } else if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64") || !strcmp(arch, "amd64")) {
        free(arch);
        arch = xstrdup("amd64");
        if (!strcmp(variant, "v1"))
            variant[0] = 0;
    } else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
        free(arch);
        arch = xstrdup("arm64");
        if (!strcmp(variant, "8") || !strcmp(variant, "v8") || !strcmp(variant, "v8.0")) {
            free(variant);
            variant = xstrdup(parts.n == 3 ? "v8" : "");
        }
    } else if (!strcmp(arch, "armhf")) {
        free(arch);
        arch = xstrdup("arm");
        free(variant);
        variant = xstrdup("v7");
    } else if (!strcmp(arch, "armel")) {
        free(arch);
        arch = xstrdup("arm");
        free(variant);
        variant = xstrdup("v6");
    } else if (!strcmp(arch, "arm")) {
        if (!*variant || !strcmp(variant, "7")) {
            free(variant);
            variant = xstrdup("v7");
        } else if (!strcmp(variant, "5") || !strcmp(variant, "6") || !strcmp(variant, "8")) {
            char *v = xasprintf("v%s", variant);
            free(variant);
            variant = v;
        }
    }
    if (parts.n < 3 && !strcmp(arch, "arm") && !strcmp(variant, "v7"))
        variant[0] = 0; /* platforms.Parse: plain "arm" means arm/v7 and is printed without it */
    if (parts.n == 1 && !strcmp(os, "linux") && strcmp(spec, "linux")) {
        bool known = false;
        for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
            known |= !strcmp(arch, arches[i]);
        if (!known)
            rc = cb_fail(err, "failed to parse platform %s: \"%s\": unknown operating system or architecture: invalid argument",
                         spec, spec);
    }
    if (rc == 0) {
        /* platforms.Format drops the default arm v7 only when parsing a bare "arm" */
        *out = *variant ? xasprintf("%s/%s/%s", os, arch, variant) : xasprintf("%s/%s", os, arch);
    }
    free(os);
    free(arch);
    free(variant);
    cb_strv_free(&parts);
    return rc;
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
static int add_triggers(df_plan *p, const df_file *f, pstage *ps, const cb_strv *exprs, cb_err *err)
{
    if (!exprs->n)
        return 0;
    df_cmd *nc = xcalloc(exprs->n + ps->n, sizeof(df_cmd));
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < exprs->n && rc == 0; i++) {
        df_file *tf = NULL;
        if (df_parse(exprs->v[i], strlen(exprs->v[i]), f->filename, &tf, err) < 0) {
            rc = at(err, f, ps->from);
            break;
        }
        p->onbuild_files = xrealloc(p->onbuild_files, (p->n_onbuild_files + 1) * sizeof(df_file *));
        p->onbuild_files[p->n_onbuild_files++] = tf;
        if (tf->n_instrs != 1) {
            cb_fail(err, "onbuild trigger should be a single expression");
            rc = at(err, f, ps->from);
            break;
        }
        df_instr *in = &tf->instrs[0];
        in->start_line = ps->from->start_line;
        in->end_line = ps->from->end_line;
        df_cmd *c = &nc[k];
        cb_strv_init(&c->args);
        if (parse_typed(in, c, err) < 0) {
            cb_error_wrap(err, "ONBUILD trigger \"%s\"", exprs->v[i]);
            cmd_free(c);
            memset(c, 0, sizeof(*c));
            rc = at(err, f, ps->from);
            break;
        }
        k++;
    }
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            cmd_free(&nc[i]);
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
            return at(err, f, c->instr);
        }
        if (resolve_from(p, c->from, &c->from_stage, err) < 0)
            return at(err, f, c->instr);
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
        if (parse_mount(fl->value, &mt, NULL, NULL, 0, err) < 0)
            return at(err, f, c->instr);
        int idx = -1;
        int r2 = mt.from ? resolve_from(p, mt.from, &idx, err) : 0;
        free(mt.target);
        free(mt.source);
        free(mt.from);
        free(mt.id);
        free(mt.env);
        if (r2 < 0)
            return at(err, f, c->instr);
        if (idx >= 0)
            add_dep(&p->stages[i], idx);
    }
    return 0;
}

/* BuildKit's default lint checks that need no image data (reported as warnings). */
static void lint_file(df_plan *p, const df_file *f)
{
    int n_up = 0, n_low = 0;
    for (size_t i = 0; i < f->n_instrs; i++) {
        const char *o = f->instrs[i].original;
        while (*o == ' ' || *o == '\t')
            o++;
        bool up = true, low = true;
        for (size_t k = 0, kl = strcspn(o, " \t\v\f\r"); k < kl; k++) {
            up &= !(o[k] >= 'a' && o[k] <= 'z');
            low &= !(o[k] >= 'A' && o[k] <= 'Z');
        }
        n_up += up;
        n_low += low;
    }
    bool majority_upper = n_up >= n_low;
    for (size_t i = 0; i < f->n_instrs; i++) {
        const df_instr *in = &f->instrs[i];
        const char *o = in->original;
        while (*o == ' ' || *o == '\t')
            o++;
        size_t kl = strcspn(o, " \t\v\f\r");
        bool kw_upper = true, kw_lower = true;
        for (size_t k = 0; k < kl; k++) {
            if (o[k] >= 'a' && o[k] <= 'z')
                kw_upper = false;
            if (o[k] >= 'A' && o[k] <= 'Z')
                kw_lower = false;
        }
        if (!strcmp(in->keyword, "maintainer"))
            df_warnings_add(&p->warnings, in->start_line,
                            "MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label");
        if ((!strcmp(in->keyword, "env") || !strcmp(in->keyword, "label")) && in->args.n == 3 &&
            !*in->args.v[2])
            df_warnings_add(&p->warnings, in->start_line,
                            "LegacyKeyValueFormat: \"%s key=value\" should be used instead of legacy \"%s key value\" format",
                            !strcmp(in->keyword, "env") ? "ENV" : "LABEL", !strcmp(in->keyword, "env") ? "ENV" : "LABEL");
        if ((!strcmp(in->keyword, "cmd") || !strcmp(in->keyword, "entrypoint")) && !in->json && in->args.n)
            df_warnings_add(&p->warnings, in->start_line,
                            "JSONArgsRecommended: JSON arguments recommended for %s to prevent unintended behavior "
                            "related to OS signals",
                            !strcmp(in->keyword, "cmd") ? "CMD" : "ENTRYPOINT");
        if (!strcmp(in->keyword, "from") && in->args.n == 3) {
            const char *as = in->args.v[1];
            bool as_upper = !strcmp(as, "AS"), as_lower = !strcmp(as, "as");
            if ((kw_upper && !as_upper) || (kw_lower && !as_lower))
                df_warnings_add(&p->warnings, in->start_line,
                                "FromAsCasing: 'as' and 'FROM' keywords' casing do not match");
            bool has_upper = false;
            for (const char *c = in->args.v[2]; *c; c++)
                has_upper |= *c >= 'A' && *c <= 'Z';
            if (has_upper)
                df_warnings_add(&p->warnings, in->start_line, "StageNameCasing: Stage name '%s' should be lowercase",
                                in->args.v[2]);
        }
        if (kl && (majority_upper ? !kw_upper : !kw_lower))
            df_warnings_add(&p->warnings, in->start_line,
                            "ConsistentInstructionCasing: Command '%.*s' should match the case of the command majority (%s)",
                            (int)kl, o, majority_upper ? "uppercase" : "lowercase");
    }
}

static bool secret_like(const char *key)
{
    static const char *const words[] = {"apikey", "auth", "credential", "credentials", "key", "password", "pass",
                                        "pword", "passwd", "secret", "token"};
    char *k = lower(key);
    bool hit = false, pub = false;
    /* split on '_' like the (?:_|^)word(?:_|$) patterns */
    for (char *save = NULL, *t = strtok_r(k, "_", &save); t; t = strtok_r(NULL, "_", &save)) {
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            hit |= !strcmp(t, words[i]);
        pub |= !strcmp(t, "public");
    }
    free(k);
    return hit && !pub;
}

/* Lint checks that need the stage structure. */
static void lint_stages(df_plan *p, const df_file *f, pstage *ps, size_t nps)
{
    (void)f;
    bool *has_workdir = xcalloc(nps ? nps : 1, sizeof(bool)); /* set in the stage or its bases */
    for (size_t i = 0; i < nps; i++) {
        if (ps[i].raw_platform &&
            (!strcmp(ps[i].raw_platform, "$TARGETPLATFORM") || !strcmp(ps[i].raw_platform, "${TARGETPLATFORM}")))
            df_warnings_add(&p->warnings, ps[i].from->start_line,
                            "RedundantTargetPlatform: Setting platform to predefined %s in FROM is redundant as this is "
                            "the default behavior",
                            ps[i].raw_platform);
        int n_cmd = 0, n_ep = 0, n_hc = 0;
        int base = p->stages[i].base_stage;
        bool workdir_seen = base >= 0 && has_workdir[base];
        has_workdir[i] = workdir_seen;
        for (size_t k = 0; k < ps[i].n; k++) {
            const df_cmd *c = &ps[i].cmds[k];
            int line = c->instr->start_line;
            if (c->kind == DF_CMD_ARG || c->kind == DF_CMD_ENV)
                for (size_t v = 0; v < c->n_kvs; v++)
                    if (secret_like(c->kvs[v].key))
                        df_warnings_add(&p->warnings, line,
                                        "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive "
                                        "data (%s \"%s\")",
                                        c->kind == DF_CMD_ARG ? "ARG" : "ENV", c->kvs[v].key);
            if (c->kind == DF_CMD_WORKDIR && !workdir_seen && c->args.n && c->args.v[0][0] != '/' &&
                c->args.v[0][0] != '$')
                df_warnings_add(&p->warnings, line,
                                "WorkdirRelativePath: Relative workdir \"%s\" can have unexpected results if the "
                                "base image changes",
                                c->args.v[0]);
            if (c->kind == DF_CMD_WORKDIR)
                workdir_seen = true;
            has_workdir[i] = workdir_seen;
            int *cnt = c->kind == DF_CMD_CMD ? &n_cmd : c->kind == DF_CMD_ENTRYPOINT ? &n_ep
                     : c->kind == DF_CMD_HEALTHCHECK ? &n_hc : NULL;
            if (cnt && ++*cnt == 2)
                df_warnings_add(&p->warnings, line,
                                "MultipleInstructionsDisallowed: Multiple %s instructions should not be used in the "
                                "same stage because only the last one will be used",
                                c->kind == DF_CMD_CMD ? "CMD" : c->kind == DF_CMD_ENTRYPOINT ? "ENTRYPOINT" : "HEALTHCHECK");
        }
    }
    free(has_workdir);
}

/* "# check=skip=A,B;error=true" (or --build-arg BUILDKIT_DOCKERFILE_CHECK=...): drop skipped
 * rules from the warnings; with error=true any remaining rule violation fails the plan. */
static int apply_check(df_plan *p, const char *cfg, cb_err *err)
{
    if (!cfg || !*cfg)
        return 0;
    bool skip_all = false, as_error = false;
    cb_strv skip;
    cb_strv_init(&skip);
    char *c = xstrdup(cfg);
    int rc = 0;
    for (char *save = NULL, *part = strtok_r(c, ";", &save); part && rc == 0; part = strtok_r(NULL, ";", &save)) {
        while (*part == ' ')
            part++;
        char *eq = strchr(part, '=');
        if (!eq) {
            rc = cb_fail(err, "failed to parse check options: invalid check option \"%s\"", part);
            break;
        }
        *eq = 0;
        char *key = part, *val = eq + 1;
        if (!strcmp(key, "skip")) {
            for (char *s2 = NULL, *r = strtok_r(val, ",", &s2); r; r = strtok_r(NULL, ",", &s2)) {
                if (!strcasecmp(r, "all"))
                    skip_all = true;
                cb_strv_push(&skip, r);
            }
        } else if (!strcmp(key, "error")) {
            if (!strcasecmp(val, "true") || !strcmp(val, "1"))
                as_error = true;
            else if (strcasecmp(val, "false") && strcmp(val, "0"))
                rc = cb_fail(err, "failed to parse check options: invalid boolean \"%s\" for error", val);
        } else if (strcmp(key, "experimental")) {
            rc = cb_fail(err, "failed to parse check options: invalid check option \"%s\"", key);
        }
    }
    free(c);
    if (rc < 0) {
        cb_strv_free(&skip);
        return rc;
    }
    cb_buf failed;
    cb_buf_init(&failed);
    size_t w = 0;
    for (size_t i = 0; i < p->warnings.n; i++) {
        df_warning *x = &p->warnings.v[i];
        size_t rl = strcspn(x->msg, ":");
        bool is_rule = x->msg[rl] == ':' && rl > 0 && x->msg[0] >= 'A' && x->msg[0] <= 'Z' && !memchr(x->msg, ' ', rl);
        char *rule = is_rule ? xstrndup(x->msg, rl) : NULL;
        bool drop = is_rule && (skip_all || cb_strv_contains(&skip, rule));
        if (drop) {
            free(x->msg);
        } else {
            if (is_rule && as_error && !(failed.data && strstr(failed.data, rule)))
                cb_buf_printf(&failed, "%s%s", failed.len ? ", " : "", rule);
            p->warnings.v[w++] = *x;
        }
        free(rule);
    }
    p->warnings.n = w;
    if (failed.len)
        rc = cb_fail(err, "lint violation found for rules: %s (the Dockerfile sets check=error=true)", failed.data);
    cb_buf_free(&failed);
    cb_strv_free(&skip);
    return rc;
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
        if (rc == 0 && c->chmod) {
            uint64_t m;
            if (parse_uint(c->chmod, 8, 0xFFFFFFFFu, &m) < 0 || m > 07777)
                rc = cb_fail(err, "invalid chmod parameter: '%s'. it should be octal string and between 0 and 07777",
                             c->chmod);
        }
        if (rc == 0 && c->checksum) {
            if (c->kind == DF_CMD_COPY)
                rc = cb_fail(err, "checksum can't be specified for COPY");
            else if (c->args.n != 2)
                rc = cb_fail(err, "checksum can't be specified for multiple sources");
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
        for (size_t i = 0; i < c->args.n && rc == 0; i++)
            rc = df_shell_words(&x.lx, c->args.v[i], &ss->env, &ports, err);
        for (size_t i = 0; i < ports.n && rc == 0; i++)
            rc = add_port(c, ports.v[i], err);
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
            rc = parse_mount(fl->value, &m, xexpand, &x, ssh, err);
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
        strv_copy(&c->env, &ss->env);
        strv_copy(&c->build_args, &ss->build_args);
    }
    return rc;
}

int df_plan_new(const df_file *f, const df_plan_opts *opts, df_plan **out, cb_err *err)
{
    df_plan_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    df_plan *p = xcalloc(1, sizeof(df_plan));
    p->target = -1;
    int rc = 0;
    cb_strv bargs, globals, meta_declared, consumed;
    cb_strv_init(&bargs);
    cb_strv_init(&globals);
    cb_strv_init(&meta_declared);
    cb_strv_init(&consumed);
    pstage *ps = NULL;
    size_t nps = 0;
    df_cmd *meta = NULL;
    size_t nmeta = 0;
    char *tp_norm = NULL, *bp_norm = NULL;
    const char *tp = "linux/amd64", *bp = "linux/amd64";

    /* --build-arg K=V, or K alone (value from the environment; dropped when unset, as docker does) */
    for (size_t i = 0; i < opts->n_build_args; i++) {
        const char *a = opts->build_args[i];
        const char *eq = strchr(a, '=');
        if (eq == a) {
            rc = cb_fail(err, "invalid --build-arg \"%s\": empty name", a);
            goto fail;
        }
        if (eq) {
            char *k = xstrndup(a, (size_t)(eq - a));
            env_set(&bargs, k, eq + 1);
            free(k);
        } else if (getenv(a)) {
            env_set(&bargs, a, getenv(a));
        }
    }
    if (opts->target_platform) {
        if ((rc = normalize_platform(opts->target_platform, &tp_norm, err)) < 0)
            goto fail;
        tp = tp_norm;
    }
    if (opts->build_platform) {
        if ((rc = normalize_platform(opts->build_platform, &bp_norm, err)) < 0)
            goto fail;
        bp = bp_norm;
    }

    /* 1. typed parse, stages */
    for (size_t i = 0; i < f->n_instrs; i++) {
        const df_instr *in = &f->instrs[i];
        if (!strcmp(in->keyword, "from")) {
            static const fspec from_f[] = {{"platform", F_STRING}};
            fval v[1];
            memset(v, 0, sizeof(v));
            const cb_strv *a = &in->args;
            if (a->n == 3 && !strcasecmp(a->v[1], "as")) {
                char *nm = lower(a->v[2]);
                if (!valid_stage_name(nm)) {
                    cb_fail(err, "invalid name for build stage: \"%s\", name can't start with a number or contain symbols",
                            a->v[2]);
                    free(nm);
                    rc = at(err, f, in);
                    goto fail;
                }
                free(nm);
            } else if (a->n != 1) {
                cb_fail(err, "FROM requires either one or three arguments");
                rc = at(err, f, in);
                goto fail;
            }
            if (parse_flags(in, from_f, 1, v, err) < 0) {
                fvals_free(v, 1);
                rc = at(err, f, in);
                goto fail;
            }
            ps = xrealloc(ps, (nps + 1) * sizeof(pstage));
            memset(&ps[nps], 0, sizeof(pstage));
            ps[nps].from = in;
            ps[nps].raw_base = xstrdup(a->v[0]);
            ps[nps].raw_platform = fstr(&v[0]);
            fvals_free(v, 1);
            nps++;
            continue;
        }
        df_cmd c;
        memset(&c, 0, sizeof(c));
        cb_strv_init(&c.args);
        if (parse_typed(in, &c, err) < 0) {
            cmd_free(&c);
            rc = at(err, f, in);
            goto fail;
        }
        if (nps == 0) {
            if (c.kind != DF_CMD_ARG) {
                cmd_free(&c);
                cb_fail(err, "no build stage in current context (only ARG may come before the first FROM)");
                rc = at(err, f, in);
                goto fail;
            }
            meta = xrealloc(meta, (nmeta + 1) * sizeof(df_cmd));
            meta[nmeta++] = c;
            continue;
        }
        pstage *s = &ps[nps - 1];
        s->cmds = xrealloc(s->cmds, (s->n + 1) * sizeof(df_cmd));
        s->cmds[s->n++] = c;
    }
    if (nps == 0) {
        rc = cb_fail(err, "%s: dockerfile contains no stages to build (no FROM instruction)", f->filename);
        goto fail;
    }

    for (size_t i = 0; i < f->warnings.n; i++)
        df_warnings_add(&p->warnings, f->warnings.v[i].line, "NoEmptyContinuation: %s", f->warnings.v[i].msg);
    lint_file(p, f);

    /* 2. global args: platform args, then ARGs before the first FROM */
    {
        char *tos, *tarch, *tvar, *bos, *barch, *bvar;
        split_platform(tp, &tos, &tarch, &tvar);
        split_platform(bp, &bos, &barch, &bvar);
        const char *target_name = opts->target;
        if (!target_name) {
            const df_instr *last = ps[nps - 1].from;
            target_name = last->args.n == 3 ? last->args.v[2] : "";
        }
        const char *kv[][2] = {{"BUILDPLATFORM", bp},    {"BUILDOS", bos},         {"BUILDOSVERSION", ""},
                               {"BUILDARCH", barch},     {"BUILDVARIANT", bvar},   {"TARGETPLATFORM", tp},
                               {"TARGETOS", tos},        {"TARGETOSVERSION", ""},  {"TARGETARCH", tarch},
                               {"TARGETVARIANT", tvar},  {"TARGETSTAGE", target_name}};
        for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
            const char *ov = env_get(&bargs, kv[i][0]);
            global_add(&globals, kv[i][0], ov ? ov : kv[i][1]);
        }
        free(tos);
        free(tarch);
        free(tvar);
        free(bos);
        free(barch);
        free(bvar);
    }
    df_lex lx = {.escape = f->escape};
    for (size_t i = 0; i < nmeta; i++) {
        df_cmd *c = &meta[i];
        for (size_t k = 0; k < c->n_kvs; k++) {
            df_kv *kv = &c->kvs[k];
            const char *bav = env_get(&bargs, kv->key);
            cb_strv_push(&meta_declared, kv->key);
            if (bav) {
                free(kv->value);
                kv->value = xstrdup(bav);
            } else if (kv->value) {
                char *o = NULL;
                if (df_shell_word(&lx, kv->value, &globals, &o, NULL, NULL, err) < 0) {
                    rc = at(err, f, c->instr);
                    goto fail;
                }
                free(kv->value);
                kv->value = o;
            }
            if (kv->value)
                global_add(&globals, kv->key, kv->value);
            p->global_args = xrealloc(p->global_args, (p->n_global_args + 1) * sizeof(df_kv));
            p->global_args[p->n_global_args].key = xstrdup(kv->key);
            p->global_args[p->n_global_args].value = kv->value ? xstrdup(kv->value) : NULL;
            p->n_global_args++;
        }
    }
    /* 3. stages: expand FROM with the global args, find bases among earlier stages */
    p->stages = xcalloc(nps, sizeof(df_stage));
    p->n_stages = nps;
    for (size_t i = 0; i < nps; i++) {
        df_stage *s = &p->stages[i];
        ps[i].st = s;
        s->index = (int)i;
        s->from = ps[i].from;
        s->base_stage = -1;
        if (ps[i].from->args.n == 3)
            s->name = lower(ps[i].from->args.v[2]);
        char *o = NULL;
        cb_strv unm;
        cb_strv_init(&unm);
        if (df_shell_word(&lx, ps[i].raw_base, &globals, &o, NULL, &unm, err) < 0) {
            cb_strv_free(&unm);
            rc = at(err, f, ps[i].from);
            goto fail;
        }
        for (size_t k = 0; k < unm.n; k++)
            if (!cb_strv_contains(&meta_declared, unm.v[k]))
                df_warnings_add(&p->warnings, ps[i].from->start_line,
                                "UndefinedArgInFrom: FROM argument '%s' is not declared", unm.v[k]);
        cb_strv_free(&unm);
        if (!*o) {
            free(o);
            cb_fail(err, "base name (%s) should not be blank", ps[i].raw_base);
            rc = at(err, f, ps[i].from);
            goto fail;
        }
        s->base = o;
        if (ps[i].raw_platform) {
            o = NULL;
            if (df_shell_word(&lx, ps[i].raw_platform, &globals, &o, NULL, NULL, err) < 0) {
                cb_error_wrap(err, "failed to process arguments for platform %s", ps[i].raw_platform);
                rc = at(err, f, ps[i].from);
                goto fail;
            }
            if (!*o) {
                free(o);
                cb_fail(err, "empty platform value from expression %s", ps[i].raw_platform);
                rc = at(err, f, ps[i].from);
                goto fail;
            }
            char *norm = NULL;
            if (normalize_platform(o, &norm, err) < 0) {
                free(o);
                rc = at(err, f, ps[i].from);
                goto fail;
            }
            free(o);
            s->platform = norm;
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
                                    "Duplicate stage name \"%s\", stage names should be unique", s->name);
            if (!strcmp(s->name, "scratch") || !strcmp(s->name, "context"))
                df_warnings_add(&p->warnings, ps[i].from->start_line, "Stage name \"%s\" is reserved", s->name);
        }
    }

    /* 4. ONBUILD instructions of a base stage run first in the stages built on it */
    for (size_t i = 0; i < nps; i++) {
        int b = p->stages[i].base_stage;
        if (b < 0)
            continue;
        cb_strv trig;
        cb_strv_init(&trig);
        for (size_t k = 0; k < ps[b].n; k++)
            if (ps[b].cmds[k].kind == DF_CMD_ONBUILD && ps[b].cmds[k].args.n)
                cb_strv_push(&trig, ps[b].cmds[k].args.v[0]);
        rc = add_triggers(p, f, &ps[i], &trig, err);
        cb_strv_free(&trig);
        if (rc < 0)
            goto fail;
    }

    lint_stages(p, f, ps, nps);

    /* 5. dependencies from raw --from / from= (BuildKit resolves them before expansion) */
    for (size_t i = 0; i < nps; i++)
        for (size_t k = 0; k < ps[i].n; k++)
            if ((rc = cmd_deps(p, f, i, &ps[i].cmds[k], err)) < 0)
                goto fail;
    {
        uint8_t *state = xcalloc(nps, 1);
        for (size_t i = 0; i < nps; i++) {
            if (cycle_from(p, (int)i, state)) {
                free(state);
                rc = cb_fail(err, "%s: circular dependency detected on stage: %s", f->filename,
                             p->stages[i].name ? p->stages[i].name : "(unnamed)");
                goto fail;
            }
        }
        free(state);
    }

    /* 6. target and the stages it needs */
    if (opts->target) {
        p->target = -1;
        for (size_t i = 0; i < nps; i++)
            if (p->stages[i].name && !strcasecmp(p->stages[i].name, opts->target))
                p->target = (int)i;
        if (p->target < 0) {
            const char *names[256];
            size_t nn = 0;
            for (size_t i = 0; i < nps && nn < 256; i++)
                if (p->stages[i].name)
                    names[nn++] = p->stages[i].name;
            const char *s = cb_suggest(opts->target, names, nn);
            rc = s ? cb_fail(err, "target stage \"%s\" could not be found (did you mean %s?)", opts->target, s)
                   : cb_fail(err, "target stage \"%s\" could not be found", opts->target);
            goto fail;
        }
    } else {
        p->target = (int)nps - 1;
    }
    mark_needed(p, p->target);

    /* 6. ONBUILD triggers of base images (needed stages only); new deps may need more stages */
    if (opts->base_onbuild) {
        bool *asked = xcalloc(nps, sizeof(bool));
        bool again = true;
        while (again && rc == 0) {
            again = false;
            for (size_t i = 0; i < nps && rc == 0; i++) {
                df_stage *s = &p->stages[i];
                if (!s->needed || asked[i] || s->base_stage >= 0 || !strcmp(s->base, "scratch"))
                    continue;
                asked[i] = true;
                cb_strv trig;
                cb_strv_init(&trig);
                if (opts->base_onbuild(opts->ud, s->base, s->platform ? s->platform : tp, &trig, err) < 0) {
                    cb_error_wrap(err, "%s", s->base);
                    rc = at(err, f, s->from);
                } else {
                    size_t before = ps[i].n;
                    rc = add_triggers(p, f, &ps[i], &trig, err);
                    for (size_t k = 0; rc == 0 && k < ps[i].n - before; k++)
                        rc = cmd_deps(p, f, i, &ps[i].cmds[k], err);
                    for (size_t k = 0; k < s->n_deps; k++)
                        if (!p->stages[s->deps[k]].needed) {
                            mark_needed(p, s->deps[k]);
                            again = true;
                        }
                }
                cb_strv_free(&trig);
            }
        }
        free(asked);
        if (rc < 0)
            goto fail;
    }

    /* 7. dispatch: expand every stage in order, as BuildKit does for the reachable ones */
    {
        sstate *states = xcalloc(nps, sizeof(sstate));
        for (size_t i = 0; i < nps && rc == 0; i++) {
            df_stage *s = &p->stages[i];
            sstate *ss = &states[i];
            cb_strv_init(&ss->env);
            cb_strv_init(&ss->build_args);
            cb_strv_init(&ss->declared);
            ss->env_known = s->base_stage >= 0 ? states[s->base_stage].env_known
                                                : (!strcmp(s->base, "scratch") || opts->base_env != NULL);
            if (s->base_stage >= 0) {
                strv_copy(&ss->env, &states[s->base_stage].env);
                strv_copy(&ss->build_args, &states[s->base_stage].build_args);
                strv_copy(&ss->declared, &states[s->base_stage].declared);
            } else if (strcmp(s->base, "scratch") != 0 && s->needed && opts->base_env) {
                cb_strv img;
                cb_strv_init(&img);
                if (opts->base_env(opts->ud, s->base, s->platform ? s->platform : tp, &img, err) < 0) {
                    cb_strv_free(&img);
                    cb_error_wrap(err, "%s", s->base);
                    rc = at(err, f, s->from);
                    break;
                }
                for (size_t k = 0; k < img.n; k++) {
                    const char *eq = strchr(img.v[k], '=');
                    char *key = eq ? xstrndup(img.v[k], (size_t)(eq - img.v[k])) : xstrdup(img.v[k]);
                    env_set(&ss->env, key, eq ? eq + 1 : "");
                    free(key);
                }
                cb_strv_free(&img);
            }
            if (s->base_stage < 0 && !env_get(&ss->env, "PATH"))
                env_set(&ss->env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            s->cmds = ps[i].cmds;
            s->n_cmds = ps[i].n;
            s->n_triggers = ps[i].n_triggers;
            ps[i].cmds = NULL;
            ps[i].n = 0;
            int ssh = 0;
            for (size_t k = 0; k < s->n_cmds; k++) {
                df_cmd *c = &s->cmds[k];
                cb_err e2 = {0};
                cb_strv ignored, unm;
                cb_strv_init(&ignored);
                cb_strv_init(&unm);
                int r = dispatch_cmd(p, f, &globals, &bargs, s->needed ? &consumed : &ignored, ss, c, ssh, &unm,
                                     s->needed ? err : &e2);
                if (r == 0 && s->needed && ss->env_known)
                    report_undefined(p, c, ss, &unm);
                cb_strv_free(&unm);
                cb_strv_free(&ignored);
                if (r < 0 && s->needed) {
                    rc = at(err, f, c->instr);
                    break;
                }
                for (size_t m = 0; m < c->n_mounts; m++)
                    ssh += c->mounts[m].type == DF_MOUNT_SSH;
                if (c->kind == DF_CMD_COPY && c->from_stage >= 0 && s->needed && (size_t)c->from_stage > i) {
                    cb_fail(err, "cannot copy from stage \"%s\", it needs to be defined before current stage \"%s\"",
                            c->from, s->name ? s->name : "");
                    rc = at(err, f, c->instr);
                    break;
                }
                for (size_t m = 0; m < c->n_mounts; m++) {
                    df_mount *mt = &c->mounts[m];
                    if (mt->from) {
                        cb_err e3;
                        resolve_from(p, mt->from, &mt->from_stage, &e3);
                    }
                }
            }
        }
        for (size_t i = 0; i < nps; i++) {
            cb_strv_free(&states[i].env);
            cb_strv_free(&states[i].build_args);
            cb_strv_free(&states[i].declared);
        }
        free(states);
        if (rc < 0)
            goto fail;
    }

    /* warnings in file order (0 = not tied to a line: last) */
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

    {
        const char *cfg = env_get(&bargs, "BUILDKIT_DOCKERFILE_CHECK");
        if ((rc = apply_check(p, cfg ? cfg : f->check, err)) < 0) {
            cb_error_wrap(err, "%s", f->filename);
            goto fail;
        }
    }

    /* 8. --build-arg nobody consumed */
    {
        cb_strv unused;
        cb_strv_init(&unused);
        for (size_t i = 0; i < bargs.n; i++) {
            char *k = xstrndup(bargs.v[i], strcspn(bargs.v[i], "="));
            bool used = cb_strv_contains(&consumed, k) || cb_strv_contains(&meta_declared, k) ||
                        df_arg_is_predefined(k) || cb_str_has_prefix(k, "BUILDKIT_") || env_get(&globals, k);
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
            df_warnings_add(&p->warnings, 0, "[Warning] One or more build-args [%s] were not consumed", b.data);
            cb_buf_free(&b);
        }
        cb_strv_free(&unused);
    }
    goto done;

fail:
    df_plan_free(p);
    p = NULL;
done:
    for (size_t i = 0; i < nmeta; i++)
        cmd_free(&meta[i]);
    free(meta);
    for (size_t i = 0; i < nps; i++) {
        for (size_t k = 0; k < ps[i].n; k++)
            cmd_free(&ps[i].cmds[k]);
        free(ps[i].cmds);
        free(ps[i].raw_base);
        free(ps[i].raw_platform);
    }
    free(ps);
    cb_strv_free(&bargs);
    cb_strv_free(&globals);
    cb_strv_free(&meta_declared);
    cb_strv_free(&consumed);
    free(tp_norm);
    free(bp_norm);
    *out = p;
    return p ? 0 : (rc < 0 ? rc : -EINVAL);
}

int df_cmd_run_argv(const df_cmd *c, const cb_strv *shell, cb_strv *argv, const df_heredoc **pipe_file, cb_err *err)
{
    if (pipe_file)
        *pipe_file = NULL;
    const df_instr *in = c->instr;
    bool prepend = !c->json;
    cb_strv args;
    cb_strv_init(&args);
    strv_copy(&args, &c->args);
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
            strv_copy(argv, shell);
        else {
            cb_strv_push(argv, "/bin/sh");
            cb_strv_push(argv, "-c");
        }
    }
    strv_copy(argv, &args);
    cb_strv_free(&args);
    return 0;
}
