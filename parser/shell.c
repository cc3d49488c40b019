/* Shell-word expansion exactly as BuildKit's frontend/dockerfile/shell.Lex does it:
 * quotes, escapes, $VAR / ${VAR...} with the modifiers it supports, and word splitting. */
#include <errno.h>
#include <string.h>

#include "internal.h"

typedef struct scanner {
    const char *s;
    size_t n, pos;
} scanner;

static int32_t sc_peek(const scanner *sc)
{
    int w;
    return df_utf8_decode(sc->s + sc->pos, sc->n - sc->pos, &w);
}

static int32_t sc_next(scanner *sc)
{
    int w;
    int32_t r = df_utf8_decode(sc->s + sc->pos, sc->n - sc->pos, &w);
    sc->pos += (size_t)w;
    return r;
}

typedef struct words {
    cb_buf word;
    cb_strv words;
    bool in_word;
} words;

static void words_add_raw_char(words *w, int32_t ch)
{
    df_utf8_put(&w->word, ch);
    w->in_word = true;
}

static void words_add_char(words *w, int32_t ch)
{
    if (df_go_isspace(ch) && w->in_word) {
        if (w->word.len != 0) {
            cb_strv_push(&w->words, w->word.data);
            cb_buf_reset(&w->word);
            w->in_word = false;
        }
    } else if (!df_go_isspace(ch)) {
        words_add_raw_char(w, ch);
    }
}

static void words_add_string(words *w, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int wd;
        int32_t r = df_utf8_decode(s + i, n - i, &wd);
        words_add_char(w, r);
        i += (size_t)wd;
    }
}

static void words_add_raw_string(words *w, const char *s, size_t n)
{
    cb_buf_append(&w->word, s, n);
    w->in_word = true;
}

static void words_finish(words *w)
{
    if (w->word.len > 0) {
        cb_strv_push(&w->words, w->word.data);
        cb_buf_reset(&w->word);
        w->in_word = false;
    }
}

typedef struct shell_word {
    const df_lex *lx;
    scanner sc;
    const cb_strv *env;
    bool raw_escapes;
    bool want_words; /* word splitting only matters for ProcessWords */
    cb_strv *matched, *unmatched;
    int depth;
    char msg[512]; /* error message, empty = ok */
} shell_word;

#define SW_MAX_DEPTH 200

static int sw_fail(shell_word *sw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sw_fail(shell_word *sw, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sw->msg, sizeof(sw->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void note_var(cb_strv *set, const char *name)
{
    if (set && !cb_strv_contains(set, name))
        cb_strv_push(set, name);
}

/* BuildEnvs: last entry of a key wins; "K" alone is set and empty. */
static bool sw_getenv(shell_word *sw, const char *name, const char **val, size_t *vlen)
{
    const char *found = NULL;
    size_t flen = 0;
    size_t nlen = strlen(name);
    if (sw->env) {
        for (size_t i = 0; i < sw->env->n; i++) {
            const char *e = sw->env->v[i];
            const char *eq = strchr(e, '=');
            size_t klen = eq ? (size_t)(eq - e) : strlen(e);
            if (klen == nlen && memcmp(e, name, nlen) == 0) {
                found = eq ? eq + 1 : "";
                flen = strlen(found);
            }
        }
    }
    if (found) {
        note_var(sw->matched, name);
        *val = found;
        *vlen = flen;
        return true;
    }
    note_var(sw->unmatched, name);
    *val = "";
    *vlen = 0;
    return false;
}

static int process_stop_on(shell_word *sw, int32_t stop, bool raw_escapes, cb_buf *result, words *wout);

static int process_single_quote(shell_word *sw, cb_buf *out)
{
    int32_t ch = sc_next(&sw->sc);
    if (sw->lx->raw_quotes)
        df_utf8_put(out, ch);
    for (;;) {
        ch = sc_next(&sw->sc);
        if (ch == DF_EOF)
            return sw_fail(sw, "unexpected end of statement while looking for matching single-quote");
        if (ch == '\'') {
            if (sw->lx->raw_quotes)
                df_utf8_put(out, ch);
            return 0;
        }
        df_utf8_put(out, ch);
    }
}

static int process_dollar(shell_word *sw, cb_buf *out);

static int process_double_quote(shell_word *sw, cb_buf *out)
{
    int32_t ch = sc_next(&sw->sc);
    if (sw->lx->raw_quotes)
        df_utf8_put(out, ch);
    for (;;) {
        int32_t p = sc_peek(&sw->sc);
        if (p == DF_EOF)
            return sw_fail(sw, "unexpected end of statement while looking for matching double-quote");
        if (p == '"') {
            ch = sc_next(&sw->sc);
            if (sw->lx->raw_quotes)
                df_utf8_put(out, ch);
            return 0;
        }
        if (p == '$') {
            int rc = process_dollar(sw, out);
            if (rc < 0)
                return rc;
            continue;
        }
        ch = sc_next(&sw->sc);
        if (ch == (unsigned char)sw->lx->escape) {
            if (sw->raw_escapes)
                df_utf8_put(out, ch);
            int32_t n2 = sc_peek(&sw->sc);
            if (n2 == DF_EOF)
                continue; /* ignore an escape at the end of the word */
            if (n2 == '"' || n2 == '$' || n2 == (unsigned char)sw->lx->escape)
                ch = sc_next(&sw->sc);
        }
        df_utf8_put(out, ch);
    }
}

static bool is_special_param(int32_t ch)
{
    return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' || ch == '!' || ch == '0';
}

static void process_name(shell_word *sw, cb_buf *name)
{
    while (sc_peek(&sw->sc) != DF_EOF) {
        int32_t ch = sc_peek(&sw->sc);
        if (name->len == 0 && df_go_isdigit(ch)) {
            while (sc_peek(&sw->sc) != DF_EOF && df_go_isdigit(sc_peek(&sw->sc)))
                df_utf8_put(name, sc_next(&sw->sc));
            return;
        }
        if (name->len == 0 && is_special_param(ch)) {
            df_utf8_put(name, sc_next(&sw->sc));
            return;
        }
        if (!df_go_isletter(ch) && !df_go_isdigit(ch) && ch != '_')
            break;
        df_utf8_put(name, sc_next(&sw->sc));
    }
}

/* ---- shell patterns (convertShellPatternToRegex) without a regex engine ---- */

enum { PT_LIT, PT_ANY, PT_STAR };
typedef struct pat_tok {
    int kind;
    int32_t r;
} pat_tok;

typedef struct pattern {
    pat_tok *t;
    size_t n;
    bool greedy;
} pattern;

/* Compile a pattern; returns -1 with msg on an invalid escape. */
static int pattern_compile(shell_word *sw, const int32_t *p, size_t n, bool greedy, pattern *out)
{
    out->t = xcalloc(n + 1, sizeof(pat_tok));
    out->n = 0;
    out->greedy = greedy;
    for (size_t i = 0; i < n; i++) {
        int32_t tok = p[i];
        if (tok == '*') {
            out->t[out->n++] = (pat_tok){PT_STAR, 0};
        } else if (tok == '?') {
            out->t[out->n++] = (pat_tok){PT_ANY, 0};
        } else if (tok == '\\') {
            if (i + 1 < n && (p[i + 1] == '}' || p[i + 1] == '/'))
                continue; /* the escape of } and / inside ${} is not part of the pattern */
            int32_t nx = i + 1 < n ? p[++i] : DF_EOF;
            if (nx != '*' && nx != '?' && nx != '\\') {
                free(out->t);
                out->t = NULL;
                cb_buf b;
                cb_buf_init(&b);
                df_utf8_put(&b, nx == DF_EOF ? DF_RUNE_ERROR : nx);
                sw_fail(sw, "invalid escape '\\%s'", b.data);
                cb_buf_free(&b);
                return -1;
            }
            out->t[out->n++] = (pat_tok){PT_LIT, nx};
        } else {
            out->t[out->n++] = (pat_tok){PT_LIT, tok};
        }
    }
    return 0;
}

typedef struct matcher {
    const pattern *p;
    const int32_t *v;
    size_t vn;
    uint8_t *fail; /* memo of (token, pos) pairs known not to match; NULL when too big */
    size_t steps;
} matcher;

/* Perl/RE2 leftmost-first preference: '*' tries longest (greedy) or shortest first; the
 * first complete match wins. '.' never matches a newline, as in Go's regexp. Returns the
 * end position or -1. Iterative (an explicit stack of '*' choices) so long patterns cannot
 * exhaust the C stack; (token, position) pairs known to fail are memoized. */
typedef struct star_frame {
    size_t ti, vi, e, max;
} star_frame;

static bool memo_get(const matcher *m, size_t ti, size_t vi)
{
    size_t key = ti * (m->vn + 1) + vi;
    return m->fail && (m->fail[key / 8] & (1u << (key % 8)));
}

static void memo_set(matcher *m, size_t ti, size_t vi)
{
    size_t key = ti * (m->vn + 1) + vi;
    if (m->fail)
        m->fail[key / 8] |= (uint8_t)(1u << (key % 8));
}

static long match_from(matcher *m, size_t ti, size_t vi)
{
    const pattern *p = m->p;
    star_frame *st = NULL;
    size_t ns = 0, cap = 0;
    long res = -1;
    for (;;) {
        bool fail = false;
        while (ti < p->n && p->t[ti].kind != PT_STAR) {
            const pat_tok *t = &p->t[ti];
            if (vi < m->vn && (t->kind == PT_LIT ? m->v[vi] == t->r : m->v[vi] != '\n')) {
                ti++;
                vi++;
            } else {
                fail = true;
                break;
            }
        }
        if (!fail && ti == p->n) {
            res = (long)vi;
            break;
        }
        if (!fail && !memo_get(m, ti, vi)) {
            size_t max = vi;
            while (max < m->vn && m->v[max] != '\n')
                max++;
            if (ns == cap) {
                cap = cap ? cap * 2 : 16;
                st = xrealloc(st, cap * sizeof(*st));
            }
            st[ns++] = (star_frame){ti, vi, p->greedy ? max : vi, max};
            vi = p->greedy ? max : vi;
            ti++;
            continue;
        }
        /* backtrack to the innermost '*' with an untried length */
        bool resumed = false;
        while (ns > 0 && !resumed) {
            star_frame *f = &st[ns - 1];
            if (p->greedy ? f->e == f->vi : f->e == f->max) {
                memo_set(m, f->ti, f->vi);
                ns--;
                continue;
            }
            f->e = p->greedy ? f->e - 1 : f->e + 1;
            ti = f->ti + 1;
            vi = f->e;
            resumed = true;
        }
        if (!resumed || ++m->steps > 50000000)
            break;
    }
    free(st);
    return res;
}

static void matcher_init(matcher *m, const pattern *p, const int32_t *v, size_t vn)
{
    m->p = p;
    m->v = v;
    m->vn = vn;
    m->steps = 0;
    size_t cells = (p->n + 1) * (vn + 1);
    m->fail = cells / 8 < (64u << 20) ? xcalloc(cells / 8 + 1, 1) : NULL;
}

static void matcher_reset(matcher *m)
{
    if (m->fail)
        memset(m->fail, 0, (m->p->n + 1) * (m->vn + 1) / 8 + 1);
}

static int32_t *to_runes(const char *s, size_t n, size_t *out_n)
{
    int32_t *r = xcalloc(n + 1, sizeof(int32_t));
    size_t k = 0, i = 0;
    while (i < n) {
        int w;
        r[k++] = df_utf8_decode(s + i, n - i, &w);
        i += (size_t)w;
    }
    *out_n = k;
    return r;
}

static void put_runes(cb_buf *b, const int32_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        df_utf8_put(b, r[i]);
}

/* trimPrefix: remove the anchored match of word from value. */
static int trim_prefix_runes(shell_word *sw, const int32_t *pat, size_t pn, int32_t *val, size_t vn, bool greedy,
                             size_t *cut)
{
    pattern p;
    if (pattern_compile(sw, pat, pn, greedy, &p) < 0)
        return -1;
    matcher m;
    matcher_init(&m, &p, val, vn);
    long e = match_from(&m, 0, 0);
    *cut = e < 0 ? 0 : (size_t)e;
    free(m.fail);
    free(p.t);
    return 0;
}

static int do_trim(shell_word *sw, const char *word, size_t wlen, const char *value, size_t vlen, bool greedy,
                   bool suffix, cb_buf *out)
{
    size_t pn, vn;
    int32_t *pat = to_runes(word, wlen, &pn);
    int32_t *val = to_runes(value, vlen, &vn);
    int rc = 0;
    if (suffix) {
        /* reverse both, keeping "\x" pairs in order (reversePattern) */
        int32_t *rp = xcalloc(pn + 1, sizeof(int32_t));
        for (size_t i = 0; i < pn;) {
            size_t oi = pn - 1 - i;
            if (pat[i] == '\\' && i != pn - 1) {
                rp[oi - 1] = pat[i];
                rp[oi] = pat[i + 1];
                i += 2;
            } else {
                rp[oi] = pat[i];
                i++;
            }
        }
        for (size_t i = 0; i < vn / 2; i++) {
            int32_t t = val[i];
            val[i] = val[vn - 1 - i];
            val[vn - 1 - i] = t;
        }
        size_t cut;
        if (trim_prefix_runes(sw, rp, pn, val, vn, greedy, &cut) < 0) {
            rc = -1;
        } else {
            for (size_t i = vn; i-- > cut;)
                df_utf8_put(out, val[i]);
        }
        free(rp);
    } else {
        size_t cut;
        if (trim_prefix_runes(sw, pat, pn, val, vn, greedy, &cut) < 0)
            rc = -1;
        else
            put_runes(out, val + cut, vn - cut);
    }
    if (rc < 0) {
        char tmp[sizeof(sw->msg)];
        snprintf(tmp, sizeof(tmp), "%s", sw->msg);
        sw_fail(sw, "invalid pattern (%.*s) in substitution: %s", (int)wlen, word, tmp);
    }
    free(pat);
    free(val);
    return rc < 0 ? -EINVAL : 0;
}

/* Go regexp template expansion for ReplaceAllString: $$, $0 (whole match), $name/${name}
 * (no groups: empty); a malformed reference stays literal. */
static void expand_template(cb_buf *out, const char *tpl, const int32_t *m, size_t mn)
{
    size_t n = strlen(tpl);
    for (size_t i = 0; i < n;) {
        if (tpl[i] != '$') {
            cb_buf_putc(out, tpl[i++]);
            continue;
        }
        i++;
        if (i < n && tpl[i] == '$') {
            cb_buf_putc(out, '$');
            i++;
            continue;
        }
        bool brace = i < n && tpl[i] == '{';
        size_t j = brace ? i + 1 : i, start = j;
        while (j < n) {
            int w;
            int32_t r = df_utf8_decode(tpl + j, n - j, &w);
            if (!(df_go_isletter(r) || df_go_isdigit(r) || r == '_'))
                break;
            j += (size_t)w;
        }
        bool ok = j > start && (!brace || (j < n && tpl[j] == '}'));
        if (!ok) {
            cb_buf_putc(out, '$');
            continue;
        }
        bool is_zero = true, all_digits = true;
        for (size_t k = start; k < j; k++) {
            if (tpl[k] < '0' || tpl[k] > '9')
                all_digits = false;
            if (tpl[k] != '0')
                is_zero = false;
        }
        if (all_digits && is_zero)
            put_runes(out, m, mn);
        i = brace ? j + 1 : j;
    }
}

static int do_replace(shell_word *sw, const char *pattern_s, size_t plen, const char *repl, const char *value,
                      size_t vlen, bool all, cb_buf *out)
{
    size_t pn, vn;
    int32_t *pat = to_runes(pattern_s, plen, &pn);
    int32_t *val = to_runes(value, vlen, &vn);
    pattern p;
    int rc = 0;
    if (pattern_compile(sw, pat, pn, true, &p) < 0) {
        char tmp[sizeof(sw->msg)];
        snprintf(tmp, sizeof(tmp), "%s", sw->msg);
        sw_fail(sw, "invalid pattern (%.*s) in substitution: %s", (int)plen, pattern_s, tmp);
        rc = -EINVAL;
        goto out;
    }
    matcher m;
    matcher_init(&m, &p, val, vn);
    if (!all) {
        long s = -1, e = -1;
        for (size_t st = 0; st <= vn; st++) {
            matcher_reset(&m);
            e = match_from(&m, 0, st);
            if (e >= 0) {
                s = (long)st;
                break;
            }
        }
        if (s < 0) {
            put_runes(out, val, vn);
        } else {
            put_runes(out, val, (size_t)s);
            cb_buf_puts(out, repl);
            put_runes(out, val + e, vn - (size_t)e);
        }
    } else {
        size_t last_end = 0, search = 0;
        while (search <= vn) {
            long s = -1, e = -1;
            for (size_t st = search; st <= vn; st++) {
                matcher_reset(&m);
                e = match_from(&m, 0, st);
                if (e >= 0) {
                    s = (long)st;
                    break;
                }
            }
            if (s < 0)
                break;
            put_runes(out, val + last_end, (size_t)s - last_end);
            if ((size_t)e > last_end || s == 0)
                expand_template(out, repl, val + s, (size_t)(e - s));
            last_end = (size_t)e;
            if (search + 1 > (size_t)e)
                search += 1;
            else
                search = (size_t)e;
        }
        put_runes(out, val + last_end, vn - last_end);
    }
    free(m.fail);
    free(p.t);
out:
    free(pat);
    free(val);
    return rc;
}

/* Long: every ${…} form of the shell lexer (:-, -, :+, +, :?, ?, #, ##, %, %%, /, //) in one
 * switch, as BuildKit's ShellLex has it. */
static int process_dollar(shell_word *sw, cb_buf *out)
{
    sc_next(&sw->sc);
    if (sc_peek(&sw->sc) != '{') {
        cb_buf name;
        cb_buf_init(&name);
        process_name(sw, &name);
        if (name.len == 0) {
            cb_buf_putc(out, '$');
            cb_buf_free(&name);
            return 0;
        }
        const char *v;
        size_t vl;
        bool found = sw_getenv(sw, name.data, &v, &vl);
        if (!found && sw->lx->skip_unset_env) {
            cb_buf_putc(out, '$');
            cb_buf_puts(out, name.data);
        } else {
            cb_buf_append(out, v, vl);
        }
        cb_buf_free(&name);
        return 0;
    }
    sc_next(&sw->sc);
    int32_t p = sc_peek(&sw->sc);
    if (p == DF_EOF)
        return sw_fail(sw, "syntax error: missing '}'");
    if (p == '{' || p == '}' || p == ':')
        return sw_fail(sw, "syntax error: bad substitution");
    if (++sw->depth > SW_MAX_DEPTH)
        return sw_fail(sw, "syntax error: substitution nested too deeply");
    int rc = 0;
    cb_buf name, chs, word;
    cb_buf_init(&name);
    cb_buf_init(&chs);
    cb_buf_init(&word);
    process_name(sw, &name);
    if (!name.data)
        cb_buf_puts(&name, "");
    int32_t ch = sc_next(&sw->sc);
    df_utf8_put(&chs, ch == DF_EOF ? DF_RUNE_ERROR : ch);
    bool null_is_unset = false;
    const char *value;
    size_t vlen;
    bool set;

    if (ch == '}') {
        set = sw_getenv(sw, name.data, &value, &vlen);
        if (!set && sw->lx->skip_unset_env)
            cb_buf_printf(out, "${%s}", name.data);
        else
            cb_buf_append(out, value, vlen);
        goto done;
    }
    if (ch == ':') {
        null_is_unset = true;
        ch = sc_next(&sw->sc);
        df_utf8_put(&chs, ch == DF_EOF ? DF_RUNE_ERROR : ch);
        goto modifier;
    }
    if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
    modifier:;
        bool raw = ch == '#' || ch == '%';
        if (null_is_unset && raw) {
            rc = sw_fail(sw, "unsupported modifier (%s) in substitution", chs.data);
            goto done;
        }
        cb_buf_puts(&word, "");
        rc = process_stop_on(sw, '}', raw, &word, NULL);
        if (rc < 0) {
            if (sc_peek(&sw->sc) == DF_EOF)
                rc = sw_fail(sw, "syntax error: missing '}'");
            goto done;
        }
        set = sw_getenv(sw, name.data, &value, &vlen);
        if (sw->lx->skip_unset_env && !set) {
            cb_buf_printf(out, "${%s%s%s}", name.data, chs.data, word.data);
            goto done;
        }
        switch (ch) {
        case '-':
            if (!set || (null_is_unset && vlen == 0))
                cb_buf_append(out, word.data, word.len);
            else
                cb_buf_append(out, value, vlen);
            break;
        case '+':
            if (!(!set || (null_is_unset && vlen == 0)))
                cb_buf_append(out, word.data, word.len);
            break;
        case '?':
            if (!set) {
                rc = sw_fail(sw, "%s: %s", name.data, word.len ? word.data : "is not allowed to be unset");
                goto done;
            }
            if (null_is_unset && vlen == 0) {
                rc = sw_fail(sw, "%s: %s", name.data, word.len ? word.data : "is not allowed to be empty");
                goto done;
            }
            cb_buf_append(out, value, vlen);
            break;
        case '%':
        case '#': {
            bool greedy = false;
            const char *w = word.data;
            size_t wl = word.len;
            if (wl > 0 && w[0] == (char)ch) {
                greedy = true;
                w++;
                wl--;
            }
            rc = do_trim(sw, w, wl, value, vlen, greedy, ch == '%', out);
            break;
        }
        default:
            rc = sw_fail(sw, "unsupported modifier (%s) in substitution", chs.data);
        }
        goto done;
    }
    if (ch == '/') {
        bool all = sc_peek(&sw->sc) == '/';
        if (all)
            sc_next(&sw->sc);
        cb_buf pat, repl;
        cb_buf_init(&pat);
        cb_buf_init(&repl);
        cb_buf_puts(&pat, "");
        cb_buf_puts(&repl, "");
        rc = process_stop_on(sw, '/', true, &pat, NULL);
        if (rc < 0) {
            if (sc_peek(&sw->sc) == DF_EOF)
                rc = sw_fail(sw, "syntax error: missing '/' in ${}");
        } else {
            rc = process_stop_on(sw, '}', true, &repl, NULL);
            if (rc < 0) {
                if (sc_peek(&sw->sc) == DF_EOF)
                    rc = sw_fail(sw, "syntax error: missing '}'");
            } else {
                set = sw_getenv(sw, name.data, &value, &vlen);
                if (sw->lx->skip_unset_env && !set)
                    cb_buf_printf(out, "${%s/%s/%s}", name.data, pat.data, repl.data);
                else
                    rc = do_replace(sw, pat.data, pat.len, repl.data, value, vlen, all, out);
            }
        }
        cb_buf_free(&pat);
        cb_buf_free(&repl);
        goto done;
    }
    rc = sw_fail(sw, "unsupported modifier (%s) in substitution", chs.data);
done:
    sw->depth--;
    cb_buf_free(&name);
    cb_buf_free(&chs);
    cb_buf_free(&word);
    return rc;
}

static int process_possible_heredoc(shell_word *sw, cb_buf *out)
{
    sc_next(&sw->sc);
    if (sc_peek(&sw->sc) != '<') {
        cb_buf_putc(out, '<');
        return 0;
    }
    sc_next(&sw->sc);
    cb_buf_puts(out, "<<");
    /* "<<- EOF": the chomp dash and the blanks after it stay in the heredoc word */
    if (sc_peek(&sw->sc) == '-')
        df_utf8_put(out, sc_next(&sw->sc));
    for (;;) {
        int32_t p = sc_peek(&sw->sc);
        if (p != ' ' && p != '\t' && p != '\r' && p != '\n')
            break;
        df_utf8_put(out, sc_next(&sw->sc));
    }
    return 0;
}

/* Process until stop (or EOF). Appends to result; wout (optional) collects words. */
static int process_stop_on(shell_word *sw, int32_t stop, bool raw_escapes, cb_buf *result, words *wout)
{
    words local;
    memset(&local, 0, sizeof(local));
    cb_buf_init(&local.word);
    cb_strv_init(&local.words);
    words *w = wout ? wout : &local;
    bool saved = sw->raw_escapes;
    sw->raw_escapes = raw_escapes;
    int rc = 0;
    bool stopped = false;
    cb_buf tmp;
    cb_buf_init(&tmp);

    while (sc_peek(&sw->sc) != DF_EOF) {
        int32_t ch = sc_peek(&sw->sc);
        if (stop != DF_EOF && ch == stop) {
            sc_next(&sw->sc);
            stopped = true;
            break;
        }
        bool special = ch == '$' || ch == '<' || (!sw->lx->skip_process_quotes && (ch == '\'' || ch == '"'));
        if (special) {
            cb_buf_reset(&tmp);
            cb_buf_puts(&tmp, "");
            if (ch == '$')
                rc = process_dollar(sw, &tmp);
            else if (ch == '<')
                rc = process_possible_heredoc(sw, &tmp);
            else if (ch == '\'')
                rc = process_single_quote(sw, &tmp);
            else
                rc = process_double_quote(sw, &tmp);
            if (rc < 0)
                goto out;
            cb_buf_append(result, tmp.data, tmp.len);
            if (!sw->want_words || !wout)
                continue;
            if (ch == '$')
                words_add_string(w, tmp.data, tmp.len);
            else
                words_add_raw_string(w, tmp.data, tmp.len);
            continue;
        }
        bool track = sw->want_words && wout;
        ch = sc_next(&sw->sc);
        if (ch == (unsigned char)sw->lx->escape) {
            if (sw->raw_escapes) {
                if (track)
                    words_add_raw_char(w, ch);
                df_utf8_put(result, ch);
            }
            ch = sc_next(&sw->sc);
            if (ch == DF_EOF)
                break;
            if (track)
                words_add_raw_char(w, ch);
        } else if (track) {
            words_add_char(w, ch);
        }
        df_utf8_put(result, ch);
    }
    if (stop != DF_EOF && !stopped) {
        cb_buf b;
        cb_buf_init(&b);
        df_utf8_put(&b, stop);
        rc = sw_fail(sw, "unexpected end of statement while looking for matching %s", b.data);
        cb_buf_free(&b);
    }
out:
    sw->raw_escapes = saved;
    cb_buf_free(&tmp);
    cb_buf_free(&local.word);
    cb_strv_free(&local.words);
    return rc;
}

static int lex_process(const df_lex *lx, const char *word, const cb_strv *env, cb_buf *result, words *w,
                       cb_strv *matched, cb_strv *unmatched, cb_err *err)
{
    shell_word sw;
    memset(&sw, 0, sizeof(sw));
    sw.want_words = w != NULL;
    sw.lx = lx;
    sw.env = env;
    sw.raw_escapes = lx->raw_escapes;
    sw.matched = matched;
    sw.unmatched = unmatched;
    sw.sc.s = word;
    sw.sc.n = strlen(word);
    /* text/scanner skips a byte order mark at the very start */
    if (sw.sc.n >= 3 && memcmp(word, "\xEF\xBB\xBF", 3) == 0)
        sw.sc.pos = 3;
    cb_buf_puts(result, "");
    int rc = process_stop_on(&sw, DF_EOF, lx->raw_escapes, result, w);
    if (rc < 0) {
        cb_buf q;
        cb_buf_init(&q);
        df_go_quote(&q, word, strlen(word));
        cb_failc(err, EINVAL, "failed to process %s: %s", q.data, sw.msg);
        cb_buf_free(&q);
        return -EINVAL;
    }
    return 0;
}

int df_shell_word(const df_lex *lx, const char *word, const cb_strv *env, char **out, cb_strv *matched,
                  cb_strv *unmatched, cb_err *err)
{
    cb_buf res;
    cb_buf_init(&res);
    int rc = lex_process(lx, word, env, &res, NULL, matched, unmatched, err);
    if (rc < 0) {
        cb_buf_free(&res);
        return rc;
    }
    *out = cb_buf_steal(&res);
    return 0;
}

int df_shell_words(const df_lex *lx, const char *word, const cb_strv *env, cb_strv *out, cb_err *err)
{
    cb_buf res;
    cb_buf_init(&res);
    words w;
    memset(&w, 0, sizeof(w));
    cb_buf_init(&w.word);
    cb_strv_init(&w.words);
    int rc = lex_process(lx, word, env, &res, &w, NULL, NULL, err);
    if (rc == 0) {
        words_finish(&w);
        for (size_t i = 0; i < w.words.n; i++)
            cb_strv_push(out, w.words.v[i]);
    }
    cb_buf_free(&res);
    cb_buf_free(&w.word);
    cb_strv_free(&w.words);
    return rc;
}
