/* Instruction flags (BuildKit BFlags) and typed options: instructions.Parse per keyword. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

static char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
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
        else if ((ul == 2 && !strncmp(u, "us", 2)) ||
                 (ul == 3 && (!strncmp(u, "\xC2\xB5s", 3) || !strncmp(u, "\xCE\xBCs", 3))))
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

int df_flags_parse(const df_instr *in, const df_fspec *specs, size_t n, df_fval *vals, cb_err *err)
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
            /* BuildKit names the flag with its -- (bflag.go since 31a7c177e) */
            const char *cands[16];
            for (size_t j = 0; j < n && j < 16; j++)
                cands[j] = specs[j].name;
            const char *s = cb_suggest(fl->name, cands, n < 16 ? n : 16);
            if (s)
                return cb_fail(err, "unknown flag: --%s (did you mean %s?)", fl->name, s);
            return cb_fail(err, "unknown flag: --%s", fl->name);
        }
        if (vals[i].set && specs[i].type != DF_F_STRINGS)
            return cb_fail(err, "duplicate flag specified: --%s", fl->name);
        vals[i].set = true;
        switch (specs[i].type) {
        case DF_F_BOOL: {
            if (fl->value && !*fl->value)
                return cb_fail(err, "missing a value on flag: --%s", fl->name);
            char *lv = fl->value ? df_str_lower(fl->value) : xstrdup("true");
            if (strcmp(lv, "true") && strcmp(lv, "false")) {
                free(lv);
                return cb_fail(err, "expecting boolean value for flag --%s, not: %s", fl->name, fl->value);
            }
            free(vals[i].value);
            vals[i].value = lv;
            break;
        }
        case DF_F_STRING:
            if (!fl->value)
                return cb_fail(err, "missing a value on flag: --%s", fl->name);
            free(vals[i].value);
            vals[i].value = xstrdup(fl->value);
            break;
        default:
            if (!fl->value)
                return cb_fail(err, "missing a value on flag: --%s", fl->name);
            cb_strv_push(&vals[i].values, fl->value);
        }
    }
    return 0;
}

void df_flags_free(df_fval *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].value);
        cb_strv_free(&v[i].values);
    }
}

static bool fbool(const df_fval *v)
{
    return v->set && !strcmp(v->value, "true");
}

char *df_flag_str(const df_fval *v)
{
    return v->set && v->value && *v->value ? xstrdup(v->value) : NULL;
}

/* ------------------------------------------------------------ typed parse */

static df_cmd_kind kind_of(const char *kw)
{
    static const struct {
        const char *k;
        df_cmd_kind v;
    } t[] = {{"add", DF_CMD_ADD},
             {"arg", DF_CMD_ARG},
             {"cmd", DF_CMD_CMD},
             {"copy", DF_CMD_COPY},
             {"entrypoint", DF_CMD_ENTRYPOINT},
             {"env", DF_CMD_ENV},
             {"expose", DF_CMD_EXPOSE},
             {"healthcheck", DF_CMD_HEALTHCHECK},
             {"label", DF_CMD_LABEL},
             {"maintainer", DF_CMD_MAINTAINER},
             {"onbuild", DF_CMD_ONBUILD},
             {"run", DF_CMD_RUN},
             {"shell", DF_CMD_SHELL},
             {"stopsignal", DF_CMD_STOPSIGNAL},
             {"user", DF_CMD_USER},
             {"volume", DF_CMD_VOLUME},
             {"workdir", DF_CMD_WORKDIR}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(kw, t[i].k))
            return t[i].v;
    return DF_CMD_UNKNOWN;
}

void df_cmd_free(df_cmd *c)
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
    for (size_t i = 0; i < c->n_devices; i++)
        free(c->devices[i].name);
    free(c->devices);
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
    df_fval v[1];
    memset(v, 0, sizeof(v));
    int rc = df_flags_parse(in, NULL, 0, v, err);
    df_flags_free(v, 0);
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
static int split_csv(const char *s, const char *what, cb_strv *out, cb_err *err)
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
                    return cb_fail(err,
                                   "failed to parse csv %s: extraneous or missing \" in quoted-field", what);
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
                return cb_fail(err, "failed to parse csv %s: extraneous or missing \" in quoted-field", what);
            }
        } else {
            while (i < n && s[i] != ',') {
                if (s[i] == '"') {
                    cb_buf_free(&f);
                    return cb_fail(err, "failed to parse csv %s: bare \" in non-quoted-field", what);
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

/* BuildKit's ParseDevice: the first bare field (or one whose key is no option) is the name, so
 * "vendor.com/class=name" needs no name= key; any later field must be an option. */
int df_device_parse(const char *value, df_device *d, cb_err *err)
{
    memset(d, 0, sizeof *d);
    cb_strv fields;
    cb_strv_init(&fields);
    int rc = split_csv(value, "devices", &fields, err);
    for (size_t i = 0; i < fields.n && rc == 0; i++) {
        const char *field = fields.v[i];
        const char *eq = strchr(field, '=');
        cleanup_free char *rawkey = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
        cleanup_free char *key = df_str_lower(rawkey);
        if (!eq) {
            if (!strcmp(key, "required"))
                d->required = true;
            else if (!d->name)
                d->name = xstrdup(field);
            else
                rc = cb_fail(err, "invalid field '%s' must be a key=value pair", field);
        } else if (!strcmp(key, "name")) {
            if (d->name)
                rc = cb_fail(err, "device name already set to %s", d->name);
            else
                d->name = xstrdup(eq + 1);
        } else if (!strcmp(key, "required")) {
            if (parse_bool_str(eq + 1, &d->required) < 0)
                rc = cb_fail(err, "invalid value for %s: %s", key, eq + 1);
        } else if (!d->name) {
            d->name = xstrdup(field);
        } else {
            static const char *const keys[] = {"name", "required"};
            const char *s = cb_suggest(key, keys, 2);
            rc = s ? cb_fail(err, "unexpected key '%s' in '%s' (did you mean %s?)", key, field, s)
                   : cb_fail(err, "unexpected key '%s' in '%s'", key, field);
        }
    }
    cb_strv_free(&fields);
    /* BuildKit sends an empty name on and finds no device; saying so here is clearer */
    if (rc == 0 && (!d->name || !*d->name))
        rc = cb_fail(err, "--device=%s names no device (want --device=vendor.com/class=name[,required])", value);
    if (rc < 0) {
        free(d->name);
        d->name = NULL;
    }
    return rc;
}

int df_parse_uint(const char *v, int base, uint64_t max, uint64_t *out)
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

/* Long: one case per --mount key (type, target, source, from, id, sharing, mode, uid, gid,
 * size, required, env…) with BuildKit's per-type validation after them, as its parser has it. */
int df_mount_parse(const char *value, df_mount *m, df_expand_fn ex, void *ud, int ssh_index, cb_err *err)
{
    cb_strv fields;
    cb_strv_init(&fields);
    int rc = split_csv(value, "mounts", &fields, err);
    if (rc < 0)
        return rc;
    memset(m, 0, sizeof(*m));
    m->type = DF_MOUNT_BIND;
    m->from_stage = -1;
    bool ro_auto = true, has_sharing = false, has_uid = false, has_gid = false, has_size = false;
    bool deferred = false;
    uint64_t uid = 0, gid = 0, mode = 0;
    char *cache_id = NULL;
    static const char *const all_keys[] = {
        "type", "from", "source", "target",      "readonly", "id", "sharing",   "required", "mode", "uid",
        "gid",  "src",  "dst",    "destination", "ro",       "rw", "readwrite", "size",     "env"};
    static const char *const types[] = {"bind", "cache", "tmpfs", "secret", "ssh"};
    for (size_t i = 0; i < fields.n && rc == 0; i++) {
        const char *field = fields.v[i];
        const char *eq = strchr(field, '=');
        char *rawkey = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
        char *key = df_str_lower(rawkey);
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
        if (!ex && strchr(eq + 1, '$')) {
            /* BuildKit's parseMount: a value with a variable is checked after expansion */
            deferred = true;
            free(key);
            continue;
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
            char *lv = df_str_lower(val);
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
            char *lv = df_str_lower(val);
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
            if (df_parse_uint(val, 8, 0xFFFFFFFFu, &mode) < 0)
                rc = cb_fail(err, "invalid value %s for mode", val);
            m->has_mode = true;
        } else if (!strcmp(key, "uid")) {
            if (df_parse_uint(val, 10, 0xFFFFFFFFu, &uid) < 0)
                rc = cb_fail(err, "invalid value %s for uid", val);
            has_uid = true;
        } else if (!strcmp(key, "gid")) {
            if (df_parse_uint(val, 10, 0xFFFFFFFFu, &gid) < 0)
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
    if (rc == 0 && deferred) {
        m->id = cache_id;
        return 0;
    }
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
    if (rc == 0 && (m->type == DF_MOUNT_BIND || m->type == DF_MOUNT_CACHE || m->type == DF_MOUNT_TMPFS) &&
        !m->target)
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

int df_cmd_add_port(df_cmd *c, const char *raw_in, cb_err *err)
{
    /* nat.ParsePortSpec accepts ip:hostPort:containerPort; only the container port is exposed */
    const char *raw = raw_in;
    const char *colon = strrchr(raw_in, ':');
    if (colon)
        raw = colon + 1;
    const char *slash = strchr(raw, '/');
    char *port = slash ? xstrndup(raw, (size_t)(slash - raw)) : xstrdup(raw);
    char *proto = df_str_lower(slash && slash[1] ? slash + 1 : "tcp");
    const char *dash = strchr(port, '-');
    char *s1 = dash ? xstrndup(port, (size_t)(dash - port)) : xstrdup(port);
    const char *s2 = dash ? dash + 1 : port;
    uint64_t a = 0, b = 0;
    int rc = 0;
    if (!*port)
        rc = cb_fail(err, "invalid port \"%s\": no port given", raw);
    else if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
        rc = cb_fail(err, "invalid proto: %s (use tcp, udp or sctp)", proto);
    else if (df_parse_uint(s1, 10, 65535, &a) < 0 || df_parse_uint(s2, 10, 65535, &b) < 0)
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
/* Long: one case per instruction kind, each with its flag table (BuildKit's instructions.Parse). */
int df_cmd_parse_typed(const df_instr *in, df_cmd *c, cb_err *err)
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
            return cb_fail(err,
                           "%s requires at least two arguments, but only one was provided. Destination could "
                           "not be determined",
                           name);
        static const df_fspec add_f[] = {{"chown", DF_F_STRING},    {"chmod", DF_F_STRING},
                                         {"link", DF_F_BOOL},       {"keep-git-dir", DF_F_BOOL},
                                         {"checksum", DF_F_STRING}, {"exclude", DF_F_STRINGS},
                                         {"unpack", DF_F_BOOL}};
        static const df_fspec copy_f[] = {{"chown", DF_F_STRING}, {"from", DF_F_STRING},
                                          {"chmod", DF_F_STRING}, {"link", DF_F_BOOL},
                                          {"parents", DF_F_BOOL}, {"exclude", DF_F_STRINGS}};
        df_fval v[7];
        memset(v, 0, sizeof(v));
        rc = df_flags_parse(in, add ? add_f : copy_f, add ? 7 : 6, v, err);
        if (rc == 0) {
            if (add) {
                c->chown = df_flag_str(&v[0]);
                c->chmod = df_flag_str(&v[1]);
                c->link = fbool(&v[2]);
                c->keep_git_dir = fbool(&v[3]);
                c->checksum = df_flag_str(&v[4]);
                df_strv_copy(&c->excludes, &v[5].values);
                c->unpack = v[6].set ? fbool(&v[6]) : -1;
            } else {
                c->chown = df_flag_str(&v[0]);
                c->from = df_flag_str(&v[1]);
                c->chmod = df_flag_str(&v[2]);
                c->link = fbool(&v[3]);
                c->parents = fbool(&v[4]);
                df_strv_copy(&c->excludes, &v[5].values);
            }
            rc = sources_and_dest(in, c, name, err);
        }
        df_flags_free(v, 7);
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
        static const df_fspec run_f[] = {
            {"mount", DF_F_STRINGS}, {"network", DF_F_STRING}, {"security", DF_F_STRING}, {"device", DF_F_STRINGS}};
        df_fval v[4];
        memset(v, 0, sizeof(v));
        rc = df_flags_parse(in, run_f, 4, v, err);
        for (size_t i = 0; rc == 0 && i < v[3].values.n; i++) {
            df_device d;
            if ((rc = df_device_parse(v[3].values.v[i], &d, err)) == 0) {
                c->devices = xrealloc(c->devices, (c->n_devices + 1) * sizeof *c->devices);
                c->devices[c->n_devices++] = d;
            }
        }
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
            rc = df_mount_parse(v[0].values.v[i], &m, NULL, NULL, ssh, err);
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
        df_flags_free(v, 4);
        if (rc < 0)
            return rc;
        shell_dependent(in, &c->args, 0);
        for (size_t h = 0; h < in->n_heredocs; h++) {
            const df_heredoc *d = &in->heredocs[h];
            c->inline_files = xrealloc(c->inline_files, (c->n_inline_files + 1) * sizeof(df_heredoc));
            c->inline_files[c->n_inline_files++] =
                (df_heredoc){xstrdup(d->name), d->chomp ? df_heredoc_chomp(d->content) : xstrdup(d->content),
                             d->expand, d->chomp, d->fd};
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
        static const df_fspec hc_f[] = {{"interval", DF_F_STRING},
                                        {"timeout", DF_F_STRING},
                                        {"start-period", DF_F_STRING},
                                        {"start-interval", DF_F_STRING},
                                        {"retries", DF_F_STRING}};
        df_fval v[5];
        memset(v, 0, sizeof(v));
        rc = df_flags_parse(in, hc_f, 5, v, err);
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
                df_strv_copy(&c->args, &cmdv);
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
        df_flags_free(v, 5);
        free(typ);
        return rc;
    }
    case DF_CMD_EXPOSE:
        if (in->args.n == 0)
            return cb_fail(err, "EXPOSE requires at least one argument");
        if ((rc = no_flags(in, err)) < 0)
            return rc;
        df_strv_copy(&c->args, &in->args);
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
        df_strv_copy(&c->args, &in->args);
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
