#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

Test(err, errno_message_names_path)
{
    cb_err err = {0};
    int r = cb_error(&err, ENOENT, "open `%s`", "/nope");
    cr_assert_eq(r, -ENOENT);
    cr_assert_str_eq(err.msg, "open `/nope`: No such file or directory");
    r = cb_error_wrap(&err, "reading Dockerfile");
    cr_assert_eq(r, -ENOENT);
    cr_assert_str_eq(err.msg, "reading Dockerfile: open `/nope`: No such file or directory");
}

Test(err, fail_without_errno)
{
    cb_err err = {0};
    cr_assert_eq(cb_fail(&err, "Dockerfile:%d: unknown instruction %s", 3, "FORM"), -EINVAL);
    cr_assert_str_eq(err.msg, "Dockerfile:3: unknown instruction FORM");
    cr_assert_eq(cb_failc(&err, ENOSPC, "disk full"), -ENOSPC);
}

Test(buf, printf_and_steal)
{
    cb_buf b;
    cb_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        cb_buf_printf(&b, "%d,", i);
    cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
    cr_assert_eq(b.len, strlen(b.data));
    char *s = cb_buf_steal(&b);
    cr_assert_null(b.data);
    free(s);
}

Test(sha256, known_vectors)
{
    char d[CB_DIGEST_STR_LEN];
    cb_sha256_buf("", 0, d);
    cr_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cb_sha256_buf("abc", 3, d);
    cr_assert_str_eq(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert(cb_digest_valid(d));
    cr_assert_not(cb_digest_valid("sha256:abc"));
    cr_assert_not(cb_digest_valid("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

Test(files, atomic_write_and_read)
{
    char dir[] = "/tmp/cbtest-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *p = cb_path_join(dir, "a/b/c");
    cb_err err = {0};
    cr_assert_eq(cb_mkdir_p(p, 0755, &err), 0, "%s", err.msg);
    char *f = cb_path_join(p, "file");
    cr_assert_eq(cb_write_file_atomic(f, "hello", 5, 0644, &err), 0, "%s", err.msg);
    cb_buf b;
    cb_buf_init(&b);
    cr_assert_eq(cb_read_file(f, &b, &err), 0);
    cr_assert_str_eq(b.data, "hello");
    cb_buf_free(&b);
    char d1[CB_DIGEST_STR_LEN], d2[CB_DIGEST_STR_LEN];
    cr_assert_eq(cb_sha256_file(f, d1, &err), 0);
    cb_sha256_buf("hello", 5, d2);
    cr_assert_str_eq(d1, d2);
    /* an aborted atomic write leaves the old content and no temp file */
    cb_atomic_file af;
    cr_assert_eq(cb_atomic_open(&af, f, 0644, &err), 0);
    cr_assert_eq(cb_write_all(af.fd, "junk", 4), 0);
    cb_atomic_abort(&af);
    cb_buf_init(&b);
    cr_assert_eq(cb_read_file(f, &b, &err), 0);
    cr_assert_str_eq(b.data, "hello");
    cb_buf_free(&b);
    cr_assert_eq(cb_rm_rf(dir, &err), 0, "%s", err.msg);
    cr_assert_not(cb_path_exists(dir));
    cr_assert_lt(cb_read_file(f, &b, &err), 0);
    cr_assert(strstr(err.msg, "No such file") != NULL);
    free(f);
    free(p);
}

Test(size, parse)
{
    uint64_t v;
    cb_err err = {0};
    cr_assert_eq(cb_parse_size("4K", &v, &err), 0);
    cr_assert_eq(v, 4096);
    cr_assert_eq(cb_parse_size("1.5G", &v, &err), 0);
    cr_assert_eq(v, 1610612736ULL);
    cr_assert_eq(cb_parse_size("512MiB", &v, &err), 0);
    cr_assert_eq(v, 512ULL << 20);
    cr_assert_lt(cb_parse_size("12Q", &v, &err), 0);
    cr_assert(strstr(err.msg, "12Q") != NULL);
    cr_assert_lt(cb_parse_size("", &v, &err), 0);
}

static void add_one(void *arg)
{
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

Test(pool, runs_every_job)
{
    int counter = 0;
    cb_pool *p = cb_pool_new(4);
    for (int i = 0; i < 1000; i++)
        cb_pool_submit(p, add_one, &counter);
    cb_pool_wait(p);
    cr_assert_eq(counter, 1000);
    cb_pool_free(p);
}

Test(strings, suggest)
{
    const char *c[] = {"build", "run", "images", "push", "pull"};
    cr_assert_str_eq(cb_suggest("biuld", c, 5), "build");
    cr_assert_str_eq(cb_suggest("imgaes", c, 5), "images");
    cr_assert_null(cb_suggest("zzzzzzzz", c, 5));
}
