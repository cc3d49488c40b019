/* The frontend a Dockerfile asks for: `# syntax=REF [ARGS]` or `--build-arg BUILDKIT_SYNTAX=REF
 * [ARGS]` (which wins, as in BuildKit's frontend/dockerfile/builder/build.go). BuildKit pulls REF
 * and runs it as a gateway frontend. cbuild runs no frontend images: its own parser and planner
 * are the Dockerfile frontend, so docker/dockerfile and docker/dockerfile-upstream of any tag or
 * digest (1, 1.7, 1-labs, master, @sha256:…) are built by it. Any other frontend is refused:
 * building its input as a Dockerfile would silently give something other than what was asked. */
#include "internal.h"

#include <string.h>

#include "oci.h"

static bool syntax_is_dockerfile(const oci_ref *r)
{
    return !strcmp(r->registry, "docker.io") &&
           (!strcmp(r->repository, "docker/dockerfile") || !strcmp(r->repository, "docker/dockerfile-upstream"));
}

/* REF of "REF ARGS…" (BuildKit splits the cmdline at its first space), normalised. */
static int syntax_ref(const char *cmdline, oci_ref *r, cb_err *err)
{
    const char *s = cmdline + strspn(cmdline, " \t");
    cleanup_free char *word = xstrndup(s, strcspn(s, " \t"));
    if (!*word)
        return cb_fail(err, "no frontend image named");
    return oci_ref_parse(word, r, err);
}

int bl_syntax_check(const bl_build *b, cb_err *err)
{
    const char *arg = NULL;
    for (size_t i = 0; i < b->build_args.n; i++)
        if (cb_str_has_prefix(b->build_args.v[i], "BUILDKIT_SYNTAX="))
            arg = b->build_args.v[i] + strlen("BUILDKIT_SYNTAX=");
    const char *cmdline = arg ? arg : b->file->syntax;
    if (!cmdline)
        return 0;
    oci_ref r = {0};
    int rc = syntax_ref(cmdline, &r, err);
    if (rc == 0 && !syntax_is_dockerfile(&r)) {
        cleanup_free char *full = oci_ref_string(&r);
        rc = cb_fail(err,
                     "frontend %s: cbuild runs no frontend images; it builds Dockerfiles itself, in place of "
                     "docker/dockerfile only: remove the syntax directive, or pass "
                     "--build-arg BUILDKIT_SYNTAX=docker/dockerfile:1 to build this file as a Dockerfile",
                     full);
    }
    oci_ref_free(&r);
    if (rc == 0)
        return 0;
    if (arg)
        return cb_error_wrap(err, "failed with build-arg:BUILDKIT_SYNTAX = %s", arg);
    return cb_error_wrap(err, "%s:%d", b->ctx.dockerfile_name, b->file->syntax_line);
}
