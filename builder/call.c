/* --call=check|outline|targets: BuildKit's frontend subrequests (frontend.lint, frontend.outline,
 * frontend.targets), answered from the Dockerfile alone and printed as buildx prints them. */
#include "builder.h"
#include "dockerfile.h"
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef enum call_kind { CALL_BUILD, CALL_CHECK, CALL_OUTLINE, CALL_TARGETS } call_kind;

/* what the answers read: the build's context, parsed Dockerfile and plan */
typedef struct call_src {
    bl_context ctx;
    df_file *file;
    const df_plan *plan;
} call_src;

int builder_call_parse(const char *call, int *kind, bool *json, cb_err *err)
{
    *kind = CALL_BUILD;
    *json = false;
    if (!call)
        return 0;
    cleanup_free char *dup = xstrdup(call);
    char *save = NULL, *name = strtok_r(dup, ",", &save);
    if (!name || !strcmp(name, "build"))
        *kind = CALL_BUILD;
    else if (!strcmp(name, "check") || !strcmp(name, "lint"))
        *kind = CALL_CHECK;
    else if (!strcmp(name, "outline"))
        *kind = CALL_OUTLINE;
    else if (!strcmp(name, "targets"))
        *kind = CALL_TARGETS;
    else
        return cb_fail(err, "invalid --call %s: expected build, check, outline or targets", call);
    for (char *o = strtok_r(NULL, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (!strcmp(o, "format=json"))
            *json = true;
        else if (strcmp(o, "format=text"))
            return cb_fail(err, "invalid --call option %s: only format=json or format=text", o);
    }
    return 0;
}

/* ---------- check ---------- */

static void call_line_range(const df_file *f, int line, int *start, int *end)
{
    *start = *end = line;
    for (size_t i = 0; i < f->n_instrs; i++)
        if (f->instrs[i].start_line == line)
            *end = f->instrs[i].end_line;
}

/* errdefs.Source.Print: the lines around the range, the range marked ">>>". */
void bl_source_snippet(cb_buf *out, const char *name, const cb_buf *data, int start, int end)
{
    cb_strv lines;
    cb_strv_init(&lines);
    const char *d = data->data ? data->data : "";
    for (const char *p = d;;) {
        const char *nl = memchr(p, '\n', (size_t)(d + data->len - p));
        if (!nl) {
            cb_strv_push_owned(&lines, xstrndup(p, (size_t)(d + data->len - p)));
            break;
        }
        cb_strv_push_owned(&lines, xstrndup(p, (size_t)(nl - p)));
        p = nl + 1;
    }
    int n = (int)lines.n;
    if (start >= 1 && start <= n) {
        int rs = start, re = end > n ? n : end < start ? start : end;
        int pad = re == rs ? 4 : 2, p = 0;
        int s = rs, e = re;
        while (p < pad) {
            if (s > 1) {
                s--;
                p++;
            }
            if (e != n) {
                e++;
                p++;
            }
            p++;
        }
        cb_buf_printf(out, "%s:%d\n--------------------\n", name, rs);
        for (int i = s; i <= e; i++)
            cb_buf_printf(out, " %3d | %s %s\n", i, i >= rs && i <= re ? ">>>" : "   ", lines.v[i - 1]);
        cb_buf_printf(out, "--------------------\n");
    }
    cb_strv_free(&lines);
}

static void call_print_source(FILE *out, const char *name, const cb_buf *data, int start, int end)
{
    cb_buf b;
    cb_buf_init(&b);
    bl_source_snippet(&b, name, data, start, end);
    if (b.len)
        fwrite(b.data, 1, b.len, out);
    cb_buf_free(&b);
}

static json_t *call_location(int start, int end)
{
    json_t *r = json_object();
    json_object_set_new(r, "start", json_pack("{s:i}", "line", start));
    json_object_set_new(r, "end", json_pack("{s:i}", "line", end));
    return json_pack("{s:[o]}", "ranges", r);
}

static void call_json_print(FILE *out, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(out, "%s\n", s);
    free(s);
    json_decref(j);
}

static void call_split_rule(const char *msg, char **rule, const char **detail)
{
    size_t rl = strcspn(msg, ":");
    *rule = xstrndup(msg, rl);
    *detail = msg[rl] ? msg + rl + 2 : msg + rl;
}

bool builder_warning_is_lint(const char *msg)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(msg, ":"), msg);
    return df_lint_rule_find(name) != NULL;
}

static int call_check(const builder_opts *o, call_src *s, bool json, int *status, cb_err *err)
{
    FILE *out = o->out ? o->out : stdout;
    const df_plan *p = s->plan;
    size_t n = 0;
    for (size_t i = 0; i < p->warnings.n; i++)
        n += builder_warning_is_lint(p->warnings.v[i].msg);
    *status = n || p->lint_error ? 1 : 0;
    if (json) {
        json_t *ws = json_array();
        for (size_t i = 0; i < p->warnings.n; i++) {
            char *rule;
            const char *detail;
            call_split_rule(p->warnings.v[i].msg, &rule, &detail);
            const df_lint_rule *r = df_lint_rule_find(rule);
            if (r) {
                int a, b;
                call_line_range(s->file, p->warnings.v[i].line, &a, &b);
                json_t *w = json_pack("{s:s,s:s}", "ruleName", r->name, "description", r->description);
                if (r->url)
                    json_object_set_new(
                        w, "url", json_sprintf("https://docs.docker.com/go/dockerfile/rule/%s/", r->url));
                json_object_set_new(w, "detail", json_string(detail));
                json_object_set_new(w, "location", call_location(a, b));
                json_array_append_new(ws, w);
            }
            free(rule);
        }
        cleanup_free char *data = cb_base64(s->ctx.dockerfile.data ? s->ctx.dockerfile.data : "", s->ctx.dockerfile.len);
        json_t *j = json_pack("{s:o,s:[{s:s,s:s,s:s}]}", "warnings", ws, "sources", "filename",
                              s->file->filename, "language", "Dockerfile", "data", data);
        if (p->lint_error)
            json_object_set_new(j, "buildError", json_pack("{s:s}", "message", p->lint_error));
        call_json_print(out, j);
    } else {
        if (n)
            fprintf(out, "Check complete, %zu warning%s been found!\n", n, n == 1 ? " has" : "s have");
        for (size_t i = 0; i < p->warnings.n; i++) {
            char *rule;
            const char *detail;
            call_split_rule(p->warnings.v[i].msg, &rule, &detail);
            const df_lint_rule *r = df_lint_rule_find(rule);
            if (r) {
                fprintf(out, "\nWARNING: %s", r->name);
                if (r->url)
                    fprintf(out, " - https://docs.docker.com/go/dockerfile/rule/%s/", r->url);
                fprintf(out, "\n%s\n", detail);
                int a, b;
                call_line_range(s->file, p->warnings.v[i].line, &a, &b);
                call_print_source(out, s->file->filename, &s->ctx.dockerfile, a, b);
            }
            free(rule);
        }
        if (!n && !p->lint_error)
            fprintf(out, "Check complete, no warnings found.\n");
    }
    fflush(out);
    if (p->lint_error)
        return cb_fail(err, "%s", p->lint_error);
    return 0;
}

/* ---------- tabwriter ---------- */

static size_t call_width(const char *s) /* runes, as tabwriter counts them */
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Go's text/tabwriter for one block of rows of ncol cells: every cell but the last padded
 * to its column's widest cell plus pad. */
static void call_table(FILE *out, const cb_strv *cells, size_t ncol, int pad)
{
    size_t w[8] = {0};
    for (size_t i = 0; i < cells->n; i++) {
        size_t l = call_width(cells->v[i]);
        if (l > w[i % ncol])
            w[i % ncol] = l;
    }
    for (size_t i = 0; i < cells->n; i++) {
        size_t c = i % ncol;
        fputs(cells->v[i], out);
        if (c + 1 < ncol)
            fprintf(out, "%*s", (int)(w[c] + (size_t)pad - call_width(cells->v[i])), "");
        else
            fputc('\n', out);
    }
}

/* ---------- targets ---------- */

static int call_targets(const builder_opts *o, call_src *s, bool json)
{
    FILE *out = o->out ? o->out : stdout;
    const df_plan *p = s->plan;
    if (json) {
        json_t *ts = json_array();
        for (size_t i = 0; i < p->n_stages; i++) {
            const df_stage *st = &p->stages[i];
            json_t *t = json_object();
            if (st->name)
                json_object_set_new(t, "name",
                                    json_string(st->from->args.n == 3 ? st->from->args.v[2] : st->name));
            if (i + 1 == p->n_stages)
                json_object_set_new(t, "default", json_true());
            const char *d = df_doc_comment(&st->from->comments, st->name);
            if (d)
                json_object_set_new(t, "description", json_string(d));
            json_object_set_new(t, "base", json_string(st->from->args.v[0]));
            const char *pl = df_instr_flag(st->from, "platform", NULL);
            if (pl)
                json_object_set_new(t, "platform", json_string(pl));
            json_object_set_new(t, "location", call_location(st->from->start_line, st->from->end_line));
            json_array_append_new(ts, t);
        }
        cleanup_free char *data = cb_base64(s->ctx.dockerfile.data ? s->ctx.dockerfile.data : "", s->ctx.dockerfile.len);
        call_json_print(out, json_pack("{s:o,s:[s]}", "targets", ts, "sources", data));
        return 0;
    }
    cb_strv cells;
    cb_strv_init(&cells);
    cb_strv_push(&cells, "TARGET");
    cb_strv_push(&cells, "DESCRIPTION");
    for (size_t i = 0; i < p->n_stages; i++) {
        const df_stage *st = &p->stages[i];
        const char *name = st->name ? st->from->args.v[2] : "";
        bool def = i + 1 == p->n_stages;
        cb_strv_push_owned(&cells, def && !*name ? xstrdup("(default)")
                                   : def         ? xasprintf("%s (default)", name)
                                                 : xstrdup(name));
        const char *d = df_doc_comment(&st->from->comments, st->name);
        cb_strv_push(&cells, d ? d : "");
    }
    call_table(out, &cells, 2, 1);
    cb_strv_free(&cells);
    return 0;
}

/* ---------- outline ---------- */

typedef struct call_arg {
    char *name, *value;
    const char *desc;
    int line;
    bool global;
    cb_strv deps; /* names its default refers to */
} call_arg;

typedef struct call_item {
    char *name;
    bool required;
    int line;
} call_item;

static void call_refs(const char *raw, cb_strv *deps)
{
    for (const char *c = raw ? strchr(raw, '$') : NULL; c; c = strchr(c + 1, '$')) {
        const char *n = c[1] == '{' ? c + 2 : c + 1;
        size_t l = strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (l)
            cb_strv_push_owned(deps, xstrndup(n, l));
    }
}

static call_arg *call_arg_find(call_arg *v, size_t n, const char *name, bool global)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].global == global && !strcmp(v[i].name, name))
            return &v[i];
    return NULL;
}

static void call_mark(call_arg *v, size_t n, const char *name, cb_strv *used)
{
    if (cb_strv_contains(used, name))
        return;
    cb_strv_push(used, name);
    call_arg *a = call_arg_find(v, n, name, true);
    for (size_t i = 0; a && i < a->deps.n; i++)
        call_mark(v, n, a->deps.v[i], used);
}

static int call_cmp_line(const void *a, const void *b)
{
    return ((const call_arg *)a)->line - ((const call_arg *)b)->line;
}

static int call_cmp_item(const void *a, const void *b)
{
    return ((const call_item *)a)->line - ((const call_item *)b)->line;
}

/* Long: the outline's three lists (args with their dependencies, secrets, ssh) in one pass. */
static int call_outline(const builder_opts *o, call_src *s, bool json)
{
    FILE *out = o->out ? o->out : stdout;
    const df_plan *p = s->plan;
    const df_file *f = s->file;
    call_arg *all = NULL;
    size_t na = 0;
    /* global ARGs: their last definition before the first FROM, and what their defaults use */
    for (size_t i = 0; i < f->n_instrs && strcmp(f->instrs[i].keyword, "from"); i++) {
        const df_instr *in = &f->instrs[i];
        if (strcmp(in->keyword, "arg"))
            continue;
        for (size_t k = 0; k < in->args.n; k++) {
            cleanup_free char *name = xstrndup(in->args.v[k], strcspn(in->args.v[k], "="));
            call_arg *a = call_arg_find(all, na, name, true);
            if (!a) {
                all = xrealloc(all, (na + 1) * sizeof *all);
                a = &all[na++];
                *a = (call_arg){.name = xstrdup(name), .global = true};
                cb_strv_init(&a->deps);
                for (size_t g = 0; g < p->n_global_args; g++)
                    if (!strcmp(p->global_args[g].key, name) && p->global_args[g].value)
                        a->value = xstrdup(p->global_args[g].value);
            }
            a->line = in->start_line;
            a->desc = df_doc_comment(&in->comments, name);
            const char *eq = strchr(in->args.v[k], '=');
            call_refs(eq ? eq + 1 : NULL, &a->deps);
        }
    }
    cb_strv used;
    cb_strv_init(&used);
    int tgt = p->target >= 0 ? p->target : (int)p->n_stages - 1;
    call_item *sec = NULL, *ssh = NULL;
    size_t nsec = 0, nssh = 0;
    for (size_t i = 0; i < p->n_stages; i++) {
        const df_stage *st = &p->stages[i];
        if (!st->needed)
            continue;
        cb_strv refs;
        cb_strv_init(&refs);
        call_refs(st->from->original, &refs);
        for (size_t r = 0; r < refs.n; r++)
            call_mark(all, na, refs.v[r], &used);
        cb_strv_free(&refs);
        for (size_t k = st->n_triggers; k < st->n_cmds; k++) {
            const df_cmd *c = &st->cmds[k];
            for (size_t m = 0; c->kind == DF_CMD_RUN && m < c->n_mounts; m++) {
                const df_mount *mt = &c->mounts[m];
                bool is_secret = mt->type == DF_MOUNT_SECRET;
                if (!is_secret && mt->type != DF_MOUNT_SSH)
                    continue;
                call_item **v = is_secret ? &sec : &ssh;
                size_t *nv = is_secret ? &nsec : &nssh;
                const char *id = mt->id ? mt->id : "default";
                bool dup = false;
                for (size_t x = 0; x < *nv; x++)
                    dup |= !strcmp((*v)[x].name, id);
                if (dup)
                    continue;
                *v = xrealloc(*v, (*nv + 1) * sizeof **v);
                (*v)[(*nv)++] = (call_item){xstrdup(id), mt->required, c->instr->start_line};
            }
            if (c->kind != DF_CMD_ARG)
                continue;
            for (size_t v = 0; v < c->n_kvs; v++) {
                const df_kv *kv = &c->kvs[v];
                call_arg *g = call_arg_find(all, na, kv->key, true);
                bool has_default = strchr(c->instr->args.v[v < c->instr->args.n ? v : 0], '=') != NULL;
                if (g && !has_default)
                    call_mark(all, na, kv->key, &used);
                call_arg *a = call_arg_find(all, na, kv->key, false);
                if (a && (int)i != tgt)
                    continue; /* the target's own definition wins */
                if (!a) {
                    all = xrealloc(all, (na + 1) * sizeof *all);
                    a = &all[na++];
                    *a = (call_arg){.name = xstrdup(kv->key)};
                    cb_strv_init(&a->deps);
                }
                free(a->value);
                a->value = kv->value ? xstrdup(kv->value) : g && g->value ? xstrdup(g->value) : NULL;
                a->line = c->instr->start_line;
                a->desc = df_doc_comment(&c->instr->comments, kv->key);
            }
        }
    }
    /* a stage's ARG hides the global one of that name */
    size_t nout = 0;
    call_arg *args = xcalloc(na + 1, sizeof *args);
    for (size_t i = 0; i < na; i++)
        if (!all[i].global ||
            (cb_strv_contains(&used, all[i].name) && !call_arg_find(all, na, all[i].name, false)))
            args[nout++] = all[i];
    qsort(args, nout, sizeof *args, call_cmp_line);
    qsort(sec, nsec, sizeof *sec, call_cmp_item);
    qsort(ssh, nssh, sizeof *ssh, call_cmp_item);
    const df_stage *ts = &p->stages[tgt];
    const char *tname = ts->name ? ts->from->args.v[2] : NULL;
    const char *tdesc = df_doc_comment(&ts->from->comments, ts->name);
    if (json) {
        json_t *j = json_object();
        if (ts->name)
            json_object_set_new(j, "name", json_string(ts->name));
        if (tdesc)
            json_object_set_new(j, "description", json_string(tdesc));
        json_t *ja = json_array();
        for (size_t i = 0; i < nout; i++) {
            json_t *a = json_pack("{s:s}", "name", args[i].name);
            if (args[i].desc)
                json_object_set_new(a, "description", json_string(args[i].desc));
            if (args[i].value && *args[i].value)
                json_object_set_new(a, "value", json_string(args[i].value));
            json_object_set_new(a, "location", call_location(args[i].line, args[i].line));
            json_array_append_new(ja, a);
        }
        if (nout)
            json_object_set_new(j, "args", ja);
        else
            json_decref(ja);
        for (int k = 0; k < 2; k++) {
            call_item *v = k ? ssh : sec;
            size_t nv = k ? nssh : nsec;
            if (!nv)
                continue;
            json_t *jv = json_array();
            for (size_t i = 0; i < nv; i++) {
                json_t *x = json_pack("{s:s}", "name", v[i].name);
                if (v[i].required)
                    json_object_set_new(x, "required", json_true());
                json_object_set_new(x, "location", call_location(v[i].line, v[i].line));
                json_array_append_new(jv, x);
            }
            json_object_set_new(j, k ? "ssh" : "secrets", jv);
        }
        cleanup_free char *data = cb_base64(s->ctx.dockerfile.data ? s->ctx.dockerfile.data : "", s->ctx.dockerfile.len);
        json_object_set_new(j, "sources", json_pack("[s]", data));
        call_json_print(out, j);
    } else {
        cb_strv cells;
        cb_strv_init(&cells);
        if (tname || tdesc) {
            cb_strv_push(&cells, "TARGET:");
            cb_strv_push(&cells, tname ? ts->name : "(default)");
            if (tdesc) {
                cb_strv_push(&cells, "DESCRIPTION:");
                cb_strv_push(&cells, tdesc);
            }
            call_table(out, &cells, 2, 1);
            fputc('\n', out);
            cb_strv_free(&cells);
            cb_strv_init(&cells);
        }
        if (nout) {
            cb_strv_push(&cells, "BUILD ARG");
            cb_strv_push(&cells, "VALUE");
            cb_strv_push(&cells, "DESCRIPTION");
            for (size_t i = 0; i < nout; i++) {
                cb_strv_push(&cells, args[i].name);
                cb_strv_push(&cells, args[i].value ? args[i].value : "");
                cb_strv_push(&cells, args[i].desc ? args[i].desc : "");
            }
            call_table(out, &cells, 3, 3);
            fputc('\n', out);
            cb_strv_free(&cells);
            cb_strv_init(&cells);
        }
        for (int k = 0; k < 2; k++) {
            call_item *v = k ? ssh : sec;
            size_t nv = k ? nssh : nsec;
            if (!nv)
                continue;
            cb_strv_push(&cells, k ? "SSH" : "SECRET");
            cb_strv_push(&cells, "REQUIRED");
            for (size_t i = 0; i < nv; i++) {
                cb_strv_push(&cells, v[i].name);
                cb_strv_push(&cells, v[i].required ? "true" : "");
            }
            call_table(out, &cells, 2, 3);
            fputc('\n', out);
            cb_strv_free(&cells);
            cb_strv_init(&cells);
        }
        cb_strv_free(&cells);
    }
    for (size_t i = 0; i < na; i++) {
        free(all[i].name);
        free(all[i].value);
        cb_strv_free(&all[i].deps);
    }
    for (size_t i = 0; i < nsec; i++)
        free(sec[i].name);
    for (size_t i = 0; i < nssh; i++)
        free(ssh[i].name);
    free(sec);
    free(ssh);
    free(all);
    free(args);
    cb_strv_free(&used);
    return 0;
}

bool bl_call_lints(const builder_opts *o)
{
    return o->call_kind == CALL_CHECK;
}

bool bl_call_resolves_images(const builder_opts *o)
{
    /* frontend.targets lists the stages from the parse alone (BuildKit's ListTargets) */
    return o->call_kind != CALL_TARGETS;
}

int bl_call_answer(bl_build *b, const df_plan *plan, cb_err *err)
{
    const builder_opts *o = b->opts;
    call_src s = {.ctx = b->ctx, .file = b->file, .plan = plan};
    int status = 0, rc;
    if (o->call_kind == CALL_CHECK)
        rc = call_check(o, &s, o->call_json, &status, err);
    else if (o->call_kind == CALL_TARGETS)
        rc = call_targets(o, &s, o->call_json);
    else
        rc = call_outline(o, &s, o->call_json);
    if (o->call_status)
        *o->call_status = rc < 0 ? 1 : status;
    return rc;
}

int builder_call(const builder_opts *opts, int kind, bool json, int *status, cb_err *err)
{
    builder_opts o = *opts;
    o.call_kind = kind;
    o.call_json = json;
    o.call_status = status;
    *status = 1;
    builder_result res;
    return builder_build(&o, &res, err);
}

void builder_warnings_summary(FILE *out, const df_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->warnings.n; i++)
        n += builder_warning_is_lint(p->warnings.v[i].msg);
    if (!n)
        return;
    fprintf(out, "\n%zu warning%s found (use docker --debug to expand):\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < p->warnings.n; i++) {
        const df_warning *w = &p->warnings.v[i];
        if (!builder_warning_is_lint(w->msg))
            continue;
        if (w->line > 0)
            fprintf(out, " - %s (line %d)\n", w->msg, w->line);
        else
            fprintf(out, " - %s\n", w->msg);
    }
}
