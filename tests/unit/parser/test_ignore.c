/* .dockerignore matching: the moby/patternmatcher cases summarised in the conformance
 * README (../shared/testdata/buildkit/README.md section c), plus walking helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dockerfile.h"

static bool match1(const char *const *pats, size_t n, const char *path)
{
    df_ignore *m = NULL;
    cb_err err = {0};
    cr_assert_eq(df_ignore_new(pats, n, &m, &err), 0, "patterns rejected: %s", err.msg);
    bool r = df_ignore_matches(m, path);
    df_ignore_free(m);
    return r;
}

#define M(pat, path) match1((const char *[]){pat}, 1, path)

static bool bad(const char *pat)
{
    df_ignore *m = NULL;
    cb_err err = {0};
    int rc = df_ignore_new((const char *[]){pat}, 1, &m, &err);
    df_ignore_free(m);
    return rc < 0;
}

Test(ignore, star_does_not_cross_slash)
{
    cr_assert(M("*", "fileutils.go"));
    cr_assert(!M("a*/b", "a/c/b"));
    cr_assert(!M("a*b", "a/b"));
    cr_assert(!M("a?b", "a/b"));
}

Test(ignore, question_is_one_rune)
{
    cr_assert(M("a?b", "a☺b"));
    cr_assert(!M("a???b", "a☺b"));
}

Test(ignore, classes)
{
    cr_assert(M("a[b-d]e", "ace"));
    cr_assert(!M("a[b-d]e", "ae"));
    cr_assert(!M("a[b-d]e", "aae"));
    cr_assert(M("a[^b-d]e", "aze"));
    cr_assert(M("[a-ζ]*", "α"));
    cr_assert(M("[\\]a]", "]"));
    cr_assert(M("[\\-]", "-"));
    cr_assert(M("[x\\-]", "x"));
    cr_assert(M("[x\\-]", "-"));
}

Test(ignore, malformed_patterns)
{
    const char *badp[] = {"[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a["};
    for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++)
        cr_assert(bad(badp[i]), "%s should be rejected", badp[i]);
    /* regression: a bad pattern stays bad */
    cr_assert(bad("[Local-Only]/")); /* l-O is an invalid range: rejected up front */
    cr_assert(bad("[z-a]"));
}

Test(ignore, escapes)
{
    cr_assert(M("a\\*b", "a*b"));
    cr_assert(!M("a\\*b", "ab"));
    cr_assert(M("a\\\\", "a\\"));
}

Test(ignore, regex_metachars_are_literal)
{
    cr_assert(M("abc.def", "abc.def"));
    cr_assert(!M("abc.def", "abcdef"));
    cr_assert(!M("abc.def", "abcZdef"));
    cr_assert(M("a(b)c/def", "a(b)c/def"));
    cr_assert(M("a.|)$(}+{bc", "a.|)$(}+{bc"));
    cr_assert(M("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"));
}

Test(ignore, leading_dot_not_special)
{
    cr_assert(M(".*", ".foo"));
    cr_assert(!M(".*", "foo"));
}

Test(ignore, double_star)
{
    cr_assert(M("**", "file"));
    cr_assert(M("**", "file/"));
    cr_assert(M("**", "/"));
    cr_assert(M("**", "dir/file"));
    cr_assert(M("**/", "file"));
    cr_assert(M("**/", "dir/file/"));
    cr_assert(M("dir/**", "dir/file"));
    cr_assert(M("dir/**", "dir/dir2/file/"));
    cr_assert(!M("abc/**", "abc"));
    cr_assert(M("abc/**", "abc/def"));
    cr_assert(M("**/dir", "dir"));
    cr_assert(M("**/dir", "dir/file"));
    cr_assert(M("**/dir2/*", "dir/dir2/file"));
    cr_assert(M("**file", "file"));
    cr_assert(M("**file", "dir/file"));
    cr_assert(M("**/file", "dir/dir/file"));
    cr_assert(M("**/file*txt", "dir/dir/file.txt"));
    cr_assert(M("**/file*.txt*", "dir/dir/file.txt"));
    cr_assert(M("**/**/*.txt", "dir/dir/file.txt"));
    cr_assert(!M("**/**/*.txt2", "dir/dir/file.txt"));
    cr_assert(M("**/*.txt", "file.txt"));
    cr_assert(M("a**/*.txt", "a/file.txt"));
    cr_assert(M("a**/*.txt", "a/dir/dir/file.txt"));
    cr_assert(!M("a/*.txt", "a/dir/file.txt"));
    cr_assert(M("**/.foo", ".foo"));
    cr_assert(!M("**/.foo", "bar.foo"));
    cr_assert(M("**/foo/bar", "foo/bar"));
    cr_assert(M("**/foo/bar", "dir/dir2/foo/bar"));
}

Test(ignore, parent_dir_match)
{
    cr_assert(M("docs", "docs/README.md"));
}

Test(ignore, exclusions_in_order)
{
    cr_assert(!match1((const char *[]){"*.go", "!fileutils.go"}, 2, "fileutils.go"));
    cr_assert(match1((const char *[]){"!fileutils.go", "*.go"}, 2, "fileutils.go"));
    cr_assert(!match1((const char *[]){"docs", "!docs/README.md"}, 2, "docs/README.md"));
    cr_assert(!match1((const char *[]){"docs/", "!docs/README.md"}, 2, "docs/README.md"));
    cr_assert(!match1((const char *[]){"docs/*", "!docs/README.md"}, 2, "docs/README.md"));
    cr_assert(!match1((const char *[]){"**", "!util/docker/web"}, 2, "util/docker/web/foo"));
    cr_assert(match1((const char *[]){"**", "!util/docker/web", "util/docker/web/foo"}, 3, "util/docker/web/foo"));
    cr_assert(!match1((const char *[]){"**", "!dist/*.whl"}, 2,
                      "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"));
}

Test(ignore, degenerate)
{
    cr_assert(!M("*", "."));
    cr_assert(!M("**", "."));
    cr_assert(!match1(NULL, 0, "anything"));
    cr_assert(bad("!"));
    cr_assert(bad("["));
    df_ignore *m = NULL;
    cb_err err = {0};
    cr_assert_eq(df_ignore_new((const char *[]){"!"}, 1, &m, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "illegal exclusion pattern: \"!\"");
}

Test(ignore, cleaning)
{
    cr_assert(match1((const char *[]){"docs", "config", ""}, 3, "config/x"));
    cr_assert(!match1((const char *[]){"docs", "  !docs/README.md"}, 2, "docs/README.md"));
    cr_assert(!match1((const char *[]){"docs", "!docs/README.md  "}, 2, "docs/README.md"));
    cr_assert(M("./a/../b", "b"));
    cr_assert(M("b", "./b/c"));
}

Test(ignore, read_all)
{
    const char *in = "\xEF\xBB\xBFtest1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \n"
                     "   # not a comment\r\n";
    cb_strv v;
    cb_strv_init(&v);
    df_ignore_read(in, strlen(in), &v);
    const char *want[] = {"test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!", "# not a comment"};
    cr_assert_eq(v.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < v.n; i++)
        cr_assert_str_eq(v.v[i], want[i]);
    cb_strv_free(&v);
}

Test(ignore, walk_pruning)
{
    df_ignore *m = NULL;
    cb_err err = {0};
    bool ex, below;
    cr_assert_eq(df_ignore_new((const char *[]){"node_modules", "build/*", "!build/keep/*.txt"}, 3, &m, &err), 0);
    df_ignore_dir(m, "node_modules", &ex, &below);
    cr_assert(ex && !below);
    df_ignore_dir(m, "build/tmp", &ex, &below);
    cr_assert(ex && !below);
    df_ignore_dir(m, "build/keep", &ex, &below);
    cr_assert(ex && below);
    cr_assert(!df_ignore_matches(m, "build/keep/a.txt"));
    cr_assert(df_ignore_matches(m, "build/keep/a.bin"));
    df_ignore_dir(m, "src", &ex, &below);
    cr_assert(!ex && below);
    cr_assert(df_ignore_has_exclusions(m));
    df_ignore_free(m);

    cr_assert_eq(df_ignore_new((const char *[]){"*", "!**/*.go"}, 2, &m, &err), 0);
    df_ignore_dir(m, "deep", &ex, &below);
    cr_assert(ex && below);
    df_ignore_free(m);

    cr_assert_eq(df_ignore_new((const char *[]){"vendor", "!vendor"}, 2, &m, &err), 0);
    df_ignore_dir(m, "vendor", &ex, &below);
    cr_assert(!ex && below);
    df_ignore_free(m);
}

Test(ignore, walk_pruning_wildcards)
{
    df_ignore *m = NULL;
    cb_err err = {0};
    bool ex, below;
    cr_assert_eq(df_ignore_new((const char *[]){"*", "!src/*/keep", "!docs"}, 3, &m, &err), 0);
    df_ignore_dir(m, "src", &ex, &below);
    cr_assert(ex && below);
    df_ignore_dir(m, "src/a", &ex, &below);
    cr_assert(ex && below);
    df_ignore_dir(m, "other", &ex, &below);
    cr_assert(ex && !below);
    df_ignore_dir(m, "docs", &ex, &below);
    cr_assert(!ex && below);
    cr_assert(!df_ignore_matches(m, "src/a/keep"));
    cr_assert(df_ignore_matches(m, "src/a/drop"));
    cr_assert(!df_ignore_matches(m, "docs/x/y"));
    df_ignore_free(m);
}
