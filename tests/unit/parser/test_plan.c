/* Stage plan: ARG scoping, build args, dependencies, typed options, errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

typedef struct built {
    df_file *f;
    df_plan *p;
} built;

static int plan_of(const char *src, const df_plan_opts *o, built *b, cb_err *err)
{
    memset(b, 0, sizeof(*b));
    int rc = df_parse(src, strlen(src), "Dockerfile", &b->f, err);
    if (rc < 0)
        return rc;
    return df_plan_new(b->f, o, &b->p, err);
}

static built ok(const char *src, const df_plan_opts *o)
{
    built b;
    cb_err err = {0};
    cr_assert_eq(plan_of(src, o, &b, &err), 0, "plan failed: %s", err.msg);
    return b;
}

static void bad(const char *src, const df_plan_opts *o, const char *want)
{
    built b;
    cb_err err = {0};
    cr_assert_lt(plan_of(src, o, &b, &err), 0, "expected failure: %s", src);
    cr_assert(strstr(err.msg, want), "error \"%s\" lacks \"%s\"", err.msg, want);
    df_plan_free(b.p);
    df_file_free(b.f);
}

static void done(built *b)
{
    df_plan_free(b->p);
    df_file_free(b->f);
}

static const char *envv(const cb_strv *env, const char *k)
{
    size_t kl = strlen(k);
    const char *r = NULL;
    for (size_t i = 0; i < env->n; i++)
        if (!strncmp(env->v[i], k, kl) && env->v[i][kl] == '=')
            r = env->v[i] + kl + 1;
    return r;
}

Test(plan, global_args_apply_to_from_only)
{
    built b = ok("ARG TAG=3.19\nARG IMG=alpine:${TAG}\nFROM $IMG\nRUN echo $TAG\nLABEL t=$TAG\nARG TAG\nLABEL u=$TAG\n",
                 NULL);
    cr_assert_str_eq(b.p->stages[0].base, "alpine:3.19");
    const df_cmd *l1 = &b.p->stages[0].cmds[1];
    cr_assert_str_eq(l1->kvs[0].value, "");
    const df_cmd *l2 = &b.p->stages[0].cmds[3];
    cr_assert_str_eq(l2->kvs[0].value, "3.19"); /* redeclared without default: inherits the global value */
    cr_assert_eq(b.p->n_global_args, 2);
    done(&b);
}

Test(plan, build_arg_overrides)
{
    const char *ba[] = {"TAG=edge", "V=2", "UNUSED=1", "HTTP_PROXY=http://p:3128"};
    df_plan_opts o = {.build_args = ba, .n_build_args = 4};
    built b = ok("ARG TAG=3.19\nFROM alpine:$TAG\nARG V=1\nENV X=$V\nRUN env\n", &o);
    cr_assert_str_eq(b.p->stages[0].base, "alpine:edge");
    cr_assert_str_eq(b.p->stages[0].cmds[1].kvs[0].value, "2");
    cr_assert_str_eq(envv(&b.p->stages[0].cmds[2].env, "X"), "2");
    cr_assert_str_eq(envv(&b.p->stages[0].cmds[2].build_args, "V"), "2");
    cr_assert_eq(b.p->stages[0].cmds[1].env.n, 0); /* only RUN carries the state */
    cr_assert_eq(b.p->warnings.n, 1);
    cr_assert_str_eq(b.p->warnings.v[0].msg, "[Warning] One or more build-args [UNUSED] were not consumed");
    done(&b);
}

Test(plan, platform_args)
{
    df_plan_opts o = {.target_platform = "linux/arm64/v8"};
    built b = ok("FROM --platform=$BUILDPLATFORM golang AS b\nARG TARGETARCH TARGETVARIANT BUILDOS\n"
                 "RUN echo $TARGETARCH\nFROM --platform=${TARGETPLATFORM} alpine\nARG TARGETPLATFORM\nENV P=$TARGETPLATFORM\nRUN x\n",
                 &o);
    cr_assert_str_eq(b.p->stages[0].platform, "linux/amd64");
    cr_assert_str_eq(b.p->stages[1].platform, "linux/arm64/v8");
    const df_cmd *a = &b.p->stages[0].cmds[0];
    cr_assert_str_eq(a->kvs[0].value, "arm64");
    cr_assert_str_eq(a->kvs[1].value, "v8");
    cr_assert_str_eq(a->kvs[2].value, "linux");
    cr_assert_str_eq(envv(&b.p->stages[1].cmds[2].env, "P"), "linux/arm64/v8");
    done(&b);
}

Test(plan, platform_normalization)
{
    df_plan_opts o = {.target_platform = "aarch64"};
    built b = ok("FROM --platform=linux a AS x\nFROM --platform=x86_64 a AS y\nFROM --platform=linux/armhf a AS z\n"
                 "FROM --platform=linux/arm/7 a\nARG TARGETPLATFORM TARGETARCH\nEXPOSE 127.0.0.1:8080:80/udp\n",
                 &o);
    cr_assert_str_eq(b.p->stages[0].platform, "linux/amd64");
    cr_assert_str_eq(b.p->stages[1].platform, "linux/amd64");
    cr_assert_str_eq(b.p->stages[2].platform, "linux/arm");
    cr_assert_str_eq(b.p->stages[3].platform, "linux/arm/v7");
    cr_assert_str_eq(b.p->stages[3].cmds[0].kvs[0].value, "linux/arm64");
    cr_assert_str_eq(b.p->stages[3].cmds[0].kvs[1].value, "arm64");
    cr_assert_eq(b.p->stages[3].cmds[1].ports[0].start, 80);
    cr_assert_str_eq(b.p->stages[3].cmds[1].ports[0].proto, "udp");
    done(&b);
}

/* platforms.Format(platforms.Normalize(p)): the names BuildKit keys a platform's results by */
Test(plan, platform_canonical)
{
    static const char *const cases[][2] = {{"linux/arm", "linux/arm/v7"},    {"linux/arm/v6", "linux/arm/v6"},
                                           {"linux/arm64/v8", "linux/arm64"}, {"linux/arm64", "linux/arm64"},
                                           {"windows/amd64", "windows/amd64"}, {"linux/s390x", "linux/s390x"},
                                           {"windows(1.2.3)/bar", "windows(1.2.3)/bar"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *c = df_platform_canonical(cases[i][0]);
        cr_assert_str_eq(c, cases[i][1], "%s", cases[i][0]);
        free(c);
    }
    char *n = NULL;
    cb_err err = {0};
    cr_assert_eq(df_platform_normalize("Windows(10.0.1+f)/AMD64", &n, &err), 0, "%s", err.msg);
    cr_expect_str_eq(n, "windows(10.0.1)/amd64");
    free(n);
}

Test(plan, env_overrides_and_expansion_kinds)
{
    built b = ok("FROM a\nARG X=arg\nENV X=env\nWORKDIR /w/$X\nRUN echo $X\nCMD echo $X\nUSER ${X:-u}\n"
                 "VOLUME [\"/v/$X\"]\nSTOPSIGNAL SIG$X\nEXPOSE ${P:-80}/udp 8000-8002\n",
                 NULL);
    const df_stage *s = &b.p->stages[0];
    cr_assert_str_eq(s->cmds[2].args.v[0], "/w/env");
    cr_assert_str_eq(s->cmds[3].args.v[0], "echo $X"); /* RUN: the shell expands */
    cr_assert_str_eq(s->cmds[4].args.v[0], "echo $X");
    cr_assert_str_eq(s->cmds[5].args.v[0], "env");
    cr_assert_str_eq(s->cmds[6].args.v[0], "/v/env");
    cr_assert_str_eq(s->cmds[7].args.v[0], "SIGenv");
    const df_cmd *e = &s->cmds[8];
    cr_assert_eq(e->n_ports, 2);
    cr_assert_eq(e->ports[0].start, 80);
    cr_assert_str_eq(e->ports[0].proto, "udp");
    cr_assert_eq(e->ports[1].start, 8000);
    cr_assert_eq(e->ports[1].end, 8002);
    cr_assert_str_eq(e->ports[1].proto, "tcp");
    cr_assert(df_keyword_expands("copy") && df_keyword_expands("workdir") && !df_keyword_expands("run") &&
              !df_keyword_expands("cmd"));
    done(&b);
}

Test(plan, dependencies_and_needed_stages)
{
    const char *src = "FROM alpine AS base\nRUN x\nFROM base AS build\nRUN y\nFROM scratch AS tools\nCOPY a b\n"
                      "FROM busybox AS unused\nRUN z\nFROM base\nCOPY --from=build /o /o\n"
                      "RUN --mount=type=bind,from=tools,target=/t ls /t\nCOPY --from=nginx:1 /etc/nginx /n\n"
                      "COPY --from=0 /x /y\n";
    built b = ok(src, NULL);
    cr_assert_eq(b.p->n_stages, 5);
    cr_assert_eq(b.p->target, 4);
    const df_stage *f = &b.p->stages[4];
    cr_assert_eq(f->base_stage, 0);
    cr_assert_eq(f->n_deps, 3);
    cr_assert_eq(f->deps[0], 0);
    cr_assert_eq(f->deps[1], 1);
    cr_assert_eq(f->deps[2], 2);
    cr_assert(b.p->stages[0].needed && b.p->stages[1].needed && b.p->stages[2].needed);
    cr_assert(!b.p->stages[3].needed);
    cr_assert_eq(f->cmds[0].from_stage, 1);
    cr_assert_eq(f->cmds[1].mounts[0].from_stage, 2);
    cr_assert_eq(f->cmds[2].from_stage, -1);
    cr_assert_str_eq(f->cmds[2].from, "nginx:1");
    cr_assert_eq(f->cmds[3].from_stage, 0);
    done(&b);

    df_plan_opts o = {.target = "TOOLS"};
    b = ok(src, &o);
    cr_assert_eq(b.p->target, 2);
    cr_assert(!b.p->stages[0].needed && b.p->stages[2].needed);
    cr_assert_eq(df_plan_find_stage(b.p, "build"), 1);
    cr_assert_eq(df_plan_find_stage(b.p, "3"), 3);
    cr_assert_eq(df_plan_find_stage(b.p, "nope"), -1);
    done(&b);
}

Test(plan, run_mount_options_and_defaults)
{
    built b = ok("FROM a\nARG D=/cache\nRUN --mount=type=cache,target=$D,sharing=locked,mode=0700,uid=10 "
                 "--mount=target=/src --mount=type=bind,src=x,dst=/y,rw --mount=type=tmpfs,target=/t,size=64m "
                 "--mount=type=secret,id=npm,required,env=NPM_TOKEN --mount=type=secret,target=/etc/token "
                 "--mount=type=ssh --mount=type=ssh,id=gh,required=true --network=none --security=insecure true\n",
                 NULL);
    const df_cmd *c = &b.p->stages[0].cmds[1];
    cr_assert_eq(c->n_mounts, 8);
    const df_mount *m = c->mounts;
    cr_assert_eq(m[0].type, DF_MOUNT_CACHE);
    cr_assert_str_eq(m[0].target, "/cache");
    cr_assert_str_eq(m[0].id, "/cache");
    cr_assert_eq(m[0].sharing, DF_SHARING_LOCKED);
    cr_assert_eq(m[0].mode, 0700);
    cr_assert_eq(m[0].uid, 10);
    cr_assert(!m[0].readonly);
    cr_assert_eq(m[1].type, DF_MOUNT_BIND);
    cr_assert(m[1].readonly);
    cr_assert_null(m[1].from);
    cr_assert_str_eq(m[2].source, "x");
    cr_assert_str_eq(m[2].target, "/y");
    cr_assert(!m[2].readonly);
    cr_assert_eq(m[3].size, 64ull << 20);
    cr_assert_str_eq(m[4].id, "npm");
    cr_assert(m[4].required);
    cr_assert_str_eq(m[4].env, "NPM_TOKEN");
    cr_assert_null(m[4].target); /* env only: no file */
    cr_assert_str_eq(m[5].id, "token");
    cr_assert_str_eq(m[5].target, "/etc/token");
    cr_assert_eq(m[5].mode, 0400);
    cr_assert_str_eq(m[6].id, "default");
    cr_assert_str_eq(m[6].target, "/run/buildkit/ssh_agent.0");
    cr_assert_eq(m[6].mode, 0600);
    cr_assert_str_eq(m[7].target, "/run/buildkit/ssh_agent.1");
    cr_assert(m[7].required);
    cr_assert_str_eq(c->network, "none");
    cr_assert_str_eq(c->security, "insecure");
    done(&b);
}

Test(plan, run_mount_errors)
{
    bad("FROM a\nRUN --mount=type=cahce,target=/x true\n", NULL, "unsupported mount type \"cahce\" (did you mean cache?)");
    bad("FROM a\nRUN --mount=type=bind,target=/x,mode=0600 true\n", NULL, "mode not allowed for \"bind\" type mounts");
    bad("FROM a\nRUN --mount=type=bind,target=/x,sharing=locked true\n", NULL, "invalid cache sharing set for bind mount");
    bad("FROM a\nRUN --mount=type=secret,from=x,id=a true\n", NULL, "secret mount should not have a from");
    bad("FROM a\nRUN --mount=type=secret,source=a,id=b true\n", NULL, "both source and id can't be set");
    bad("FROM a\nRUN --mount=type=cache true\n", NULL, "requires a target");
    bad("FROM a\nRUN --mount=type=cache,target=/x,tagret=/y true\n", NULL, "unexpected key 'tagret'");
    bad("FROM a\nRUN --mount=type=bind,target=/x,from=$X true\n", NULL, "doesn't support variable expansion");
    bad("FROM a\nRUN --mount=type=bind,target=/x,required true\n", NULL, "unexpected key 'required' for mount type 'bind'");
    bad("FROM a\nRUN --network=bridge true\n", NULL, "unsupported network mode \"bridge\"");
    bad("FROM a\nRUN --security=x true\n", NULL, "unsupported security mode");
    bad("FROM a\nRUN --mount=type=cache,target=/x,uid=abc true\n", NULL, "invalid value abc for uid");
}

/* BuildKit's TestParseDevice cases, and its errors */
Test(plan, run_device)
{
    built b = ok("FROM a\nRUN --device=vendor1.com/device=foo --device=vendor1.com/device "
                 "--device=vendor1.com/device=foo,required --device=vendor1.com/device=foo,required=true "
                 "--device=vendor1.com/device=foo,required=false --device=name=vendor1.com/device=foo "
                 "--device=name=vendor1.com/device=foo,REQUIRED --device=vendor1.com/device=b,required=1 true\n",
                 NULL);
    const df_cmd *c = &b.p->stages[0].cmds[0];
    cr_assert_eq(c->n_devices, 8);
    static const char *const names[] = {"vendor1.com/device=foo", "vendor1.com/device", "vendor1.com/device=foo",
                                        "vendor1.com/device=foo", "vendor1.com/device=foo", "vendor1.com/device=foo",
                                        "vendor1.com/device=foo", "vendor1.com/device=b"};
    static const bool required[] = {false, false, true, true, false, false, true, true};
    for (size_t i = 0; i < 8; i++) {
        cr_assert_str_eq(c->devices[i].name, names[i], "device %zu", i);
        cr_assert_eq(c->devices[i].required, required[i], "device %zu", i);
    }
    done(&b);
    bad("FROM a\nRUN --device=vendor1.com/device=foo,name=vendor2.com/device=bar true\n", NULL,
        "device name already set to vendor1.com/device=foo");
    bad("FROM a\nRUN --device=vendor1.com/device=foo,required=maybe true\n", NULL, "invalid value for required: maybe");
    bad("FROM a\nRUN --device=vendor1.com/device=foo,optional true\n", NULL,
        "invalid field 'optional' must be a key=value pair");
    bad("FROM a\nRUN --device=vendor1.com/device=foo,requird=true true\n", NULL,
        "unexpected key 'requird' in 'requird=true' (did you mean required?)");
    bad("FROM a\nRUN --device= true\n", NULL, "--device= names no device");
    bad("FROM a\nRUN --device=required true\n", NULL, "--device=required names no device");
    bad("FROM a\nRUN --device true\n", NULL, "missing a value on flag: --device");
}

Test(plan, copy_add_options)
{
    built b = ok("FROM a\nARG U=app\nCOPY --chown=$U:$U --chmod=0755 --link --parents --exclude=*.md --exclude=.git "
                 "src/ lib/ /app/\nADD --checksum=sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 --keep-git-dir https://x/y.tar.gz /d\n"
                 "ADD --exclude=*.tmp --link git@github.com:a/b.git /src\nCOPY <<EOF /etc/x\nhi $U\nEOF\n"
                 "COPY <<'EOF' /etc/y\nhi $U\nEOF\n",
                 NULL);
    const df_stage *s = &b.p->stages[0];
    const df_cmd *c = &s->cmds[1];
    cr_assert_str_eq(c->chown, "app:app");
    cr_assert_str_eq(c->chmod, "0755");
    cr_assert(c->link && c->parents);
    cr_assert_eq(c->excludes.n, 2);
    cr_assert_eq(c->args.n, 3);
    cr_assert_str_eq(c->args.v[2], "/app/");
    const df_cmd *a = &s->cmds[2];
    cr_assert_str_eq(a->checksum, "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    cr_assert(a->keep_git_dir);
    cr_assert_eq(a->unpack, -1);
    cr_assert_eq(s->cmds[3].excludes.n, 1);
    const df_cmd *h = &s->cmds[4];
    cr_assert_eq(h->n_inline_files, 1);
    cr_assert_str_eq(h->inline_files[0].content, "hi app\n");
    cr_assert_eq(h->args.n, 1);
    cr_assert_str_eq(s->cmds[5].inline_files[0].content, "hi $U\n");
    done(&b);
    bad("FROM a\nCOPY --checksum=sha256:x a b\n", NULL, "unknown flag: --checksum");
    bad("FROM a\nADD --checksum=sha256:x a b\n", NULL, "checksum requires HTTP(S) or Git sources");
    bad("FROM a\nCOPY --unpack=true a b\n", NULL, "unknown flag: --unpack");
    bad("FROM a\nADD --checksum=md5:7e55 http://h/f b\n", NULL, "unsupported digest algorithm");
    bad("FROM a\nADD --checksum=0123abcd http://h/f b\n", NULL, "invalid checksum digest format");
    bad("FROM a\nADD --checksum=Bad:0123 http://h/f b\n", NULL, "invalid checksum digest format");
    bad("FROM a\nADD --checksum=sha256:0123 http://h/f b\n", NULL, "invalid checksum digest length");
    bad("FROM a\nCOPY --chmod=999 a b\n", NULL, "invalid chmod parameter");
    bad("FROM a\nCOPY a\n", NULL, "COPY requires at least two arguments");
    bad("FROM a\nCOPY --lnk a b\n", NULL, "unknown flag: --lnk (did you mean link?)");
    bad("FROM a\nCOPY --link=maybe a b\n", NULL, "expecting boolean value for flag --link");
    bad("FROM a\nCOPY --from=a --from=b a b\n", NULL, "duplicate flag specified: --from");
    bad("FROM a\nCOPY a <<EOF\nx\nEOF\n", NULL, "COPY cannot accept a heredoc as a destination");
}

Test(plan, healthcheck_and_others)
{
    built b = ok("FROM a\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s --retries=3 CMD curl -f x\n"
                 "HEALTHCHECK NONE\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\nSHELL [\"/bin/bash\", \"-c\"]\n"
                 "ONBUILD RUN echo hi\nMAINTAINER me\n",
                 NULL);
    const df_stage *s = &b.p->stages[0];
    const df_cmd *h = &s->cmds[0];
    cr_assert_eq(h->hc_interval, 90000000000LL);
    cr_assert_eq(h->hc_timeout, 500000000LL);
    cr_assert_eq(h->hc_start_period, 1500000000LL);
    cr_assert_eq(h->hc_retries, 3);
    cr_assert_str_eq(h->args.v[0], "CMD-SHELL");
    cr_assert_str_eq(h->args.v[1], "curl -f x");
    cr_assert_str_eq(s->cmds[1].args.v[0], "NONE");
    cr_assert_str_eq(s->cmds[2].args.v[0], "CMD");
    cr_assert_str_eq(s->cmds[2].args.v[2], "-q");
    cr_assert_eq(s->cmds[3].args.n, 2);
    cr_assert_str_eq(s->cmds[4].args.v[0], "RUN echo hi");
    done(&b);
    bad("FROM a\nHEALTHCHECK --interval=1ns CMD x\n", NULL, "cannot be less than 1ms");
    bad("FROM a\nHEALTHCHECK --interval=5 CMD x\n", NULL, "missing unit in duration");
    bad("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", NULL, "--retries cannot be negative");
    bad("FROM a\nHEALTHCHECK NONE x\n", NULL, "HEALTHCHECK NONE takes no arguments");
    bad("FROM a\nHEALTHCHECK RUN x\n", NULL, "Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
    bad("FROM a\nSHELL /bin/sh -c\n", NULL, "SHELL requires the arguments to be in JSON form");
    bad("FROM a\nONBUILD ONBUILD RUN x\n", NULL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    bad("FROM a\nONBUILD FROM x\n", NULL, "FROM isn't allowed as an ONBUILD trigger");
    bad("FROM a\nEXPOSE 80/xyz\n", NULL, "invalid proto: xyz");
    bad("FROM a\nEXPOSE 90-80\n", NULL, "invalid range");
    bad("FROM a\nEXPOSE 70000\n", NULL, "invalid containerPort: 70000");
    bad("FROM a\nUSER\n", NULL, "USER requires exactly one argument");
    bad("FROM a\nENV\n", NULL, "ENV requires at least one argument");
    int64_t ns;
    cb_err err;
    cr_assert_eq(df_parse_duration("2h45m0.5s", &ns, &err), 0);
    cr_assert_eq(ns, 9900500000000LL);
    cr_assert_lt(df_parse_duration("1x", &ns, &err), 0);
    cr_assert_lt(df_parse_duration("", &ns, &err), 0);
}

Test(plan, structural_errors)
{
    bad("FROM a\nCPY x y\n", NULL, "Dockerfile:2: unknown instruction: CPY (did you mean COPY?)");
    bad("FROM a\nCPY x y\n", NULL, "      2 | CPY x y");
    bad("RUN x\nFROM a\n", NULL, "no build stage in current context");
    bad("ARG X\n", NULL, "no stages to build");
    bad("FROM a AS 1x\n", NULL, "invalid name for build stage");
    bad("FROM a b\n", NULL, "FROM requires either one or three arguments");
    bad("FROM $NOPE\n", NULL, "base name ($NOPE) should not be blank");
    bad("FROM a AS x\nCOPY --from=y a b\nFROM b AS y\n", &(df_plan_opts){.target = "x"},
        "cannot copy from stage \"y\", it needs to be defined before current stage \"x\"");
    bad("FROM a AS x\nCOPY --from=x a b\n", NULL, "circular dependency detected on stage: x");
    bad("FROM a AS x\n", &(df_plan_opts){.target = "xx"}, "target stage \"xx\" could not be found (did you mean x?)");
    bad("FROM a\nCOPY --from=7 a b\n", NULL, "invalid stage index 7");
    bad("FROM a\nCOPY --from=$S a b\n", NULL, "--from does not expand variables");
    bad("FROM a\nWORKDIR ${X:?must be set}\n", NULL, "X: must be set");
    bad("FROM --platform=linux/am.d64 a\n", NULL, "failed to parse platform linux/am.d64");
    bad("FROM --platform=plan10 a\n", NULL, "unknown operating system or architecture");
}

static int fake_env(void *ud, const char *ref, const char *platform, cb_strv *env, cb_err *err)
{
    (void)err;
    (*(int *)ud)++;
    cr_assert_str_eq(platform, "linux/amd64");
    if (!strcmp(ref, "img:1")) {
        cb_strv_push(env, "PATH=/opt/bin:/bin");
        cb_strv_push(env, "HOME=/home/app");
    }
    return 0;
}

Test(plan, base_env_callback_only_for_needed_stages)
{
    int calls = 0;
    df_plan_opts o = {.base_env = fake_env, .ud = &calls};
    built b = ok("FROM other:2 AS skipped\nRUN x\nFROM img:1 AS base\nWORKDIR $HOME/src\nFROM base\nENV P=$PATH\nRUN x\n", &o);
    cr_assert_eq(calls, 1);
    cr_assert_str_eq(b.p->stages[1].cmds[0].args.v[0], "/home/app/src");
    cr_assert_str_eq(envv(&b.p->stages[2].cmds[1].env, "P"), "/opt/bin:/bin");
    done(&b);
}

static int fake_onbuild(void *ud, const char *ref, const char *platform, cb_strv *trig, cb_err *err)
{
    (void)ud;
    (void)platform;
    (void)err;
    if (!strcmp(ref, "onbuild-img"))
        cb_strv_push(trig, "COPY --from=assets /a /a");
    return 0;
}

Test(plan, onbuild_triggers)
{
    built b = ok("FROM alpine AS base\nONBUILD RUN echo triggered\nONBUILD COPY . /app\nRUN base-only\n"
                 "FROM base AS child\nRUN own\n",
                 NULL);
    const df_stage *c = &b.p->stages[1];
    cr_assert_eq(c->n_triggers, 2);
    cr_assert_eq(c->n_cmds, 3);
    cr_assert_eq(c->cmds[0].kind, DF_CMD_RUN);
    cr_assert_str_eq(c->cmds[0].args.v[0], "echo triggered");
    cr_assert_eq(c->cmds[0].instr->start_line, 5);
    cr_assert_eq(c->cmds[1].kind, DF_CMD_COPY);
    cr_assert_str_eq(c->cmds[2].args.v[0], "own");
    cr_assert_eq(b.p->stages[0].n_triggers, 0);
    done(&b);

    df_plan_opts o = {.base_onbuild = fake_onbuild};
    b = ok("FROM scratch AS assets\nCOPY x /a\nFROM busybox AS unused\nFROM onbuild-img\nRUN x\n", &o);
    const df_stage *s = &b.p->stages[2];
    cr_assert_eq(s->n_triggers, 1);
    cr_assert_eq(s->cmds[0].from_stage, 0);
    cr_assert(b.p->stages[0].needed);
    cr_assert(!b.p->stages[1].needed);
    done(&b);
    bad("FROM alpine AS base\nONBUILD RUN --mount=type=nope,target=/x true\nFROM base\n", NULL, "unsupported mount type");
}

Test(plan, run_argv)
{
    built b = ok("FROM a\nRUN echo hi\nRUN [\"/bin/true\", \"x\"]\nRUN <<EOF\n\techo one\nEOF\nRUN <<-EOT\n\t#!/usr/bin/env python3\n"
                 "\tprint(1)\n\tEOT\nRUN cat <<A > /f && sh <<B\na\nA\nb\nB\n",
                 NULL);
    const df_stage *s = &b.p->stages[0];
    cb_strv argv, sh;
    cb_strv_init(&sh);
    cb_err err;
    const df_heredoc *pf;
    cb_strv_init(&argv);
    cr_assert_eq(df_cmd_run_argv(&s->cmds[0], NULL, &argv, &pf, &err), 0);
    cr_assert_eq(argv.n, 3);
    cr_assert_str_eq(argv.v[0], "/bin/sh");
    cr_assert_str_eq(argv.v[2], "echo hi");
    cb_strv_free(&argv);
    cb_strv_init(&argv);
    df_cmd_run_argv(&s->cmds[1], NULL, &argv, &pf, &err);
    cr_assert_eq(argv.n, 2);
    cr_assert_str_eq(argv.v[0], "/bin/true");
    cb_strv_free(&argv);
    cb_strv_init(&argv);
    cb_strv_push(&sh, "/bin/bash");
    cb_strv_push(&sh, "-eo");
    cb_strv_push(&sh, "pipefail");
    cb_strv_push(&sh, "-c");
    df_cmd_run_argv(&s->cmds[2], &sh, &argv, &pf, &err);
    cr_assert_eq(argv.n, 5);
    cr_assert_str_eq(argv.v[4], "\techo one\n");
    cr_assert_null(pf);
    cb_strv_free(&argv);
    cb_strv_init(&argv);
    df_cmd_run_argv(&s->cmds[3], NULL, &argv, &pf, &err);
    cr_assert_str_eq(argv.v[2], "/dev/pipes/EOT");
    cr_assert_not_null(pf);
    cr_assert_str_eq(pf->content, "#!/usr/bin/env python3\nprint(1)\n");
    cb_strv_free(&argv);
    cb_strv_init(&argv);
    df_cmd_run_argv(&s->cmds[4], NULL, &argv, &pf, &err);
    cr_assert_str_eq(argv.v[2], "cat <<A > /f && sh <<B\na\nA\nb\nB");
    cb_strv_free(&argv);
    cb_strv_free(&sh);
    done(&b);
}

Test(plan, ignore_candidates)
{
    char *a, *b;
    df_ignore_candidates("build/app.Dockerfile", "ctx", &a, &b);
    cr_assert_str_eq(a, "build/app.Dockerfile.dockerignore");
    cr_assert_str_eq(b, "ctx/.dockerignore");
    free(a);
    free(b);
    df_ignore_candidates(NULL, NULL, &a, &b);
    cr_assert_null(a);
    cr_assert_str_eq(b, "./.dockerignore");
    free(b);
}

static bool has_warning(const df_plan *p, int line, const char *needle)
{
    for (size_t i = 0; i < p->warnings.n; i++)
        if (p->warnings.v[i].line == line && strstr(p->warnings.v[i].msg, needle))
            return true;
    return false;
}

Test(plan, lint_warnings)
{
    /* the stages the target does not need are linted only for a lint request (BuildKit) */
    df_plan_opts lint_all = {.lint_only = true};
    built b = ok("FROM --platform=$TARGETPLATFORM a\nARG GITHUB_TOKEN\nENV PUBLIC_KEY=x\nWORKDIR app\nCMD [\"a\"]\n"
                 "CMD b\nMAINTAINER me\nFROM a AS B\nenv X y\nFROM ${UNDECLARED:-alpine}\n",
                 &lint_all);
    const df_plan *p = b.p;
    cr_assert(has_warning(p, 1, "RedundantTargetPlatform"));
    cr_assert(has_warning(p, 2, "SecretsUsedInArgOrEnv"));
    cr_assert(!has_warning(p, 3, "SecretsUsedInArgOrEnv"));
    cr_assert(has_warning(p, 4, "WorkdirRelativePath"));
    cr_assert(has_warning(p, 5, "MultipleInstructionsDisallowed") /* BuildKit: on the overridden one */);
    cr_assert(has_warning(p, 6, "JSONArgsRecommended"));
    cr_assert(has_warning(p, 7, "MaintainerDeprecated"));
    cr_assert(has_warning(p, 8, "StageNameCasing"));
    cr_assert(has_warning(p, 9, "LegacyKeyValueFormat"));
    cr_assert(has_warning(p, 9, "ConsistentInstructionCasing"));
    cr_assert(has_warning(p, 10, "UndefinedArgInFrom: FROM argument 'UNDECLARED' is not declared"));
    done(&b);
}

Test(plan, check_directive)
{
    built b = ok("# check=skip=JSONArgsRecommended,MaintainerDeprecated\nFROM a\nCMD x\nMAINTAINER y\nRUN a \\\n\n b\n", NULL);
    cr_assert(!has_warning(b.p, 3, "JSONArgsRecommended"));
    cr_assert(!has_warning(b.p, 4, "MaintainerDeprecated"));
    /* BuildKit reports NoEmptyContinuation on the instruction's last line (testNoEmptyContinuation) */
    cr_assert(has_warning(b.p, 7, "NoEmptyContinuation"));
    done(&b);
    b = ok("# check=skip=all;error=true\nFROM a\nCMD x\n", NULL);
    cr_assert_eq(b.p->warnings.n, 0);
    done(&b);
    bad("# check=error=true\nFROM a\nCMD x\n", NULL, "lint violation found for rules: JSONArgsRecommended");
    const char *ba[] = {"BUILDKIT_DOCKERFILE_CHECK=skip=all"};
    df_plan_opts o = {.build_args = ba, .n_build_args = 1};
    b = ok("# check=error=true\nFROM a\nCMD x\n", &o);
    cr_assert_eq(b.p->warnings.n, 0);
    done(&b);
    bad("# check=bogus\nFROM a\n", NULL, "failed to parse check options");
}

Test(plan, undefined_var_lint)
{
    built b = ok("FROM scratch\nENV FOO=1\nARG DECL\nWORKDIR /$FOOO/$DECL/$UNSET\nCOPY $FOO /x\n", NULL);
    cr_assert(has_warning(b.p, 4, "UndefinedVar: Usage of undefined variable '$FOOO' (did you mean $FOO?)"));
    cr_assert(has_warning(b.p, 4, "UndefinedVar: Usage of undefined variable '$UNSET'"));
    cr_assert(!has_warning(b.p, 4, "'$DECL'"));
    cr_assert(!has_warning(b.p, 5, "UndefinedVar"));
    done(&b);
    /* an image's environment is unknown without base_env: no guessing */
    b = ok("FROM alpine\nWORKDIR $HOME\n", NULL);
    cr_assert(!has_warning(b.p, 2, "UndefinedVar"));
    done(&b);
    int calls = 0;
    df_plan_opts o = {.base_env = fake_env, .ud = &calls};
    b = ok("FROM img:1\nWORKDIR $HOME/$HOMEDIR\n", &o);
    cr_assert(has_warning(b.p, 2, "'$HOMEDIR' (did you mean $HOME?)"));
    cr_assert(!has_warning(b.p, 2, "'$HOME'"));
    done(&b);
}
