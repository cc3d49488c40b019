/* Dockerfile -> AST, following moby/buildkit frontend/dockerfile/parser line by line:
 * directives, continuation lines, per-instruction argument rules, JSON fallback, heredocs. */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define DF_MAX_LINE 65535

const char *const df_keywords[] = {"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
                                   "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume",
                                   "workdir"};
const size_t df_n_keywords = sizeof(df_keywords) / sizeof(df_keywords[0]);

void df_warnings_add(df_warnings *w, int line, const char *fmt, ...)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    va_list ap;
    va_start(ap, fmt);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    w->v[w->n].line = line;
    w->v[w->n].msg = cb_buf_steal(&b);
    w->n++;
}

void df_warnings_free(df_warnings *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].msg);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

void df_instr_free_fields(df_instr *in)
{
    free(in->keyword);
    free(in->original);
    for (size_t i = 0; i < in->n_flags; i++) {
        free(in->flags[i].raw);
        free(in->flags[i].name);
        free(in->flags[i].value);
    }
    free(in->flags);
    cb_strv_free(&in->args);
    cb_strv_free(&in->comments);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        free(in->heredocs[i].name);
        free(in->heredocs[i].content);
    }
    free(in->heredocs);
    if (in->onbuild) {
        df_instr_free_fields(in->onbuild);
        free(in->onbuild);
    }
}

void df_file_free(df_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_instrs; i++)
        df_instr_free_fields(&f->instrs[i]);
    free(f->instrs);
    free(f->filename);
    free(f->syntax);
    free(f->check);
    df_warnings_free(&f->warnings);
    free(f);
}

const char *df_instr_flag(const df_instr *in, const char *name, bool *present)
{
    const char *v = NULL;
    bool p = false;
    for (size_t i = 0; i < in->n_flags; i++) {
        if (strcmp(in->flags[i].name, name) == 0) {
            p = true;
            v = in->flags[i].value;
        }
    }
    if (present)
        *present = p;
    return v;
}

/* ------------------------------------------------------------------ helpers */

static bool byte_isspace_go(unsigned char c)
{
    /* unicode.IsSpace(rune(byte)): Go code that walks bytes sees 0x85 and 0xA0 as spaces */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 0x85 || c == 0xA0;
}

static bool is_ws_re(char c) /* [\t\v\f\r ] */
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* reWhitespace.Split(s, limit): limit -1 = all. */
static void split_ws(const char *s, size_t n, int limit, cb_strv *out)
{
    size_t start = 0, i = 0;
    int parts = 0;
    while (i < n) {
        if (is_ws_re(s[i]) && (limit < 0 || parts < limit - 1)) {
            size_t j = i;
            while (j < n && is_ws_re(s[j]))
                j++;
            cb_strv_push_owned(out, xstrndup(s + start, i - start));
            parts++;
            start = i = j;
            continue;
        }
        i++;
    }
    cb_strv_push_owned(out, xstrndup(s + start, n - start));
}

void df_split_words(const char *rest, char escape, cb_strv *out)
{
    enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
    size_t n = strlen(rest);
    cb_buf word;
    cb_buf_init(&word);
    cb_buf_puts(&word, "");
    int32_t quote = 0;
    bool blank_ok = false;
    int32_t ch = 0;
    int w = 0;
    for (size_t pos = 0; pos <= n; pos += (size_t)w) {
        if (pos != n)
            ch = df_utf8_decode(rest + pos, n - pos, &w);
        else
            w = 0;
        if (phase == IN_SPACES) {
            if (pos == n)
                break;
            if (df_go_isspace(ch))
                continue;
            phase = IN_WORD;
        }
        if ((phase == IN_WORD || phase == IN_QUOTE) && pos == n) {
            if (blank_ok || word.len > 0)
                cb_strv_push(out, word.data);
            break;
        }
        if (phase == IN_WORD) {
            if (df_go_isspace(ch)) {
                phase = IN_SPACES;
                if (blank_ok || word.len > 0)
                    cb_strv_push(out, word.data);
                cb_buf_reset(&word);
                cb_buf_puts(&word, "");
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = IN_QUOTE;
            }
            if (ch == (unsigned char)escape) {
                if (pos + (size_t)w == n)
                    continue; /* skip an escape token at end of line */
                df_utf8_put(&word, ch);
                pos += (size_t)w;
                ch = df_utf8_decode(rest + pos, n - pos, &w);
            }
            df_utf8_put(&word, ch);
            continue;
        }
        if (phase == IN_QUOTE) {
            if (ch == quote)
                phase = IN_WORD;
            if (ch == (unsigned char)escape && quote != '\'') {
                if (pos + (size_t)w == n) {
                    phase = IN_WORD;
                    continue;
                }
                pos += (size_t)w;
                df_utf8_put(&word, ch);
                ch = df_utf8_decode(rest + pos, n - pos, &w);
            }
            df_utf8_put(&word, ch);
        }
    }
    cb_buf_free(&word);
}

/* extractBuilderFlags: leading --words (quote/backslash aware, quotes removed). Returns the
 * offset of the remaining text in line. */
static size_t extract_flags(const char *line, size_t n, cb_strv *flags)
{
    enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
    cb_buf word;
    cb_buf_init(&word);
    cb_buf_puts(&word, "");
    char quote = 0;
    bool blank_ok = false;
    unsigned char ch = 0;
    size_t rest = n;
    for (size_t pos = 0; pos <= n; pos++) {
        if (pos != n)
            ch = (unsigned char)line[pos];
        if (phase == IN_SPACES) {
            if (pos == n)
                break;
            if (byte_isspace_go(ch))
                continue;
            if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
                rest = pos;
                goto out;
            }
            phase = IN_WORD;
        }
        if ((phase == IN_WORD || phase == IN_QUOTE) && pos == n) {
            if (strcmp(word.data, "--") != 0 && (blank_ok || word.len > 0))
                cb_strv_push(flags, word.data);
            break;
        }
        if (phase == IN_WORD) {
            if (byte_isspace_go(ch)) {
                phase = IN_SPACES;
                if (strcmp(word.data, "--") == 0) {
                    rest = pos;
                    goto out;
                }
                if (blank_ok || word.len > 0)
                    cb_strv_push(flags, word.data);
                cb_buf_reset(&word);
                cb_buf_puts(&word, "");
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = (char)ch;
                blank_ok = true;
                phase = IN_QUOTE;
                continue;
            }
            if (ch == '\\') {
                if (pos + 1 == n)
                    continue;
                pos++;
                ch = (unsigned char)line[pos];
            }
            cb_buf_putc(&word, (char)ch);
            continue;
        }
        if (phase == IN_QUOTE) {
            if ((char)ch == quote) {
                phase = IN_WORD;
                continue;
            }
            if (ch == '\\') {
                if (pos + 1 == n) {
                    phase = IN_WORD;
                    continue;
                }
                pos++;
                ch = (unsigned char)line[pos];
            }
            cb_buf_putc(&word, (char)ch);
        }
    }
out:
    cb_buf_free(&word);
    return rest;
}

static void set_flags(df_instr *in, const cb_strv *flags)
{
    if (flags->n == 0)
        return;
    in->flags = xcalloc(flags->n, sizeof(df_flag));
    in->n_flags = flags->n;
    for (size_t i = 0; i < flags->n; i++) {
        const char *raw = flags->v[i];
        df_flag *f = &in->flags[i];
        f->raw = xstrdup(raw);
        const char *nm = cb_str_has_prefix(raw, "--") ? raw + 2 : raw;
        const char *eq = strchr(nm, '=');
        if (eq) {
            f->name = xstrndup(nm, (size_t)(eq - nm));
            f->value = xstrdup(eq + 1);
        } else {
            f->name = xstrdup(nm);
        }
    }
}

/* ------------------------------------------------------------ line parsers */

typedef struct pctx {
    const char *filename;
    char escape;
    int line; /* start line, for messages */
    cb_err *err;
} pctx;

static int parse_json_args(const char *rest, df_instr *in, int *handled)
{
    const char *s = rest;
    size_t n = strlen(rest);
    df_trim_left_space(&s, &n);
    *handled = 0;
    if (n == 0 || s[0] != '[')
        return 0;
    cb_strv tmp;
    cb_strv_init(&tmp);
    int r = df_json_string_array(s, n, &tmp);
    if (r < 0) {
        cb_strv_free(&tmp);
        return -1;
    }
    if (r == 1) {
        for (size_t i = 0; i < tmp.n; i++)
            cb_strv_push(&in->args, tmp.v[i]);
        in->json = true;
        *handled = 1;
    }
    cb_strv_free(&tmp);
    return 0;
}

#define ERR_NOT_STRING_ARRAY "when using JSON array syntax, arrays must be comprised of strings only"

static int parse_maybe_json(pctx *c, const char *rest, df_instr *in)
{
    if (*rest == '\0')
        return 0;
    int handled;
    if (parse_json_args(rest, in, &handled) < 0)
        return cb_fail(c->err, ERR_NOT_STRING_ARRAY);
    if (!handled)
        cb_strv_push(&in->args, rest);
    return 0;
}

static int parse_maybe_json_to_list(pctx *c, const char *rest, df_instr *in)
{
    int handled;
    if (parse_json_args(rest, in, &handled) < 0)
        return cb_fail(c->err, ERR_NOT_STRING_ARRAY);
    if (!handled && *rest)
        split_ws(rest, strlen(rest), -1, &in->args);
    return 0;
}

static int parse_name_val(pctx *c, const char *rest, const char *key, df_instr *in)
{
    cb_strv words;
    cb_strv_init(&words);
    df_split_words(rest, c->escape, &words);
    int rc = 0;
    if (words.n == 0)
        goto out;
    if (!strchr(words.v[0], '=')) {
        cb_strv parts;
        cb_strv_init(&parts);
        split_ws(rest, strlen(rest), 2, &parts);
        if (parts.n < 2) {
            rc = cb_fail(c->err, "%s must have two arguments", key);
        } else {
            cb_strv_push(&in->args, parts.v[0]);
            cb_strv_push(&in->args, parts.v[1]);
            cb_strv_push(&in->args, "");
        }
        cb_strv_free(&parts);
        goto out;
    }
    for (size_t i = 0; i < words.n; i++) {
        const char *eq = strchr(words.v[i], '=');
        if (!eq) {
            cb_buf q;
            cb_buf_init(&q);
            df_go_quote(&q, words.v[i], strlen(words.v[i]));
            rc = cb_fail(c->err, "Syntax error - can't find = in %s. Must be of the form: name=value", q.data);
            cb_buf_free(&q);
            goto out;
        }
        cb_strv_push_owned(&in->args, xstrndup(words.v[i], (size_t)(eq - words.v[i])));
        cb_strv_push(&in->args, eq + 1);
        cb_strv_push(&in->args, "=");
    }
out:
    cb_strv_free(&words);
    return rc;
}

static int node_from_line(pctx *c, const char *line, df_instr *in);

static int dispatch_args(pctx *c, const char *cmd, const char *rest, df_instr *in)
{
    if (!strcmp(cmd, "add") || !strcmp(cmd, "copy") || !strcmp(cmd, "volume"))
        return parse_maybe_json_to_list(c, rest, in);
    if (!strcmp(cmd, "cmd") || !strcmp(cmd, "entrypoint") || !strcmp(cmd, "run") || !strcmp(cmd, "shell"))
        return parse_maybe_json(c, rest, in);
    if (!strcmp(cmd, "arg")) {
        df_split_words(rest, c->escape, &in->args);
        return 0;
    }
    if (!strcmp(cmd, "env"))
        return parse_name_val(c, rest, "ENV", in);
    if (!strcmp(cmd, "label"))
        return parse_name_val(c, rest, "LABEL", in);
    if (!strcmp(cmd, "expose") || !strcmp(cmd, "from")) {
        if (*rest)
            split_ws(rest, strlen(rest), -1, &in->args);
        return 0;
    }
    if (!strcmp(cmd, "maintainer") || !strcmp(cmd, "stopsignal") || !strcmp(cmd, "user") ||
        !strcmp(cmd, "workdir")) {
        if (*rest)
            cb_strv_push(&in->args, rest);
        return 0;
    }
    if (!strcmp(cmd, "onbuild")) {
        if (!*rest)
            return 0;
        in->onbuild = xcalloc(1, sizeof(df_instr));
        cb_strv_init(&in->onbuild->args);
        return node_from_line(c, rest, in->onbuild);
    }
    if (!strcmp(cmd, "healthcheck")) {
        size_t n = strlen(rest), sep = 0, next;
        while (sep < n && !byte_isspace_go((unsigned char)rest[sep]))
            sep++;
        next = sep;
        while (next < n && byte_isspace_go((unsigned char)rest[next]))
            next++;
        if (sep == 0)
            return 0;
        cb_strv_push_owned(&in->args, xstrndup(rest, sep));
        return parse_maybe_json(c, rest + next, in);
    }
    /* unknown instruction: parseIgnore keeps it with one empty node */
    cb_strv_push(&in->args, "");
    return 0;
}

static int node_from_line(pctx *c, const char *line, df_instr *in)
{
    const char *s = line;
    size_t n = strlen(line);
    df_trim_space(&s, &n);
    size_t k = 0;
    while (k < n && !is_ws_re(s[k]))
        k++;
    char *cmd = xstrndup(s, k);
    for (char *p = cmd; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    in->keyword = cmd;
    in->original = xstrdup(line);
    cb_strv flags;
    cb_strv_init(&flags);
    char *args = xstrdup("");
    if (k < n) {
        size_t j = k;
        while (j < n && is_ws_re(s[j]))
            j++;
        size_t off = extract_flags(s + j, n - j, &flags);
        const char *a = s + j + off;
        size_t an = n - j - off;
        df_trim_space(&a, &an);
        free(args);
        args = xstrndup(a, an);
    }
    set_flags(in, &flags);
    cb_strv_free(&flags);
    int rc = dispatch_args(c, cmd, args, in);
    free(args);
    return rc;
}

/* ----------------------------------------------------------------- heredocs */

static bool heredoc_capable(const df_instr *in)
{
    const df_instr *t = in;
    if (!strcmp(in->keyword, "onbuild") && in->onbuild)
        t = in->onbuild;
    if (strcmp(t->keyword, "run") && strcmp(t->keyword, "copy") && strcmp(t->keyword, "add"))
        return false;
    return !t->json;
}

static int count_quotes(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\'' || *s == '"';
    return n;
}

int df_heredoc_parse_word(const char *word, char **name, bool *expand, bool *chomp, int *fd, cb_err *err)
{
    *name = NULL;
    /* ^(\d*)<<(-?)\s*([^<]*)$ */
    const char *p = word;
    while (*p >= '0' && *p <= '9')
        p++;
    const char *digits_end = p;
    if (p[0] != '<' || p[1] != '<')
        return 0;
    p += 2;
    bool ch = false;
    if (*p == '-') {
        ch = true;
        p++;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
        p++;
    if (strchr(p, '<'))
        return 0;
    const char *rest = p;
    if (!*rest)
        return 0;
    unsigned long long v = 0;
    bool overflow = false;
    for (const char *d = word; d < digits_end; d++) {
        if (v > (~0ULL - 9) / 10)
            overflow = true;
        v = v * 10 + (unsigned)(*d - '0');
    }
    df_lex lx = {.escape = '\\', .skip_unset_env = true};
    cb_strv words, raw;
    cb_strv_init(&words);
    cb_strv_init(&raw);
    int rc = df_shell_words(&lx, rest, NULL, &words, err);
    if (rc < 0)
        goto out;
    if (words.n != 1)
        goto out;
    lx.raw_quotes = true;
    rc = df_shell_words(&lx, rest, NULL, &raw, err);
    if (rc < 0)
        goto out;
    if (raw.n != words.n) {
        rc = cb_fail(err, "internal lexing of heredoc produced inconsistent results: %s", rest);
        goto out;
    }
    *name = xstrdup(words.v[0]);
    *expand = count_quotes(words.v[0]) == count_quotes(raw.v[0]);
    *chomp = ch;
    *fd = overflow || v > 0x7fffffff ? 0x7fffffff : (int)v;
out:
    cb_strv_free(&words);
    cb_strv_free(&raw);
    return rc;
}

int df_heredoc_from_line(const char *line, df_heredoc **out, size_t *n, cb_err *err)
{
    df_lex lx = {.escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset_env = true};
    cb_strv words;
    cb_strv_init(&words);
    cb_err ignored;
    if (df_shell_words(&lx, line, NULL, &words, &ignored) < 0) {
        cb_strv_free(&words);
        cb_strv_init(&words);
    }
    *out = NULL;
    *n = 0;
    int rc = 0;
    for (size_t i = 0; i < words.n; i++) {
        char *name;
        bool expand = true, chomp = false;
        int fd = 0;
        rc = df_heredoc_parse_word(words.v[i], &name, &expand, &chomp, &fd, err);
        if (rc < 0)
            break;
        if (!name)
            continue;
        *out = xrealloc(*out, (*n + 1) * sizeof(df_heredoc));
        (*out)[*n] = (df_heredoc){name, NULL, expand, chomp, fd};
        (*n)++;
    }
    cb_strv_free(&words);
    return rc;
}

char *df_heredoc_chomp(const char *content)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "");
    bool bol = true;
    for (const char *p = content; *p; p++) {
        if (bol && *p == '\t')
            continue;
        bol = *p == '\n';
        cb_buf_putc(&b, *p);
    }
    return cb_buf_steal(&b);
}

/* -------------------------------------------------------------- the scanner */

typedef struct lines {
    const char *buf;
    size_t len, pos;
    const char *cur; /* current line, '\n' included */
    size_t cur_len;
    bool too_long;
} lines;

static bool lines_next(lines *l)
{
    if (l->pos >= l->len || l->too_long)
        return false;
    const char *s = l->buf + l->pos;
    size_t rem = l->len - l->pos;
    const char *nl = memchr(s, '\n', rem);
    size_t n = nl ? (size_t)(nl - s) + 1 : rem;
    size_t content = nl ? n - 1 : n;
    if (content > DF_MAX_LINE) {
        l->too_long = true;
        return false;
    }
    l->cur = s;
    l->cur_len = n;
    l->pos += n;
    return true;
}

static size_t trim_newline_len(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return n;
}

static bool is_comment(const char *s, size_t n)
{
    n = trim_newline_len(s, n);
    df_trim_left_space(&s, &n);
    return n > 0 && s[0] == '#';
}

/* directives */
typedef struct dstate {
    bool done;
    bool seen_syntax, seen_escape, seen_check;
} dstate;

static bool re_space(char c) /* Go RE2 \s */
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int possible_directive(dstate *d, df_file *f, const char *s, size_t n, int line, pctx *c)
{
    if (d->done)
        return 0;
    /* ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ */
    size_t i = 0;
    if (n == 0 || s[0] != '#' || memchr(s, '\n', n)) {
        d->done = true;
        return 0;
    }
    i = 1;
    while (i < n && re_space(s[i]))
        i++;
    size_t ks = i;
    if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
        d->done = true;
        return 0;
    }
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
        i++;
    size_t ke = i;
    while (i < n && re_space(s[i]))
        i++;
    if (i >= n || s[i] != '=') {
        d->done = true;
        return 0;
    }
    i++;
    while (i < n && re_space(s[i]))
        i++;
    size_t ve = n;
    while (ve > i && re_space(s[ve - 1]))
        ve--;
    if (ve <= i) {
        d->done = true;
        return 0;
    }
    char key[16];
    size_t kl = ke - ks;
    if (kl >= sizeof(key)) {
        d->done = true;
        return 0;
    }
    for (size_t k = 0; k < kl; k++)
        key[k] = (char)((s[ks + k] >= 'A' && s[ks + k] <= 'Z') ? s[ks + k] - 'A' + 'a' : s[ks + k]);
    key[kl] = 0;
    bool *seen;
    char **slot = NULL;
    if (!strcmp(key, "syntax")) {
        seen = &d->seen_syntax;
        slot = &f->syntax;
    } else if (!strcmp(key, "escape")) {
        seen = &d->seen_escape;
    } else if (!strcmp(key, "check")) {
        seen = &d->seen_check;
        slot = &f->check;
    } else {
        d->done = true;
        return 0;
    }
    if (*seen)
        return cb_fail(c->err, "only one %s parser directive can be used", key);
    *seen = true;
    char *val = xstrndup(s + i, ve - i);
    if (slot) {
        *slot = val;
        if (slot == &f->syntax)
            f->syntax_line = line;
        return 0;
    }
    if (strcmp(val, "`") && strcmp(val, "\\")) {
        int rc = cb_fail(c->err, "invalid escape token '%s' does not match ` or \\", val);
        free(val);
        return rc;
    }
    f->escape = val[0];
    c->escape = val[0];
    free(val);
    return 0;
}

/* trimContinuationCharacter: ([^E])E[ \t]*$ | ^E[ \t]*$ */
static bool trim_continuation(char *line, size_t *n, char esc)
{
    size_t e = *n;
    while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    if (e == 0 || line[e - 1] != esc)
        return true;
    if (e >= 2 && line[e - 2] == esc)
        return true;
    *n = e - 1;
    line[*n] = 0;
    return false;
}

static void add_location(cb_err *err, const char *filename, int start, int end, const char *text)
{
    cb_buf b;
    cb_buf_init(&b);
    if (start <= 0)
        cb_buf_printf(&b, "%s: %s", filename, err->msg);
    else if (end > start)
        cb_buf_printf(&b, "%s:%d-%d: %s", filename, start, end, err->msg);
    else
        cb_buf_printf(&b, "%s:%d: %s", filename, start, err->msg);
    if (text && *text) {
        /* show the offending text (first line, capped) */
        size_t tl = strcspn(text, "\n");
        cb_buf_printf(&b, "\n  %5d | %.*s%s", start, (int)(tl > 200 ? 200 : tl), text, tl > 200 ? "..." : "");
    }
    size_t n = b.len < sizeof(err->msg) - 1 ? b.len : sizeof(err->msg) - 1;
    memcpy(err->msg, b.data, n);
    err->msg[n] = 0;
    cb_buf_free(&b);
}

/* Long: BuildKit's line loop in one piece (directives, comments, continuations, heredocs,
 * escape changes), the states sharing the line cursor. */
int df_parse(const char *buf, size_t len, const char *filename, df_file **out, cb_err *err)
{
    if (memchr(buf, 0, len)) {
        /* NUL bytes become the two-byte form C0 80 so every string stays a C string;
         * df_go_quote prints it back as \x00. */
        cb_buf b;
        cb_buf_init(&b);
        for (size_t i = 0; i < len; i++) {
            if (buf[i])
                cb_buf_putc(&b, buf[i]);
            else
                cb_buf_append(&b, "\xC0\x80", 2);
        }
        int rc = df_parse(b.data, b.len, filename, out, err);
        cb_buf_free(&b);
        return rc;
    }
    df_file *f = xcalloc(1, sizeof(df_file));
    f->filename = xstrdup(filename ? filename : "Dockerfile");
    f->escape = '\\';
    f->start_line = -1;
    pctx c = {f->filename, '\\', 0, err};
    dstate d = {0};
    lines l = {buf, len, 0, NULL, 0, false};
    int current = 0;
    int rc = 0;
    size_t cap = 0;
    cb_buf line;
    cb_buf_init(&line);
    cb_strv comments;
    cb_strv_init(&comments);

    while (lines_next(&l)) {
        const char *s = l.cur;
        size_t n = l.cur_len;
        if (current == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        n = trim_newline_len(s, n);
        df_trim_left_space(&s, &n);
        bool was_directive = !d.done;
        if ((rc = possible_directive(&d, f, s, n, current + 1, &c)) < 0) {
            add_location(err, f->filename, current + 1, 0, NULL);
            goto fail;
        }
        was_directive &= !d.done;
        if (n > 0 && s[0] == '#' && !was_directive) {
            const char *cs = s + 1;
            size_t cn = n - 1;
            df_trim_left_space(&cs, &cn);
            while (cn && (cs[cn - 1] == ' ' || cs[cn - 1] == '\t' || cs[cn - 1] == '\r'))
                cn--;
            if (cn) {
                cb_strv_push_owned(&comments, xstrndup(cs, cn));
            } else {
                cb_strv_free(&comments);
                cb_strv_init(&comments);
            }
        }
        if (n > 0 && s[0] == '#')
            n = 0; /* trimComments */
        current++;
        int start = current;
        cb_buf_reset(&line);
        cb_buf_append(&line, s, n);
        cb_buf_puts(&line, "");
        size_t ln = line.len;
        bool eol = trim_continuation(line.data, &ln, c.escape);
        line.len = ln;
        if (eol && ln == 0)
            continue;
        bool empty_cont = false;
        while (!eol && lines_next(&l)) {
            const char *cs = l.cur;
            size_t cn = trim_newline_len(l.cur, l.cur_len);
            if ((rc = possible_directive(&d, f, cs, cn, current + 1, &c)) < 0) {
                add_location(err, f->filename, current + 1, 0, NULL);
                goto fail;
            }
            current++;
            if (is_comment(l.cur, l.cur_len))
                continue;
            const char *ts = cs;
            size_t tn = cn;
            df_trim_left_space(&ts, &tn);
            if (tn == 0) {
                empty_cont = true;
                continue;
            }
            if (cn > 0 && cs[0] == '#')
                cn = 0;
            size_t before = line.len;
            cb_buf_append(&line, cs, cn);
            size_t seg = line.len - before;
            eol = trim_continuation(line.data + before, &seg, c.escape);
            line.len = before + seg;
        }
        if (empty_cont)
            df_warnings_add(&f->warnings, start, "Empty continuation line found in: %s", line.data);

        if (f->n_instrs == cap) {
            cap = cap ? cap * 2 : 16;
            f->instrs = xrealloc(f->instrs, cap * sizeof(df_instr));
        }
        df_instr *in = &f->instrs[f->n_instrs];
        memset(in, 0, sizeof(*in));
        cb_strv_init(&in->args);
        in->comments = comments;
        cb_strv_init(&comments);
        f->n_instrs++;
        c.line = start;
        if ((rc = node_from_line(&c, line.data, in)) < 0) {
            add_location(err, f->filename, start, current, line.data);
            goto fail;
        }
        if (heredoc_capable(in) && strstr(line.data, "<<")) {
            df_heredoc *hd = NULL;
            size_t nh = 0;
            if ((rc = df_heredoc_from_line(line.data, &hd, &nh, err)) < 0) {
                add_location(err, f->filename, start, current, line.data);
                goto fail;
            }
            in->heredocs = hd;
            in->n_heredocs = nh;
            for (size_t h = 0; h < nh; h++) {
                bool terminated = false;
                cb_buf content;
                cb_buf_init(&content);
                cb_buf_puts(&content, "");
                while (lines_next(&l)) {
                    current++;
                    const char *ts = l.cur;
                    size_t tn = trim_newline_len(l.cur, l.cur_len);
                    if (hd[h].chomp)
                        while (tn > 0 && *ts == '\t') {
                            ts++;
                            tn--;
                        }
                    if (tn == strlen(hd[h].name) && memcmp(ts, hd[h].name, tn) == 0) {
                        terminated = true;
                        break;
                    }
                    cb_buf_append(&content, l.cur, l.cur_len);
                }
                hd[h].content = cb_buf_steal(&content);
                if (!terminated) {
                    rc = cb_fail(err, "unterminated heredoc");
                    add_location(err, f->filename, start, current, line.data);
                    goto fail;
                }
            }
        }
        in->start_line = start;
        in->end_line = current;
        if (f->start_line < 0)
            f->start_line = start;
        f->end_line = current;
    }
    if (f->n_instrs == 0) {
        rc = cb_fail(err, "file with no instructions");
        add_location(err, f->filename, current, 0, NULL);
        goto fail;
    }
    if (l.too_long) {
        rc = cb_fail(err, "dockerfile line greater than max allowed size of %d", DF_MAX_LINE);
        add_location(err, f->filename, current + 1, 0, NULL);
        goto fail;
    }
    cb_buf_free(&line);
    cb_strv_free(&comments);
    *out = f;
    return 0;
fail:
    cb_buf_free(&line);
    cb_strv_free(&comments);
    df_file_free(f);
    *out = NULL;
    return rc < 0 ? rc : -EINVAL;
}
