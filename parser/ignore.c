/* .dockerignore: moby/patternmatcher and ignorefile.ReadAll semantics.
 * Patterns compile to a small token program equivalent to the regexp patternmatcher
 * builds ("*" -> [^/]*, "?" -> [^/], "**" -> (.*\/)? or .*, [classes]) and run as an NFA. */
#include <errno.h>
#include <string.h>

#include "internal.h"

enum { T_LIT, T_ANY, T_STAR, T_DSTAR_SLASH, T_DSTAR_END, T_CLASS };
enum { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

typedef struct crange {
    int32_t lo, hi;
} crange;

typedef struct tok {
    int kind;
    int32_t r;        /* T_LIT */
    bool negated;     /* T_CLASS */
    crange *ranges;   /* T_CLASS */
    size_t n_ranges;
} tok;

typedef struct ipattern {
    char *cleaned;
    bool exclusion;
    int type;
    tok *t;
    size_t n;
    size_t n_dirs;
} ipattern;

struct df_ignore {
    ipattern *p;
    size_t n;
    bool exclusions;
};

/* Go's path.Clean (slash-separated). */
static char *clean_path(const char *p)
{
    size_t n = strlen(p);
    if (n == 0)
        return xstrdup(".");
    bool rooted = p[0] == '/';
    char *out = xmalloc(n + 2);
    size_t w = 0, r = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && p[r] != '/'; r++)
                out[w++] = p[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = 0;
    return out;
}

static void trim_space(const char **s, size_t *n)
{
    df_trim_space(s, n);
}

void df_ignore_read(const char *buf, size_t len, cb_strv *out)
{
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (lineno++ == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        if (n > 0 && s[0] == '#')
            continue;
        trim_space(&s, &n);
        if (n == 0)
            continue;
        bool invert = s[0] == '!';
        if (invert) {
            s++;
            n--;
            trim_space(&s, &n);
        }
        char *pat = xstrndup(s, n);
        if (n > 0) {
            char *c = clean_path(pat);
            free(pat);
            pat = c;
            if (strlen(pat) > 1 && pat[0] == '/')
                memmove(pat, pat + 1, strlen(pat));
        }
        if (invert) {
            char *x = xasprintf("!%s", pat);
            free(pat);
            pat = x;
        }
        cb_strv_push_owned(out, pat);
    }
}

/* filepath.Match syntax check (Unix): classes must be closed and well formed, a trailing
 * backslash is an error. */
static bool glob_valid(const char *p)
{
    size_t n = strlen(p);
    for (size_t i = 0; i < n;) {
        if (p[i] == '\\') {
            if (i + 1 >= n)
                return false;
            i += 2;
        } else if (p[i] == '[') {
            i++;
            if (i < n && p[i] == '^')
                i++;
            bool first = true;
            for (;;) {
                if (i >= n)
                    return false;
                if (p[i] == ']' && !first) {
                    i++;
                    break;
                }
                /* lo */
                if (p[i] == '-' || p[i] == ']')
                    return false;
                if (p[i] == '\\') {
                    if (++i >= n)
                        return false;
                }
                int w;
                df_utf8_decode(p + i, n - i, &w);
                i += (size_t)w;
                if (i < n && p[i] == '-') {
                    i++;
                    if (i >= n || p[i] == '-' || p[i] == ']')
                        return false;
                    if (p[i] == '\\') {
                        if (++i >= n)
                            return false;
                    }
                    df_utf8_decode(p + i, n - i, &w);
                    i += (size_t)w;
                }
                first = false;
            }
        } else {
            i++;
        }
    }
    return true;
}

static void push_tok(ipattern *ip, size_t *cap, tok t)
{
    if (ip->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        ip->t = xrealloc(ip->t, *cap * sizeof(tok));
    }
    ip->t[ip->n++] = t;
}

/* Mirror of patternmatcher's compile(): decides the match type and builds the tokens. */
static int compile(ipattern *ip)
{
    const char *p = ip->cleaned;
    size_t n = strlen(p), cap = 0;
    int type = M_EXACT;
    size_t i = 0;
    for (int k = 0; i < n; k++) {
        int w;
        int32_t ch = df_utf8_decode(p + i, n - i, &w);
        i += (size_t)w;
        if (ch == '*') {
            if (i < n && p[i] == '*') {
                i++;
                if (i < n && p[i] == '/')
                    i++;
                if (i >= n) {
                    if (type == M_EXACT) {
                        type = M_PREFIX;
                    } else {
                        push_tok(ip, &cap, (tok){.kind = T_DSTAR_END});
                        type = M_REGEXP;
                    }
                } else {
                    push_tok(ip, &cap, (tok){.kind = T_DSTAR_SLASH});
                    type = M_REGEXP;
                }
                if (k == 0)
                    type = M_SUFFIX;
            } else {
                push_tok(ip, &cap, (tok){.kind = T_STAR});
                type = M_REGEXP;
            }
        } else if (ch == '?') {
            push_tok(ip, &cap, (tok){.kind = T_ANY});
            type = M_REGEXP;
        } else if (ch == '\\') {
            if (i < n) {
                int32_t nx = df_utf8_decode(p + i, n - i, &w);
                i += (size_t)w;
                push_tok(ip, &cap, (tok){.kind = T_LIT, .r = nx});
                type = M_REGEXP;
            } else {
                push_tok(ip, &cap, (tok){.kind = T_LIT, .r = '\\'});
            }
        } else if (ch == '[') {
            tok t = {.kind = T_CLASS};
            if (i < n && p[i] == '^') {
                t.negated = true;
                i++;
            }
            size_t rc = 0;
            bool first = true;
            while (i < n && !(p[i] == ']' && !first)) {
                int32_t lo, hi;
                if (p[i] == '\\')
                    i++;
                lo = df_utf8_decode(p + i, n - i, &w);
                i += (size_t)w;
                hi = lo;
                if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
                    i++;
                    if (p[i] == '\\')
                        i++;
                    hi = df_utf8_decode(p + i, n - i, &w);
                    i += (size_t)w;
                }
                if (hi < lo) {
                    free(t.ranges);
                    return -1; /* regexp: invalid character class range */
                }
                if (t.n_ranges == rc) {
                    rc = rc ? rc * 2 : 4;
                    t.ranges = xrealloc(t.ranges, rc * sizeof(crange));
                }
                t.ranges[t.n_ranges++] = (crange){lo, hi};
                first = false;
            }
            if (i < n)
                i++; /* ']' */
            push_tok(ip, &cap, t);
            type = M_REGEXP;
        } else if (ch == ']') {
            push_tok(ip, &cap, (tok){.kind = T_LIT, .r = ']'});
            type = M_REGEXP;
        } else {
            push_tok(ip, &cap, (tok){.kind = T_LIT, .r = ch});
        }
    }
    ip->type = type;
    return 0;
}

int df_ignore_new(const char *const *patterns, size_t n, df_ignore **out, cb_err *err)
{
    df_ignore *m = xcalloc(1, sizeof(*m));
    m->p = xcalloc(n ? n : 1, sizeof(ipattern));
    for (size_t i = 0; i < n; i++) {
        const char *s = patterns[i];
        size_t l = strlen(s);
        trim_space(&s, &l);
        if (l == 0)
            continue;
        char *raw = xstrndup(s, l);
        char *p = clean_path(raw);
        free(raw);
        ipattern *ip = &m->p[m->n];
        memset(ip, 0, sizeof(*ip));
        const char *body = p;
        if (p[0] == '!') {
            if (p[1] == 0) {
                free(p);
                df_ignore_free(m);
                return cb_fail(err, "illegal exclusion pattern: \"!\"");
            }
            ip->exclusion = true;
            m->exclusions = true;
            body = p + 1;
        }
        if (!glob_valid(body)) {
            int rc = cb_fail(err, "syntax error in pattern `%s`", patterns[i]);
            free(p);
            df_ignore_free(m);
            return rc;
        }
        ip->cleaned = xstrdup(body);
        free(p);
        m->n++;
        if (compile(ip) < 0) {
            int rc = cb_fail(err, "syntax error in pattern `%s`", patterns[i]);
            df_ignore_free(m);
            return rc;
        }
        ip->n_dirs = 1;
        for (const char *c = ip->cleaned; *c; c++)
            ip->n_dirs += *c == '/';
    }
    *out = m;
    return 0;
}

void df_ignore_free(df_ignore *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t k = 0; k < m->p[i].n; k++)
            free(m->p[i].t[k].ranges);
        free(m->p[i].t);
        free(m->p[i].cleaned);
    }
    free(m->p);
    free(m);
}

bool df_ignore_has_exclusions(const df_ignore *m)
{
    return m->exclusions;
}

bool df_ignore_excludes_root(const df_ignore *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!m->p[i].exclusion && (!strcmp(m->p[i].cleaned, "*") || !strcmp(m->p[i].cleaned, "**") ||
                                   !strcmp(m->p[i].cleaned, "**/*")))
            return true;
    return false;
}

static bool class_has(const tok *t, int32_t r)
{
    bool in = false;
    for (size_t i = 0; i < t->n_ranges && !in; i++)
        in = r >= t->ranges[i].lo && r <= t->ranges[i].hi;
    return in != t->negated;
}

/* NFA over the tokens; state 2*i = before token i, 2*i+1 = inside the double-star group of token i. */
static bool regexp_match(const ipattern *ip, const char *s, size_t n)
{
    size_t ns = 2 * (ip->n + 1);
    uint8_t *cur = xcalloc(ns, 1), *nxt = xcalloc(ns, 1);
    cur[0] = 1;
    size_t pos = 0;
    bool ok = false;
    for (;;) {
        /* epsilon closure (tokens only move forward, so one pass suffices) */
        for (size_t i = 0; i < ip->n; i++) {
            if (!cur[2 * i])
                continue;
            int k = ip->t[i].kind;
            if (k == T_STAR || k == T_DSTAR_END || k == T_DSTAR_SLASH)
                cur[2 * (i + 1)] = 1;
            if (k == T_DSTAR_SLASH)
                cur[2 * i + 1] = 1;
        }
        if (pos == n) {
            ok = cur[2 * ip->n] != 0;
            break;
        }
        int w;
        int32_t r = df_utf8_decode(s + pos, n - pos, &w);
        pos += (size_t)w;
        memset(nxt, 0, ns);
        bool any = false;
        for (size_t i = 0; i < ip->n; i++) {
            const tok *t = &ip->t[i];
            if (cur[2 * i]) {
                switch (t->kind) {
                case T_LIT:
                    if (r == t->r)
                        nxt[2 * (i + 1)] = 1;
                    break;
                case T_ANY:
                    if (r != '/')
                        nxt[2 * (i + 1)] = 1;
                    break;
                case T_STAR:
                    if (r != '/')
                        nxt[2 * i] = 1;
                    break;
                case T_DSTAR_END:
                    if (r != '\n')
                        nxt[2 * i] = 1;
                    break;
                case T_CLASS:
                    if (class_has(t, r))
                        nxt[2 * (i + 1)] = 1;
                    break;
                default:
                    break;
                }
            }
            if (cur[2 * i + 1] && t->kind == T_DSTAR_SLASH) {
                if (r != '\n')
                    nxt[2 * i + 1] = 1;
                if (r == '/')
                    nxt[2 * (i + 1)] = 1;
            }
        }
        for (size_t i = 0; i < ns; i++)
            any |= nxt[i] != 0;
        uint8_t *tmp = cur;
        cur = nxt;
        nxt = tmp;
        if (!any)
            break;
    }
    free(cur);
    free(nxt);
    return ok;
}

static bool pattern_match(const ipattern *ip, const char *path, size_t n)
{
    size_t cl = strlen(ip->cleaned);
    switch (ip->type) {
    case M_EXACT:
        return n == cl && memcmp(path, ip->cleaned, n) == 0;
    case M_PREFIX:
        return n >= cl - 2 && memcmp(path, ip->cleaned, cl - 2) == 0;
    case M_SUFFIX: {
        const char *suf = ip->cleaned + 2;
        size_t sl = cl - 2;
        if (n >= sl && memcmp(path + n - sl, suf, sl) == 0)
            return true;
        return sl > 0 && suf[0] == '/' && n == sl - 1 && memcmp(path, suf + 1, n) == 0;
    }
    default:
        return regexp_match(ip, path, n);
    }
}

/* MatchesOrParentMatches on an already cleaned path. */
static bool matches_clean(const df_ignore *m, const char *file)
{
    bool matched = false;
    size_t fl = strlen(file);
    /* parent = filepath.Dir(file) */
    const char *slash = strrchr(file, '/');
    size_t plen = slash ? (size_t)(slash - file) : 0;
    bool has_parent = slash != NULL && !(plen == 0 && file[0] != '/');
    if (slash && plen == 0)
        plen = 1; /* Dir("/x") == "/" */
    for (size_t i = 0; i < m->n; i++) {
        const ipattern *ip = &m->p[i];
        if (ip->exclusion != matched)
            continue;
        bool match = pattern_match(ip, file, fl);
        if (!match && has_parent) {
            /* every leading run of parent components: a, a/b, ... */
            for (size_t e = 0; e <= plen && !match; e++) {
                if (e == plen || file[e] == '/')
                    match = pattern_match(ip, file, e);
            }
        }
        if (match)
            matched = !ip->exclusion;
    }
    return matched;
}

bool df_ignore_matches(const df_ignore *m, const char *path)
{
    char *c = clean_path(path);
    bool r = strcmp(c, ".") != 0 && matches_clean(m, c);
    free(c);
    return r;
}

bool df_ignore_patterns_match(const df_ignore *m, const char *path)
{
    char *c = clean_path(path);
    bool r = matches_clean(m, c);
    free(c);
    return r;
}

void df_ignore_dir(const df_ignore *m, const char *dir, bool *excluded, bool *may_include_below)
{
    char *c = clean_path(dir);
    *excluded = strcmp(c, ".") != 0 && matches_clean(m, c);
    *may_include_below = !*excluded;
    if (!*excluded || !m->exclusions) {
        free(c);
        return;
    }
    size_t depth = 1;
    for (const char *p = c; *p; p++)
        depth += *p == '/';
    size_t cl = strlen(c);
    for (size_t i = 0; i < m->n && !*may_include_below; i++) {
        const ipattern *ip = &m->p[i];
        if (!ip->exclusion)
            continue;
        if (strstr(ip->cleaned, "**")) {
            *may_include_below = true;
            break;
        }
        /* the exclusion re-includes dir itself or one of its ancestors */
        for (size_t e = 0; e <= cl; e++) {
            if ((e == cl || c[e] == '/') && e > 0 && pattern_match(ip, c, e)) {
                *may_include_below = true;
                break;
            }
        }
        if (*may_include_below || ip->n_dirs <= depth)
            continue;
        /* its first `depth` components could match dir: something below may be included */
        const char *p = ip->cleaned;
        size_t k = 0, j = 0;
        for (; p[j]; j++)
            if (p[j] == '/' && ++k == depth)
                break;
        ipattern pre = {0};
        pre.cleaned = xstrndup(p, j);
        if (compile(&pre) == 0)
            *may_include_below = pattern_match(&pre, c, cl);
        else
            *may_include_below = true;
        for (size_t t = 0; t < pre.n; t++)
            free(pre.t[t].ranges);
        free(pre.t);
        free(pre.cleaned);
    }
    free(c);
}

void df_ignore_candidates(const char *dockerfile, const char *context, char **first, char **second)
{
    *first = dockerfile && *dockerfile && strcmp(dockerfile, "-") ? xasprintf("%s.dockerignore", dockerfile) : NULL;
    *second = cb_path_join(context && *context ? context : ".", ".dockerignore");
}
