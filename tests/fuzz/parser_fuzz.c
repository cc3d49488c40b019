/* libFuzzer target for parser/: the Dockerfile parser and dump, the stage plan, the shell
 * lexer and .dockerignore matching, all fed the same input. No input may crash or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

static void fuzz_dockerfile(const char *s, size_t n)
{
    df_file *f = NULL;
    cb_err err;
    if (df_parse(s, n, "Dockerfile", &f, &err) < 0)
        return;
    cb_buf b;
    cb_buf_init(&b);
    df_file_dump(f, &b);
    const char *args[] = {"A=1", "B=x y", "HTTP_PROXY=p", "TARGETARCH=arm64"};
    df_plan_opts o = {.build_args = args, .n_build_args = 4};
    df_plan *p = NULL;
    if (df_plan_new(f, &o, &p, &err) == 0) {
        df_plan_print(p, f, &b);
        df_plan_print_json(p, f, &b);
        df_plan_free(p);
    }
    cb_buf_free(&b);
    df_file_free(f);
}

static void fuzz_shell(const char *word)
{
    cb_strv env, out, m, um;
    cb_strv_init(&env);
    cb_strv_init(&out);
    cb_strv_init(&m);
    cb_strv_init(&um);
    cb_strv_push(&env, "PWD=/home");
    cb_strv_push(&env, "EMPTY=");
    cb_strv_push(&env, "X=a*b?c/d\\e");
    cb_strv_push(&env, "LONG=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    cb_err err;
    for (int mode = 0; mode < 3; mode++) {
        df_lex lx = {.escape = mode == 2 ? '`' : '\\', .raw_quotes = mode == 1, .raw_escapes = mode == 1,
                     .skip_unset_env = mode == 1, .skip_process_quotes = mode == 2};
        char *o = NULL;
        if (df_shell_word(&lx, word, &env, &o, &m, &um, &err) == 0)
            free(o);
        df_shell_words(&lx, word, &env, &out, &err);
    }
    cb_strv_free(&env);
    cb_strv_free(&out);
    cb_strv_free(&m);
    cb_strv_free(&um);
}

static void fuzz_ignore(const char *s, size_t n)
{
    cb_strv pats;
    cb_strv_init(&pats);
    df_ignore_read(s, n, &pats);
    df_ignore *m = NULL;
    cb_err err;
    if (df_ignore_new((const char *const *)pats.v, pats.n, &m, &err) == 0) {
        static const char *const paths[] = {"a", "a/b", "dir/file.txt", ".git/config", "x/y/z/w", "/abs", "./rel",
                                            "..", "a☺b", "node_modules/pkg/index.js"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            bool ex, below;
            df_ignore_matches(m, paths[i]);
            df_ignore_dir(m, paths[i], &ex, &below);
        }
        for (size_t i = 0; i < pats.n && i < 8; i++)
            df_ignore_matches(m, pats.v[i]);
        df_ignore_free(m);
    }
    cb_strv_free(&pats);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    fuzz_dockerfile(s, size);
    if (size <= 4096) {
        fuzz_shell(s);
        fuzz_ignore(s, size);
    }
    free(s);
    return 0;
}
