/* What a build reads of a local named context (bl_named_select): dockerfile2llb's FollowPaths
 * for the context `foo`, from a real plan — the sources of COPY --from and RUN --mount=from,
 * through stages built on the context, and the whole context once such a stage runs a command
 * or is the target. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool named_cb(void *ud, const char *name)
{
    return bl_named_find(ud, name) != NULL;
}

typedef struct selection {
    bool whole;
    char paths[256]; /* the follow paths joined with ' ' */
} selection;

static selection select_for(const char *dockerfile, const char *target)
{
    bl_build b;
    memset(&b, 0, sizeof b);
    cb_err err;
    cb_strv specs;
    cb_strv_init(&specs);
    cb_strv_push(&specs, "foo=/tmp");
    cr_assert_eq(bl_named_parse(&b, &specs, &err), 0, "%s", err.msg);
    cb_strv_free(&specs);
    df_file *f;
    cr_assert_eq(df_parse(dockerfile, strlen(dockerfile), "Dockerfile", &f, &err), 0, "%s", err.msg);
    df_plan_opts po = {.target = target, .named_context = named_cb, .ud = &b};
    df_plan *plan;
    cr_assert_eq(df_plan_new(f, &po, &plan, &err), 0, "%s", err.msg);
    bl_named_select(&b, plan);
    selection s = {.whole = b.named[0].whole};
    for (size_t i = 0; i < b.named[0].follow.n; i++)
        snprintf(s.paths + strlen(s.paths), sizeof s.paths - strlen(s.paths), "%s%s", i ? " " : "",
                 b.named[0].follow.v[i]);
    df_plan_free(plan);
    df_file_free(f);
    bl_named_free(&b);
    return s;
}

static const char *base = "FROM scratch AS copy_from\n"
                          "COPY --from=foo /foo /\n"
                          "FROM busybox AS run_mount\n"
                          "RUN --mount=from=foo,src=/foo,target=/in/foo cp /in/foo /foo\n"
                          "FROM foo AS image_source\n"
                          "COPY --from=busybox / /\n"
                          "RUN cat /foo > /bar\n"
                          "FROM scratch AS all\n"
                          "COPY --link --from=copy_from /foo /foo.b\n"
                          "COPY --link --from=run_mount /foo /foo.c\n"
                          "COPY --link --from=image_source /bar /foo.d\n";

Test(named_select, copy_and_mount_sources)
{
    selection s = select_for(base, "copy_from");
    cr_assert(!s.whole);
    cr_assert_str_eq(s.paths, "foo");
    s = select_for(base, "run_mount");
    cr_assert(!s.whole);
    cr_assert_str_eq(s.paths, "foo");
}

Test(named_select, stage_on_the_context_that_runs)
{
    cr_assert(select_for(base, "image_source").whole);
    cr_assert(select_for(base, "all").whole);
}

/* a stage called foo is replaced by the context: uses through it count the same */
Test(named_select, replaced_stage)
{
    cleanup_free char *df = xasprintf("FROM scratch AS foo\nCOPY <<EOF /foo\ntest\nEOF\n%s", base);
    selection s = select_for(df, "copy_from");
    cr_assert(!s.whole);
    cr_assert_str_eq(s.paths, "foo");
    cr_assert(select_for(df, "image_source").whole);
}

/* sources cleaned as path.Join("/", src), patterns kept, each once; a stage built on the
 * context that only copies out of it (and is not the target) narrows it too */
Test(named_select, cleaned_patterns_and_derived_stage)
{
    selection s = select_for("FROM foo AS sub\n"
                             "ENV X=1\n"
                             "FROM scratch\n"
                             "COPY --from=foo ./a/../b/./c* /x/\n"
                             "COPY --from=foo /b/c* /y/\n"
                             "COPY --from=sub /etc/conf /z\n",
                             NULL);
    cr_assert(!s.whole);
    cr_assert_str_eq(s.paths, "b/c* etc/conf");
}

/* the root (a mount without src, COPY of "/"), or the context as the target: everything */
Test(named_select, root_or_target)
{
    cr_assert(select_for("FROM busybox\nRUN --mount=from=foo,target=/in ls /in\n", NULL).whole);
    cr_assert(select_for("FROM scratch\nCOPY --from=foo / /\n", NULL).whole);
    cr_assert(select_for("FROM foo\n", NULL).whole);
}

/* stages the target doesn't need add nothing */
Test(named_select, unneeded_stage)
{
    selection s = select_for("FROM foo AS unused\nRUN true\nFROM scratch\nCOPY --from=foo /only /\n", NULL);
    cr_assert(!s.whole);
    cr_assert_str_eq(s.paths, "only");
}
