/* --chmod's symbolic modes against chmod(1) itself: the same spec on the same start mode, for a
 * file and a directory, must give the same mode bits. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerfile.h"

static mode_t chmod1(const char *spec, mode_t start, bool dir)
{
    char tmpl[] = "/tmp/cbuild-chmod-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char path[64], cmd[256];
    snprintf(path, sizeof path, "%s/x", tmpl);
    if (dir)
        cr_assert_eq(mkdir(path, 0700), 0);
    else
        fclose(fopen(path, "w"));
    cr_assert_eq(chmod(path, start), 0);
    snprintf(cmd, sizeof cmd, "umask 000; chmod %s %s", spec, path);
    cr_assert_eq(system(cmd), 0, "chmod %s failed", spec);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    cr_assert_eq(system(cmd), 0);
    return st.st_mode & 07777;
}

Test(chmod, symbolic_modes_match_chmod1)
{
    static const char *specs[] = {"go-w", "u=rw,g=r,o=r", "a+X", "u+rw,g+r,o-x,o+w", "+x", "a=r", "u+x,g=u",
                                  "o=", "ug+rwx,o-rwx", "u-w,g+w", "=rw", "a+rX", "u+s", "g+s"};
    static const mode_t starts[] = {0666, 0124, 0755, 0600, 0100, 0000};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        for (size_t j = 0; j < sizeof starts / sizeof *starts; j++)
            for (int dir = 0; dir < 2; dir++) {
                mode_t want = chmod1(specs[i], starts[j], dir);
                mode_t got;
                cb_err err = {0};
                cr_assert_eq(df_chmod_apply(specs[i], starts[j], dir, &got, &err), 0, "%s", err.msg);
                cr_expect_eq(got, want, "chmod %s on %s %04o: cbuild %04o, chmod(1) %04o", specs[i],
                             dir ? "dir" : "file", starts[j], got, want);
            }
}

Test(chmod, bad_modes_fail_with_buildkits_text)
{
    cb_err err = {0};
    cr_assert_lt(df_chmod_check("64a", &err), 0);
    cr_assert_str_eq(err.msg, "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777");
    cr_assert_lt(df_chmod_check("10000", &err), 0);
    cr_assert_str_eq(err.msg, "invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777");
    cr_assert_lt(df_chmod_check("u+q", &err), 0);
    cr_assert(strstr(err.msg, "invalid chmod parameter: 'u+q'"), "%s", err.msg);
    cr_assert_lt(df_chmod_check("u+r,", &err), 0);
    cr_assert_eq(df_chmod_check("0755", &err), 0);
    cr_assert_eq(df_chmod_check("go-w", &err), 0);
}
