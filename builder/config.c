/* Config-only instructions and history, written the way BuildKit's dockerfile2llb writes them
 * (frontend/dockerfile/dockerfile2llb/convert.go: dispatchEnv, dispatchCmd, ... and
 * commitToHistory): the created_by texts use Go's fmt verbs (%q, %v) on the same values. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_COMMENT "buildkit.dockerfile.v0"

void bl_go_quote_list(cb_buf *b, const cb_strv *v)
{
    cb_buf_putc(b, '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            cb_buf_putc(b, ' ');
        df_go_quote(b, v->v[i], strlen(v->v[i]));
    }
    cb_buf_putc(b, ']');
}

/* Go's %v of a []string: [a b] */
static void go_list(cb_buf *b, const cb_strv *v)
{
    cb_buf_putc(b, '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            cb_buf_putc(b, ' ');
        cb_buf_puts(b, v->v[i]);
    }
    cb_buf_putc(b, ']');
}

void bl_shell_argv(const oci_config *cfg, const char *line, cb_strv *out)
{
    if (cfg->shell_set && cfg->shell.n) {
        for (size_t i = 0; i < cfg->shell.n; i++)
            cb_strv_push(out, cfg->shell.v[i]);
    } else {
        cb_strv_push(out, "/bin/sh");
        cb_strv_push(out, "-c");
    }
    cb_strv_push(out, line);
}

/* time.Duration.String() */
static void go_duration(cb_buf *b, int64_t ns)
{
    if (ns == 0) {
        cb_buf_puts(b, "0s");
        return;
    }
    if (ns < 0) {
        cb_buf_putc(b, '-');
        ns = -ns;
    }
    if (ns < 1000000000LL) {
        if (ns < 1000)
            cb_buf_printf(b, "%lldns", (long long)ns);
        else if (ns < 1000000)
            cb_buf_printf(b, "%gµs", (double)ns / 1e3);
        else
            cb_buf_printf(b, "%gms", (double)ns / 1e6);
        return;
    }
    int64_t h = ns / 3600000000000LL;
    ns -= h * 3600000000000LL;
    int64_t m = ns / 60000000000LL;
    ns -= m * 60000000000LL;
    double s = (double)ns / 1e9;
    if (h)
        cb_buf_printf(b, "%lldh%lldm", (long long)h, (long long)m);
    else if (m)
        cb_buf_printf(b, "%lldm", (long long)m);
    char sb[64];
    snprintf(sb, sizeof sb, "%.9f", s);
    /* trim trailing zeros and dot */
    char *e = sb + strlen(sb) - 1;
    while (*e == '0')
        *e-- = 0;
    if (*e == '.')
        *e = 0;
    cb_buf_printf(b, "%ss", sb);
}

/* Go %q of an int: a quoted rune literal ('\x03'). */
static void go_rune(cb_buf *b, int v)
{
    if (v >= 0x20 && v < 0x7f && v != '\'' && v != '\\')
        cb_buf_printf(b, "'%c'", v);
    else if (v == '\'')
        cb_buf_puts(b, "'\\''");
    else if (v == '\\')
        cb_buf_puts(b, "'\\\\'");
    else if (v == 7)
        cb_buf_puts(b, "'\\a'");
    else if (v == 8)
        cb_buf_puts(b, "'\\b'");
    else if (v == 9)
        cb_buf_puts(b, "'\\t'");
    else if (v == 10)
        cb_buf_puts(b, "'\\n'");
    else if (v == 11)
        cb_buf_puts(b, "'\\v'");
    else if (v == 12)
        cb_buf_puts(b, "'\\f'");
    else if (v == 13)
        cb_buf_puts(b, "'\\r'");
    else if (v < 0x80)
        cb_buf_printf(b, "'\\x%02x'", v);
    else
        cb_buf_printf(b, "'\\u%04x'", v);
}

static void add_history(oci_config *cfg, const char *created, const char *text)
{
    oci_config_add_history(cfg, created, text, HISTORY_COMMENT, true);
}

static int cmp_ports(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Long: one case per config-only instruction, read as a table of BuildKit's rules. */
int bl_config_apply(bl_build *b, const df_cmd *cmd, oci_config *cfg, const char *created, cb_err *err)
{
    (void)b;
    cb_buf h;
    cb_buf_init(&h);
    int rc = 0;
    switch (cmd->kind) {
    case DF_CMD_ENV:
        cb_buf_puts(&h, "ENV");
        for (size_t i = 0; i < cmd->n_kvs; i++) {
            oci_config_env_set(cfg, cmd->kvs[i].key, cmd->kvs[i].value ? cmd->kvs[i].value : "");
            cb_buf_printf(&h, " %s=%s", cmd->kvs[i].key, cmd->kvs[i].value ? cmd->kvs[i].value : "");
        }
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_LABEL:
        cb_buf_puts(&h, "LABEL");
        for (size_t i = 0; i < cmd->n_kvs; i++) {
            oci_config_label_set(cfg, cmd->kvs[i].key, cmd->kvs[i].value ? cmd->kvs[i].value : "");
            cb_buf_printf(&h, " %s=%s", cmd->kvs[i].key, cmd->kvs[i].value ? cmd->kvs[i].value : "");
        }
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_ARG:
        cb_buf_puts(&h, "ARG ");
        for (size_t i = 0; i < cmd->n_kvs; i++) {
            if (i)
                cb_buf_putc(&h, ' ');
            cb_buf_puts(&h, cmd->kvs[i].key);
            if (cmd->kvs[i].value)
                cb_buf_printf(&h, "=%s", cmd->kvs[i].value);
        }
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_CMD:
    case DF_CMD_ENTRYPOINT: {
        cb_strv args;
        cb_strv_init(&args);
        /* the parser's argv rules: SHELL for the shell form, `ENTRYPOINT []` clears */
        rc = df_cmd_run_argv(cmd, cfg->shell_set ? &cfg->shell : NULL, &args, NULL, err);
        if (rc < 0) {
            cb_strv_free(&args);
            goto out;
        }
        bool is_cmd = cmd->kind == DF_CMD_CMD;
        cb_strv *dst = is_cmd ? &cfg->cmd : &cfg->entrypoint;
        cb_strv_free(dst);
        cb_strv_init(dst);
        for (size_t i = 0; i < args.n; i++)
            cb_strv_push(dst, args.v[i]);
        if (is_cmd) {
            cfg->cmd_set = true;
            cfg->args_escaped = true;
        } else {
            cfg->entrypoint_set = true; /* the solver drops an inherited CMD */
        }
        cb_buf_puts(&h, is_cmd ? "CMD " : "ENTRYPOINT ");
        bl_go_quote_list(&h, &args);
        add_history(cfg, created, h.data);
        cb_strv_free(&args);
        break;
    }
    case DF_CMD_EXPOSE: {
        cb_strv ports;
        cb_strv_init(&ports);
        for (size_t i = 0; i < cmd->n_ports; i++)
            for (unsigned p = cmd->ports[i].start; p <= cmd->ports[i].end && p <= 65535; p++) {
                char s[32];
                snprintf(s, sizeof s, "%u/%s", p, cmd->ports[i].proto[0] ? cmd->ports[i].proto : "tcp");
                cb_strv_push(&ports, s);
                if (!cb_strv_contains(&cfg->exposed_ports, s))
                    cb_strv_push(&cfg->exposed_ports, s);
                if (p == 65535)
                    break;
            }
        if (cfg->exposed_ports.n > 1)
            qsort(cfg->exposed_ports.v, cfg->exposed_ports.n, sizeof(char *), cmp_ports);
        /* fmt %v of BuildKit's port list: the plan's order (words sorted as written), each
         * range expanded, duplicates kept: EXPOSE [1234/udp 2375/tcp 5000/tcp] */
        cb_buf_puts(&h, "EXPOSE [");
        for (size_t i = 0; i < ports.n; i++)
            cb_buf_printf(&h, "%s%s", i ? " " : "", ports.v[i]);
        cb_buf_putc(&h, ']');
        add_history(cfg, created, h.data);
        cb_strv_free(&ports);
        break;
    }
    case DF_CMD_USER:
        free(cfg->user);
        cfg->user = xstrdup(cmd->args.n ? cmd->args.v[0] : "");
        cb_buf_printf(&h, "USER %s", cfg->user);
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_VOLUME:
        for (size_t i = 0; i < cmd->args.n; i++) {
            if (!*cmd->args.v[i]) {
                rc = cb_fail(err, "VOLUME specified can not be an empty string");
                goto out;
            }
            if (!cb_strv_contains(&cfg->volumes, cmd->args.v[i]))
                cb_strv_push(&cfg->volumes, cmd->args.v[i]);
        }
        if (cfg->volumes.n > 1)
            qsort(cfg->volumes.v, cfg->volumes.n, sizeof(char *), cmp_ports);
        cb_buf_puts(&h, "VOLUME ");
        go_list(&h, &cmd->args);
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_STOPSIGNAL:
        free(cfg->stop_signal);
        cfg->stop_signal = xstrdup(cmd->args.n ? cmd->args.v[0] : "");
        cb_buf_printf(&h, "STOPSIGNAL %s", cfg->stop_signal);
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_SHELL:
        cb_strv_free(&cfg->shell);
        cb_strv_init(&cfg->shell);
        for (size_t i = 0; i < cmd->args.n; i++)
            cb_strv_push(&cfg->shell, cmd->args.v[i]);
        cfg->shell_set = true;
        cb_buf_puts(&h, "SHELL ");
        go_list(&h, &cmd->args);
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_HEALTHCHECK: {
        if (cfg->healthcheck) {
            cb_strv_free(&cfg->healthcheck->test);
            free(cfg->healthcheck);
        }
        oci_healthcheck *hc = xcalloc(1, sizeof *hc);
        cb_strv_init(&hc->test);
        for (size_t i = 0; i < cmd->args.n; i++)
            cb_strv_push(&hc->test, cmd->args.v[i]);
        hc->interval_ns = cmd->hc_interval;
        hc->timeout_ns = cmd->hc_timeout;
        hc->start_period_ns = cmd->hc_start_period;
        hc->start_interval_ns = cmd->hc_start_interval;
        hc->retries = cmd->hc_retries;
        cfg->healthcheck = hc;
        /* %q of *HealthcheckConfig: &{["CMD-SHELL" "..."] "30s" "3s" "0s" "0s" '\x03'} */
        cb_buf_puts(&h, "HEALTHCHECK &{");
        bl_go_quote_list(&h, &hc->test);
        int64_t d[4] = {hc->interval_ns, hc->timeout_ns, hc->start_period_ns, hc->start_interval_ns};
        for (int i = 0; i < 4; i++) {
            cb_buf tmp;
            cb_buf_init(&tmp);
            go_duration(&tmp, d[i]);
            cb_buf_putc(&h, ' ');
            df_go_quote(&h, tmp.data, tmp.len);
            cb_buf_free(&tmp);
        }
        cb_buf_putc(&h, ' ');
        go_rune(&h, hc->retries);
        cb_buf_putc(&h, '}');
        add_history(cfg, created, h.data);
        break;
    }
    case DF_CMD_MAINTAINER:
        free(cfg->author);
        cfg->author = xstrdup(cmd->args.n ? cmd->args.v[0] : "");
        cb_buf_printf(&h, "MAINTAINER %s", cfg->author);
        add_history(cfg, created, h.data);
        break;
    case DF_CMD_ONBUILD:
        /* the trigger with its heredoc bodies (the plan's expression, as BuildKit); no history */
        cb_strv_push(&cfg->onbuild, cmd->args.n ? cmd->args.v[0] : "");
        break;
    default:
        rc = cb_fail(err, "internal: %s is not a config instruction", cmd->instr ? cmd->instr->keyword : "?");
    }
out:
    cb_buf_free(&h);
    return rc;
}

char *bl_history_run(const df_cmd *cmd, const oci_config *cfg)
{
    cb_strv argv;
    cb_strv_init(&argv);
    bl_run_argv(cmd, cfg, &argv, NULL, NULL);
    cb_buf h;
    cb_buf_init(&h);
    cb_buf_puts(&h, "RUN ");
    /* runCommandString: "|N K=V ..." for the ARGs in scope, then the argv */
    if (cmd->build_args.n) {
        cb_buf_printf(&h, "|%zu ", cmd->build_args.n);
        for (size_t i = 0; i < cmd->build_args.n; i++)
            cb_buf_printf(&h, "%s ", cmd->build_args.v[i]);
    }
    for (size_t i = 0; i < argv.n; i++) {
        if (i)
            cb_buf_putc(&h, ' ');
        cb_buf_puts(&h, argv.v[i]);
    }
    cb_buf_puts(&h, " # buildkit");
    cb_strv_free(&argv);
    return cb_buf_steal(&h);
}

char *bl_history_copy(const df_cmd *cmd)
{
    cb_buf h;
    cb_buf_init(&h);
    cb_buf_puts(&h, cmd->kind == DF_CMD_ADD ? "ADD" : "COPY");
    if (cmd->parents)
        cb_buf_puts(&h, " --parents");
    if (cmd->chown && *cmd->chown)
        cb_buf_printf(&h, " --chown=%s", cmd->chown);
    if (cmd->chmod && *cmd->chmod)
        cb_buf_printf(&h, " --chmod=%s", cmd->chmod);
    /* paths first, then heredocs as " <<NAME" */
    for (size_t i = 0; i + 1 < cmd->args.n; i++)
        cb_buf_printf(&h, " %s", cmd->args.v[i]);
    for (size_t i = 0; i < cmd->n_inline_files; i++)
        cb_buf_printf(&h, " <<%s", cmd->inline_files[i].name);
    cb_buf_printf(&h, " %s # buildkit", cmd->args.n ? cmd->args.v[cmd->args.n - 1] : "");
    return cb_buf_steal(&h);
}

/* ---------- RUN: argv and environment ---------- */

/* The command line (df_cmd_run_argv: SHELL for the shell form, heredocs as BuildKit runs
 * them). A RUN that is one #! heredoc runs /dev/pipes/NAME: *script gets its body. */
void bl_run_argv(const df_cmd *cmd, const oci_config *cfg, cb_strv *argv, char **script, char **script_path)
{
    if (script)
        *script = NULL;
    if (script_path)
        *script_path = NULL;
    const df_heredoc *pipe = NULL;
    cb_err e;
    if (df_cmd_run_argv(cmd, cfg->shell_set ? &cfg->shell : NULL, argv, &pipe, &e) < 0) {
        /* the plan validated the command; keep the raw words so the error shows at run */
        for (size_t i = 0; i < cmd->args.n; i++)
            cb_strv_push(argv, cmd->args.v[i]);
        return;
    }
    if (pipe) {
        if (script)
            *script = xstrdup(pipe->content);
        if (script_path)
            *script_path = xasprintf("/dev/pipes/%s", pipe->name);
    }
}

/* Environment of the step: ENV (from the config) plus the ARGs in scope that ENV doesn't set,
 * but for the SBOM scan ARGs, which dockerfile2llb keeps out of the environment (nonEnvArgs)
 * while the history still lists them. */
void bl_run_env(const df_cmd *cmd, const oci_config *cfg, cb_strv *env)
{
    for (size_t i = 0; i < cfg->env.n; i++)
        cb_strv_push(env, cfg->env.v[i]);
    for (size_t i = 0; i < cmd->build_args.n; i++) {
        const char *kv = cmd->build_args.v[i];
        const char *eq = strchr(kv, '=');
        cleanup_free char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
        if (!strcmp(k, "BUILDKIT_SBOM_SCAN_CONTEXT") || !strcmp(k, "BUILDKIT_SBOM_SCAN_STAGE"))
            continue;
        if (!oci_config_env_get(cfg, k))
            cb_strv_push(env, kv);
    }
}
