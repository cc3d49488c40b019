/* CDI specs (YAML and JSON), BuildKit's device lookup and its device entitlement (builder/cdi.c) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdi.h"

static const char vendor1[] = "cdiVersion: \"0.6.0\"\n"
                              "kind: \"vendor1.com/device\"\n"
                              "devices:\n"
                              "- name: foo\n"
                              "  containerEdits:\n"
                              "    env:\n"
                              "    - FOO=injected\n"
                              "  annotations:\n"
                              "    org.mobyproject.buildkit.device.autoallow: true\n";

static cdi_registry reg_of(const char *text)
{
    cdi_registry r;
    cdi_registry_init(&r);
    cb_err err = {0};
    int rc = cdi_registry_add_spec(&r, "/specs/a.yaml", text, strlen(text), 0, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    return r;
}

static void spec_bad(const char *text, const char *want)
{
    cdi_registry r;
    cdi_registry_init(&r);
    cb_err err = {0};
    int rc = cdi_registry_add_spec(&r, "/specs/bad.yaml", text, strlen(text), 0, &err);
    cr_assert_lt(rc, 0, "accepted: %s", text);
    cr_assert(strstr(err.msg, want), "want \"%s\" in \"%s\"", want, err.msg);
    cdi_registry_free(&r);
}

/* resolve with --allow values (NULL-terminated); returns rc, err/env/warnings filled */
static int resolve(const cdi_registry *r, const char *const *allow, const df_device *reqs, size_t n, cb_strv *env,
                   cb_strv *warnings, cb_err *err)
{
    cdi_allow a;
    cdi_allow_init(&a);
    for (size_t i = 0; allow && allow[i]; i++)
        cr_assert_eq(cdi_allow_add(&a, allow[i], err), 0, "%s", err->msg);
    int rc = cdi_resolve(r, &a, reqs, n, env, warnings, err);
    cdi_allow_free(&a);
    return rc;
}

Test(cdi, yaml_spec_the_go_test_writes)
{
    cdi_registry r = reg_of(vendor1);
    cr_assert_eq(r.n_devices, 1);
    const cdi_device *d = cdi_registry_get(&r, "vendor1.com/device=foo");
    cr_assert_not_null(d);
    cr_assert(d->autoallow);
    cr_assert_eq(d->edits.env.n, 1);
    cr_assert_str_eq(d->edits.env.v[0], "FOO=injected");
    cr_assert_null(d->edits.unsupported);
    cr_assert_eq(d->line, 4);
    cdi_registry_free(&r);
}

Test(cdi, json_spec_with_tabs)
{
    cdi_registry r = reg_of("{\n\t\"cdiVersion\": \"0.5.0\",\n\t\"kind\": \"example.com/gpu\",\n"
                            "\t\"annotations\": {\"org.mobyproject.buildkit.device.class\": \"gpu\"},\n"
                            "\t\"containerEdits\": {\"env\": [\"SPEC=1\"]},\n"
                            "\t\"devices\": [\n\t\t{\"name\": \"0\", \"containerEdits\": {\"env\": [\"GPU=0\"]}},\n"
                            "\t\t{\"name\": \"1\", \"annotations\": {\"org.mobyproject.buildkit.device.autoallow\": "
                            "\"false\"}, \"containerEdits\": {\"env\": [\"GPU=1\", \"X=\\u00e9\"]}}\n\t]\n}\n");
    cr_assert_eq(r.n_devices, 2);
    cr_assert_str_eq(r.devices[0].name, "example.com/gpu=0");
    cr_assert_str_eq(r.devices[1].name, "example.com/gpu=1");
    cr_assert_str_eq(r.devices[1].class_annotation, "gpu");
    cr_assert(!r.devices[1].autoallow);
    cr_assert_str_eq(r.devices[1].edits.env.v[1], "X=\xc3\xa9");
    cr_assert_str_eq(r.specs[0].edits.env.v[0], "SPEC=1");
    cdi_registry_free(&r);
}

Test(cdi, spec_errors_name_file_and_line)
{
    spec_bad("kind: a.com/b\ndevices:\n- name: x\n", "CDI spec /specs/bad.yaml:1: cdiVersion is missing");
    spec_bad("cdiVersion: 0.6.0\ndevices:\n- name: x\n", "kind is missing");
    spec_bad("cdiVersion: 0.6.0\nkind: nokind\ndevices:\n- name: x\n",
             "/specs/bad.yaml:2: invalid kind \"nokind\" (want vendor.com/class)");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b.c\ndevices:\n- name: x\n", "invalid kind \"a.com/b.c\"");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices: []\n", ":3: devices must be a non-empty list");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- containerEdits: {}\n", ":4: a device needs a name");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- name: x/y\n", "invalid device name \"x/y\"");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- name: x\n  containerEdits:\n    env: [NOEQUALS]\n",
             ":6: invalid environment variable \"NOEQUALS\" in containerEdits.env");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- name: x\n  containerEdits:\n    env: A=1\n",
             "containerEdits.env must be a list");
    spec_bad("cdiVersion: 0.6.0\nkind: [a\n", "CDI spec /specs/bad.yaml:3:");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- name: x\n  containerEdits:\n    deviceNodes: \"\"\n    env: x\n",
             ":7: containerEdits.env must be a list");
    spec_bad("- a\n- b\n", "a spec is a map with cdiVersion, kind and devices");
    spec_bad("", "a spec is a map");
    spec_bad("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n- name: x\n- name: x\n",
             "CDI device a.com/b=x is defined twice: in /specs/bad.yaml:4 and in /specs/bad.yaml:5");
}

Test(cdi, host_only_edits_are_noted)
{
    cdi_registry r = reg_of("cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n"
                            "- name: node\n  containerEdits:\n    deviceNodes:\n    - path: /dev/null\n"
                            "- name: mnt\n  containerEdits:\n    mounts:\n    - hostPath: /x\n      containerPath: /y\n"
                            "- name: hook\n  containerEdits:\n    hooks:\n    - hookName: createContainer\n      path: /bin/true\n"
                            "- name: empty\n  containerEdits:\n    deviceNodes: []\n    mounts:\n    hooks: null\n"
                            "    env: [A=1]\n"
                            "- name: nulls\n  annotations: ~\n  containerEdits:\n    env:\n");
    cr_assert_str_eq(cdi_registry_get(&r, "a.com/b=node")->edits.unsupported, "deviceNodes");
    cr_assert_str_eq(cdi_registry_get(&r, "a.com/b=mnt")->edits.unsupported, "mounts");
    cr_assert_str_eq(cdi_registry_get(&r, "a.com/b=hook")->edits.unsupported, "hooks");
    cr_assert_null(cdi_registry_get(&r, "a.com/b=empty")->edits.unsupported);
    cr_assert_eq(cdi_registry_get(&r, "a.com/b=nulls")->edits.env.n, 0);

    static const char *const all[] = {"", NULL};
    cb_strv env, warn;
    cb_strv_init(&env);
    cb_strv_init(&warn);
    cb_err err = {0};
    df_device node = {"a.com/b=node", true}, mnt = {"a.com/b=mnt", true}, hook = {"a.com/b=hook", false};
    cr_assert_lt(resolve(&r, all, &node, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "device a.com/b=node (/specs/a.yaml): containerEdits.deviceNodes cannot be applied: a "
                              "RUN step runs in its own VM, which has none of the host's device nodes");
    cr_assert_lt(resolve(&r, all, &mnt, 1, &env, &warn, &err), 0);
    cr_assert(strstr(err.msg, "containerEdits.mounts cannot be applied: a RUN step runs in its own VM, which shares no "
                              "host directories"),
              "%s", err.msg);
    cr_assert_lt(resolve(&r, all, &hook, 1, &env, &warn, &err), 0);
    cr_assert(strstr(err.msg, "containerEdits.hooks cannot be applied"), "%s", err.msg);
    cb_strv_free(&env);
    cb_strv_free(&warn);
    cdi_registry_free(&r);
}

Test(cdi, the_go_test_autoallowed_required_and_optional)
{
    cdi_registry r = reg_of(vendor1);
    df_device reqs[] = {{"vendor1.com/device=foo", true}, {"vendor2.com/device=bar", false}};
    cb_strv env, warn;
    cb_strv_init(&env);
    cb_strv_init(&warn);
    cb_strv_push(&env, "PATH=/bin");
    cb_err err = {0};
    cr_assert_eq(resolve(&r, NULL, reqs, 2, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_eq(env.n, 2);
    cr_assert_str_eq(env.v[1], "FOO=injected");
    cr_assert_eq(warn.n, 1);
    cr_assert_str_eq(warn.v[0], "Optional device \"vendor2.com/device=bar\" is not registered");

    df_device missing = {"vendor2.com/device=bar", true};
    cr_assert_lt(resolve(&r, NULL, &missing, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "required device \"vendor2.com/device=bar\" is not registered");
    cb_strv_free(&env);
    cb_strv_free(&warn);
    cdi_registry_free(&r);
}

Test(cdi, entitlement)
{
    cdi_registry r = reg_of("cdiVersion: 0.6.0\nkind: vendor1.com/device\ndevices:\n"
                            "- name: foo\n  containerEdits:\n    env: [FOO=injected]\n"
                            "- name: bar\n  containerEdits:\n    env: [BAR=injected]\n");
    df_device foo = {"vendor1.com/device=foo", true}, both = {"vendor1.com/device=*", false};
    cb_strv env, warn;
    cb_strv_init(&env);
    cb_strv_init(&warn);
    cb_err err = {0};
    cr_assert_lt(resolve(&r, NULL, &foo, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "device vendor1.com/device=foo is requested by the build but not allowed");
    cr_assert_lt(resolve(&r, NULL, &both, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg,
                     "devices vendor1.com/device=bar, vendor1.com/device=foo are requested by the build but not allowed");
    static const char *const all[] = {"", NULL}, *const just_foo[] = {"vendor1.com/device=foo", NULL},
                             *const kind[] = {"vendor1.com/device=*", NULL}, *const other[] = {"x.com/y", NULL};
    cr_assert_eq(resolve(&r, all, &both, 1, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_eq(env.n, 2);
    cr_assert_str_eq(env.v[0], "BAR=injected");
    cr_assert_str_eq(env.v[1], "FOO=injected");
    cr_assert_eq(resolve(&r, just_foo, &foo, 1, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_lt(resolve(&r, just_foo, &both, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "device vendor1.com/device=bar is requested by the build but not allowed");
    cr_assert_eq(resolve(&r, kind, &both, 1, &env, &warn, &err), 0, "%s", err.msg);
    /* BuildKit resolves every granted name once the build asks for a device */
    cr_assert_lt(resolve(&r, other, &foo, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "required device \"x.com/y\" is not registered");
    cb_strv_free(&env);
    cb_strv_free(&warn);
    cdi_registry_free(&r);
}

Test(cdi, lookup_first_of_kind_class_and_alias)
{
    cdi_registry r = reg_of("cdiVersion: 0.6.0\nkind: vendor1.com/gpu\n"
                            "annotations:\n  org.mobyproject.buildkit.device.class: gpu\n"
                            "containerEdits:\n  env: [SPEC=once, SHARED=spec]\n"
                            "devices:\n"
                            "- name: b\n  containerEdits:\n    env: [GPU=b]\n"
                            "- name: a\n  containerEdits:\n    env: [GPU=a, SHARED=a]\n");
    static const char *const all[] = {"", NULL};
    cb_strv env, warn;
    cb_strv_init(&env);
    cb_strv_init(&warn);
    cb_err err = {0};
    df_device first = {"vendor1.com/gpu", true}; /* the first by name, as CDI lists them */
    cr_assert_eq(resolve(&r, all, &first, 1, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_eq(env.n, 3);
    cr_assert_str_eq(env.v[0], "SPEC=once");
    cr_assert_str_eq(env.v[1], "SHARED=a"); /* a device's edit replaces its spec's */
    cr_assert_str_eq(env.v[2], "GPU=a");
    cb_strv_free(&env);
    cb_strv_init(&env);
    df_device cls = {"gpu", true};
    cr_assert_eq(resolve(&r, all, &cls, 1, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_eq(env.n, 3); /* both devices, the spec's edits once */
    cr_assert_str_eq(env.v[2], "GPU=b");
    cb_strv_free(&env);
    cb_strv_init(&env);
    /* --allow device=vendor1.com/gpu=b,alias=mygpu: the Dockerfile's mygpu is that device */
    static const char *const alias[] = {"vendor1.com/gpu=b,alias=mygpu", NULL};
    df_device al = {"mygpu", true};
    cr_assert_eq(resolve(&r, alias, &al, 1, &env, &warn, &err), 0, "%s", err.msg);
    cr_assert_str_eq(env.v[2], "GPU=b");
    cr_assert_lt(resolve(&r, NULL, &al, 1, &env, &warn, &err), 0);
    cr_assert_str_eq(err.msg, "required device \"mygpu\" is not registered");
    cb_strv_free(&env);
    cb_strv_free(&warn);
    cdi_registry_free(&r);
}

Test(cdi, allow_values)
{
    cdi_allow a;
    cdi_allow_init(&a);
    cb_err err = {0};
    cr_assert_eq(cdi_allow_add(&a, "x.com/y=z", &err), 0);
    cr_assert_eq(cdi_allow_add(&a, "x.com/y=w,alias=w", &err), 0);
    cr_assert(!a.all);
    cr_assert_str_eq(a.names.v[1], "x.com/y=w");
    cr_assert_str_eq(a.aliases.v[0], "");
    cr_assert_str_eq(a.aliases.v[1], "w");
    cr_assert_eq(cdi_allow_add(&a, NULL, &err), 0);
    cr_assert(a.all);
    cr_assert_lt(cdi_allow_add(&a, "x.com/y=z,alias", &err), 0);
    cr_assert_str_eq(err.msg, "invalid device config \"alias\" in --allow device=x.com/y=z,alias");
    cr_assert_lt(cdi_allow_add(&a, "x.com/y=z,name=q", &err), 0);
    cr_assert_str_eq(err.msg, "unknown device config key \"name\" in --allow device=x.com/y=z,name=q");
    cdi_allow_free(&a);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(cdi, directories_in_priority_order)
{
    char etc[] = "/tmp/cdi-etc-XXXXXX", run[] = "/tmp/cdi-run-XXXXXX";
    cr_assert_not_null(mkdtemp(etc));
    cr_assert_not_null(mkdtemp(run));
    write_file(etc, "v.yaml", "cdiVersion: 0.6.0\nkind: v.com/d\ndevices:\n- name: a\n  containerEdits:\n    env: [W=etc]\n"
                              "- name: b\n");
    write_file(etc, "notes.txt", "not a spec");
    write_file(run, "v.json", "{\"cdiVersion\": \"0.6.0\", \"kind\": \"v.com/d\", \"devices\": [{\"name\": \"a\", "
                              "\"containerEdits\": {\"env\": [\"W=run\"]}}]}");
    char dirs[256];
    snprintf(dirs, sizeof dirs, "/nonexistent-cdi::%s:%s", etc, run);
    cdi_registry r;
    cdi_registry_init(&r);
    cb_err err = {0};
    cr_assert_eq(cdi_registry_load(&r, dirs, &err), 0, "%s", err.msg);
    cr_assert_eq(r.n_devices, 2);
    cr_assert_str_eq(cdi_registry_get(&r, "v.com/d=a")->edits.env.v[0], "W=run");
    cr_assert_not_null(cdi_registry_get(&r, "v.com/d=b"));
    cdi_registry_free(&r);

    write_file(run, "w.yaml", "cdiVersion: 0.6.0\nkind: v.com/d\ndevices:\n- name: a\n");
    cdi_registry_init(&r);
    cr_assert_lt(cdi_registry_load(&r, dirs, &err), 0);
    cr_assert(strstr(err.msg, "CDI device v.com/d=a is defined twice"), "%s", err.msg);
    cdi_registry_free(&r);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", etc, run);
    cr_assert_eq(system(cmd), 0);
}
