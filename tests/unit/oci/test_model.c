/* Manifests, indexes and configs: parse, canonical serialise, Docker schema2 accepted. */
#include <criterion/criterion.h>

#include "oci.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

Test(model, docker_schema2_manifest)
{
    const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"config\":{\"mediaType\":\"" DOCKER_MT_CONFIG
                    "\",\"size\":7,\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":\"" DOCKER_MT_LAYER_GZIP
                    "\",\"size\":42,\"digest\":\"" D2 "\",\"urls\":[\"http://x\"]}]}";
    oci_manifest m;
    cb_err err = {0};
    cr_assert_eq(oci_manifest_parse(j, strlen(j), &m, &err), 0, "%s", err.msg);
    cr_expect_str_eq(m.media_type, DOCKER_MT_MANIFEST);
    cr_expect_str_eq(m.config.digest, D1);
    cr_expect_eq(m.n_layers, 1);
    cr_expect_eq(m.layers[0].size, 42);
    cr_expect(oci_media_type_is_layer(m.layers[0].media_type));
    size_t n;
    char *s = oci_manifest_serialize(&m, &n);
    cr_expect(strstr(s, "\"urls\":[\"http://x\"]"), "unknown descriptor members survive: %s", s);
    oci_manifest m2;
    cr_assert_eq(oci_manifest_parse(s, n, &m2, &err), 0);
    size_t n2;
    char *s2 = oci_manifest_serialize(&m2, &n2);
    cr_expect_str_eq(s, s2, "serialisation is stable");
    free(s);
    free(s2);
    oci_manifest_free(&m);
    oci_manifest_free(&m2);
}

Test(model, rejects)
{
    cb_err err = {0};
    oci_manifest m;
    const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\"}";
    cr_expect_lt(oci_manifest_parse(s1, strlen(s1), &m, &err), 0);
    cr_expect(strstr(err.msg, "schema 1"), "%s", err.msg);
    const char *bad = "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:x\",\"size\":1},\"layers\":[]}";
    cr_expect_lt(oci_manifest_parse(bad, strlen(bad), &m, &err), 0);
    cr_expect(strstr(err.msg, "digest"), "%s", err.msg);
    cr_expect_lt(oci_manifest_parse("{", 1, &m, &err), 0);
    cr_expect(strstr(err.msg, "line 1"), "%s", err.msg);
}

Test(model, index_select_platform)
{
    const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_LIST "\",\"manifests\":["
                    "{\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"size\":1,\"digest\":\"" D1 "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
                    "{\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"size\":2,\"digest\":\"" D2 "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
    oci_index ix;
    cb_err err = {0};
    cr_assert_eq(oci_index_parse(j, strlen(j), &ix, &err), 0, "%s", err.msg);
    oci_platform p;
    cr_assert_eq(oci_platform_parse("linux/amd64", &p, &err), 0);
    const oci_descriptor *d = oci_index_select(&ix, &p);
    cr_assert(d);
    cr_expect_str_eq(d->digest, D2);
    oci_platform_free(&p);
    cr_assert_eq(oci_platform_parse("aarch64", &p, &err), 0);
    cr_expect_str_eq(p.architecture, "arm64");
    d = oci_index_select(&ix, &p);
    cr_assert(d);
    cr_expect_str_eq(d->digest, D1);
    oci_platform_free(&p);
    cr_assert_eq(oci_platform_parse("linux/s390x", &p, &err), 0);
    cr_expect_null(oci_index_select(&ix, &p));
    oci_platform_free(&p);
    oci_index_free(&ix);
}

/* containerd's windows matcher: the OS version asked for selects the entry of that version */
Test(model, index_select_os_version)
{
    const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":["
                    "{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"size\":1,\"digest\":\"" D1 "\",\"platform\":{\"architecture\":\"bar\",\"os\":\"windows\",\"os.version\":\"1.2.3\"}},"
                    "{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"size\":2,\"digest\":\"" D2 "\",\"platform\":{\"architecture\":\"bar\",\"os\":\"windows\",\"os.version\":\"1.1.0\"}}]}";
    oci_index ix;
    cb_err err = {0};
    cr_assert_eq(oci_index_parse(j, strlen(j), &ix, &err), 0, "%s", err.msg);
    cr_expect_str_eq(ix.manifests[1].platform->os_version, "1.1.0");
    oci_platform p;
    cr_assert_eq(oci_platform_parse("windows(1.1.0)/bar", &p, &err), 0, "%s", err.msg);
    cr_expect_str_eq(p.os, "windows");
    cr_expect_str_eq(p.os_version, "1.1.0");
    const oci_descriptor *d = oci_index_select(&ix, &p);
    cr_assert(d);
    cr_expect_str_eq(d->digest, D2);
    char *s = oci_platform_string(&p);
    cr_expect_str_eq(s, "windows(1.1.0)/bar");
    free(s);
    oci_platform_free(&p);
    cr_assert_eq(oci_platform_parse("windows/bar", &p, &err), 0);
    d = oci_index_select(&ix, &p);
    cr_assert(d);
    cr_expect_str_eq(d->digest, D1); /* no version asked: the first */
    oci_platform_free(&p);
    oci_index_free(&ix);
}

Test(model, config_round_trip)
{
    const char *j =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\",\"x-extra\":1,"
        "\"config\":{\"User\":\"app\",\"Env\":[\"PATH=/bin\",\"A=b\"],\"Entrypoint\":null,\"Cmd\":[],"
        "\"WorkingDir\":\"/w\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Volumes\":{\"/data\":{}},"
        "\"Labels\":{\"k\":\"v\"},\"StopSignal\":\"SIGTERM\",\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],"
        "\"Interval\":30000000000,\"Retries\":3},\"OnBuild\":[\"RUN x\"],\"Shell\":[\"/bin/bash\",\"-c\"],"
        "\"ArgsEscaped\":true,\"Hostname\":\"h\"},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},"
        "\"history\":[{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":\"RUN x\",\"comment\":\"c\"},"
        "{\"created_by\":\"ENV A=b\",\"empty_layer\":true}]}";
    oci_config c;
    cb_err err = {0};
    cr_assert_eq(oci_config_parse(j, strlen(j), &c, &err), 0, "%s", err.msg);
    cr_expect_str_eq(c.user, "app");
    cr_expect_eq(c.env.n, 2);
    cr_expect_not(c.entrypoint_set, "null Entrypoint is unset");
    cr_expect(c.cmd_set, "empty Cmd is set");
    cr_expect_eq(c.cmd.n, 0);
    cr_expect_str_eq(c.exposed_ports.v[0], "53/udp");
    cr_expect_str_eq(c.volumes.v[0], "/data");
    cr_expect_str_eq(json_string_value(json_object_get(c.labels, "k")), "v");
    cr_expect_eq(c.healthcheck->interval_ns, 30000000000LL);
    cr_expect_eq(c.healthcheck->retries, 3);
    cr_expect(c.args_escaped);
    cr_expect_eq(c.n_history, 2);
    cr_expect(c.history[1].empty_layer);
    cr_expect_str_eq(c.diff_ids.v[0], D1);
    cr_expect_str_eq(oci_config_env_get(&c, "A"), "b");
    oci_config_env_set(&c, "A", "c");
    oci_config_env_set(&c, "B", "d");
    cr_expect_str_eq(oci_config_env_get(&c, "A"), "c");
    cr_expect_eq(c.env.n, 3);
    size_t n;
    char *s = oci_config_serialize(&c, &n);
    cr_expect(strstr(s, "\"Hostname\":\"h\""), "unknown config member kept: %s", s);
    cr_expect(strstr(s, "\"x-extra\":1"), "unknown top-level member kept");
    cr_expect(strstr(s, "\"Cmd\":[]"), "empty Cmd kept");
    cr_expect_null(strstr(s, "Entrypoint"), "unset Entrypoint omitted");
    oci_config c2;
    oci_config_copy(&c2, &c);
    size_t n2;
    char *s2 = oci_config_serialize(&c2, &n2);
    cr_expect_str_eq(s, s2);
    free(s);
    free(s2);
    oci_config_free(&c);
    oci_config_free(&c2);
}

Test(model, config_bad_diff_id)
{
    const char *j = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:xyz\"]}}";
    oci_config c;
    cb_err err = {0};
    cr_expect_lt(oci_config_parse(j, strlen(j), &c, &err), 0);
    cr_expect(strstr(err.msg, "diff_ids[0]"), "%s", err.msg);
}
