/* BuildKit conformance vectors (../shared/testdata/buildkit, see its README.md), one TAP
 * subtest per vector. Reads CBUILD_CONFORMANCE_DIR, else CBUILD_CONFORMANCE_DIR_DEFAULT;
 * reports itself skipped when the folder is absent. */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dockerfile.h"

static int n_tests, n_failed;

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *save, *line = strtok_r(b.data, "\n", &save);
    while (line) {
        printf("# %s\n", line);
        line = strtok_r(NULL, "\n", &save);
    }
    cb_buf_free(&b);
}

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    n_tests++;
    if (!ok)
        n_failed++;
    printf("%s %d - ", ok ? "ok" : "not ok", n_tests);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static char *read_all(const char *path, size_t *len)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_err err;
    if (cb_read_file(path, &b, &err) < 0) {
        cb_buf_free(&b);
        return NULL;
    }
    cb_buf_puts(&b, "");
    *len = b.len;
    return cb_buf_steal(&b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    cb_strv v;
    cb_strv_init(&v);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cb_strv_push(&v, e->d_name);
    }
    closedir(d);
    if (v.n > 1)
        qsort(v.v, v.n, sizeof(char *), cmp_str);
    *n = v.n;
    return v.v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void parser_positive(const char *root)
{
    char *dir = xasprintf("%s/parser/testfiles", root);
    size_t n;
    char **cases = sorted_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        char *df = xasprintf("%s/%s/Dockerfile", dir, cases[i]);
        char *res = xasprintf("%s/%s/result", dir, cases[i]);
        size_t dl, rl;
        char *dt = read_all(df, &dl), *rt = read_all(res, &rl);
        df_file *f = NULL;
        cb_err err = {0};
        bool ok = false;
        if (dt && rt && df_parse(dt, dl, "Dockerfile", &f, &err) == 0) {
            cb_buf out;
            cb_buf_init(&out);
            df_file_dump(f, &out);
            ok = out.len == rl && memcmp(out.data, rt, rl) == 0;
            if (!ok)
                diag("expected:\n%s\nactual:\n%s", rt, out.data);
            cb_buf_free(&out);
            df_file_free(f);
        } else {
            diag("parse failed: %s", err.msg);
        }
        result(ok, "parser/testfiles/%s", cases[i]);
        free(dt);
        free(rt);
        free(df);
        free(res);
    }
    free_list(cases, n);
    free(dir);
}

static void parser_negative(const char *root)
{
    char *dir = xasprintf("%s/parser/testfiles-negative", root);
    size_t n;
    char **cases = sorted_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        char *df = xasprintf("%s/%s/Dockerfile", dir, cases[i]);
        size_t dl;
        char *dt = read_all(df, &dl);
        df_file *f = NULL;
        cb_err err = {0};
        bool ok = dt && df_parse(dt, dl, "Dockerfile", &f, &err) < 0;
        if (ok)
            diag("error: %s", err.msg);
        else
            df_file_free(f);
        result(ok, "parser/testfiles-negative/%s is rejected", cases[i]);
        free(dt);
        free(df);
    }
    free_list(cases, n);
    free(dir);
}

static void parser_lines(const char *root)
{
    char *df = xasprintf("%s/parser/testfile-line/Dockerfile", root);
    char *ej = xasprintf("%s/parser/testfile-line/expected-lines.json", root);
    size_t dl;
    char *dt = read_all(df, &dl);
    json_error_t je;
    json_t *exp = json_load_file(ej, 0, &je);
    df_file *f = NULL;
    cb_err err = {0};
    bool ok = false;
    if (dt && exp && df_parse(dt, dl, "Dockerfile", &f, &err) == 0) {
        json_t *rootj = json_object_get(exp, "root"), *ch = json_object_get(exp, "children");
        ok = f->start_line == json_integer_value(json_object_get(rootj, "start_line")) &&
             f->end_line == json_integer_value(json_object_get(rootj, "end_line")) && json_array_size(ch) == f->n_instrs;
        for (size_t i = 0; ok && i < f->n_instrs; i++) {
            json_t *span = json_array_get(ch, i);
            ok = f->instrs[i].start_line == json_integer_value(json_array_get(span, 0)) &&
                 f->instrs[i].end_line == json_integer_value(json_array_get(span, 1));
        }
        if (!ok) {
            diag("root %d-%d, %zu children", f->start_line, f->end_line, f->n_instrs);
            for (size_t i = 0; i < f->n_instrs; i++)
                diag("  [%d, %d]", f->instrs[i].start_line, f->instrs[i].end_line);
        }
        df_file_free(f);
    } else {
        diag("parse failed: %s", err.msg);
    }
    result(ok, "parser/testfile-line line numbers");
    json_decref(exp);
    free(dt);
    free(df);
    free(ej);
}

typedef void (*jsonl_fn)(json_t *row, int lineno, const char *name);

static void each_jsonl(const char *path, const char *name, jsonl_fn fn)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        result(false, "%s: cannot open %s", name, path);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, fp) > 0) {
        lineno++;
        json_error_t je;
        json_t *row = json_loads(line, 0, &je);
        if (!row) {
            result(false, "%s:%d: bad JSON (%s)", name, lineno, je.text);
            continue;
        }
        fn(row, lineno, name);
        json_decref(row);
    }
    free(line);
    fclose(fp);
}

static bool strv_eq_json(const cb_strv *v, json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) != v->n)
        return false;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], json_string_value(json_array_get(arr, i)) ?: "\x01"))
            return false;
    return true;
}

static void show_strv(const char *label, const cb_strv *v)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "[");
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            cb_buf_puts(&b, ", ");
        df_go_quote(&b, v->v[i], strlen(v->v[i]));
    }
    cb_buf_puts(&b, "]");
    diag("%s %s", label, b.data);
    cb_buf_free(&b);
}

static void row_parse_words(json_t *row, int lineno, const char *name)
{
    const char *in = json_string_value(json_object_get(row, "input"));
    cb_strv w;
    cb_strv_init(&w);
    df_split_words(in ? in : "", '\\', &w);
    bool ok = strv_eq_json(&w, json_object_get(row, "expect"));
    if (!ok)
        show_strv("actual:", &w);
    result(ok, "%s:%d parseWords %s", name, lineno, in);
    cb_strv_free(&w);
}

static void row_heredoc_word(json_t *row, int lineno, const char *name)
{
    const char *word = json_string_value(json_object_get(row, "word"));
    char *got = NULL;
    bool expand, chomp;
    int fd;
    cb_err err = {0};
    int rc = df_heredoc_parse_word(word, &got, &expand, &chomp, &fd, &err);
    bool ok;
    if (json_is_true(json_object_get(row, "error")))
        ok = rc < 0;
    else if (json_is_null(json_object_get(row, "name")))
        ok = rc == 0 && !got;
    else
        ok = rc == 0 && got && !strcmp(got, json_string_value(json_object_get(row, "name")));
    if (!ok)
        diag("rc=%d name=%s err=%s", rc, got ? got : "(null)", err.msg);
    result(ok, "%s:%d ParseHeredoc %s", name, lineno, word);
    free(got);
}

static void row_heredoc_line(json_t *row, int lineno, const char *name)
{
    const char *line = json_string_value(json_object_get(row, "line"));
    df_heredoc *hd = NULL;
    size_t n = 0;
    cb_err err = {0};
    int rc = df_heredoc_from_line(line, &hd, &n, &err);
    cb_strv names;
    cb_strv_init(&names);
    for (size_t i = 0; i < n; i++) {
        cb_strv_push(&names, hd[i].name);
        free(hd[i].name);
    }
    free(hd);
    bool ok = rc == 0 && strv_eq_json(&names, json_object_get(row, "names"));
    if (!ok)
        show_strv("actual:", &names);
    result(ok, "%s:%d heredocsFromLine %s", name, lineno, line);
    cb_strv_free(&names);
}

static df_file *heredoc_file;

static void row_heredoc_child(json_t *row, int lineno, const char *name)
{
    size_t k = (size_t)json_integer_value(json_object_get(row, "child"));
    json_t *exp = json_object_get(row, "heredocs");
    bool ok = heredoc_file && k < heredoc_file->n_instrs;
    if (ok) {
        const df_instr *in = &heredoc_file->instrs[k];
        size_t en = json_is_array(exp) ? json_array_size(exp) : 0;
        ok = in->n_heredocs == en;
        for (size_t i = 0; ok && i < en; i++) {
            json_t *h = json_array_get(exp, i);
            const df_heredoc *d = &in->heredocs[i];
            ok = !strcmp(d->name, json_string_value(json_object_get(h, "name"))) &&
                 !strcmp(d->content, json_string_value(json_object_get(h, "content"))) &&
                 d->expand == json_is_true(json_object_get(h, "expand")) &&
                 d->chomp == json_is_true(json_object_get(h, "chomp")) &&
                 d->fd == json_integer_value(json_object_get(h, "fd"));
        }
        if (!ok) {
            diag("instruction: %s (%zu heredocs)", in->original, in->n_heredocs);
            for (size_t i = 0; i < in->n_heredocs; i++)
                diag("  name=%s expand=%d chomp=%d fd=%d content=%s", in->heredocs[i].name, in->heredocs[i].expand,
                     in->heredocs[i].chomp, in->heredocs[i].fd, in->heredocs[i].content);
        }
    }
    result(ok, "%s:%d heredocs of child %zu", name, lineno, k);
}

static void heredoc_vectors(const char *root)
{
    char *p = xasprintf("%s/parser/heredoc-extract/parse_heredoc_word.jsonl", root);
    each_jsonl(p, "heredoc-extract/parse_heredoc_word.jsonl", row_heredoc_word);
    free(p);
    p = xasprintf("%s/parser/heredoc-extract/heredocs_from_line.jsonl", root);
    each_jsonl(p, "heredoc-extract/heredocs_from_line.jsonl", row_heredoc_line);
    free(p);
    p = xasprintf("%s/parser/heredoc-extract/Dockerfile", root);
    size_t dl;
    char *dt = read_all(p, &dl);
    cb_err err = {0};
    if (!dt || df_parse(dt, dl, "Dockerfile", &heredoc_file, &err) < 0) {
        diag("parse failed: %s", err.msg);
        heredoc_file = NULL;
    }
    free(p);
    free(dt);
    p = xasprintf("%s/parser/heredoc-extract/expected.jsonl", root);
    each_jsonl(p, "heredoc-extract/expected.jsonl", row_heredoc_child);
    free(p);
    df_file_free(heredoc_file);
}

/* --------------------------------------------------------------- shell */

static void trim(char **s)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
    size_t n = strlen(*s);
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\n' || (*s)[n - 1] == '\r'))
        (*s)[--n] = 0;
}

static void env_var_test(const char *root)
{
    char *p = xasprintf("%s/shell/envVarTest", root);
    FILE *fp = fopen(p, "r");
    if (!fp) {
        result(false, "shell/envVarTest: cannot open %s", p);
        free(p);
        return;
    }
    cb_strv env;
    cb_strv_init(&env);
    cb_strv_push(&env, "PWD=/home");
    cb_strv_push(&env, "SHELL=bash");
    cb_strv_push(&env, "KOREAN=한국어");
    cb_strv_push(&env, "NULL=");
    df_lex lx = {.escape = '\\'};
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, fp) > 0) {
        lineno++;
        if (line[0] == '#')
            continue;
        char *s = line;
        trim(&s);
        if (!*s)
            continue;
        char *f[4] = {0};
        int nf = 0;
        char *save, *tok = s;
        for (char *q = s;; q++) {
            if (*q == '|' || *q == 0) {
                bool end = *q == 0;
                *q = 0;
                if (nf < 4)
                    f[nf] = tok;
                nf++;
                tok = q + 1;
                if (end)
                    break;
            }
        }
        (void)save;
        if (nf != 3) {
            result(false, "shell/envVarTest:%d malformed", lineno);
            continue;
        }
        for (int i = 0; i < 3; i++)
            trim(&f[i]);
        if (strcmp(f[0], "A") && strcmp(f[0], "U"))
            continue;
        char *out = NULL;
        cb_err err = {0};
        int rc = df_shell_word(&lx, f[1], &env, &out, NULL, NULL, &err);
        bool ok = !strcmp(f[2], "error") ? rc < 0 : (rc == 0 && !strcmp(out, f[2]));
        if (!ok)
            diag("input %s expected %s got %s (%s)", f[1], f[2], rc == 0 ? out : "error", err.msg);
        result(ok, "shell/envVarTest:%d %s", lineno, f[1]);
        free(out);
    }
    free(line);
    fclose(fp);
    cb_strv_free(&env);
    free(p);
}

static void words_test(const char *root)
{
    char *p = xasprintf("%s/shell/wordsTest", root);
    FILE *fp = fopen(p, "r");
    if (!fp) {
        result(false, "shell/wordsTest: cannot open %s", p);
        free(p);
        return;
    }
    cb_strv env;
    cb_strv_init(&env);
    df_lex lx = {.escape = '\\'};
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, fp) > 0) {
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = 0;
        if (line[0] == '#')
            continue;
        if (!strncmp(line, "ENV ", 4)) {
            char *s = line + 3;
            while (*s == ' ')
                s++;
            cb_strv_push(&env, s);
            continue;
        }
        char *bar = strchr(line, '|');
        if (!bar || strchr(bar + 1, '|')) {
            if (*line)
                result(false, "shell/wordsTest:%d malformed", lineno);
            continue;
        }
        *bar = 0;
        char *in = line;
        trim(&in);
        char *exp = bar + 1;
        while (*exp == ' ')
            exp++;
        cb_strv words;
        cb_strv_init(&words);
        cb_err err = {0};
        int rc = df_shell_words(&lx, in, &env, &words, &err);
        bool ok;
        if (!strcmp(exp, "error")) {
            ok = rc < 0;
        } else {
            cb_strv ev;
            cb_strv_init(&ev);
            char *s = exp, *c;
            while ((c = strchr(s, ','))) {
                cb_strv_push_owned(&ev, xstrndup(s, (size_t)(c - s)));
                s = c + 1;
            }
            cb_strv_push(&ev, s);
            ok = rc == 0 && ev.n == words.n;
            for (size_t i = 0; ok && i < ev.n; i++)
                ok = !strcmp(ev.v[i], words.v[i]);
            if (!ok) {
                show_strv("expected:", &ev);
                show_strv("actual:  ", &words);
            }
            cb_strv_free(&ev);
        }
        result(ok, "shell/wordsTest:%d %s", lineno, in);
        cb_strv_free(&words);
    }
    free(line);
    fclose(fp);
    cb_strv_free(&env);
    free(p);
}

static bool set_eq_json(cb_strv *v, json_t *arr)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof(char *), cmp_str);
    return strv_eq_json(v, arr);
}

static void row_process_word(json_t *row, int lineno, const char *name)
{
    const char *in = json_string_value(json_object_get(row, "input"));
    cb_strv env, m, um;
    cb_strv_init(&env);
    cb_strv_init(&m);
    cb_strv_init(&um);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(row, "env"), k, v)
    {
        cb_strv_push_owned(&env, xasprintf("%s=%s", k, json_string_value(v)));
    }
    df_lex lx = {.escape = '\\'};
    char *out = NULL;
    cb_err err = {0};
    int rc = df_shell_word(&lx, in, &env, &out, &m, &um, &err);
    bool ok;
    if (json_is_true(json_object_get(row, "error"))) {
        ok = rc < 0;
        const char *contains = json_string_value(json_object_get(row, "error_contains"));
        if (ok && contains)
            ok = strstr(err.msg, contains) != NULL;
    } else {
        ok = rc == 0 && !strcmp(out, json_string_value(json_object_get(row, "expected")));
        if (ok && json_object_get(row, "matched"))
            ok = set_eq_json(&m, json_object_get(row, "matched")) &&
                 set_eq_json(&um, json_object_get(row, "unmatched"));
    }
    if (!ok) {
        diag("got %s (%s)", rc == 0 ? out : "error", err.msg);
        show_strv("matched:", &m);
        show_strv("unmatched:", &um);
    }
    result(ok, "%s:%d %s", name, lineno, in);
    free(out);
    cb_strv_free(&env);
    cb_strv_free(&m);
    cb_strv_free(&um);
}

int main(void)
{
    const char *root = getenv("CBUILD_CONFORMANCE_DIR");
    if (!root || !*root)
        root = getenv("CBUILD_CONFORMANCE_DIR_DEFAULT");
    struct stat st;
    char *probe = root ? xasprintf("%s/parser/testfiles", root) : NULL;
    if (!root || stat(probe, &st) < 0 || !S_ISDIR(st.st_mode)) {
        printf("1..0 # SKIP BuildKit conformance vectors not found (set CBUILD_CONFORMANCE_DIR; looked in %s)\n",
               root ? root : "(unset)");
        free(probe);
        return 0;
    }
    free(probe);
    parser_positive(root);
    parser_negative(root);
    parser_lines(root);
    char *p = xasprintf("%s/parser/parse_words.jsonl", root);
    each_jsonl(p, "parser/parse_words.jsonl", row_parse_words);
    free(p);
    heredoc_vectors(root);
    env_var_test(root);
    words_test(root);
    p = xasprintf("%s/shell/processWord.jsonl", root);
    each_jsonl(p, "shell/processWord.jsonl", row_process_word);
    free(p);
    printf("1..%d\n", n_tests);
    return n_failed ? 1 : 0;
}
