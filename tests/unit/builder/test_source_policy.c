/* builder/source-policy.c: BuildKit's source policy engine (sourcepolicy/engine_test.go's
 * cases in spirit: rule order, ALLOW/DENY, EXACT/WILDCARD/REGEX, $N substitution, attrs). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "source-policy.h"

static bl_source_policy *load(const char *json)
{
    bl_source_policy *p = NULL;
    cb_err err;
    cb_err_clear(&err);
    int rc = bl_source_policy_parse(json, strlen(json), "policy.json", &p, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    return p;
}

static int eval(bl_source_policy *p, const char *id, char **out, bool *mutated, cb_err *err)
{
    bl_source s;
    bl_source_init(&s, id);
    int rc = bl_source_policy_evaluate(p, &s, mutated, err);
    *out = strdup(s.identifier);
    bl_source_free(&s);
    return rc;
}

static void bad(const char *json, const char *want)
{
    bl_source_policy *p = NULL;
    cb_err err;
    cb_err_clear(&err);
    int rc = bl_source_policy_parse(json, strlen(json), "pol.json", &p, &err);
    cr_assert_lt(rc, 0, "%s parsed", json);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, want), "%s: got %s", json, err.msg);
    cr_assert(strstr(err.msg, "pol.json"), "no file name in %s", err.msg);
}

Test(source_policy, exact_convert)
{
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"docker-image://docker.io/library/alpine:latest\",\"matchType\":\"EXACT\"},"
                               "\"updates\":{\"identifier\":\"local://test\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    cr_assert_eq(eval(p, "docker-image://docker.io/library/alpine:latest", &out, &mut, &err), 0);
    cr_assert(mut);
    cr_assert_str_eq(out, "local://test");
    free(out);
    cr_assert_eq(eval(p, "docker-image://docker.io/library/alpine:3.19", &out, &mut, &err), 0);
    cr_assert_not(mut);
    cr_assert_str_eq(out, "docker-image://docker.io/library/alpine:3.19");
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, deny_last_match_wins)
{
    /* engine.go: `ALLOW foo; DENY foo` denies, `DENY foo; ALLOW foo` allows */
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"ALLOW\",\"selector\":{\"identifier\":\"docker-image://*\"}},"
                               "{\"action\":\"DENY\",\"selector\":{\"identifier\":\"docker-image://docker.io/*\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    int rc = eval(p, "docker-image://docker.io/library/busybox:latest", &out, &mut, &err);
    cr_assert_eq(rc, -EACCES);
    cr_assert_str_eq(err.msg, "source \"docker-image://docker.io/library/busybox:latest\" denied by policy: "
                              "source denied by policy");
    free(out);
    cr_assert_eq(eval(p, "docker-image://127.0.0.1:5000/busybox:latest", &out, &mut, &err), 0);
    free(out);
    bl_source_policy_free(p);
    p = load("{\"rules\":[{\"action\":\"DENY\",\"selector\":{\"identifier\":\"docker-image://*\"}},"
             "{\"action\":\"ALLOW\",\"selector\":{\"identifier\":\"docker-image://docker.io/*\"}}]}");
    cr_assert_eq(eval(p, "docker-image://docker.io/library/busybox:latest", &out, &mut, &err), 0);
    free(out);
    cr_assert_eq(eval(p, "docker-image://quay.io/x:latest", &out, &mut, &err), -EACCES);
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, wildcard_substitution)
{
    /* formatter.go's example: golang:* -> golang:${1}-alpine */
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"docker-image://docker.io/library/golang:*\"},\"updates\":{\"identifier\":"
                               "\"docker-image://docker.io/library/golang:${1}-alpine\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    /* the result golang:1.19-alpine matches again and becomes 1.19-alpine-alpine … until the
     * engine's bound, as in BuildKit (a pass starts over with the converted source) */
    cr_assert_lt(eval(p, "docker-image://docker.io/library/golang:1.19", &out, &mut, &err), 0);
    cr_assert(mut);
    cr_assert(strstr(out, "golang:1.19-alpine-alpine"), "%s", out);
    free(out);
    bl_source_policy_free(p);
    p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
             "\"docker-image://docker.io/library/golang:1.*\"},\"updates\":{\"identifier\":"
             "\"docker-image://docker.io/library/go:$1\"}}]}");
    cr_assert_eq(eval(p, "docker-image://docker.io/library/golang:1.19", &out, &mut, &err), 0);
    cr_assert_str_eq(out, "docker-image://docker.io/library/go:19");
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, loop_bound)
{
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"docker-image://x:*\"},\"updates\":{\"identifier\":\"docker-image://x:${1}a\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    cr_assert_lt(eval(p, "docker-image://x:1", &out, &mut, &err), 0);
    cr_assert(strstr(err.msg, "too many mutations on a single source"), "%s", err.msg);
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, regex_replace)
{
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"docker.io/library/([a-z]+):latest\",\"match_type\":2},\"updates\":{\"identifier\":"
                               "\"reg.example/mirror/$1:stable\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    /* ReplaceAllString: the unmatched prefix stays */
    cr_assert_eq(eval(p, "docker-image://docker.io/library/alpine:latest", &out, &mut, &err), 0);
    cr_assert_str_eq(out, "docker-image://reg.example/mirror/alpine:stable");
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, attrs_and_constraints)
{
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"https://e.x/f\","
                               "\"constraints\":[{\"key\":\"http.checksum\",\"value\":\"\",\"condition\":\"EQUAL\"}]},"
                               "\"updates\":{\"attrs\":{\"http.checksum\":\"sha256:abc\"}}}]}");
    bl_source s;
    bl_source_init(&s, "https://e.x/f");
    bool mut;
    cb_err err;
    cr_assert_eq(bl_source_policy_evaluate(p, &s, &mut, &err), 0);
    cr_assert(mut);
    cr_assert_str_eq(s.identifier, "https://e.x/f"); /* an empty update identifier keeps it */
    cr_assert_str_eq(bl_source_attr(&s, "http.checksum"), "sha256:abc");
    bl_source_free(&s);
    /* a source that already has a checksum does not match the constraint */
    bl_source_init(&s, "https://e.x/f");
    bl_source_set_attr(&s, "http.checksum", "sha256:def");
    cr_assert_eq(bl_source_policy_evaluate(p, &s, &mut, &err), 0);
    cr_assert_not(mut);
    cr_assert_str_eq(bl_source_attr(&s, "http.checksum"), "sha256:def");
    bl_source_free(&s);
    bl_source_policy_free(p);
}

Test(source_policy, malformed)
{
    bad("{\"rules\":[", "failed to parse source policy pol.json");
    bad("{\"rulez\":[]}", "unknown field \"rulez\"");
    bad("{\"rules\":[{\"action\":\"BLOCK\",\"selector\":{\"identifier\":\"x\"}}]}", "rule 1: invalid action \"BLOCK\"");
    bad("{\"rules\":[{\"action\":\"DENY\"}]}", "rule 1: invalid nil selector");
    bad("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"x\"}}]}",
        "missing destination for convert rule");
    bad("{\"rules\":[{\"action\":\"DENY\",\"selector\":{\"identifier\":\"a**\"}}]}", "invalid wildcard: \"**\"");
    bad("{\"rules\":[{\"action\":\"DENY\",\"selector\":{\"identifier\":\"(\",\"matchType\":\"REGEX\"}}]}",
        "invalid regex \"(\"");
}

Test(source_policy, convert_chain_then_deny)
{
    /* engine_test.go testConvertMultiple and testAllowConvertDeny: each conversion starts the
     * rules over with the new identifier, which a later DENY then judges */
    bl_source_policy *p = load(
        "{\"rules\":["
        "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/busybox:latest\"},"
        "\"updates\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"}},"
        "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"},"
        "\"updates\":{\"identifier\":\"docker-image://docker.io/library/debian:buster\"}},"
        "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/debian:buster\"},"
        "\"updates\":{\"identifier\":\"docker-image://docker.io/library/debian:bullseye\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    cr_assert_eq(eval(p, "docker-image://docker.io/library/busybox:latest", &out, &mut, &err), 0);
    cr_assert_str_eq(out, "docker-image://docker.io/library/debian:bullseye");
    free(out);
    bl_source_policy_free(p);
    p = load("{\"rules\":["
             "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/busybox:latest\"},"
             "\"updates\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"}},"
             "{\"action\":\"ALLOW\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"}},"
             "{\"action\":\"DENY\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/alpine:*\"}}]}");
    cr_assert_eq(eval(p, "docker-image://docker.io/library/busybox:latest", &out, &mut, &err), -EACCES);
    cr_assert(mut);
    cr_assert_str_eq(out, "docker-image://docker.io/library/alpine:latest");
    cr_assert(strstr(err.msg, "source \"docker-image://docker.io/library/alpine:latest\" denied by policy"), "%s",
              err.msg);
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, convert_back_and_forth_is_bounded)
{
    /* testConvertLoop: busybox -> alpine -> busybox … fails with ErrTooManyOps */
    bl_source_policy *p = load(
        "{\"rules\":["
        "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/busybox:latest\"},"
        "\"updates\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"}},"
        "{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"docker-image://docker.io/library/alpine:latest\"},"
        "\"updates\":{\"identifier\":\"docker-image://docker.io/library/busybox:latest\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    cr_assert_eq(eval(p, "docker-image://docker.io/library/busybox:latest", &out, &mut, &err), -ELOOP);
    cr_assert(strstr(err.msg, "too many operations"), "%s", err.msg);
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, regex_as_buildkit_writes_it)
{
    /* testConvertRegex's selector, escapes included; $$ is a dollar, ${1} a group */
    bl_source_policy *p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"docker\\\\-image://docker\\\\.io/library/golang:(.*)\",\"matchType\":\"REGEX\"},"
                               "\"updates\":{\"identifier\":\"docker-image://fakereg.io/library/golang:${1}\"}}]}");
    char *out;
    bool mut;
    cb_err err;
    cr_assert_eq(eval(p, "docker-image://docker.io/library/golang:1.19", &out, &mut, &err), 0, "%s", err.msg);
    cr_assert_str_eq(out, "docker-image://fakereg.io/library/golang:1.19");
    free(out);
    bl_source_policy_free(p);
    p = load("{\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":\"a(b)\",\"matchType\":\"REGEX\"},"
             "\"updates\":{\"identifier\":\"[$$1${1}$1x]\"}}]}");
    /* every match replaced; $1x is the (unknown) group named 1x, empty as in Go */
    cr_assert_eq(eval(p, "https://h/ab/ab", &out, &mut, &err), 0);
    cr_assert_str_eq(out, "https://h/[$1b]/[$1b]");
    free(out);
    bl_source_policy_free(p);
}

Test(source_policy, empty_update_identifier_keeps_the_source)
{
    /* mutate.go: no updates.identifier means the selector's, formatted against the source */
    bl_source_policy *p = load("{\"version\":1,\"rules\":[{\"action\":\"CONVERT\",\"selector\":{\"identifier\":"
                               "\"https://example.com/*\"},\"updates\":{\"attrs\":{\"http.checksum\":\"sha256:1\"}}}]}");
    bl_source s;
    bl_source_init(&s, "https://example.com/foo");
    bool mut;
    cb_err err;
    cr_assert_eq(bl_source_policy_evaluate(p, &s, &mut, &err), 0, "%s", err.msg);
    cr_assert(mut);
    /* the WILDCARD's pattern as the format has no $N: it is the selector text itself */
    cr_assert_str_eq(s.identifier, "https://example.com/*");
    bl_source_free(&s);
    bl_source_policy_free(p);
}
