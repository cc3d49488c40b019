/* References normalised as Docker's distribution/reference does. */
#include <criterion/criterion.h>

#include "oci.h"

static void norm(const char *in, const char *want)
{
    cb_err err = {0};
    char *got = oci_ref_normalize(in, &err);
    cr_assert(got, "%s: %s", in, err.msg);
    cr_expect_str_eq(got, want, "%s", in);
    free(got);
}

static void bad(const char *in, const char *needle)
{
    cb_err err = {0};
    char *got = oci_ref_normalize(in, &err);
    cr_expect_null(got, "%s should be rejected, got %s", in, got ? got : "");
    free(got);
    cr_expect(strstr(err.msg, needle), "%s: message `%s` lacks `%s`", in, err.msg, needle);
}

Test(ref, docker_hub_defaults)
{
    norm("alpine", "docker.io/library/alpine:latest");
    norm("alpine:3.19", "docker.io/library/alpine:3.19");
    norm("library/alpine", "docker.io/library/alpine:latest");
    norm("user/app", "docker.io/user/app:latest");
    norm("docker.io/alpine", "docker.io/library/alpine:latest");
    norm("index.docker.io/library/alpine:1", "docker.io/library/alpine:1");
}

Test(ref, registries_ports_localhost)
{
    norm("localhost/x", "localhost/x:latest");
    norm("localhost:5000/x/y:t", "localhost:5000/x/y:t");
    norm("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest");
    norm("reg.example.com/a/b/c:v1.2-rc_3", "reg.example.com/a/b/c:v1.2-rc_3");
    norm("a-b.c/x__y/z--w", "a-b.c/x__y/z--w:latest");
}

Test(ref, digests)
{
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char in[200], want[200];
    snprintf(in, sizeof in, "alpine@%s", d);
    snprintf(want, sizeof want, "docker.io/library/alpine@%s", d);
    norm(in, want);
    snprintf(in, sizeof in, "localhost:5000/x:1@%s", d);
    snprintf(want, sizeof want, "localhost:5000/x:1@%s", d);
    norm(in, want);
    oci_ref r;
    cb_err err = {0};
    cr_assert_eq(oci_ref_parse(in, &r, &err), 0);
    cr_expect_str_eq(r.registry, "localhost:5000");
    cr_expect_str_eq(r.repository, "x");
    cr_expect_str_eq(r.tag, "1");
    cr_expect_str_eq(r.digest, d);
    oci_ref_free(&r);
}

Test(ref, familiar_names)
{
    oci_ref r;
    cb_err err = {0};
    cr_assert_eq(oci_ref_parse("alpine", &r, &err), 0);
    char *f = oci_ref_familiar_name(&r);
    cr_expect_str_eq(f, "alpine");
    cr_expect_str_eq(oci_ref_api_host(&r), "registry-1.docker.io");
    free(f);
    oci_ref_free(&r);
    cr_assert_eq(oci_ref_parse("localhost:5000/a/b", &r, &err), 0);
    f = oci_ref_familiar_name(&r);
    cr_expect_str_eq(f, "localhost:5000/a/b");
    free(f);
    oci_ref_free(&r);
}

Test(ref, invalid)
{
    bad("", "empty");
    bad("Alpine", "lowercase");
    bad("alpine:", "bad tag");
    bad("alpine:-x", "bad tag");
    bad("alpine@sha256:123", "bad digest");
    bad("a//b", "invalid reference format");
    bad("-a/b", "invalid reference format");
    bad("a_/b", "invalid reference format");
}
