/* Cache keys (builder/key.c) of RUN and COPY/ADD steps computed from a real plan and a real
 * context directory: the same definition gives the same key, every input that changes the
 * result changes the key, and what BuildKit leaves out (mtimes, proxy ARGs, secret values)
 * never does. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

typedef struct kcase {
    const char *dockerfile;
    const char *build_args[4]; /* --build-arg K=V */
    const char *network;       /* --network */
    const char *user, *workdir;
    const char *env_k, *env_v; /* ENV in the parent config */
    const char *parent;        /* parent key (default "sha256:parent") */
    const char *from_key;      /* key of the stage a COPY --from / mount from= names */
    const char *secret_src;    /* --secret id=s,src=PATH */
} kcase;

static char *mkctx(void)
{
    char *d = xstrdup("/tmp/cbuild-key-XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void put(const char *dir, const char *name, const char *content, mode_t mode)
{
    cleanup_free char *p = cb_path_join(dir, name);
    cb_err err;
    cr_assert_eq(cb_write_file_atomic(p, content, strlen(content), mode, &err), 0, "%s", err.msg);
    cr_assert_eq(chmod(p, mode), 0);
}

static void rmctx(char *dir)
{
    cb_err err;
    cb_rm_rf(dir, &err);
    free(dir);
}

/* The key of the last filesystem step of the last stage. */
static void step_key(const char *dir, const kcase *c, char key[CB_DIGEST_STR_LEN])
{
    put(dir, "Dockerfile", c->dockerfile, 0644);
    cb_err err;
    builder_opts o = {.root = dir, .context = dir, .network = c->network};
    bl_build b;
    memset(&b, 0, sizeof b);
    b.opts = &o;
    b.epoch = 0;
    pthread_mutex_init(&b.lock, NULL);
    cb_strv_init(&b.secrets_id);
    cb_strv_init(&b.secrets_src);
    if (c->secret_src) {
        cb_strv_push(&b.secrets_id, "s");
        cb_strv_push(&b.secrets_src, c->secret_src);
    }
    b.images = bl_resolver_new(&b);
    cr_assert_eq(bl_context_open(dir, NULL, dir, NULL, &b.ctx, &err), 0, "%s", err.msg);
    cr_assert_eq(df_parse(b.ctx.dockerfile.data, b.ctx.dockerfile.len, "Dockerfile", &b.file, &err), 0, "%s",
                 err.msg);
    size_t nba = 0;
    while (nba < 4 && c->build_args[nba])
        nba++;
    df_plan_opts po = {.build_args = c->build_args, .n_build_args = nba};
    bl_solve sv = {.b = &b, .platform = "linux/amd64"};
    cr_assert_eq(df_plan_new(b.file, &po, &sv.plan, &err), 0, "%s", err.msg);
    sv.jobs = xcalloc(sv.plan->n_stages, sizeof *sv.jobs);
    for (size_t i = 0; i < sv.plan->n_stages; i++) {
        sv.jobs[i].done = true;
        sv.jobs[i].solve = &sv;
        sv.jobs[i].platform = (char *)"linux/amd64";
        cleanup_free char *k = xasprintf("stage %zu %s", i, c->from_key ? c->from_key : "");
        cb_sha256_buf(k, strlen(k), sv.jobs[i].key);
    }
    const df_stage *st = &sv.plan->stages[sv.plan->n_stages - 1];
    const df_cmd *cmd = NULL;
    for (size_t i = 0; i < st->n_cmds; i++)
        if (st->cmds[i].kind == DF_CMD_RUN || st->cmds[i].kind == DF_CMD_COPY ||
            st->cmds[i].kind == DF_CMD_ADD)
            cmd = &st->cmds[i];
    cr_assert_not_null(cmd, "no RUN/COPY/ADD in the Dockerfile");
    oci_config cfg;
    oci_config_init(&cfg);
    if (c->user)
        cfg.user = xstrdup(c->user);
    if (c->workdir)
        cfg.working_dir = xstrdup(c->workdir);
    if (c->env_k)
        oci_config_env_set(&cfg, c->env_k, c->env_v);
    bl_exec_in in = {
        .b = &b,
        .job = &sv.jobs[sv.plan->n_stages - 1],
        .cmd = cmd,
        .config = &cfg,
        .parent_key = c->parent ? c->parent : "sha256:parent"};
    int rc = cmd->kind == DF_CMD_RUN ? bl_run_key(&in, key, &err) : bl_copy_key(&in, key, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert(cb_digest_valid(key));
    oci_config_free(&cfg);
    free(sv.jobs);
    df_plan_free(sv.plan);
    df_file_free(b.file);
    bl_context_close(&b.ctx);
    bl_resolver_free(b.images);
    cb_strv_free(&b.secrets_id);
    cb_strv_free(&b.secrets_src);
    pthread_mutex_destroy(&b.lock);
}

/* Keys of two cases, each in a fresh context holding a.txt = "A" (0644). */
static void keys2(const kcase *x, const kcase *y, char kx[CB_DIGEST_STR_LEN], char ky[CB_DIGEST_STR_LEN])
{
    char *d1 = mkctx(), *d2 = mkctx();
    put(d1, "a.txt", "A", 0644);
    put(d2, "a.txt", "A", 0644);
    step_key(d1, x, kx);
    step_key(d2, y, ky);
    rmctx(d1);
    rmctx(d2);
}

static void assert_same(const kcase *x, const kcase *y)
{
    char kx[CB_DIGEST_STR_LEN], ky[CB_DIGEST_STR_LEN];
    keys2(x, y, kx, ky);
    cr_assert_str_eq(kx, ky);
}

static void assert_busts(const kcase *x, const kcase *y)
{
    char kx[CB_DIGEST_STR_LEN], ky[CB_DIGEST_STR_LEN];
    keys2(x, y, kx, ky);
    cr_assert_str_neq(kx, ky);
}

#define RUN_DF(line) "FROM scratch\n" line "\n"

/* ---------- RUN ---------- */

Test(run_key, same_definition_same_key)
{
    kcase a = {
        .dockerfile = RUN_DF("RUN --mount=type=cache,target=/c make all"), .user = "u", .workdir = "/w"};
    assert_same(&a, &a);
}

Test(run_key, command_busts)
{
    kcase a = {.dockerfile = RUN_DF("RUN echo a")}, b = {.dockerfile = RUN_DF("RUN echo b")};
    assert_busts(&a, &b);
    kcase c = {.dockerfile = RUN_DF("RUN [\"echo\", \"a\"]")};
    assert_busts(&a, &c);
}

Test(run_key, env_busts)
{
    kcase a = {.dockerfile = RUN_DF("RUN env"), .env_k = "K", .env_v = "1"};
    kcase b = {.dockerfile = RUN_DF("RUN env"), .env_k = "K", .env_v = "2"};
    assert_busts(&a, &b);
    kcase c = {.dockerfile = RUN_DF("ARG X\nRUN env"), .build_args = {"X=1"}};
    kcase d = {.dockerfile = RUN_DF("ARG X\nRUN env"), .build_args = {"X=2"}};
    assert_busts(&c, &d);
}

Test(run_key, user_and_workdir_bust)
{
    kcase a = {.dockerfile = RUN_DF("RUN id"), .user = "alice"},
          b = {.dockerfile = RUN_DF("RUN id"), .user = "bob"};
    assert_busts(&a, &b);
    kcase c = {.dockerfile = RUN_DF("RUN pwd"), .workdir = "/a"},
          d = {.dockerfile = RUN_DF("RUN pwd"), .workdir = "/b"};
    assert_busts(&c, &d);
}

Test(run_key, mounts_bust)
{
    kcase none = {.dockerfile = RUN_DF("RUN ls")};
    kcase c1 = {.dockerfile = RUN_DF("RUN --mount=type=cache,target=/c ls")};
    kcase c2 = {.dockerfile = RUN_DF("RUN --mount=type=cache,target=/d ls")};
    kcase c3 = {.dockerfile = RUN_DF("RUN --mount=type=cache,target=/c,id=other ls")};
    kcase t1 = {.dockerfile = RUN_DF("RUN --mount=type=tmpfs,target=/c ls")};
    assert_busts(&none, &c1);
    assert_busts(&c1, &c2);
    assert_busts(&c1, &c3);
    assert_busts(&c1, &t1);
}

Test(run_key, bind_from_stage_follows_the_stage_key)
{
    const char *df =
        "FROM scratch AS s\nCOPY a.txt /\nFROM scratch\nRUN --mount=type=bind,from=s,target=/s ls\n";
    kcase a = {.dockerfile = df, .from_key = "x"}, b = {.dockerfile = df, .from_key = "y"};
    assert_same(&a, &a);
    assert_busts(&a, &b);
}

Test(run_key, context_bind_follows_contents_not_mtimes)
{
    kcase a = {.dockerfile = RUN_DF("RUN --mount=type=bind,target=/src ls")};
    char *d = mkctx();
    put(d, "a.txt", "A", 0644);
    char k1[CB_DIGEST_STR_LEN], k2[CB_DIGEST_STR_LEN], k3[CB_DIGEST_STR_LEN];
    step_key(d, &a, k1);
    cleanup_free char *p = cb_path_join(d, "a.txt");
    struct timespec ts[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    step_key(d, &a, k2);
    cr_assert_str_eq(k1, k2);
    put(d, "a.txt", "B", 0644);
    step_key(d, &a, k3);
    cr_assert_str_neq(k1, k3);
    rmctx(d);
}

Test(run_key, network_mode_busts)
{
    kcase def = {.dockerfile = RUN_DF("RUN wget x")};
    kcase flag = {.dockerfile = RUN_DF("RUN --network=none wget x")};
    kcase opt = {.dockerfile = RUN_DF("RUN wget x"), .network = "none"};
    assert_busts(&def, &flag);
    assert_busts(&def, &opt);
    assert_same(&flag, &opt);
}

Test(run_key, secret_ids_bust_but_values_do_not)
{
    kcase a = {.dockerfile = RUN_DF("RUN --mount=type=secret,id=s cat /run/secrets/s")};
    kcase b = {.dockerfile = RUN_DF("RUN --mount=type=secret,id=t cat /run/secrets/s")};
    assert_busts(&a, &b);
    char *d = mkctx();
    put(d, "v1", "first value", 0600);
    put(d, "v2", "second value", 0600);
    cleanup_free char *v1 = cb_path_join(d, "v1");
    cleanup_free char *v2 = cb_path_join(d, "v2");
    kcase s1 = a, s2 = a;
    s1.secret_src = v1;
    s2.secret_src = v2;
    assert_same(&s1, &s2);
    assert_same(&a, &s1);
    rmctx(d);
}

Test(run_key, proxy_args_never_bust)
{
    kcase none = {.dockerfile = RUN_DF("RUN curl x")};
    kcase p1 = {.dockerfile = RUN_DF("RUN curl x"), .build_args = {"HTTP_PROXY=http://a:3128", "no_proxy=a"}};
    kcase p2 = {.dockerfile = RUN_DF("RUN curl x"),
                .build_args = {"HTTP_PROXY=http://b:3128", "https_proxy=b"}};
    assert_same(&none, &p1);
    assert_same(&p1, &p2);
    /* set by ENV it is part of the environment the Dockerfile defines */
    kcase e1 = {.dockerfile = RUN_DF("RUN curl x"), .env_k = "HTTP_PROXY", .env_v = "http://a"};
    kcase e2 = {.dockerfile = RUN_DF("RUN curl x"), .env_k = "HTTP_PROXY", .env_v = "http://b"};
    assert_busts(&e1, &e2);
}

Test(run_key, parent_busts)
{
    kcase a = {.dockerfile = RUN_DF("RUN ls"), .parent = "sha256:one"};
    kcase b = {.dockerfile = RUN_DF("RUN ls"), .parent = "sha256:two"};
    assert_busts(&a, &b);
}

/* ---------- COPY / ADD ---------- */

Test(copy_key, same_definition_same_key_and_mtimes_never_bust)
{
    kcase a = {.dockerfile = RUN_DF("COPY a.txt /dst/")};
    char *d = mkctx();
    put(d, "a.txt", "A", 0644);
    char k1[CB_DIGEST_STR_LEN], k2[CB_DIGEST_STR_LEN];
    step_key(d, &a, k1);
    cleanup_free char *p = cb_path_join(d, "a.txt");
    struct timespec ts[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    step_key(d, &a, k2);
    cr_assert_str_eq(k1, k2);
    rmctx(d);
    assert_same(&a, &a);
}

Test(copy_key, contents_and_modes_bust)
{
    kcase a = {.dockerfile = RUN_DF("COPY a.txt /dst/")};
    char *d = mkctx();
    put(d, "a.txt", "A", 0644);
    char k1[CB_DIGEST_STR_LEN], k2[CB_DIGEST_STR_LEN], k3[CB_DIGEST_STR_LEN];
    step_key(d, &a, k1);
    put(d, "a.txt", "a", 0644); /* same size, other bytes */
    step_key(d, &a, k2);
    put(d, "a.txt", "a", 0755);
    step_key(d, &a, k3);
    cr_assert_str_neq(k1, k2);
    cr_assert_str_neq(k2, k3);
    rmctx(d);
}

Test(copy_key, dockerignored_files_never_bust)
{
    kcase a = {.dockerfile = RUN_DF("COPY . /dst/")};
    char *d = mkctx();
    put(d, ".dockerignore", "junk\n", 0644);
    put(d, "a.txt", "A", 0644);
    put(d, "junk", "1", 0644);
    char k1[CB_DIGEST_STR_LEN], k2[CB_DIGEST_STR_LEN], k3[CB_DIGEST_STR_LEN];
    step_key(d, &a, k1);
    put(d, "junk", "22", 0644);
    step_key(d, &a, k2);
    cr_assert_str_eq(k1, k2);
    put(d, "b.txt", "B", 0644);
    step_key(d, &a, k3);
    cr_assert_str_neq(k1, k3);
    rmctx(d);
}

Test(copy_key, flags_dest_and_parent_bust)
{
    kcase base = {.dockerfile = RUN_DF("COPY a.txt /dst/")};
    kcase chown = {.dockerfile = RUN_DF("COPY --chown=1:1 a.txt /dst/")};
    kcase chown2 = {.dockerfile = RUN_DF("COPY --chown=2:2 a.txt /dst/")};
    kcase chmod = {.dockerfile = RUN_DF("COPY --chmod=0600 a.txt /dst/")};
    kcase link = {.dockerfile = RUN_DF("COPY --link a.txt /dst/")};
    kcase dest = {.dockerfile = RUN_DF("COPY a.txt /other/")};
    kcase add = {.dockerfile = RUN_DF("ADD a.txt /dst/")};
    kcase parent = {.dockerfile = RUN_DF("COPY a.txt /dst/"), .parent = "sha256:other"};
    kcase wd = {.dockerfile = RUN_DF("COPY a.txt dst/"), .workdir = "/a"};
    kcase wd2 = {.dockerfile = RUN_DF("COPY a.txt dst/"), .workdir = "/b"};
    assert_busts(&base, &chown);
    assert_busts(&chown, &chown2);
    assert_busts(&base, &chmod);
    assert_busts(&base, &link);
    assert_busts(&base, &dest);
    assert_busts(&base, &add);
    assert_busts(&base, &parent);
    assert_busts(&wd, &wd2);
}

Test(copy_key, from_stage_follows_the_stage_key)
{
    const char *df = "FROM scratch AS s\nCOPY a.txt /\nFROM scratch\nCOPY --from=s /a.txt /b.txt\n";
    kcase a = {.dockerfile = df, .from_key = "x"}, b = {.dockerfile = df, .from_key = "y"};
    assert_same(&a, &a);
    assert_busts(&a, &b);
}

Test(copy_key, proxy_args_never_bust)
{
    kcase a = {.dockerfile = RUN_DF("COPY a.txt /dst/")};
    kcase b = {.dockerfile = RUN_DF("COPY a.txt /dst/"), .build_args = {"HTTP_PROXY=http://a:3128"}};
    assert_same(&a, &b);
}

Test(workdir_key, parent_dir_and_user_bust)
{
    char k[4][CB_DIGEST_STR_LEN];
    bl_workdir_key("sha256:p", "/w", NULL, k[0]);
    bl_workdir_key("sha256:q", "/w", NULL, k[1]);
    bl_workdir_key("sha256:p", "/x", NULL, k[2]);
    bl_workdir_key("sha256:p", "/w", "alice", k[3]);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            cr_assert_str_neq(k[i], k[j]);
    char again[CB_DIGEST_STR_LEN];
    bl_workdir_key("sha256:p", "/w", "", again);
    cr_assert_str_eq(k[0], again);
}
