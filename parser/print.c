/* Renderings of a plan for `cbuild debug plan`: readable text and JSON. */
#include <string.h>

#include "internal.h"

static const char *const mount_types[] = {"bind", "cache", "tmpfs", "secret", "ssh"};
static const char *const sharings[] = {"shared", "private", "locked"};

static const char *kw_upper(const df_cmd *c, char buf[32])
{
    snprintf(buf, 32, "%s", c->instr->keyword);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return buf;
}

/* A word as a shell user would retype it: bare when safe, else double-quoted. */
static void put_word(cb_buf *b, const char *s)
{
    bool plain = *s != 0;
    for (const char *p = s; *p && plain; p++)
        if ((unsigned char)*p <= ' ' || strchr("\"'\\$`", *p))
            plain = false;
    if (plain) {
        cb_buf_puts(b, s);
        return;
    }
    cb_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (strchr("\"\\$`", *p))
            cb_buf_putc(b, '\\');
        if (*p == '\n') {
            cb_buf_puts(b, "\\n");
            continue;
        }
        cb_buf_putc(b, *p);
    }
    cb_buf_putc(b, '"');
}

static void json_str(cb_buf *b, const char *s)
{
    if (!s) {
        cb_buf_puts(b, "null");
        return;
    }
    cb_buf_putc(b, '"');
    size_t n = strlen(s), i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            cb_buf_putc(b, '\\');
            cb_buf_putc(b, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': cb_buf_puts(b, "\\n"); break;
            case '\t': cb_buf_puts(b, "\\t"); break;
            case '\r': cb_buf_puts(b, "\\r"); break;
            default: cb_buf_printf(b, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            cb_buf_putc(b, (char)c);
            i++;
        } else if (c == 0xC0 && i + 1 < n && (unsigned char)s[i + 1] == 0x80) {
            cb_buf_puts(b, "\\u0000");
            i += 2;
        } else {
            int w;
            int32_t r = df_utf8_decode(s + i, n - i, &w);
            if (r == DF_RUNE_ERROR && w == 1)
                cb_buf_puts(b, "\\ufffd");
            else
                cb_buf_append(b, s + i, (size_t)w);
            i += (size_t)w;
        }
    }
    cb_buf_putc(b, '"');
}

static void json_strv(cb_buf *b, const cb_strv *v)
{
    cb_buf_putc(b, '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            cb_buf_putc(b, ',');
        json_str(b, v->v[i]);
    }
    cb_buf_putc(b, ']');
}

static void mount_text(cb_buf *b, const df_mount *m)
{
    cb_buf_printf(b, "--mount=type=%s", mount_types[m->type]);
    if (m->target)
        cb_buf_printf(b, ",target=%s", m->target);
    if (m->source)
        cb_buf_printf(b, ",source=%s", m->source);
    if (m->from)
        cb_buf_printf(b, ",from=%s", m->from);
    if (m->id)
        cb_buf_printf(b, ",id=%s", m->id);
    if (m->type == DF_MOUNT_CACHE)
        cb_buf_printf(b, ",sharing=%s", sharings[m->sharing]);
    if (m->type == DF_MOUNT_BIND || m->type == DF_MOUNT_CACHE)
        cb_buf_puts(b, m->readonly ? ",ro" : ",rw");
    if (m->type == DF_MOUNT_CACHE || m->type == DF_MOUNT_SECRET || m->type == DF_MOUNT_SSH)
        cb_buf_printf(b, ",mode=0%o,uid=%u,gid=%u", m->mode, m->uid, m->gid);
    if (m->size)
        cb_buf_printf(b, ",size=%llu", (unsigned long long)m->size);
    if (m->required)
        cb_buf_puts(b, ",required");
    if (m->env)
        cb_buf_printf(b, ",env=%s", m->env);
}

static void exec_or_shell(cb_buf *b, const df_cmd *c, size_t from)
{
    if (c->json) {
        cb_buf_putc(b, '[');
        for (size_t i = from; i < c->args.n; i++) {
            if (i > from)
                cb_buf_puts(b, ", ");
            json_str(b, c->args.v[i]);
        }
        cb_buf_putc(b, ']');
    } else {
        for (size_t i = from; i < c->args.n; i++)
            cb_buf_printf(b, "%s%s", i > from ? " " : "", c->args.v[i]);
    }
}

/* Long: one case per instruction, each printing its flags in BuildKit's order. */
static void cmd_text(cb_buf *b, const df_cmd *c)
{
    char kb[32];
    cb_buf_puts(b, kw_upper(c, kb));
    switch (c->kind) {
    case DF_CMD_ENV:
    case DF_CMD_LABEL:
    case DF_CMD_ARG:
        for (size_t i = 0; i < c->n_kvs; i++) {
            cb_buf_printf(b, " %s", c->kvs[i].key);
            if (c->kvs[i].value) {
                cb_buf_putc(b, '=');
                put_word(b, c->kvs[i].value);
            }
        }
        break;
    case DF_CMD_RUN:
        for (size_t i = 0; i < c->n_mounts; i++) {
            cb_buf_putc(b, ' ');
            mount_text(b, &c->mounts[i]);
        }
        if (c->network)
            cb_buf_printf(b, " --network=%s", c->network);
        if (c->security)
            cb_buf_printf(b, " --security=%s", c->security);
        for (size_t i = 0; i < c->n_devices; i++)
            cb_buf_printf(b, " --device=%s%s", c->devices[i].name, c->devices[i].required ? ",required" : "");
        cb_buf_putc(b, ' ');
        exec_or_shell(b, c, 0);
        break;
    case DF_CMD_CMD:
    case DF_CMD_ENTRYPOINT:
    case DF_CMD_SHELL:
        cb_buf_putc(b, ' ');
        exec_or_shell(b, c, 0);
        break;
    case DF_CMD_COPY:
    case DF_CMD_ADD:
        if (c->from)
            cb_buf_printf(b, " --from=%s", c->from);
        if (c->chown)
            cb_buf_printf(b, " --chown=%s", c->chown);
        if (c->chmod)
            cb_buf_printf(b, " --chmod=%s", c->chmod);
        if (c->link)
            cb_buf_puts(b, " --link");
        if (c->parents)
            cb_buf_puts(b, " --parents");
        if (c->keep_git_dir)
            cb_buf_puts(b, " --keep-git-dir");
        if (c->unpack >= 0)
            cb_buf_printf(b, " --unpack=%s", c->unpack ? "true" : "false");
        if (c->checksum)
            cb_buf_printf(b, " --checksum=%s", c->checksum);
        for (size_t i = 0; i < c->excludes.n; i++)
            cb_buf_printf(b, " --exclude=%s", c->excludes.v[i]);
        for (size_t i = 0; i + 1 < c->args.n; i++) {
            cb_buf_putc(b, ' ');
            put_word(b, c->args.v[i]);
        }
        for (size_t i = 0; i < c->n_inline_files; i++)
            cb_buf_printf(b, " <<%s", c->inline_files[i].name);
        if (c->args.n) {
            cb_buf_putc(b, ' ');
            put_word(b, c->args.v[c->args.n - 1]);
        }
        break;
    case DF_CMD_HEALTHCHECK:
        if (c->args.n && !strcmp(c->args.v[0], "NONE")) {
            cb_buf_puts(b, " NONE");
            break;
        }
        if (c->hc_interval)
            cb_buf_printf(b, " --interval=%.3gs", (double)c->hc_interval / 1e9);
        if (c->hc_timeout)
            cb_buf_printf(b, " --timeout=%.3gs", (double)c->hc_timeout / 1e9);
        if (c->hc_start_period)
            cb_buf_printf(b, " --start-period=%.3gs", (double)c->hc_start_period / 1e9);
        if (c->hc_start_interval)
            cb_buf_printf(b, " --start-interval=%.3gs", (double)c->hc_start_interval / 1e9);
        if (c->hc_retries)
            cb_buf_printf(b, " --retries=%d", c->hc_retries);
        if (c->args.n) {
            cb_buf_printf(b, " %s ", c->args.v[0]);
            exec_or_shell(b, c, 1);
        }
        break;
    case DF_CMD_EXPOSE:
        for (size_t i = 0; i < c->n_ports; i++) {
            const df_port *p = &c->ports[i];
            if (p->start == p->end)
                cb_buf_printf(b, " %u/%s", p->start, p->proto);
            else
                cb_buf_printf(b, " %u-%u/%s", p->start, p->end, p->proto);
        }
        break;
    default:
        for (size_t i = 0; i < c->args.n; i++) {
            cb_buf_putc(b, ' ');
            if (c->kind == DF_CMD_ONBUILD || c->kind == DF_CMD_MAINTAINER)
                cb_buf_puts(b, c->args.v[i]);
            else
                put_word(b, c->args.v[i]);
        }
    }
}

static const char *stage_label(const df_plan *p, int i, char *buf, size_t n)
{
    if (i < 0 || (size_t)i >= p->n_stages)
        return "?";
    if (p->stages[i].name)
        snprintf(buf, n, "%d (%s)", i, p->stages[i].name);
    else
        snprintf(buf, n, "%d", i);
    return buf;
}

void df_plan_print(const df_plan *p, const df_file *f, cb_buf *out)
{
    char lb[300];
    cb_buf_printf(out, "%s: %zu stage%s, target %s\n", f->filename, p->n_stages, p->n_stages == 1 ? "" : "s",
                  stage_label(p, p->target, lb, sizeof(lb)));
    cb_buf_puts(out, "needed stages:");
    for (size_t i = 0; i < p->n_stages; i++)
        if (p->stages[i].needed)
            cb_buf_printf(out, " %s", stage_label(p, (int)i, lb, sizeof(lb)));
    cb_buf_putc(out, '\n');
    if (p->n_global_args) {
        cb_buf_puts(out, "global args:");
        for (size_t i = 0; i < p->n_global_args; i++) {
            cb_buf_printf(out, " %s", p->global_args[i].key);
            if (p->global_args[i].value) {
                cb_buf_putc(out, '=');
                put_word(out, p->global_args[i].value);
            }
        }
        cb_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < p->n_stages; i++) {
        const df_stage *s = &p->stages[i];
        cb_buf_printf(out, "\nstage %s%s\n", stage_label(p, (int)i, lb, sizeof(lb)),
                      s->needed ? "" : "  [not needed by the target: skipped]");
        if (s->base_stage >= 0)
            cb_buf_printf(out, "  base: stage %s\n", stage_label(p, s->base_stage, lb, sizeof(lb)));
        else if (!strcmp(s->base, "scratch"))
            cb_buf_puts(out, "  base: scratch\n");
        else
            cb_buf_printf(out, "  base: image %s\n", s->base);
        if (s->platform)
            cb_buf_printf(out, "  platform: %s\n", s->platform);
        cb_buf_puts(out, "  depends on:");
        if (!s->n_deps)
            cb_buf_puts(out, " -");
        for (size_t k = 0; k < s->n_deps; k++)
            cb_buf_printf(out, " %s", stage_label(p, s->deps[k], lb, sizeof(lb)));
        cb_buf_putc(out, '\n');
        cb_buf_printf(out, "  %4d  %s\n", s->from->start_line, s->from->original);
        for (size_t k = 0; k < s->n_cmds; k++) {
            cb_buf_printf(out, "  %4d  %s", s->cmds[k].instr->start_line, k < s->n_triggers ? "(ONBUILD trigger) " : "");
            cmd_text(out, &s->cmds[k]);
            cb_buf_putc(out, '\n');
        }
    }
    if (p->warnings.n) {
        cb_buf_puts(out, "\nwarnings:\n");
        for (size_t i = 0; i < p->warnings.n; i++) {
            if (p->warnings.v[i].line)
                cb_buf_printf(out, "  %s:%d: %s\n", f->filename, p->warnings.v[i].line, p->warnings.v[i].msg);
            else
                cb_buf_printf(out, "  %s\n", p->warnings.v[i].msg);
        }
    }
}

static void json_kvs(cb_buf *b, const df_kv *kv, size_t n)
{
    cb_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        cb_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        json_str(b, kv[i].key);
        cb_buf_puts(b, ",\"value\":");
        json_str(b, kv[i].value);
        cb_buf_putc(b, '}');
    }
    cb_buf_putc(b, ']');
}

static void json_cmd(cb_buf *b, const df_cmd *c)
{
    char kb[32];
    cb_buf_printf(b, "{\"line\":%d,\"end_line\":%d,\"instruction\":", c->instr->start_line, c->instr->end_line);
    json_str(b, kw_upper(c, kb));
    cb_buf_puts(b, ",\"original\":");
    json_str(b, c->instr->original);
    cb_buf_puts(b, ",\"args\":");
    json_strv(b, &c->args);
    cb_buf_printf(b, ",\"json\":%s", c->json ? "true" : "false");
    switch (c->kind) {
    case DF_CMD_ENV:
    case DF_CMD_LABEL:
    case DF_CMD_ARG:
        cb_buf_puts(b, ",\"vars\":");
        json_kvs(b, c->kvs, c->n_kvs);
        break;
    case DF_CMD_RUN:
        cb_buf_puts(b, ",\"mounts\":[");
        for (size_t i = 0; i < c->n_mounts; i++) {
            const df_mount *m = &c->mounts[i];
            cb_buf_printf(b, "%s{\"type\":\"%s\",\"target\":", i ? "," : "", mount_types[m->type]);
            json_str(b, m->target);
            cb_buf_puts(b, ",\"source\":");
            json_str(b, m->source);
            cb_buf_puts(b, ",\"from\":");
            json_str(b, m->from);
            cb_buf_printf(b, ",\"from_stage\":%d,\"id\":", m->from_stage);
            json_str(b, m->id);
            cb_buf_printf(b, ",\"readonly\":%s,\"sharing\":\"%s\",\"mode\":%u,\"uid\":%u,\"gid\":%u,\"size\":%llu,"
                             "\"required\":%s,\"env\":",
                          m->readonly ? "true" : "false", sharings[m->sharing], m->mode, m->uid, m->gid,
                          (unsigned long long)m->size, m->required ? "true" : "false");
            json_str(b, m->env);
            cb_buf_putc(b, '}');
        }
        cb_buf_puts(b, "],\"network\":");
        json_str(b, c->network);
        cb_buf_puts(b, ",\"security\":");
        json_str(b, c->security);
        cb_buf_puts(b, ",\"devices\":[");
        for (size_t i = 0; i < c->n_devices; i++) {
            cb_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
            json_str(b, c->devices[i].name);
            cb_buf_printf(b, ",\"required\":%s}", c->devices[i].required ? "true" : "false");
        }
        cb_buf_putc(b, ']');
        break;
    case DF_CMD_COPY:
    case DF_CMD_ADD:
        cb_buf_puts(b, ",\"from\":");
        json_str(b, c->from);
        cb_buf_printf(b, ",\"from_stage\":%d,\"chown\":", c->from_stage);
        json_str(b, c->chown);
        cb_buf_puts(b, ",\"chmod\":");
        json_str(b, c->chmod);
        cb_buf_puts(b, ",\"checksum\":");
        json_str(b, c->checksum);
        cb_buf_printf(b, ",\"link\":%s,\"parents\":%s,\"keep_git_dir\":%s,\"exclude\":", c->link ? "true" : "false",
                      c->parents ? "true" : "false", c->keep_git_dir ? "true" : "false");
        json_strv(b, &c->excludes);
        break;
    case DF_CMD_HEALTHCHECK:
        cb_buf_printf(b, ",\"interval_ns\":%lld,\"timeout_ns\":%lld,\"start_period_ns\":%lld,"
                         "\"start_interval_ns\":%lld,\"retries\":%d",
                      (long long)c->hc_interval, (long long)c->hc_timeout, (long long)c->hc_start_period,
                      (long long)c->hc_start_interval, c->hc_retries);
        break;
    case DF_CMD_EXPOSE:
        cb_buf_puts(b, ",\"ports\":[");
        for (size_t i = 0; i < c->n_ports; i++)
            cb_buf_printf(b, "%s{\"start\":%u,\"end\":%u,\"proto\":\"%s\"}", i ? "," : "", c->ports[i].start,
                          c->ports[i].end, c->ports[i].proto);
        cb_buf_putc(b, ']');
        break;
    default:
        break;
    }
    if (c->n_inline_files) {
        cb_buf_puts(b, ",\"inline_files\":[");
        for (size_t i = 0; i < c->n_inline_files; i++) {
            cb_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
            json_str(b, c->inline_files[i].name);
            cb_buf_puts(b, ",\"content\":");
            json_str(b, c->inline_files[i].content);
            cb_buf_printf(b, ",\"expand\":%s,\"chomp\":%s,\"fd\":%d}", c->inline_files[i].expand ? "true" : "false",
                          c->inline_files[i].chomp ? "true" : "false", c->inline_files[i].fd);
        }
        cb_buf_putc(b, ']');
    }
    cb_buf_puts(b, ",\"build_args\":");
    json_strv(b, &c->build_args);
    cb_buf_puts(b, ",\"env\":");
    json_strv(b, &c->env);
    cb_buf_putc(b, '}');
}

void df_plan_print_json(const df_plan *p, const df_file *f, cb_buf *out)
{
    cb_buf_puts(out, "{\"file\":");
    json_str(out, f->filename);
    cb_buf_printf(out, ",\"target\":%d,\"target_name\":", p->target);
    json_str(out, p->target >= 0 ? p->stages[p->target].name : NULL);
    cb_buf_puts(out, ",\"needed\":[");
    bool first = true;
    for (size_t i = 0; i < p->n_stages; i++)
        if (p->stages[i].needed) {
            cb_buf_printf(out, "%s%zu", first ? "" : ",", i);
            first = false;
        }
    cb_buf_puts(out, "],\"global_args\":");
    json_kvs(out, p->global_args, p->n_global_args);
    cb_buf_puts(out, ",\"stages\":[");
    for (size_t i = 0; i < p->n_stages; i++) {
        const df_stage *s = &p->stages[i];
        cb_buf_printf(out, "%s{\"index\":%d,\"name\":", i ? "," : "", s->index);
        json_str(out, s->name);
        cb_buf_puts(out, ",\"base\":");
        json_str(out, s->base);
        cb_buf_printf(out, ",\"base_stage\":%d,\"platform\":", s->base_stage);
        json_str(out, s->platform);
        cb_buf_printf(out, ",\"needed\":%s,\"line\":%d,\"onbuild_triggers\":%zu,\"depends_on\":[",
                      s->needed ? "true" : "false", s->from->start_line, s->n_triggers);
        for (size_t k = 0; k < s->n_deps; k++)
            cb_buf_printf(out, "%s%d", k ? "," : "", s->deps[k]);
        cb_buf_puts(out, "],\"instructions\":[");
        for (size_t k = 0; k < s->n_cmds; k++) {
            if (k)
                cb_buf_putc(out, ',');
            json_cmd(out, &s->cmds[k]);
        }
        cb_buf_puts(out, "]}");
    }
    cb_buf_puts(out, "],\"warnings\":[");
    for (size_t i = 0; i < p->warnings.n; i++) {
        cb_buf_printf(out, "%s{\"line\":%d,\"message\":", i ? "," : "", p->warnings.v[i].line);
        json_str(out, p->warnings.v[i].msg);
        cb_buf_putc(out, '}');
    }
    cb_buf_puts(out, "]}\n");
}
