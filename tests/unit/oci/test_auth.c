/* ~/.docker/config.json handling: Docker Hub's v1 key, scheme/path-qualified keys, base64. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "oci.h"

static char *dir, *cfg;

static void setup(void)
{
    dir = xstrdup("/tmp/cbuild-auth-test-XXXXXX");
    cr_assert(mkdtemp(dir));
    cfg = xasprintf("%s/config.json", dir);
}

static void teardown(void)
{
    cb_err e = {0};
    cb_rm_rf(dir, &e);
    free(dir);
    free(cfg);
}

TestSuite(auth, .init = setup, .fini = teardown);

Test(auth, set_get_remove_docker_hub)
{
    cb_err err = {0};
    cr_assert_eq(oci_auth_set(cfg, "docker.io", "bob", "pa:ss", &err), 0, "%s", err.msg);
    cb_buf b;
    cb_buf_init(&b);
    cr_assert_eq(cb_read_file(cfg, &b, &err), 0);
    /* the key Docker uses, and base64("bob:pa:ss") */
    cr_expect(strstr(b.data, "\"https://index.docker.io/v1/\""), "%s", b.data);
    cr_expect(strstr(b.data, "\"Ym9iOnBhOnNz\""), "%s", b.data);
    cb_buf_free(&b);
    struct stat st;
    cr_assert_eq(stat(cfg, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600, "credentials file is private");
    char *u, *p;
    cr_assert_eq(oci_auth_get(cfg, "registry-1.docker.io", &u, &p, &err), 0);
    cr_expect_str_eq(u, "bob");
    cr_expect_str_eq(p, "pa:ss", "password may contain ':'");
    free(u);
    free(p);
    cr_expect_eq(oci_auth_remove(cfg, "docker.io", &err), 0);
    cr_expect_eq(oci_auth_get(cfg, "docker.io", &u, &p, &err), -ENOENT);
    cr_expect_eq(oci_auth_remove(cfg, "docker.io", &err), -ENOENT);
}

Test(auth, keys_written_by_other_tools)
{
    cb_err err = {0};
    const char *j = "{\"auths\":{\"https://reg.example.com:5000/v2/\":{\"auth\":\"YTpi\"},"
                    "\"other.io\":{\"username\":\"u\",\"password\":\"p\"}},\"HttpHeaders\":{\"X\":\"y\"}}";
    cr_assert_eq(cb_write_file_atomic(cfg, j, strlen(j), 0600, &err), 0);
    char *u, *p;
    cr_assert_eq(oci_auth_get(cfg, "reg.example.com:5000", &u, &p, &err), 0, "%s", err.msg);
    cr_expect_str_eq(u, "a");
    cr_expect_str_eq(p, "b");
    free(u);
    free(p);
    cr_assert_eq(oci_auth_get(cfg, "other.io", &u, &p, &err), 0);
    cr_expect_str_eq(u, "u");
    free(u);
    free(p);
    cr_expect_eq(oci_auth_get(cfg, "reg.example.com", &u, &p, &err), -ENOENT, "the port is part of the host");
    /* other members survive an update */
    cr_assert_eq(oci_auth_set(cfg, "new.io", "n", "m", &err), 0);
    cb_buf b;
    cb_buf_init(&b);
    cr_assert_eq(cb_read_file(cfg, &b, &err), 0);
    cr_expect(strstr(b.data, "HttpHeaders"), "%s", b.data);
    cr_expect(strstr(b.data, "reg.example.com:5000"), "%s", b.data);
    cb_buf_free(&b);
}

Test(auth, bad_files)
{
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(cfg, "{nope", 5, 0600, &err), 0);
    char *u, *p;
    cr_expect_lt(oci_auth_get(cfg, "x.io", &u, &p, &err), 0);
    cr_expect(strstr(err.msg, cfg), "names the file: %s", err.msg);
    const char *j = "{\"auths\":{\"x.io\":{\"auth\":\"bm9jb2xvbg==\"}}}"; /* "nocolon" */
    cr_assert_eq(cb_write_file_atomic(cfg, j, strlen(j), 0600, &err), 0);
    cr_expect_lt(oci_auth_get(cfg, "x.io", &u, &p, &err), 0);
    cr_expect(strstr(err.msg, "user:password"), "%s", err.msg);
    cr_expect_eq(oci_auth_get("/nonexistent/config.json", "x.io", &u, &p, &err), -ENOENT, "no file: no credentials");
}
