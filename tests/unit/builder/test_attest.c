/* --attest parsing (buildx/BuildKit semantics) and the purls of provenance materials. */
#include <criterion/criterion.h>

#include "attest-sbom.h"
#include "attest.h"

static int parse1(const char *spec, bl_attest_opts *o, cb_err *err)
{
    cb_strv v;
    cb_strv_init(&v);
    cb_strv_push(&v, spec);
    int rc = bl_attest_parse(&v, o, err);
    cb_strv_free(&v);
    return rc;
}

Test(attest, provenance_defaults_to_max_v1)
{
    bl_attest_opts o;
    cb_err err = {0};
    cr_assert_eq(parse1("type=provenance", &o, &err), 0);
    cr_assert(o.provenance && o.prov_max && !o.prov_v02 && !o.sbom);
    bl_attest_opts_free(&o);
}

Test(attest, mode_version_builder_id)
{
    bl_attest_opts o;
    cb_err err = {0};
    cr_assert_eq(
        parse1("type=provenance,mode=min,version=v0.2,builder-id=https://x/1,reproducible=true", &o, &err),
        0);
    cr_assert(o.provenance && !o.prov_max && o.prov_v02 && o.reproducible);
    cr_assert_str_eq(o.builder_id, "https://x/1");
    bl_attest_opts_free(&o);
}

Test(attest, later_spec_of_a_type_replaces)
{
    cb_strv v;
    cb_strv_init(&v);
    cb_strv_push(&v, "type=provenance,mode=min");
    cb_strv_push(&v, "type=sbom");
    cb_strv_push(&v, "type=provenance,disabled=true");
    bl_attest_opts o;
    cb_err err = {0};
    cr_assert_eq(bl_attest_parse(&v, &o, &err), 0);
    cr_assert(!o.provenance && o.sbom);
    cb_strv_free(&v);
    bl_attest_opts_free(&o);
}

Test(attest, sbom_generator_and_scanner_params)
{
    cb_strv v;
    cb_strv_init(&v);
    cb_strv_push(&v, "type=sbom,generator=reg/old,x=1");
    cb_strv_push(&v, "type=sbom,generator=reg/scanner:1,scan-mode=all,disabled=false");
    bl_attest_opts o;
    cb_err err = {0};
    cr_assert_eq(bl_attest_parse(&v, &o, &err), 0);
    cr_assert(o.sbom && !o.provenance);
    cr_assert_str_eq(o.sbom_generator, "reg/scanner:1");
    /* the later spec replaces the earlier's options: x=1 is gone; type and disabled are no
     * scanner parameters */
    cr_assert_eq(o.sbom_params.n, 2);
    cr_assert_str_eq(o.sbom_params.v[0], "scan-mode");
    cr_assert_str_eq(o.sbom_params.v[1], "all");
    cb_strv_free(&v);
    bl_attest_opts_free(&o);
}

Test(attest, errors_in_buildkit_words)
{
    bl_attest_opts o;
    cb_err err = {0};
    cr_assert_lt(parse1("type=foo", &o, &err), 0);
    cr_assert(strstr(err.msg, "unknown attestation type \"foo\""), "%s", err.msg);
    cr_assert_lt(parse1("mode=max", &o, &err), 0);
    cr_assert(strstr(err.msg, "attestation type not specified"), "%s", err.msg);
    cr_assert_lt(parse1("type=provenance,mode=huge", &o, &err), 0);
    cr_assert(strstr(err.msg, "invalid mode \"huge\""), "%s", err.msg);
    cr_assert_lt(parse1("type=provenance,version=v2", &o, &err), 0);
    cr_assert(strstr(err.msg, "invalid provenance SLSA version: v2"), "%s", err.msg);
}

Test(attest, purl_as_buildkit)
{
    char *p = bl_attest_purl("docker", "busybox", "linux/amd64");
    cr_assert_str_eq(p, "pkg:docker/busybox@latest?platform=linux%2Famd64");
    free(p);
    p = bl_attest_purl("docker", "127.0.0.1:5000/a/b:1.2", "linux/arm64/v8");
    cr_assert_str_eq(p, "pkg:docker/127.0.0.1:5000/a/b@1.2?platform=linux%2Farm64%2Fv8");
    free(p);
    p = bl_attest_purl(
        "docker", "alpine@sha256:8914eb54f968791faf6a8638949e480fef81e697984fba772b3976835194c6d4", NULL);
    cr_assert_str_eq(
        p,
        "pkg:docker/alpine?digest=sha256:8914eb54f968791faf6a8638949e480fef81e697984fba772b3976835194c6d4");
    free(p);
}
