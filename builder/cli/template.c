/* Go's text/template over JSON: a lexer and parser into a node tree, then a walker. Data is
 * what docker's inspect falls back to (the JSON decoded into map[string]interface{}): a
 * missing key is <no value>, maps print map[k:v] sorted, slices [a b]. */
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------- tokens ---------- */
enum tkind {
    T_EOF,
    T_TEXT,
    T_LEFT,
    T_RIGHT,
    T_IDENT,
    T_FIELD,
    T_VAR,
    T_DOT,
    T_STRING,
    T_NUMBER,
    T_PIPE,
    T_LPAREN,
    T_RPAREN,
    T_DECLARE,
    T_ASSIGN,
    T_COMMA,
};

typedef struct tok {
    enum tkind kind;
    size_t pos, len;
    char *val; /* text (trimmed), identifier, field name, "$var", unquoted string, number */
    bool space_before;
} tok;

typedef struct tokv {
    tok *v;
    size_t n, cap;
} tokv;

/* ---------- tree ---------- */
enum akind { A_FIELD, A_DOT, A_VAR, A_STRING, A_NUMBER, A_BOOL, A_NIL, A_FUNC, A_PIPE };
enum nkind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_BREAK, N_CONTINUE };

typedef struct tpipe tpipe;
typedef struct targ {
    enum akind kind;
    size_t pos, end;
    char *name;    /* function, "$var" */
    char **fields; /* .A.B after the term (dot, var, paren) */
    size_t nfields;
    size_t chain_pos; /* where Go places a field chain: its second field (or the one after a term) */
    json_t *lit;      /* string, number, bool */
    tpipe *sub;       /* ( pipeline ) */
} targ;

typedef struct tcmd {
    size_t pos, end;
    targ **args;
    size_t nargs;
} tcmd;

struct tpipe {
    size_t pos;
    char *decl[2];
    int ndecl;
    bool assign; /* `$x = …` rather than `$x := …` */
    tcmd **cmds;
    size_t ncmds;
};

typedef struct tnode tnode;
typedef struct tlist {
    tnode **v;
    size_t n, cap;
} tlist;

struct tnode {
    enum nkind kind;
    size_t pos;
    size_t src_start, src_end; /* {{if …}} … {{end}} in the source, for error context */
    char *text;
    tpipe *pipe;
    tlist list, else_list;
};

struct cli_template {
    char *src;
    tokv toks;
    tlist root;
};

/* ---------- helpers ---------- */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static void pos_line_col(const char *src, size_t pos, int *line, int *col)
{
    int l = 1;
    size_t bol = 0;
    for (size_t i = 0; i < pos && src[i]; i++)
        if (src[i] == '\n') {
            l++;
            bol = i + 1;
        }
    *line = l;
    *col = (int)(pos - bol);
}

static int parse_errorf(const char *src, size_t pos, cb_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int parse_errorf(const char *src, size_t pos, cb_err *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    pos_line_col(src, pos, &line, &col);
    return cb_fail(err, "template: :%d: %s", line, msg);
}

static void tok_push(tokv *tv, enum tkind k, size_t pos, size_t len, char *val, bool sp)
{
    if (tv->n == tv->cap) {
        tv->cap = tv->cap ? tv->cap * 2 : 32;
        tv->v = xrealloc(tv->v, tv->cap * sizeof *tv->v);
    }
    tv->v[tv->n++] = (tok){k, pos, len, val, sp};
}

/* ---------- lexer ---------- */
static int lex_quoted(const char *src, size_t *i, cb_buf *b, cb_err *err)
{
    size_t start = *i;
    size_t p = *i + 1;
    for (;;) {
        char c = src[p];
        if (!c || c == '\n')
            return parse_errorf(src, start, err, "unterminated quoted string");
        if (c == '"')
            break;
        if (c != '\\') {
            cb_buf_putc(b, c);
            p++;
            continue;
        }
        char e = src[++p];
        static const char from[] = "nrt\\\"'abfv0", to[] = "\n\r\t\\\"'\a\b\f\v\0";
        const char *f = e ? strchr(from, e) : NULL;
        if (f) {
            cb_buf_putc(b, to[f - from]);
            p++;
        } else if (e == 'x' && isxdigit((unsigned char)src[p + 1]) && isxdigit((unsigned char)src[p + 2])) {
            char hex[3] = {src[p + 1], src[p + 2], 0};
            cb_buf_putc(b, (char)strtol(hex, NULL, 16));
            p += 3;
        } else
            return parse_errorf(src, start, err, "invalid syntax in quoted string");
    }
    *i = p + 1;
    return 0;
}

static int lex_number(const char *src, size_t *i, cb_err *err)
{
    size_t p = *i;
    if (src[p] == '+' || src[p] == '-')
        p++;
    while (isalnum((unsigned char)src[p]) || src[p] == '.' || src[p] == '_' ||
           ((src[p] == '+' || src[p] == '-') && (src[p - 1] == 'e' || src[p - 1] == 'E')))
        p++;
    cleanup_free char *t = xstrndup(src + *i, p - *i);
    char *end;
    errno = 0;
    strtod(t, &end);
    if (*end || errno)
        return parse_errorf(src, *i, err, "bad number syntax: \"%s\"", t);
    *i = p;
    return 0;
}

/* One action's tokens up to and including its closing delimiter. Long: one case per token
 * kind, kept together as Go's lexer keeps them. */
static int lex_action(const char *src, size_t *ip, tokv *tv, bool *trim_next, cb_err *err)
{
    size_t i = *ip;
    bool sp = false;
    int paren = 0;
    for (;;) {
        char c = src[i];
        if (!c)
            return parse_errorf(src, i, err, "unclosed action");
        if (is_space(c) && src[i + 1] == '-' && src[i + 2] == '}' && src[i + 3] == '}') {
            tok_push(tv, T_RIGHT, i, 4, NULL, true);
            *trim_next = true;
            i += 4;
            break;
        }
        if (c == '}' && src[i + 1] == '}') {
            if (paren)
                return parse_errorf(src, i, err, "unclosed left paren");
            tok_push(tv, T_RIGHT, i, 2, NULL, sp);
            *trim_next = false;
            i += 2;
            break;
        }
        if (is_space(c)) {
            sp = true;
            i++;
            continue;
        }
        size_t s = i;
        if (c == '|') {
            tok_push(tv, T_PIPE, i++, 1, NULL, sp);
        } else if (c == '(') {
            paren++;
            tok_push(tv, T_LPAREN, i++, 1, NULL, sp);
        } else if (c == ')') {
            if (--paren < 0)
                return parse_errorf(src, i, err, "unexpected right paren");
            tok_push(tv, T_RPAREN, i++, 1, NULL, sp);
        } else if (c == ',') {
            tok_push(tv, T_COMMA, i++, 1, NULL, sp);
        } else if (c == ':' && src[i + 1] == '=') {
            tok_push(tv, T_DECLARE, i, 2, NULL, sp);
            i += 2;
        } else if (c == '=') {
            tok_push(tv, T_ASSIGN, i++, 1, NULL, sp);
        } else if (c == '"') {
            cb_buf b;
            cb_buf_init(&b);
            cb_buf_puts(&b, "");
            if (lex_quoted(src, &i, &b, err) < 0) {
                cb_buf_free(&b);
                return -EINVAL;
            }
            tok_push(tv, T_STRING, s, i - s, cb_buf_steal(&b), sp);
        } else if (c == '`') {
            const char *e = strchr(src + i + 1, '`');
            if (!e)
                return parse_errorf(src, i, err, "unterminated raw quoted string");
            tok_push(tv, T_STRING, s, (size_t)(e - src) + 1 - s,
                     xstrndup(src + i + 1, (size_t)(e - src) - i - 1), sp);
            i = (size_t)(e - src) + 1;
        } else if (c == '\'') {
            char ch = src[i + 1];
            size_t l = 3;
            if (ch == '\\') {
                static const char from[] = "nrt\\'0", to[] = "\n\r\t\\'\0";
                const char *f = strchr(from, src[i + 2]);
                if (!f || !src[i + 2])
                    return parse_errorf(src, i, err, "invalid syntax in character constant");
                ch = to[f - from];
                l = 4;
            }
            if (!ch && l == 3)
                return parse_errorf(src, i, err, "unterminated character constant");
            if (src[i + l - 1] != '\'')
                return parse_errorf(src, i, err, "unterminated character constant");
            tok_push(tv, T_NUMBER, s, l, xasprintf("%d", (unsigned char)ch), sp);
            i += l;
        } else if (c == '$') {
            i++;
            while (is_alnum(src[i]))
                i++;
            tok_push(tv, T_VAR, s, i - s, xstrndup(src + s, i - s), sp);
        } else if (c == '.' && is_alnum(src[i + 1]) && !isdigit((unsigned char)src[i + 1])) {
            i++;
            while (is_alnum(src[i]))
                i++;
            tok_push(tv, T_FIELD, s, i - s, xstrndup(src + s + 1, i - s - 1), sp);
        } else if (c == '.' && !isdigit((unsigned char)src[i + 1])) {
            tok_push(tv, T_DOT, i++, 1, NULL, sp);
        } else if (isdigit((unsigned char)c) || c == '.' ||
                   ((c == '-' || c == '+') && (isdigit((unsigned char)src[i + 1]) || src[i + 1] == '.'))) {
            if (lex_number(src, &i, err) < 0)
                return -EINVAL;
            tok_push(tv, T_NUMBER, s, i - s, xstrndup(src + s, i - s), sp);
        } else if (isalpha((unsigned char)c) || c == '_') {
            while (is_alnum(src[i]))
                i++;
            tok_push(tv, T_IDENT, s, i - s, xstrndup(src + s, i - s), sp);
        } else {
            return parse_errorf(src, i, err, "unrecognized character in action: U+%04X '%c'",
                                (unsigned char)c, c);
        }
        sp = false;
    }
    *ip = i;
    return 0;
}

static int lex(const char *src, tokv *tv, cb_err *err)
{
    size_t n = strlen(src), i = 0;
    bool trim_next = false;
    while (i <= n) {
        const char *open = strstr(src + i, "{{");
        size_t tend = open ? (size_t)(open - src) : n;
        size_t ts = i, te = tend;
        if (trim_next)
            while (ts < te && is_space(src[ts]))
                ts++;
        bool trim_left = open && open[2] == '-' && is_space(open[3]);
        if (trim_left)
            while (te > ts && is_space(src[te - 1]))
                te--;
        if (te > ts)
            tok_push(tv, T_TEXT, ts, te - ts, xstrndup(src + ts, te - ts), false);
        if (!open)
            break;
        i = tend + 2 + (trim_left ? 2 : 0);
        if (!strncmp(src + i, "/*", 2)) {
            const char *e = strstr(src + i + 2, "*/");
            if (!e)
                return parse_errorf(src, i, err, "unclosed comment");
            size_t j = (size_t)(e - src) + 2;
            if (!strncmp(src + j, " -}}", 4)) {
                trim_next = true;
                i = j + 4;
            } else if (!strncmp(src + j, "}}", 2)) {
                trim_next = false;
                i = j + 2;
            } else
                return parse_errorf(src, i, err, "comment ends before closing delimiter");
            continue;
        }
        tok_push(tv, T_LEFT, tend, 2, NULL, false);
        if (lex_action(src, &i, tv, &trim_next, err) < 0)
            return -EINVAL;
    }
    tok_push(tv, T_EOF, n, 0, NULL, false);
    return 0;
}

/* ---------- parser ---------- */
typedef struct parser {
    const char *src;
    tokv *tv;
    size_t i;
    cb_strv vars; /* declared variables in scope, innermost last */
    int range_depth;
    cb_err *err;
} parser;

static tok *peek(parser *p)
{
    return &p->tv->v[p->i];
}

static tok *next(parser *p)
{
    tok *t = &p->tv->v[p->i];
    if (t->kind != T_EOF)
        p->i++;
    return t;
}

static void list_push(tlist *l, tnode *n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = n;
}

static void pipe_free(tpipe *pp);

static void arg_free(targ *a)
{
    if (!a)
        return;
    free(a->name);
    for (size_t i = 0; i < a->nfields; i++)
        free(a->fields[i]);
    free(a->fields);
    json_decref(a->lit);
    pipe_free(a->sub);
    free(a);
}

static void pipe_free(tpipe *pp)
{
    if (!pp)
        return;
    for (size_t i = 0; i < pp->ncmds; i++) {
        for (size_t k = 0; k < pp->cmds[i]->nargs; k++)
            arg_free(pp->cmds[i]->args[k]);
        free(pp->cmds[i]->args);
        free(pp->cmds[i]);
    }
    free(pp->cmds);
    free(pp->decl[0]);
    free(pp->decl[1]);
    free(pp);
}

static void list_free(tlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        tnode *n = l->v[i];
        free(n->text);
        pipe_free(n->pipe);
        list_free(&n->list);
        list_free(&n->else_list);
        free(n);
    }
    free(l->v);
}

static const char *const funcs_known[] = {
    "and", "or", "not", "len",  "index", "slice", "print", "printf", "println", "eq",  "ne",       "lt",
    "le",  "gt", "ge",  "json", "join",  "split", "upper", "lower",  "title",   "pad", "truncate", NULL};
/* Go builtins cbuild does not implement: named, so the user knows it is not a typo. */
static const char *const funcs_unsupported[] = {"call", "html", "js", "urlquery", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s))
            return true;
    return false;
}

static bool var_defined(parser *p, const char *name)
{
    for (size_t i = p->vars.n; i-- > 0;)
        if (!strcmp(p->vars.v[i], name))
            return true;
    return false;
}

static void vars_truncate(parser *p, size_t n)
{
    while (p->vars.n > n)
        free(p->vars.v[--p->vars.n]);
}

static tpipe *parse_pipeline(parser *p, const char *ctx, bool allow_two);

static int parse_fields(parser *p, targ *a)
{
    while (peek(p)->kind == T_FIELD && !peek(p)->space_before) {
        tok *t = next(p);
        if (!a->chain_pos)
            a->chain_pos = t->pos;
        a->fields = xrealloc(a->fields, (a->nfields + 1) * sizeof *a->fields);
        a->fields[a->nfields++] = xstrdup(t->val);
        a->end = t->pos + t->len;
    }
    return 0;
}

static targ *parse_operand(parser *p)
{
    tok *t = peek(p);
    targ *a = xcalloc(1, sizeof *a);
    a->pos = t->pos;
    a->end = t->pos + t->len;
    switch (t->kind) {
    case T_FIELD:
        a->kind = A_FIELD;
        next(p);
        a->fields = xmalloc(sizeof *a->fields);
        a->fields[0] = xstrdup(t->val);
        a->nfields = 1;
        break;
    case T_DOT:
        a->kind = A_DOT;
        next(p);
        break;
    case T_VAR:
        next(p);
        if (!var_defined(p, t->val)) {
            parse_errorf(p->src, t->pos, p->err, "undefined variable \"%s\"", t->val);
            arg_free(a);
            return NULL;
        }
        a->kind = A_VAR;
        a->name = xstrdup(t->val);
        break;
    case T_STRING:
        next(p);
        a->kind = A_STRING;
        a->lit = json_string(t->val);
        if (!a->lit)
            a->lit = json_stringn_nocheck(t->val, strlen(t->val));
        break;
    case T_NUMBER: {
        next(p);
        a->kind = A_NUMBER;
        char *end;
        long long ll = strtoll(t->val, &end, 0);
        a->lit = *end ? json_real(strtod(t->val, NULL)) : json_integer(ll);
        break;
    }
    case T_IDENT:
        next(p);
        if (!strcmp(t->val, "true") || !strcmp(t->val, "false")) {
            a->kind = A_BOOL;
            a->lit = json_boolean(!strcmp(t->val, "true"));
        } else if (!strcmp(t->val, "nil")) {
            a->kind = A_NIL;
        } else if (in_list(funcs_known, t->val)) {
            a->kind = A_FUNC;
            a->name = xstrdup(t->val);
        } else {
            int line, col;
            pos_line_col(p->src, t->pos, &line, &col);
            if (in_list(funcs_unsupported, t->val))
                cb_fail(p->err, "template: :%d:%d: function \"%s\" is not supported by cbuild", line, col,
                        t->val);
            else
                cb_fail(p->err, "template: :%d:%d: function \"%s\" not defined", line, col, t->val);
            arg_free(a);
            return NULL;
        }
        break;
    case T_LPAREN:
        next(p);
        a->kind = A_PIPE;
        a->sub = parse_pipeline(p, "parenthesized pipeline", false);
        if (!a->sub) {
            arg_free(a);
            return NULL;
        }
        if (peek(p)->kind != T_RPAREN) {
            parse_errorf(p->src, peek(p)->pos, p->err, "unclosed left paren");
            arg_free(a);
            return NULL;
        }
        a->end = next(p)->pos + 1;
        break;
    default:
        free(a);
        return NULL;
    }
    if (a->kind == A_FIELD || a->kind == A_DOT || a->kind == A_VAR || a->kind == A_PIPE)
        parse_fields(p, a);
    else if (peek(p)->kind == T_FIELD && !peek(p)->space_before) {
        parse_errorf(p->src, peek(p)->pos, p->err, "unexpected . after term \"%.*s\"", (int)(a->end - a->pos),
                     p->src + a->pos);
        arg_free(a);
        return NULL;
    }
    return a;
}

static tcmd *parse_command(parser *p)
{
    tcmd *c = xcalloc(1, sizeof *c);
    c->pos = peek(p)->pos;
    for (;;) {
        tok *t = peek(p);
        if (t->kind == T_RIGHT || t->kind == T_RPAREN || t->kind == T_PIPE)
            break;
        if (t->kind == T_EOF || t->kind == T_DECLARE || t->kind == T_ASSIGN || t->kind == T_COMMA ||
            t->kind == T_LEFT || t->kind == T_TEXT) {
            parse_errorf(p->src, t->pos, p->err, "unexpected \"%.*s\" in operand", (int)t->len,
                         p->src + t->pos);
            goto fail;
        }
        cb_err_clear(p->err);
        targ *a = parse_operand(p);
        if (!a) {
            if (!p->err->code)
                parse_errorf(p->src, t->pos, p->err, "unexpected \"%.*s\" in operand", (int)t->len,
                             p->src + t->pos);
            goto fail;
        }
        c->args = xrealloc(c->args, (c->nargs + 1) * sizeof *c->args);
        c->args[c->nargs++] = a;
        c->end = a->end;
    }
    if (!c->nargs) {
        parse_errorf(p->src, peek(p)->pos, p->err, "missing value for command");
        goto fail;
    }
    return c;
fail:
    for (size_t k = 0; k < c->nargs; k++)
        arg_free(c->args[k]);
    free(c->args);
    free(c);
    return NULL;
}

/* pipeline: [$x :=] cmd | cmd ...; ends before }} or ). */
static tpipe *parse_pipeline(parser *p, const char *ctx, bool allow_two)
{
    tpipe *pp = xcalloc(1, sizeof *pp);
    pp->pos = peek(p)->pos;
    tok *t0 = peek(p), *t1 = &p->tv->v[p->i + (t0->kind == T_EOF ? 0 : 1)];
    if (t0->kind == T_VAR &&
        (t1->kind == T_DECLARE || t1->kind == T_ASSIGN || (allow_two && t1->kind == T_COMMA))) {
        next(p);
        pp->decl[pp->ndecl++] = xstrdup(t0->val);
        if (t1->kind == T_COMMA) {
            next(p);
            tok *t2 = next(p);
            if (t2->kind != T_VAR) {
                parse_errorf(p->src, t2->pos, p->err, "range can only initialize variables");
                goto fail;
            }
            pp->decl[pp->ndecl++] = xstrdup(t2->val);
        }
        tok *op = next(p);
        if (op->kind != T_DECLARE && op->kind != T_ASSIGN) {
            parse_errorf(p->src, op->pos, p->err, "expected := or = in declaration");
            goto fail;
        }
        pp->assign = op->kind == T_ASSIGN;
        for (int k = 0; k < pp->ndecl; k++) {
            if (pp->assign && !var_defined(p, pp->decl[k])) {
                parse_errorf(p->src, t0->pos, p->err, "undefined variable \"%s\"", pp->decl[k]);
                goto fail;
            }
        }
    }
    for (;;) {
        tok *t = peek(p);
        if (t->kind == T_RIGHT || t->kind == T_RPAREN) {
            if (!pp->ncmds) {
                parse_errorf(p->src, t->pos, p->err, "missing value for %s", ctx);
                goto fail;
            }
            break;
        }
        tcmd *c = parse_command(p);
        if (!c)
            goto fail;
        pp->cmds = xrealloc(pp->cmds, (pp->ncmds + 1) * sizeof *pp->cmds);
        pp->cmds[pp->ncmds++] = c;
        if (peek(p)->kind == T_PIPE) {
            next(p);
            if (peek(p)->kind == T_RIGHT || peek(p)->kind == T_RPAREN) {
                parse_errorf(p->src, peek(p)->pos, p->err, "missing command after |");
                goto fail;
            }
        }
    }
    /* declared after the pipeline, so `$x := $x` refers to an outer $x */
    if (!pp->assign)
        for (int k = 0; k < pp->ndecl; k++)
            cb_strv_push(&p->vars, pp->decl[k]);
    return pp;
fail:
    pipe_free(pp);
    return NULL;
}

static int expect_right(parser *p, const char *what)
{
    tok *t = next(p);
    if (t->kind != T_RIGHT)
        return parse_errorf(p->src, t->pos, p->err, "unexpected \"%.*s\" in %s", (int)t->len, p->src + t->pos,
                            what);
    return 0;
}

/* Parse nodes into l until {{end}} or {{else}}; *stop gets which ("end", "else", or NULL at EOF). */
static int parse_list(parser *p, tlist *l, const char **stop);

static int parse_control(parser *p, enum nkind kind, const char *kw, size_t left, tlist *into)
{
    tnode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->src_start = left;
    n->pos = peek(p)->pos;
    list_push(into, n);
    size_t mark = p->vars.n;
    n->pipe = parse_pipeline(p, kw, kind == N_RANGE);
    if (!n->pipe || expect_right(p, kw) < 0)
        return -EINVAL;
    size_t after_pipe = p->vars.n;
    const char *stop = NULL;
    if (kind == N_RANGE)
        p->range_depth++;
    int rc = parse_list(p, &n->list, &stop);
    if (kind == N_RANGE)
        p->range_depth--;
    if (rc < 0)
        return rc;
    if (!stop)
        return parse_errorf(p->src, strlen(p->src), p->err, "unexpected EOF");
    vars_truncate(p, after_pipe);
    if (!strcmp(stop, "else")) {
        tok *t = peek(p);
        /* {{else if …}} / {{else with …}}: a nested control node ending at the same {{end}} */
        if (t->kind == T_IDENT &&
            ((kind == N_IF && !strcmp(t->val, "if")) || (kind == N_WITH && !strcmp(t->val, "with")))) {
            size_t else_left = p->tv->v[p->i - 2].pos;
            next(p);
            if ((rc = parse_control(p, kind, kw, else_left, &n->else_list)) < 0)
                return rc;
            n->src_end = n->else_list.v[0]->src_end;
            return 0;
        }
        if (expect_right(p, "else") < 0)
            return -EINVAL;
        if ((rc = parse_list(p, &n->else_list, &stop)) < 0)
            return rc;
        if (!stop)
            return parse_errorf(p->src, strlen(p->src), p->err, "unexpected EOF");
        if (!strcmp(stop, "else"))
            return parse_errorf(p->src, peek(p)->pos, p->err, "expected end; found {{else}}");
    }
    vars_truncate(p, mark);
    if ((rc = expect_right(p, "end")) < 0)
        return rc;
    n->src_end = p->tv->v[p->i - 1].pos + p->tv->v[p->i - 1].len;
    return 0;
}

static int parse_list(parser *p, tlist *l, const char **stop)
{
    *stop = NULL;
    for (;;) {
        tok *t = next(p);
        if (t->kind == T_EOF)
            return 0;
        if (t->kind == T_TEXT) {
            tnode *n = xcalloc(1, sizeof *n);
            n->kind = N_TEXT;
            n->pos = t->pos;
            n->text = xstrdup(t->val);
            list_push(l, n);
            continue;
        }
        /* T_LEFT */
        tok *k = peek(p);
        if (k->kind == T_IDENT) {
            const char *kw = k->val;
            if (!strcmp(kw, "end") || !strcmp(kw, "else")) {
                next(p);
                *stop = kw;
                return 0;
            }
            int rc = 0;
            if (!strcmp(kw, "if") || !strcmp(kw, "range") || !strcmp(kw, "with")) {
                next(p);
                enum nkind nk = !strcmp(kw, "if") ? N_IF : !strcmp(kw, "range") ? N_RANGE : N_WITH;
                rc = parse_control(p, nk, kw, t->pos, l);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (!strcmp(kw, "break") || !strcmp(kw, "continue")) {
                next(p);
                if (!p->range_depth)
                    return parse_errorf(p->src, k->pos, p->err, "{{%s}} outside {{range}}", kw);
                tnode *n = xcalloc(1, sizeof *n);
                n->kind = !strcmp(kw, "break") ? N_BREAK : N_CONTINUE;
                n->pos = k->pos;
                list_push(l, n);
                if ((rc = expect_right(p, kw)) < 0)
                    return rc;
                continue;
            }
            if (!strcmp(kw, "define") || !strcmp(kw, "template") || !strcmp(kw, "block")) {
                int line, col;
                pos_line_col(p->src, k->pos, &line, &col);
                return cb_fail(p->err, "template: :%d:%d: {{%s}} is not supported by cbuild", line, col, kw);
            }
        }
        tnode *n = xcalloc(1, sizeof *n);
        n->kind = N_ACTION;
        n->pos = k->pos;
        list_push(l, n);
        n->pipe = parse_pipeline(p, "command", false);
        if (!n->pipe)
            return -EINVAL;
        if (expect_right(p, "command") < 0)
            return -EINVAL;
    }
}

int cli_template_parse(const char *src, cli_template **out, cb_err *err)
{
    cli_template *t = xcalloc(1, sizeof *t);
    t->src = xstrdup(src);
    int rc = lex(t->src, &t->toks, err);
    if (rc == 0) {
        parser p = {.src = t->src, .tv = &t->toks, .err = err};
        cb_strv_init(&p.vars);
        cb_strv_push(&p.vars, "$");
        const char *stop = NULL;
        rc = parse_list(&p, &t->root, &stop);
        if (rc == 0 && stop)
            rc = parse_errorf(t->src, p.tv->v[p.i ? p.i - 1 : 0].pos, err, "unexpected {{%s}}", stop);
        cb_strv_free(&p.vars);
    }
    if (rc < 0) {
        cli_template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void cli_template_free(cli_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->toks.n; i++)
        free(t->toks.v[i].val);
    free(t->toks.v);
    list_free(&t->root);
    free(t->src);
    free(t);
}

/* ---------- values ---------- */
static const char *go_type(const json_t *v)
{
    if (!v)
        return "<nil>";
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int64";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_OBJECT:
        return "map[string]interface {}";
    default:
        return "<nil>";
    }
}

/* strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v prints it (shortest digits, %e from 1e+06). */
static void format_float(double d, cb_buf *out)
{
    if (isinf(d)) {
        cb_buf_puts(out, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (isnan(d)) {
        cb_buf_puts(out, "NaN");
        return;
    }
    char b[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(b, sizeof b, "%.*e", prec - 1, d);
        if (strtod(b, NULL) == d)
            break;
    }
    snprintf(b, sizeof b, "%.*e", prec - 1, d);
    int exp = atoi(strchr(b, 'e') + 1);
    if (exp < -4 || exp >= 6)
        cb_buf_puts(out, b);
    else
        cb_buf_printf(out, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_keys(const json_t *o, size_t *n)
{
    *n = json_object_size(o);
    const char **k = xcalloc(*n + 1, sizeof *k);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val) k[i++] = key;
    qsort(k, *n, sizeof *k, key_cmp);
    return k;
}

static void format_nested(const json_t *v, cb_buf *out)
{
    if (!v || json_is_null(v)) {
        cb_buf_puts(out, "<nil>");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        cb_buf_append(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        cb_buf_printf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        format_float(json_real_value(v), out);
        break;
    case JSON_TRUE:
        cb_buf_puts(out, "true");
        break;
    case JSON_FALSE:
        cb_buf_puts(out, "false");
        break;
    case JSON_ARRAY: {
        cb_buf_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                cb_buf_putc(out, ' ');
            format_nested(json_array_get(v, i), out);
        }
        cb_buf_putc(out, ']');
        break;
    }
    case JSON_OBJECT: {
        size_t n;
        cleanup_free const char **k = sorted_keys(v, &n);
        cb_buf_puts(out, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                cb_buf_putc(out, ' ');
            cb_buf_printf(out, "%s:", k[i]);
            format_nested(json_object_get(v, k[i]), out);
        }
        cb_buf_putc(out, ']');
        break;
    }
    default:
        break;
    }
}

void cli_template_format_value(const json_t *v, cb_buf *out)
{
    /* an interface{} holding nil is an invalid value to text/template: <no value> */
    if (!v || json_is_null(v))
        cb_buf_puts(out, "<no value>");
    else
        format_nested(v, out);
}

static bool truth(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return false;
    }
}

/* ---------- execution ---------- */
typedef struct var {
    const char *name;
    json_t *val;
} var;

typedef struct exec {
    const cli_template *t;
    cb_buf *out;
    json_t *garbage; /* values made during execution; everything else is borrowed from data */
    var *vars;
    size_t nvars, capvars;
    cb_err *err;
    const cli_template_struct *structs;
    size_t nstructs;
} exec;

enum { FLOW_NONE = 0, FLOW_BREAK = 1, FLOW_CONTINUE = 2 };

static json_t *keep(exec *x, json_t *v)
{
    json_array_append_new(x->garbage, v);
    return v;
}

/* Go's ExecError: the node's line and column, then the node as written. */
static int exec_verrorf(exec *x, size_t at, size_t start, size_t end, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int line, col;
    pos_line_col(x->t->src, at, &line, &col);
    return cb_fail(x->err, "template: :%d:%d: executing \"\" at <%.*s>: %s", line, col, (int)(end - start),
                   x->t->src + start, msg);
}

static int exec_errorf_at(exec *x, size_t at, size_t start, size_t end, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int exec_errorf_at(exec *x, size_t at, size_t start, size_t end, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_verrorf(x, at, start, end, fmt, ap);
    va_end(ap);
    return rc;
}

static int exec_errorf(exec *x, size_t pos, size_t end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int exec_errorf(exec *x, size_t pos, size_t end, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_verrorf(x, pos, pos, end, fmt, ap);
    va_end(ap);
    return rc;
}

static void var_push(exec *x, const char *name, json_t *val)
{
    if (x->nvars == x->capvars) {
        x->capvars = x->capvars ? x->capvars * 2 : 8;
        x->vars = xrealloc(x->vars, x->capvars * sizeof *x->vars);
    }
    x->vars[x->nvars++] = (var){name, val};
}

static var *var_find(exec *x, const char *name)
{
    for (size_t i = x->nvars; i-- > 0;)
        if (!strcmp(x->vars[i].name, name))
            return &x->vars[i];
    return NULL;
}

static int eval_pipe(exec *x, json_t *dot, const tpipe *pp, bool declare, json_t **out);

static int eval_fields(exec *x, const targ *a, json_t *v, json_t **out)
{
    for (size_t i = 0; i < a->nfields; i++) {
        if (!v || json_is_null(v)) {
            v = NULL; /* a missing map entry stays missing: <no value> */
            continue;
        }
        size_t at = a->kind == A_FIELD && a->nfields == 1 ? a->pos : a->chain_pos;
        if (!json_is_object(v))
            return exec_errorf_at(x, at, a->pos, a->end, "can't evaluate field %s in type %s", a->fields[i],
                                  go_type(v));
        json_t *next = json_object_get(v, a->fields[i]);
        for (size_t k = 0; !next && k < x->nstructs; k++) {
            if (x->structs[k].obj != v)
                continue;
            if (x->structs[k].type)
                return exec_errorf_at(x, at, a->pos, a->end, "can't evaluate field %s in type %s",
                                      a->fields[i], x->structs[k].type);
            return exec_errorf_at(x, at, a->pos, a->end, "map has no entry for key \"%s\"", a->fields[i]);
        }
        v = next;
    }
    *out = v;
    return 0;
}

static int eval_arg(exec *x, json_t *dot, const targ *a, json_t **out)
{
    json_t *v = NULL;
    int rc;
    switch (a->kind) {
    case A_FIELD:
    case A_DOT:
        v = dot;
        break;
    case A_VAR: {
        var *vr = var_find(x, a->name);
        v = vr ? vr->val : NULL;
        break;
    }
    case A_STRING:
    case A_NUMBER:
    case A_BOOL:
        v = a->lit;
        break;
    case A_NIL:
        v = keep(x, json_null());
        break;
    case A_PIPE:
        if ((rc = eval_pipe(x, dot, a->sub, true, &v)) < 0)
            return rc;
        break;
    case A_FUNC:
        return exec_errorf(x, a->pos, a->end, "can't use function %s as a value without calling it", a->name);
    }
    return eval_fields(x, a, v, out);
}

static const char *str_of(exec *x, json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    cb_buf b;
    cb_buf_init(&b);
    format_nested(v, &b);
    json_t *s = keep(x, json_stringn_nocheck(b.data ? b.data : "", b.len));
    cb_buf_free(&b);
    return json_string_value(s);
}

static int want_nargs(exec *x, const tcmd *c, const char *fn, size_t got, size_t want)
{
    if (got != want)
        return exec_errorf(x, c->pos, c->end, "wrong number of args for %s: want %zu got %zu", fn, want, got);
    return 0;
}

static int want_string(exec *x, const tcmd *c, json_t *v)
{
    if (!json_is_string(v))
        return exec_errorf(x, c->pos, c->end, "wrong type for value; expected string; got %s", go_type(v));
    return 0;
}

static int want_int(exec *x, const tcmd *c, json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        *out = (long long)json_real_value(v);
        return 0;
    }
    return exec_errorf(x, c->pos, c->end, "wrong type for value; expected int; got %s", go_type(v));
}

/* Go's strconv.Quote for the ASCII and UTF-8 cases %q meets. */
static void go_quote(const char *s, size_t n, cb_buf *out)
{
    cb_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            cb_buf_puts(out, "\\\"");
            break;
        case '\\':
            cb_buf_puts(out, "\\\\");
            break;
        case '\n':
            cb_buf_puts(out, "\\n");
            break;
        case '\t':
            cb_buf_puts(out, "\\t");
            break;
        case '\r':
            cb_buf_puts(out, "\\r");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                cb_buf_printf(out, "\\x%02x", c);
            else
                cb_buf_putc(out, (char)c);
        }
    }
    cb_buf_putc(out, '"');
}

/* fmt.Sprint: a space between operands when neither is a string. */
static void go_sprint(json_t **a, size_t n, bool ln, cb_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (i && (ln || (!json_is_string(a[i - 1]) && !json_is_string(a[i]))))
            cb_buf_putc(out, ' ');
        format_nested(a[i], out);
    }
    if (ln)
        cb_buf_putc(out, '\n');
}

static void go_bad_verb(char verb, json_t *v, cb_buf *out)
{
    cb_buf_printf(out, "%%!%c(", verb);
    if (!v || json_is_null(v))
        cb_buf_puts(out, "<nil>");
    else {
        cb_buf_printf(out, "%s=", go_type(v));
        format_nested(v, out);
    }
    cb_buf_putc(out, ')');
}

static void pad_to(cb_buf *out, const char *s, size_t n, int width, bool left, bool zero)
{
    int padn = width > (int)n ? width - (int)n : 0;
    /* zero padding goes after the sign: %06d of -42 is -00042 */
    if (!left && zero && n && (s[0] == '-' || s[0] == '+')) {
        cb_buf_putc(out, s[0]);
        s++;
        n--;
    }
    if (!left)
        for (int i = 0; i < padn; i++)
            cb_buf_putc(out, zero ? '0' : ' ');
    cb_buf_append(out, s, n);
    if (left)
        for (int i = 0; i < padn; i++)
            cb_buf_putc(out, ' ');
}

/* One fmt verb with its flags, width and precision. */
static void go_format_one(const char *flags, int width, int prec, char verb, json_t *v, cb_buf *out)
{
    bool left = strchr(flags, '-') != NULL, zero = strchr(flags, '0') != NULL && !left;
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "");
    char cf[32];
    bool num = json_is_integer(v), real = json_is_real(v);
    switch (verb) {
    case 'v':
        format_nested(v, &b);
        break;
    case 's':
        if (json_is_string(v))
            cb_buf_append(&b, json_string_value(v),
                          prec >= 0 && (size_t)prec < json_string_length(v) ? (size_t)prec
                                                                            : json_string_length(v));
        else if (num || real || json_is_boolean(v) || !v || json_is_null(v))
            go_bad_verb(verb, v, &b);
        else
            format_nested(v, &b);
        break;
    case 'q':
        if (json_is_string(v))
            go_quote(json_string_value(v), json_string_length(v), &b);
        else if (num)
            cb_buf_printf(&b, "'%c'", (char)json_integer_value(v));
        else
            go_bad_verb(verb, v, &b);
        break;
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'b':
    case 'c':
        if (num) {
            long long n = (long long)json_integer_value(v);
            if (verb == 'c')
                cb_buf_putc(&b, (char)n);
            else if (verb == 'b') {
                unsigned long long u = n < 0 ? (unsigned long long)-n : (unsigned long long)n;
                char bits[66];
                int k = 65;
                bits[k] = 0;
                do {
                    bits[--k] = (char)('0' + (u & 1));
                    u >>= 1;
                } while (u);
                if (n < 0)
                    bits[--k] = '-';
                cb_buf_puts(&b, bits + k);
            } else {
                snprintf(cf, sizeof cf, "%%%s%s%c", strchr(flags, '+') ? "+" : "", verb == 'd' ? "ll" : "ll",
                         verb);
                if (verb != 'd' && n < 0)
                    cb_buf_printf(&b, "-%llx", (unsigned long long)-n);
                else
                    cb_buf_printf(&b, cf, n);
            }
        } else if ((verb == 'x' || verb == 'X') && json_is_string(v)) {
            for (size_t i = 0; i < json_string_length(v); i++)
                cb_buf_printf(&b, verb == 'x' ? "%02x" : "%02X", (unsigned char)json_string_value(v)[i]);
        } else
            go_bad_verb(verb, v, &b);
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
        if (num || real) {
            double d = num ? (double)json_integer_value(v) : json_real_value(v);
            if ((verb == 'g' || verb == 'G') && prec < 0)
                format_float(d, &b);
            else {
                snprintf(cf, sizeof cf, "%%%s.*%c", strchr(flags, '+') ? "+" : "", verb);
                cb_buf_printf(&b, cf, prec < 0 ? 6 : prec, d);
            }
        } else
            go_bad_verb(verb, v, &b);
        break;
    case 't':
        if (json_is_boolean(v))
            cb_buf_puts(&b, json_is_true(v) ? "true" : "false");
        else
            go_bad_verb(verb, v, &b);
        break;
    default:
        go_bad_verb(verb, v, &b);
    }
    bool numeric = (num || real) && strchr("dxXobfFeEgG", verb);
    pad_to(out, b.data, b.len, width, left, zero && numeric);
    cb_buf_free(&b);
}

/* fmt.Sprintf with Go's verbs and its %!v(MISSING) / %!(EXTRA …) reports. */
static void go_sprintf(const char *f, json_t **a, size_t n, cb_buf *out)
{
    size_t ai = 0;
    for (const char *p = f; *p; p++) {
        if (*p != '%') {
            cb_buf_putc(out, *p);
            continue;
        }
        p++;
        if (*p == '%') {
            cb_buf_putc(out, '%');
            continue;
        }
        char flags[8] = {0};
        size_t nf = 0;
        while (*p && strchr("-+# 0", *p) && nf < sizeof flags - 1)
            flags[nf++] = *p++;
        int width = -1, prec = -1;
        if (*p == '*') {
            width = ai < n && json_is_integer(a[ai]) ? (int)json_integer_value(a[ai]) : 0;
            ai++;
            p++;
        } else if (isdigit((unsigned char)*p))
            width = (int)strtol(p, (char **)&p, 10);
        if (*p == '.') {
            p++;
            prec = isdigit((unsigned char)*p) ? (int)strtol(p, (char **)&p, 10) : 0;
        }
        if (!*p) {
            cb_buf_puts(out, "%!(NOVERB)");
            break;
        }
        if (ai >= n) {
            cb_buf_printf(out, "%%!%c(MISSING)", *p);
            continue;
        }
        go_format_one(flags, width, prec, *p, a[ai++], out);
    }
    if (ai < n) {
        cb_buf_puts(out, "%!(EXTRA ");
        for (size_t i = ai; i < n; i++) {
            if (i > ai)
                cb_buf_puts(out, ", ");
            cb_buf_printf(out, "%s=", go_type(a[i]));
            format_nested(a[i], out);
        }
        cb_buf_putc(out, ')');
    }
}

static int compare(exec *x, const tcmd *c, const char *fn, json_t *a, json_t *b, int *res)
{
    if (json_is_number(a) && json_is_number(b)) {
        double da = json_number_value(a), db = json_number_value(b);
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t ia = json_integer_value(a), ib = json_integer_value(b);
            *res = ia < ib ? -1 : ia > ib;
        } else
            *res = da < db ? -1 : da > db;
        return 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        int r = strcmp(json_string_value(a), json_string_value(b));
        *res = r < 0 ? -1 : r > 0;
        return 0;
    }
    if (json_is_boolean(a) && json_is_boolean(b) && (!strcmp(fn, "eq") || !strcmp(fn, "ne"))) {
        *res = json_is_true(a) != json_is_true(b);
        return 0;
    }
    if (!a || !b || json_is_null(a) || json_is_null(b) || json_is_object(a) || json_is_array(a))
        return exec_errorf(x, c->pos, c->end, "error calling %s: invalid type for comparison", fn);
    return exec_errorf(x, c->pos, c->end, "error calling %s: incompatible types for comparison", fn);
}

static int fn_index(exec *x, const tcmd *c, json_t **a, size_t n, json_t **out)
{
    if (n < 1)
        return exec_errorf(x, c->pos, c->end, "wrong number of args for index: want at least 1 got 0");
    json_t *v = a[0];
    for (size_t i = 1; i < n; i++) {
        if (!v || json_is_null(v)) {
            /* docker's typed maps (Labels, Volumes) are nil when empty: index gives the zero "" */
            v = keep(x, json_string(""));
        } else if (json_is_object(v)) {
            if (!json_is_string(a[i]))
                return exec_errorf(x, c->pos, c->end,
                                   "error calling index: value has type %s; should be string", go_type(a[i]));
            json_t *e = json_object_get(v, json_string_value(a[i]));
            v = e ? e : keep(x, json_string(""));
        } else if (json_is_array(v) || json_is_string(v)) {
            long long k;
            if (!json_is_integer(a[i]))
                return exec_errorf(x, c->pos, c->end,
                                   "error calling index: cannot index slice/array with type %s",
                                   go_type(a[i]));
            k = json_integer_value(a[i]);
            size_t len = json_is_array(v) ? json_array_size(v) : json_string_length(v);
            if (k < 0 || (size_t)k >= len)
                return exec_errorf(x, c->pos, c->end, "error calling index: index out of range: %lld", k);
            v = json_is_array(v) ? json_array_get(v, (size_t)k)
                                 : keep(x, json_integer((unsigned char)json_string_value(v)[k]));
        } else
            return exec_errorf(x, c->pos, c->end, "error calling index: can't index item of type %s",
                               go_type(v));
    }
    *out = v;
    return 0;
}

static int fn_slice(exec *x, const tcmd *c, json_t **a, size_t n, json_t **out)
{
    if (n < 1 || n > 4)
        return exec_errorf(x, c->pos, c->end, "wrong number of args for slice: want 1 to 4 got %zu", n);
    json_t *v = a[0];
    size_t len = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_array(v) && !json_is_string(v))
        return exec_errorf(x, c->pos, c->end, "error calling slice: can't slice item of type %s", go_type(v));
    long long idx[2] = {0, (long long)len};
    for (size_t i = 1; i < n && i < 3; i++)
        if (want_int(x, c, a[i], &idx[i - 1]) < 0)
            return -EINVAL;
    if (idx[0] < 0 || idx[1] > (long long)len || idx[0] > idx[1])
        return exec_errorf(x, c->pos, c->end, "error calling slice: index out of range: %lld", idx[1]);
    if (json_is_string(v))
        *out = keep(x, json_stringn_nocheck(json_string_value(v) + idx[0], (size_t)(idx[1] - idx[0])));
    else {
        json_t *r = keep(x, json_array());
        for (long long i = idx[0]; i < idx[1]; i++)
            json_array_append(r, json_array_get(v, (size_t)i));
        *out = r;
    }
    return 0;
}

static int fn_len(exec *x, const tcmd *c, json_t **a, size_t n, json_t **out)
{
    if (want_nargs(x, c, "len", n, 1) < 0)
        return -EINVAL;
    json_t *v = a[0];
    size_t l;
    if (json_is_string(v))
        l = json_string_length(v);
    else if (json_is_array(v))
        l = json_array_size(v);
    else if (json_is_object(v))
        l = json_object_size(v);
    else if (v && json_is_null(v))
        l = 0;
    else
        return exec_errorf(x, c->pos, c->end, "error calling len: len of type %s", go_type(v));
    *out = keep(x, json_integer((json_int_t)l));
    return 0;
}

static int fn_strings(exec *x, const tcmd *c, const char *fn, json_t **a, size_t n, json_t **out)
{
    size_t want = !strcmp(fn, "pad")                                                       ? 3
                  : !strcmp(fn, "truncate") || !strcmp(fn, "split") || !strcmp(fn, "join") ? 2
                                                                                           : 1;
    if (want_nargs(x, c, fn, n, want) < 0)
        return -EINVAL;
    if (!strcmp(fn, "join")) {
        if (!json_is_array(a[0]) && !(a[0] && json_is_null(a[0])))
            return exec_errorf(x, c->pos, c->end, "wrong type for value; expected []string; got %s",
                               go_type(a[0]));
        if (want_string(x, c, a[1]) < 0)
            return -EINVAL;
        cb_buf b;
        cb_buf_init(&b);
        cb_buf_puts(&b, "");
        for (size_t i = 0; i < json_array_size(a[0]); i++) {
            if (i)
                cb_buf_puts(&b, json_string_value(a[1]));
            cb_buf_puts(&b, str_of(x, json_array_get(a[0], i)));
        }
        *out = keep(x, json_stringn_nocheck(b.data, b.len));
        cb_buf_free(&b);
        return 0;
    }
    if (want_string(x, c, a[0]) < 0)
        return -EINVAL;
    const char *s = json_string_value(a[0]);
    size_t sl = json_string_length(a[0]);
    if (!strcmp(fn, "split")) {
        if (want_string(x, c, a[1]) < 0)
            return -EINVAL;
        const char *sep = json_string_value(a[1]);
        size_t seplen = strlen(sep);
        json_t *r = keep(x, json_array());
        if (!seplen) {
            for (size_t i = 0; i < sl;) {
                size_t k = 1;
                while (i + k < sl && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                    k++;
                json_array_append_new(r, json_stringn_nocheck(s + i, k));
                i += k;
            }
        } else {
            const char *p = s;
            for (const char *q; (q = strstr(p, sep)); p = q + seplen)
                json_array_append_new(r, json_stringn_nocheck(p, (size_t)(q - p)));
            json_array_append_new(r, json_string_nocheck(p));
        }
        *out = r;
        return 0;
    }
    char *r = xstrndup(s, sl);
    if (!strcmp(fn, "upper") || !strcmp(fn, "lower")) {
        for (char *p = r; *p; p++)
            *p = (char)(fn[0] == 'u' ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    } else if (!strcmp(fn, "title")) {
        /* cases.Title(language.Und, cases.NoLower), as docker: first letter of each word up */
        bool start = true;
        for (char *p = r; *p; p++) {
            if (start && isalpha((unsigned char)*p))
                *p = (char)toupper((unsigned char)*p);
            start = !is_alnum(*p) && *p != '\'';
        }
    } else if (!strcmp(fn, "pad")) {
        long long pre, suf;
        if (want_int(x, c, a[1], &pre) < 0 || want_int(x, c, a[2], &suf) < 0) {
            free(r);
            return -EINVAL;
        }
        char *t = xasprintf("%*s%s%*s", (int)(pre > 0 ? pre : 0), "", r, (int)(suf > 0 ? suf : 0), "");
        free(r);
        r = t;
    } else if (!strcmp(fn, "truncate")) {
        long long l;
        if (want_int(x, c, a[1], &l) < 0) {
            free(r);
            return -EINVAL;
        }
        /* runes, not bytes */
        size_t i = 0;
        for (long long k = 0; k < l && r[i]; k++) {
            i++;
            while (((unsigned char)r[i] & 0xC0) == 0x80)
                i++;
        }
        if (l >= 0)
            r[i] = '\0';
    }
    *out = keep(x, json_string_nocheck(r));
    free(r);
    return 0;
}

static int call_func(exec *x, const tcmd *c, const char *fn, json_t **a, size_t n, json_t **out)
{
    if (!strcmp(fn, "index"))
        return fn_index(x, c, a, n, out);
    if (!strcmp(fn, "slice"))
        return fn_slice(x, c, a, n, out);
    if (!strcmp(fn, "len"))
        return fn_len(x, c, a, n, out);
    if (!strcmp(fn, "not")) {
        if (want_nargs(x, c, fn, n, 1) < 0)
            return -EINVAL;
        *out = keep(x, json_boolean(!truth(a[0])));
        return 0;
    }
    if (!strcmp(fn, "print") || !strcmp(fn, "println") || !strcmp(fn, "printf") || !strcmp(fn, "json")) {
        cb_buf b;
        cb_buf_init(&b);
        cb_buf_puts(&b, "");
        if (!strcmp(fn, "printf")) {
            if (n < 1) {
                cb_buf_free(&b);
                return exec_errorf(x, c->pos, c->end,
                                   "wrong number of args for printf: want at least 1 got 0");
            }
            if (want_string(x, c, a[0]) < 0) {
                cb_buf_free(&b);
                return -EINVAL;
            }
            go_sprintf(json_string_value(a[0]), a + 1, n - 1, &b);
        } else if (!strcmp(fn, "json")) {
            if (want_nargs(x, c, fn, n, 1) < 0) {
                cb_buf_free(&b);
                return -EINVAL;
            }
            char *t = a[0] ? json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
            cb_buf_puts(&b, t);
            free(t);
        } else
            go_sprint(a, n, fn[5] == 'l', &b);
        *out = keep(x, json_stringn_nocheck(b.data, b.len));
        cb_buf_free(&b);
        return 0;
    }
    if (!strcmp(fn, "eq") || !strcmp(fn, "ne") || !strcmp(fn, "lt") || !strcmp(fn, "le") ||
        !strcmp(fn, "gt") || !strcmp(fn, "ge")) {
        if (n < 2)
            return exec_errorf(x, c->pos, c->end, "error calling %s: missing argument for comparison", fn);
        if (strcmp(fn, "eq") && n != 2)
            return want_nargs(x, c, fn, n, 2);
        bool r = false;
        for (size_t i = 1; i < n; i++) {
            int cmp = 0;
            if (compare(x, c, fn, a[0], a[i], &cmp) < 0)
                return -EINVAL;
            r = !strcmp(fn, "eq")   ? cmp == 0
                : !strcmp(fn, "ne") ? cmp != 0
                : !strcmp(fn, "lt") ? cmp < 0
                : !strcmp(fn, "le") ? cmp <= 0
                : !strcmp(fn, "gt") ? cmp > 0
                                    : cmp >= 0;
            if (r)
                break;
        }
        *out = keep(x, json_boolean(r));
        return 0;
    }
    return fn_strings(x, c, fn, a, n, out);
}

/* A command: a function call with its arguments (the previous command's value last), or one value. */
static int eval_cmd(exec *x, json_t *dot, const tcmd *c, json_t *final, bool has_final, json_t **out)
{
    const targ *first = c->args[0];
    if (first->kind != A_FUNC) {
        if ((c->nargs > 1 || has_final) && first->nfields) {
            const char *f = first->fields[first->nfields - 1];
            return exec_errorf_at(
                x, first->kind == A_FIELD && first->nfields == 1 ? first->pos : first->chain_pos, first->pos,
                first->end, "%s is not a method but has arguments", f);
        }
        if (c->nargs > 1 || has_final)
            return exec_errorf(x, c->pos, c->end, "can't give argument to non-function %.*s",
                               (int)(first->end - first->pos), x->t->src + first->pos);
        return eval_arg(x, dot, first, out);
    }
    size_t n = c->nargs - 1 + (has_final ? 1 : 0);
    json_t **a = xcalloc(n + 1, sizeof *a);
    int rc = 0;
    bool is_and = !strcmp(first->name, "and"), is_or = !strcmp(first->name, "or");
    if (is_and || is_or) {
        /* Go 1.18: and/or stop evaluating at the first false/true argument */
        if (!n) {
            free(a);
            return exec_errorf(x, c->pos, c->end, "wrong number of args for %s: want at least 1 got 0",
                               first->name);
        }
        json_t *v = NULL;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < c->nargs) {
                if ((rc = eval_arg(x, dot, c->args[i + 1], &v)) < 0)
                    break;
            } else
                v = final;
            if (truth(v) == is_or)
                break;
        }
        free(a);
        *out = v;
        return rc;
    }
    for (size_t i = 1; i < c->nargs && rc == 0; i++)
        rc = eval_arg(x, dot, c->args[i], &a[i - 1]);
    if (rc == 0 && has_final)
        a[n - 1] = final;
    if (rc == 0)
        rc = call_func(x, c, first->name, a, n, out);
    free(a);
    return rc;
}

static int eval_pipe(exec *x, json_t *dot, const tpipe *pp, bool declare, json_t **out)
{
    json_t *v = NULL;
    for (size_t i = 0; i < pp->ncmds; i++) {
        json_t *r = NULL;
        int rc = eval_cmd(x, dot, pp->cmds[i], v, i > 0, &r);
        if (rc < 0)
            return rc;
        v = r;
    }
    for (int k = 0; k < pp->ndecl && !pp->assign && declare; k++)
        var_push(x, pp->decl[k], v);
    if (pp->assign && declare) {
        var *vr = var_find(x, pp->decl[0]);
        if (vr)
            vr->val = v;
    }
    *out = v;
    return 0;
}

static int walk_list(exec *x, json_t *dot, const tlist *l, int *flow);

static int walk_range(exec *x, json_t *dot, const tnode *n, json_t *v, int *flow)
{
    const tpipe *pp = n->pipe;
    size_t count = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    if (v && !json_is_null(v) && !json_is_array(v) && !json_is_object(v)) {
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            count = (size_t)json_integer_value(v);
        else
            return exec_errorf_at(x, n->pos, n->src_start, n->src_end, "range can't iterate over %s",
                                  str_of(x, v));
    }
    if (!count)
        return walk_list(x, dot, &n->else_list, flow);
    cleanup_free const char **keys = json_is_object(v) ? sorted_keys(v, &count) : NULL;
    size_t base = x->nvars;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        json_t *key = keys ? keep(x, json_string(keys[i])) : keep(x, json_integer((json_int_t)i));
        json_t *el = keys ? json_object_get(v, keys[i]) : json_is_array(v) ? json_array_get(v, i) : key;
        x->nvars = base;
        if (pp->ndecl == 1)
            var_push(x, pp->decl[0], el);
        else if (pp->ndecl == 2) {
            var_push(x, pp->decl[0], key);
            var_push(x, pp->decl[1], el);
        }
        int f = FLOW_NONE;
        rc = walk_list(x, el, &n->list, &f);
        if (f == FLOW_BREAK)
            break;
    }
    x->nvars = base;
    return rc;
}

static int walk_node(exec *x, json_t *dot, const tnode *n, int *flow)
{
    json_t *v = NULL;
    size_t mark = x->nvars;
    int rc = 0;
    switch (n->kind) {
    case N_TEXT:
        cb_buf_puts(x->out, n->text);
        return 0;
    case N_BREAK:
        *flow = FLOW_BREAK;
        return 0;
    case N_CONTINUE:
        *flow = FLOW_CONTINUE;
        return 0;
    case N_ACTION:
        if ((rc = eval_pipe(x, dot, n->pipe, true, &v)) < 0)
            return rc;
        if (!n->pipe->ndecl)
            cli_template_format_value(v, x->out);
        return 0;
    case N_IF:
    case N_WITH:
        if ((rc = eval_pipe(x, dot, n->pipe, true, &v)) < 0)
            return rc;
        if (truth(v))
            rc = walk_list(x, n->kind == N_WITH ? v : dot, &n->list, flow);
        else
            rc = walk_list(x, dot, &n->else_list, flow);
        break;
    case N_RANGE:
        if ((rc = eval_pipe(x, dot, n->pipe, false, &v)) < 0)
            return rc;
        rc = walk_range(x, dot, n, v, flow);
        break;
    }
    x->nvars = mark;
    return rc;
}

static int walk_list(exec *x, json_t *dot, const tlist *l, int *flow)
{
    size_t mark = x->nvars;
    for (size_t i = 0; i < l->n; i++) {
        int rc = walk_node(x, dot, l->v[i], flow);
        if (rc < 0)
            return rc;
        if (*flow)
            break;
    }
    /* variables declared in a block end at its {{end}}; the top level keeps them */
    if (l != &x->t->root)
        x->nvars = mark;
    return 0;
}

int cli_template_exec(const cli_template *t, json_t *data, cb_buf *out, cb_err *err)
{
    return cli_template_exec_structs(t, data, NULL, 0, out, err);
}

int cli_template_exec_structs(const cli_template *t, json_t *data, const cli_template_struct *structs,
                              size_t n, cb_buf *out, cb_err *err)
{
    exec x = {.t = t, .out = out, .garbage = json_array(), .err = err, .structs = structs, .nstructs = n};
    var_push(&x, "$", data);
    int flow = FLOW_NONE;
    int rc = walk_list(&x, data, &t->root, &flow);
    free(x.vars);
    json_decref(x.garbage);
    return rc;
}

int cli_template_render(const char *src, json_t *data, cb_buf *out, cb_err *err)
{
    cli_template *t;
    int rc = cli_template_parse(src, &t, err);
    if (rc < 0)
        return rc;
    rc = cli_template_exec(t, data, out, err);
    cli_template_free(t);
    return rc;
}
