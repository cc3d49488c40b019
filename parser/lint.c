/* BuildKit's lint rules and the "# check=" directive. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* BuildKit's default lint checks that need no image data (reported as warnings). */
void df_lint_file(df_plan *p, const df_file *f)
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
            df_warnings_add(
                &p->warnings, in->start_line,
                "MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label");
        if ((!strcmp(in->keyword, "env") || !strcmp(in->keyword, "label")) && in->args.n == 3 &&
            !*in->args.v[2])
            df_warnings_add(&p->warnings, in->start_line,
                            "LegacyKeyValueFormat: \"%s key=value\" should be used instead of legacy \"%s "
                            "key value\" format",
                            !strcmp(in->keyword, "env") ? "ENV" : "LABEL",
                            !strcmp(in->keyword, "env") ? "ENV" : "LABEL");
        if ((!strcmp(in->keyword, "cmd") || !strcmp(in->keyword, "entrypoint")) && !in->json && in->args.n)
            df_warnings_add(
                &p->warnings, in->start_line,
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
                df_warnings_add(&p->warnings, in->start_line,
                                "StageNameCasing: Stage name '%s' should be lowercase", in->args.v[2]);
        }
        if (kl && (majority_upper ? !kw_upper : !kw_lower))
            df_warnings_add(&p->warnings, in->start_line,
                            "ConsistentInstructionCasing: Command '%.*s' should match the case of the "
                            "command majority (%s)",
                            (int)kl, o, majority_upper ? "uppercase" : "lowercase");
    }
}

static bool secret_like(const char *key)
{
    static const char *const words[] = {"apikey", "auth",  "credential", "credentials", "key",  "password",
                                        "pass",   "pword", "passwd",     "secret",      "token"};
    char *k = df_str_lower(key);
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
void df_lint_stages(df_plan *p, const df_file *f, df_pstage *ps, size_t nps)
{
    (void)f;
    bool *has_workdir = xcalloc(nps ? nps : 1, sizeof(bool)); /* set in the stage or its bases */
    for (size_t i = 0; i < nps; i++) {
        if (ps[i].raw_platform && (!strcmp(ps[i].raw_platform, "$TARGETPLATFORM") ||
                                   !strcmp(ps[i].raw_platform, "${TARGETPLATFORM}")))
            df_warnings_add(
                &p->warnings, ps[i].from->start_line,
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
            int *cnt = c->kind == DF_CMD_CMD           ? &n_cmd
                       : c->kind == DF_CMD_ENTRYPOINT  ? &n_ep
                       : c->kind == DF_CMD_HEALTHCHECK ? &n_hc
                                                       : NULL;
            if (cnt && ++*cnt == 2)
                df_warnings_add(
                    &p->warnings, line,
                    "MultipleInstructionsDisallowed: Multiple %s instructions should not be used in the "
                    "same stage because only the last one will be used",
                    c->kind == DF_CMD_CMD          ? "CMD"
                    : c->kind == DF_CMD_ENTRYPOINT ? "ENTRYPOINT"
                                                   : "HEALTHCHECK");
        }
    }
    free(has_workdir);
}

/* "# check=skip=A,B;error=true" (or --build-arg BUILDKIT_DOCKERFILE_CHECK=...): drop skipped
 * rules from the warnings; with error=true any remaining rule violation fails the plan. */
int df_lint_apply_check(df_plan *p, const char *cfg, cb_err *err)
{
    if (!cfg || !*cfg)
        return 0;
    bool skip_all = false, as_error = false;
    cb_strv skip;
    cb_strv_init(&skip);
    char *c = xstrdup(cfg);
    int rc = 0;
    for (char *save = NULL, *part = strtok_r(c, ";", &save); part && rc == 0;
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
        bool is_rule =
            x->msg[rl] == ':' && rl > 0 && x->msg[0] >= 'A' && x->msg[0] <= 'Z' && !memchr(x->msg, ' ', rl);
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
        rc = cb_fail(err, "lint violation found for rules: %s (the Dockerfile sets check=error=true)",
                     failed.data);
    cb_buf_free(&failed);
    cb_strv_free(&skip);
    return rc;
}
