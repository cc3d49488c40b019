/* BuildKit's lint rules and the "# check=" directive. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

static const df_lint_rule rules[] = {
    {"StageNameCasing", "Stage names should be lowercase", "stage-name-casing", false},
    {"FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword", "from-as-casing", false},
    {"NoEmptyContinuation", "Empty continuation lines will become errors in a future release",
     "no-empty-continuation", false},
    {"ConsistentInstructionCasing",
     "All commands within the Dockerfile should use the same casing (either upper or lower)",
     "consistent-instruction-casing", false},
    {"DuplicateStageName", "Stage names should be unique", "duplicate-stage-name", false},
    {"ReservedStageName", "Reserved words should not be used as stage names", "reserved-stage-name", false},
    {"JSONArgsRecommended",
     "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
     "json-args-recommended", false},
    {"MaintainerDeprecated",
     "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
     "maintainer-deprecated", false},
    {"UndefinedArgInFrom", "FROM command must use declared ARGs", "undefined-arg-in-from", false},
    {"WorkdirRelativePath",
     "Relative workdir without an absolute workdir declared within the build can have unexpected results if "
     "the "
     "base image changes",
     "workdir-relative-path", false},
    {"UndefinedVar", "Variables should be defined before their use", "undefined-var", false},
    {"MultipleInstructionsDisallowed",
     "Multiple instructions of the same type should not be used in the same stage",
     "multiple-instructions-disallowed", false},
    {"LegacyKeyValueFormat", "Legacy key/value format with whitespace separator should not be used",
     "legacy-key-value-format", false},
    {"InvalidBaseImagePlatform", "Base image platform does not match expected target platform", NULL, false},
    {"RedundantTargetPlatform",
     "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
     "redundant-target-platform", false},
    {"SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands",
     "secrets-used-in-arg-or-env", false},
    {"InvalidDefaultArgInFrom", "Default value for global ARG results in an empty or invalid base image name",
     "invalid-default-arg-in-from", false},
    {"FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value",
     "from-platform-flag-const-disallowed", false},
    {"CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore", "copy-ignored-file",
     false},
    {"InvalidDefinitionDescription",
     "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If "
     "this is "
     "not intended to be a description comment, add an empty line or comment between the instruction and the "
     "comment.",
     "invalid-definition-description", true},
    {"ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase", "expose-proto-casing", false},
    {"ExposeInvalidFormat",
     "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error "
     "in a "
     "future release",
     "expose-invalid-format", false},
};

const df_lint_rule *df_lint_rule_find(const char *name)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (!strcmp(rules[i].name, name))
            return &rules[i];
    return NULL;
}

const char *df_doc_comment(const cb_strv *comments, const char *name)
{
    size_t nl = name ? strlen(name) : 0;
    for (size_t i = 0; nl && i < comments->n; i++)
        if (!strncmp(comments->v[i], name, nl) && comments->v[i][nl] == ' ')
            return comments->v[i] + nl + 1;
    return NULL;
}

/* BuildKit's validateDefinitionDescription: the last comment line must start with a key. */
static void lint_definition_description(df_plan *p, const df_instr *in, const char *what,
                                        const char *const *keys, size_t n)
{
    if (!in->comments.n || !n)
        return;
    const char *last = in->comments.v[in->comments.n - 1];
    size_t wl = strcspn(last, " ");
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) == wl && !strncmp(keys[i], last, wl))
            return;
    df_warnings_add(
        &p->warnings, in->start_line,
        "InvalidDefinitionDescription: Comment for %s should follow the format: `# %s <description>`", what,
        n > 1 ? "<arg_key>" : keys[0]);
}

bool df_lint_ref_valid(const char *ref)
{
    size_t n = strlen(ref);
    if (!n || ref[n - 1] == ':' || ref[n - 1] == '@' || ref[0] == ':' || ref[0] == '/' || ref[0] == '@')
        return false;
    const char *at = strchr(ref, '@'), *slash = strrchr(ref, '/');
    const char *colon = strrchr(ref, ':');
    size_t name_end = at ? (size_t)(at - ref) : n;
    if (colon && (!slash || colon > slash) && (!at || colon < at)) {
        name_end = (size_t)(colon - ref);
        for (const char *t = colon + 1; t < (at ? at : ref + n); t++)
            if (!(*t == '_' || *t == '.' || *t == '-' || (*t >= 'a' && *t <= 'z') ||
                  (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9')))
                return false;
    }
    size_t first = strcspn(ref, "/");
    bool has_domain = first < name_end && (memchr(ref, '.', first) || memchr(ref, ':', first) ||
                                           !strncmp(ref, "localhost", first));
    for (size_t i = has_domain ? first + 1 : 0, seg = 0; i < name_end; i++) {
        char c = ref[i];
        if (c == '/') {
            if (!seg)
                return false;
            seg = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
        seg++;
    }
    return ref[name_end - 1] != '/';
}

static void lint_expose(df_plan *p, const df_instr *in)
{
    for (size_t i = 0; i < in->args.n; i++) {
        const char *raw = in->args.v[i], *slash = strrchr(raw, '/');
        bool upper = false;
        for (const char *c = slash ? slash + 1 : ""; *c; c++)
            upper |= *c >= 'A' && *c <= 'Z';
        if (upper)
            df_warnings_add(
                &p->warnings, in->start_line,
                "ExposeProtoCasing: Defined protocol '%s' in EXPOSE instruction should be lowercase", raw);
        if (strchr(raw, ':'))
            df_warnings_add(
                &p->warnings, in->start_line,
                "ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port "
                "mapping, found '%s'",
                raw);
    }
}

/* BuildKit's default lint checks that need no image data (reported as warnings). */
static void lint_instrs(df_plan *p, const df_file *f, size_t n_instrs, bool parse_time_only);

void df_lint_file(df_plan *p, const df_file *f)
{
    lint_instrs(p, f, f->n_instrs, false);
}

void df_lint_parsed(df_plan *p, const df_file *f, size_t n)
{
    lint_instrs(p, f, n < f->n_instrs ? n : f->n_instrs, true);
}

static void lint_instrs(df_plan *p, const df_file *f, size_t n_instrs, bool parse_time_only)
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
    for (size_t i = 0; i < n_instrs; i++) {
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
            df_warnings_add(
                &p->warnings, in->start_line,
                "MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label");
        if (!parse_time_only && (!strcmp(in->keyword, "env") || !strcmp(in->keyword, "label")) && in->args.n == 3 &&
            !*in->args.v[2])
            df_warnings_add(&p->warnings, in->start_line,
                            "LegacyKeyValueFormat: \"%s key=value\" should be used instead of legacy \"%s "
                            "key value\" format",
                            !strcmp(in->keyword, "env") ? "ENV" : "LABEL",
                            !strcmp(in->keyword, "env") ? "ENV" : "LABEL");
        if (!parse_time_only && !strcmp(in->keyword, "expose"))
            lint_expose(p, in);
        if (!strcmp(in->keyword, "arg")) {
            cb_strv owned;
            cb_strv_init(&owned);
            for (size_t a = 0; a < in->args.n; a++)
                cb_strv_push_owned(&owned, xstrndup(in->args.v[a], strcspn(in->args.v[a], "=")));
            lint_definition_description(p, in, "ARG", (const char *const *)owned.v, owned.n);
            cb_strv_free(&owned);
        }
        if (!strcmp(in->keyword, "from") && in->args.n == 3) {
            const char *as = in->args.v[1];
            bool as_upper = true, as_lower = true;
            for (const char *c = as; *c; c++) {
                as_upper &= !(*c >= 'a' && *c <= 'z');
                as_lower &= !(*c >= 'A' && *c <= 'Z');
            }
            if ((kw_upper && !as_upper) || (kw_lower && !as_lower))
                df_warnings_add(&p->warnings, in->start_line,
                                "FromAsCasing: '%s' and '%.*s' keywords' casing do not match", as, (int)kl,
                                o);
            char *lname = df_str_lower(in->args.v[2]);
            const char *keys[] = {lname};
            lint_definition_description(p, in, "FROM", keys, 1);
            free(lname);
            bool has_upper = false;
            for (const char *c = in->args.v[2]; *c; c++)
                has_upper |= *c >= 'A' && *c <= 'Z';
            if (has_upper)
                df_warnings_add(&p->warnings, in->start_line,
                                "StageNameCasing: Stage name '%s' should be lowercase", in->args.v[2]);
        }
        if (!parse_time_only && kl && (majority_upper ? !kw_upper : !kw_lower))
            df_warnings_add(&p->warnings, in->start_line,
                            "ConsistentInstructionCasing: Command '%.*s' should match the case of the "
                            "command majority (%s)",
                            (int)kl, o, majority_upper ? "uppercase" : "lowercase");
    }
}

/* getSecretsRegex: a '_'-separated word of the name is a secret's (apikey, auth, key, password,
 * secret, token…) and none says it is not one (public, file, version). */
static bool secret_like(const char *key)
{
    static const char *const words[] = {"apikey", "auth",   "credential", "credentials", "key",
                                        "password", "pword", "passwd",     "secret",      "token"};
    static const char *const allow[] = {"public", "file", "version"};
    char *k = df_str_lower(key);
    bool hit = false, allowed = false;
    /* split on '_' like the (?:_|^)word(?:_|$) patterns */
    for (char *save = NULL, *t = strtok_r(k, "_", &save); t; t = strtok_r(NULL, "_", &save)) {
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            hit |= !strcmp(t, words[i]);
        for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
            allowed |= !strcmp(t, allow[i]);
    }
    free(k);
    return hit && !allowed;
}

/* Lint checks that need the stage structure. */
void df_lint_stages(df_plan *p, const df_file *f, df_pstage *ps, size_t nps)
{
    (void)f;
    bool *has_workdir = xcalloc(nps ? nps : 1, sizeof(bool)); /* set in the stage or its bases */
    bool *has_shell = xcalloc(nps ? nps : 1, sizeof(bool));   /* SHELL: the image config has a Shell */
    for (size_t i = 0; i < nps; i++) {
        if (ps[i].raw_platform && (!strcmp(ps[i].raw_platform, "$TARGETPLATFORM") ||
                                   !strcmp(ps[i].raw_platform, "${TARGETPLATFORM}")))
            df_warnings_add(
                &p->warnings, ps[i].from->start_line,
                "RedundantTargetPlatform: Setting platform to predefined %s in FROM is redundant as this is "
                "the default behavior",
                ps[i].raw_platform);
        else if (ps[i].raw_platform && !strchr(ps[i].raw_platform, '$') && strchr(ps[i].raw_platform, '/')) {
            const char *pl = ps[i].raw_platform, *name = p->stages[i].name ? p->stages[i].name : "";
            char *os = xstrndup(pl, strcspn(pl, "/"));
            const char *a = pl + strlen(os) + 1;
            char *arch = xstrndup(a, strcspn(a, "/"));
            if (!strstr(name, os) && !strstr(name, arch))
                df_warnings_add(
                    &p->warnings, ps[i].from->start_line,
                    "FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value "
                    "\"%s\"",
                    pl);
            free(os);
            free(arch);
        }
        int prev_cmd = 0, prev_ep = 0, prev_hc = 0;
        int base = p->stages[i].base_stage;
        bool workdir_seen = base >= 0 && has_workdir[base];
        has_workdir[i] = workdir_seen;
        has_shell[i] = base >= 0 && has_shell[base];
        for (size_t k = 0; k < ps[i].n; k++) {
            const df_cmd *c = &ps[i].cmds[k];
            int line = c->instr->start_line;
            if (c->kind == DF_CMD_SHELL)
                has_shell[i] = true;
            if ((c->kind == DF_CMD_CMD || c->kind == DF_CMD_ENTRYPOINT) && !c->instr->json &&
                c->instr->args.n && !has_shell[i])
                df_warnings_add(
                    &p->warnings, line,
                    "JSONArgsRecommended: JSON arguments recommended for %s to prevent unintended behavior "
                    "related to OS signals",
                    c->kind == DF_CMD_CMD ? "CMD" : "ENTRYPOINT");
            if (c->kind == DF_CMD_ARG || c->kind == DF_CMD_ENV)
                for (size_t v = 0; v < c->n_kvs; v++)
                    if (secret_like(c->kvs[v].key))
                        df_warnings_add(
                            &p->warnings, line,
                            "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive "
                            "data (%s \"%s\")",
                            c->kind == DF_CMD_ARG ? "ARG" : "ENV", c->kvs[v].key);
            if (c->kind == DF_CMD_WORKDIR && !workdir_seen && c->args.n && c->args.v[0][0] != '/' &&
                c->args.v[0][0] != '$')
                df_warnings_add(
                    &p->warnings, line,
                    "WorkdirRelativePath: Relative workdir \"%s\" can have unexpected results if the "
                    "base image changes",
                    c->args.v[0]);
            if (c->kind == DF_CMD_WORKDIR)
                workdir_seen = true;
            has_workdir[i] = workdir_seen;
            /* validateUsedOnce: the earlier instruction is the one that has no effect */
            int *prev = c->kind == DF_CMD_CMD           ? &prev_cmd
                        : c->kind == DF_CMD_ENTRYPOINT  ? &prev_ep
                        : c->kind == DF_CMD_HEALTHCHECK ? &prev_hc
                                                        : NULL;
            if (prev && *prev)
                df_warnings_add(
                    &p->warnings, *prev,
                    "MultipleInstructionsDisallowed: Multiple %s instructions should not be used in the "
                    "same stage because only the last one will be used",
                    c->kind == DF_CMD_CMD          ? "CMD"
                    : c->kind == DF_CMD_ENTRYPOINT ? "ENTRYPOINT"
                                                   : "HEALTHCHECK");
            if (prev)
                *prev = line;
        }
    }
    free(has_workdir);
    free(has_shell);
}

/* BuildKit's validateCopySourcePath: without "!" patterns, a COPY/ADD source from the context
 * that the .dockerignore excludes ("." only when a pattern excludes every root entry). */
void df_lint_ignored(df_plan *p, const df_ignore *ig)
{
    if (!ig || df_ignore_has_exclusions(ig))
        return;
    bool root_ignored = df_ignore_excludes_root(ig);
    for (size_t i = 0; i < p->n_stages; i++) {
        for (size_t k = 0; k < p->stages[i].n_cmds; k++) {
            const df_cmd *c = &p->stages[i].cmds[k];
            if ((c->kind != DF_CMD_COPY && c->kind != DF_CMD_ADD) || c->from || c->args.n < 2)
                continue;
            for (size_t a = 0; a + 1 < c->args.n; a++) {
                const char *src = c->args.v[a];
                if (strstr(src, "://"))
                    continue;
                cb_buf rel;
                cb_buf_init(&rel);
                /* path.Clean of the source, relative to the context root */
                for (const char *s = src; *s;) {
                    while (*s == '/')
                        s++;
                    size_t l = strcspn(s, "/");
                    if (l == 1 && s[0] == '.') {
                    } else if (l == 2 && s[0] == '.' && s[1] == '.') {
                        char *slash = rel.len ? strrchr(rel.data, '/') : NULL;
                        rel.len = slash ? (size_t)(slash - rel.data) : 0;
                        cb_buf_puts(&rel, "");
                        if (rel.data)
                            rel.data[rel.len] = 0;
                    } else if (l) {
                        if (rel.len)
                            cb_buf_putc(&rel, '/');
                        cb_buf_append(&rel, s, l);
                    }
                    s += l;
                }
                cb_buf_puts(&rel, "");
                bool root = rel.len == 0;
                if (root ? root_ignored && df_ignore_patterns_match(ig, ".") : df_ignore_matches(ig, rel.data))
                    df_warnings_add(
                        &p->warnings, c->instr->start_line,
                        "CopyIgnoredFile: Attempting to %s file \"%s\" that is excluded by .dockerignore",
                        c->kind == DF_CMD_ADD ? "Add" : "Copy", root ? "." : rel.data);
                cb_buf_free(&rel);
            }
        }
    }
}

typedef struct lint_cfg {
    bool skip_all, exp_all, as_error, has_error;
    cb_strv skip, exp;
} lint_cfg;

static void lint_cfg_free(lint_cfg *c)
{
    cb_strv_free(&c->skip);
    cb_strv_free(&c->exp);
}

static void lint_cfg_list(char *val, bool *all, cb_strv *out)
{
    for (char *save = NULL, *r = strtok_r(val, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        while (*r == ' ')
            r++;
        size_t n = strlen(r);
        while (n && r[n - 1] == ' ')
            r[--n] = 0;
        if (!strcmp(r, "all"))
            *all = true;
        cb_strv_push(out, r);
    }
}

/* linter.ParseLintOptions; merges into *c (the per-instruction "# check=" comments add to it). */
static int lint_cfg_parse(lint_cfg *c, const char *cfg, cb_err *err)
{
    char *dup = xstrdup(cfg);
    int rc = 0;
    for (char *save = NULL, *part = strtok_r(dup, ";", &save); part && rc == 0;
         part = strtok_r(NULL, ";", &save)) {
        while (*part == ' ')
            part++;
        char *eq = strchr(part, '=');
        if (!eq) {
            rc = cb_fail(err, "failed to parse check options: invalid check option \"%s\"", part);
            break;
        }
        *eq = 0;
        char *key = part, *val = eq + 1;
        while (*val == ' ')
            val++;
        for (size_t n = strlen(key); n && key[n - 1] == ' ';)
            key[--n] = 0;
        if (!strcmp(key, "skip")) {
            lint_cfg_list(val, &c->skip_all, &c->skip);
        } else if (!strcmp(key, "experimental")) {
            lint_cfg_list(val, &c->exp_all, &c->exp);
        } else if (!strcmp(key, "error")) {
            c->has_error = true;
            if (!strcasecmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "t"))
                c->as_error = true;
            else if (strcasecmp(val, "false") && strcmp(val, "0") && strcmp(val, "f"))
                rc = cb_fail(err, "failed to parse check options: invalid boolean \"%s\" for error", val);
        } else {
            rc = cb_fail(err, "failed to parse check options: invalid check option \"%s\"", key);
        }
    }
    free(dup);
    return rc;
}

static bool lint_cfg_drops(const lint_cfg *c, const char *rule)
{
    const df_lint_rule *r = df_lint_rule_find(rule);
    if (r && r->experimental)
        return !c->exp_all && !cb_strv_contains(&c->exp, rule);
    return c->skip_all || cb_strv_contains(&c->skip, rule);
}

/* The "# check=..." comment above the instruction at line, merged into base (linter's
 * WithMergedConfigFromComments: the first such comment, its value up to a space). */
static void lint_cfg_for_line(const df_file *f, int line, const lint_cfg *base, lint_cfg *out)
{
    *out = *base;
    cb_strv_init(&out->skip);
    cb_strv_init(&out->exp);
    for (size_t i = 0; i < base->skip.n; i++)
        cb_strv_push(&out->skip, base->skip.v[i]);
    for (size_t i = 0; i < base->exp.n; i++)
        cb_strv_push(&out->exp, base->exp.v[i]);
    for (size_t i = 0; f && i < f->n_instrs; i++) {
        if (f->instrs[i].start_line != line)
            continue;
        const cb_strv *cm = &f->instrs[i].comments;
        for (size_t k = 0; k < cm->n; k++) {
            const char *c = cm->v[k];
            size_t kl = strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            if (kl != 5 || strncasecmp(c, "check", 5))
                continue;
            const char *v = c + kl;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v++ != '=')
                continue;
            while (*v == ' ' || *v == '\t')
                v++;
            char *val = xstrndup(v, strcspn(v, " "));
            cb_err ignored;
            cb_err_clear(&ignored);
            lint_cfg tmp = {0};
            cb_strv_init(&tmp.skip);
            cb_strv_init(&tmp.exp);
            if (lint_cfg_parse(&tmp, val, &ignored) == 0) {
                out->skip_all |= tmp.skip_all;
                out->exp_all |= tmp.exp_all;
                for (size_t j = 0; j < tmp.skip.n; j++)
                    cb_strv_push(&out->skip, tmp.skip.v[j]);
                for (size_t j = 0; j < tmp.exp.n; j++)
                    cb_strv_push(&out->exp, tmp.exp.v[j]);
            }
            lint_cfg_free(&tmp);
            free(val);
            break;
        }
        break;
    }
}

/* "# check=skip=A,B;error=true" (or --build-arg BUILDKIT_DOCKERFILE_CHECK=...) and the
 * per-instruction "# check=" comments: drop skipped rules (and experimental ones not asked
 * for) from the warnings; with error=true any remaining rule violation fails the plan. */
int df_lint_apply_check(df_plan *p, const df_file *f, const char *cfg, cb_err *err)
{
    lint_cfg base = {0};
    cb_strv_init(&base.skip);
    cb_strv_init(&base.exp);
    int rc = cfg && *cfg ? lint_cfg_parse(&base, cfg, err) : 0;
    if (rc < 0) {
        lint_cfg_free(&base);
        return rc;
    }
    cb_buf failed;
    cb_buf_init(&failed);
    size_t w = 0;
    for (size_t i = 0; i < p->warnings.n; i++) {
        df_warning *x = &p->warnings.v[i];
        size_t rl = strcspn(x->msg, ":");
        bool is_rule =
            x->msg[rl] == ':' && rl > 0 && x->msg[0] >= 'A' && x->msg[0] <= 'Z' && !memchr(x->msg, ' ', rl);
        char *rule = is_rule ? xstrndup(x->msg, rl) : NULL;
        lint_cfg here;
        lint_cfg_for_line(f, x->line, &base, &here);
        bool drop = is_rule && lint_cfg_drops(&here, rule);
        lint_cfg_free(&here);
        if (drop) {
            free(x->msg);
        } else {
            if (is_rule && base.as_error && !(failed.data && strstr(failed.data, rule)))
                cb_buf_printf(&failed, "%s%s", failed.len ? ", " : "", rule);
            p->warnings.v[w++] = *x;
        }
        free(rule);
    }
    p->warnings.n = w;
    if (failed.len)
        rc = cb_fail(err, "lint violation found for rules: %s (the Dockerfile sets check=error=true)",
                     failed.data);
    cb_buf_free(&failed);
    lint_cfg_free(&base);
    return rc;
}
