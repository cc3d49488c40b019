/* Unit tests for builder/ pieces that need no VM or store: history texts in BuildKit's
 * format, config-only instructions, path cleaning and the plain progress layout. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static df_cmd mkcmd(df_cmd_kind kind, const char *keyword, const char *original)
{
    df_cmd c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    static df_instr in;
    memset(&in, 0, sizeof in);
    in.keyword = (char *)keyword;
    in.original = (char *)original;
    in.start_line = 1;
    c.instr = &in;
    cb_strv_init(&c.args);
    cb_strv_init(&c.build_args);
    cb_strv_init(&c.env);
    return c;
}

static const char *last_history(const oci_config *cfg)
{
    return cfg->history[cfg->n_history - 1].created_by;
}

Test(history, cmd_shell_form_uses_shell_and_go_quoting)
{
    oci_config cfg;
    oci_config_init(&cfg);
    df_cmd c = mkcmd(DF_CMD_CMD, "cmd", "CMD echo \"hi\"");
    cb_strv_push(&c.args, "echo \"hi\"");
    cb_err err;
    cr_assert_eq(bl_config_apply(NULL, &c, &cfg, "2024-01-01T00:00:00Z", &err), 0);
    cr_assert_str_eq(last_history(&cfg), "CMD [\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\"]");
    cr_assert(cfg.history[cfg.n_history - 1].empty_layer);
    cr_assert_eq(cfg.cmd.n, 3);
    cr_assert_str_eq(cfg.cmd.v[2], "echo \"hi\"");
    cr_assert(cfg.args_escaped);
    cb_strv_free(&c.args);
    oci_config_free(&cfg);
}

Test(history, expose_is_buildkits_port_list)
{
    oci_config cfg;
    oci_config_init(&cfg);
    df_cmd c = mkcmd(DF_CMD_EXPOSE, "expose", "EXPOSE 80 53/udp 8000-8001");
    df_port ports[3] = {{80, 80, "tcp"}, {53, 53, "udp"}, {8000, 8001, "tcp"}};
    c.ports = ports;
    c.n_ports = 3;
    cb_err err;
    cr_assert_eq(bl_config_apply(NULL, &c, &cfg, NULL, &err), 0);
    cr_assert_str_eq(last_history(&cfg), "EXPOSE [80/tcp 53/udp 8000/tcp 8001/tcp]");
    cr_assert_eq(cfg.exposed_ports.n, 4);
    oci_config_free(&cfg);
}

Test(history, healthcheck_like_buildkit)
{
    oci_config cfg;
    oci_config_init(&cfg);
    df_cmd c = mkcmd(DF_CMD_HEALTHCHECK, "healthcheck", "HEALTHCHECK ...");
    cb_strv_push(&c.args, "CMD-SHELL");
    cb_strv_push(&c.args, "curl -f http://localhost/ || exit 1");
    c.hc_interval = 90LL * 1000000000LL;
    c.hc_timeout = 1500LL * 1000000LL;
    c.hc_retries = 3;
    cb_err err;
    cr_assert_eq(bl_config_apply(NULL, &c, &cfg, NULL, &err), 0);
    cr_assert_str_eq(last_history(&cfg), "HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://localhost/ || exit "
                                         "1\"] \"1m30s\" \"1.5s\" \"0s\" \"0s\" '\\x03'}");
    cr_assert_eq(cfg.healthcheck->interval_ns, 90LL * 1000000000LL);
    cb_strv_free(&c.args);
    oci_config_free(&cfg);
}

Test(history, env_label_volume_shell_user)
{
    oci_config cfg;
    oci_config_init(&cfg);
    cb_err err;
    df_cmd e = mkcmd(DF_CMD_ENV, "env", "ENV A=1 B=two words");
    df_kv kvs[2] = {{"A", "1"}, {"B", "two words"}};
    e.kvs = kvs;
    e.n_kvs = 2;
    cr_assert_eq(bl_config_apply(NULL, &e, &cfg, NULL, &err), 0);
    cr_assert_str_eq(last_history(&cfg), "ENV A=1 B=two words");
    cr_assert_str_eq(oci_config_env_get(&cfg, "B"), "two words");
    df_cmd v = mkcmd(DF_CMD_VOLUME, "volume", "VOLUME /b /a");
    cb_strv_push(&v.args, "/b");
    cb_strv_push(&v.args, "/a");
    cr_assert_eq(bl_config_apply(NULL, &v, &cfg, NULL, &err), 0);
    cr_assert_str_eq(last_history(&cfg), "VOLUME [/b /a]");
    df_cmd s = mkcmd(DF_CMD_SHELL, "shell", "SHELL [\"/bin/bash\", \"-c\"]");
    cb_strv_push(&s.args, "/bin/bash");
    cb_strv_push(&s.args, "-c");
    cr_assert_eq(bl_config_apply(NULL, &s, &cfg, NULL, &err), 0);
    cr_assert_str_eq(last_history(&cfg), "SHELL [/bin/bash -c]");
    cb_strv argv;
    cb_strv_init(&argv);
    bl_shell_argv(&cfg, "make", &argv);
    cr_assert_eq(argv.n, 3);
    cr_assert_str_eq(argv.v[0], "/bin/bash");
    cb_strv_free(&argv);
    df_cmd vol_empty = mkcmd(DF_CMD_VOLUME, "volume", "VOLUME \"\"");
    cb_strv_push(&vol_empty.args, "");
    cr_assert_lt(bl_config_apply(NULL, &vol_empty, &cfg, NULL, &err), 0);
    cr_assert(strstr(err.msg, "empty string"));
    cb_strv_free(&v.args);
    cb_strv_free(&s.args);
    cb_strv_free(&vol_empty.args);
    oci_config_free(&cfg);
}

Test(history, run_and_copy_texts)
{
    oci_config cfg;
    oci_config_init(&cfg);
    df_cmd r = mkcmd(DF_CMD_RUN, "run", "RUN make all");
    cb_strv_push(&r.args, "make all");
    cb_strv_push(&r.build_args, "V=1");
    char *h = bl_history_run(&r, &cfg);
    cr_assert_str_eq(h, "RUN |1 V=1 /bin/sh -c make all # buildkit");
    free(h);
    df_cmd c = mkcmd(DF_CMD_COPY, "copy", "COPY --chown=a:b x y /d/");
    c.chown = "a:b";
    cb_strv_push(&c.args, "x");
    cb_strv_push(&c.args, "/d/");
    df_heredoc hd = {.name = "EOF", .content = "hi\n", .expand = true};
    c.inline_files = &hd;
    c.n_inline_files = 1;
    h = bl_history_copy(&c);
    cr_assert_str_eq(h, "COPY --chown=a:b x <<EOF /d/ # buildkit");
    free(h);
    cb_strv_free(&r.args);
    cb_strv_free(&r.build_args);
    cb_strv_free(&c.args);
    oci_config_free(&cfg);
}

Test(paths, clean)
{
    char *p = bl_path_clean("a/./b/../c/");
    cr_assert_str_eq(p, "/a/c");
    free(p);
    p = bl_path_clean("/../../x");
    cr_assert_str_eq(p, "/x");
    free(p);
    p = bl_path_clean("");
    cr_assert_str_eq(p, "/");
    free(p);
}

Test(progress, plain_layout)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_PLAIN, f);
    int a = progress_add(p, "[1/2] FROM x");
    progress_cached(p, a);
    int b = progress_add(p, "[2/2] RUN echo hi");
    progress_start(p, b);
    progress_output(p, b, 1, "hi\npart", 7);
    progress_error(p, b, "process failed");
    char *tail = progress_tail(p, b, 5);
    cr_assert_str_eq(tail, "hi\npart");
    free(tail);
    progress_free(p);
    fclose(f);
    cr_assert(strstr(buf, "\n#1 [1/2] FROM x\n#1 CACHED\n"));
    cr_assert(strstr(buf, "\n#2 [2/2] RUN echo hi\n#2 0."));
    cr_assert(strstr(buf, " hi\n#2 "));
    cr_assert(strstr(buf, "#2 ERROR: process failed\n"));
    free(buf);
}

/* A RUN printing CRLF line ends: one line each, no blank line after (BuildKit's plain). */
Test(progress, plain_crlf_is_one_line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_PLAIN, f);
    int a = progress_add(p, "[1/1] RUN printf");
    progress_start(p, a);
    progress_output(p, a, 1, "one\r", 4);
    progress_output(p, a, 1, "\ntwo\r\n\r\nthree\rfour\n", 19);
    progress_done(p, a);
    char *tail = progress_tail(p, a, 8);
    cr_assert_str_eq(tail, "one\ntwo\n\nthree\nfour");
    free(tail);
    progress_free(p);
    fclose(f);
    int lines = 0;
    for (char *q = buf; *q; q++)
        lines += *q == '\n';
    /* blank, header, one, two, the empty line the RUN printed, three, four, DONE */
    cr_assert_eq(lines, 8, "%s", buf);
    cr_assert(strstr(buf, " one\n#1 "));
    cr_assert(strstr(buf, " two\n#1 "));
    cr_assert(strstr(buf, " four\n#1 DONE "));
    free(buf);
}

/* Output of a step after another step printed: its `#N name` header again, as BuildKit's
 * textMux does, so a failing step's header directly precedes its `#N ERROR`. */
Test(progress, plain_header_before_error)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_PLAIN, f);
    int a = progress_add(p, "[a 2/2] RUN slow");
    int b = progress_add(p, "[b 2/2] RUN fails");
    progress_start(p, a);
    progress_start(p, b);
    progress_output(p, a, 1, "a-out\n", 6);
    progress_output(p, b, 1, "b-out\n", 6);
    progress_error(p, b, "exit code: 1");
    progress_done(p, a);
    progress_free(p);
    fclose(f);
    cr_assert(strstr(buf, "\n#2 [b 2/2] RUN fails\n#2 0."), "%s", buf);
    const char *err = strstr(buf, "#2 ERROR: exit code: 1\n");
    cr_assert(err, "%s", buf);
    const char *hdr = strstr(buf, "\n\n#2 [b 2/2] RUN fails\n#2 0.");
    cr_assert(hdr && hdr < err, "%s", buf);
    cr_assert(strstr(buf, "\n#1 [a 2/2] RUN slow\n#1 0."), "%s", buf);
    cr_assert(strstr(buf, "\n\n#1 [a 2/2] RUN slow\n#1 DONE "), "%s", buf);
    /* three headers for #1 (start, output, done) and three for #2 (start, output after #1, error: no) */
    int h1 = 0;
    for (const char *q = buf; (q = strstr(q, "#1 [a 2/2] RUN slow\n")); q++)
        h1++;
    cr_assert_eq(h1, 3, "%s", buf);
    free(buf);
}

/* tty: timings right-aligned at the terminal's width (80 when not a terminal), status
 * lines as `=> =>` sub-rows. */
Test(progress, tty_rows)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_TTY, f);
    int a = progress_add(p, "exporting to image");
    progress_start(p, a);
    progress_status(p, a, "exporting layers done");
    progress_done(p, a);
    progress_free(p);
    fclose(f);
    const char *row = strstr(buf, " => exporting to image ");
    cr_assert(row, "%s", buf);
    const char *end = strchr(row, '\033');
    cr_assert_eq(end - row, 80, "%s", buf);
    cr_assert(!strncmp(end - 4, "0.0s", 4) || !strncmp(end - 4, "0.1s", 4), "%s", buf);
    cr_assert(strstr(buf, " => => exporting layers done"), "%s", buf);
    free(buf);
}

/* sizes as progressui prints them (tonistiigi/units' %.2f): whole bytes below 1kB */
Test(progress, format_bytes)
{
    static const struct {
        uint64_t n;
        const char *want;
    } cases[] = {{0, "0B"},          {3, "3B"},          {999, "999B"},           {1000, "1.00kB"},
                 {1234, "1.23kB"},   {4096000, "4.10MB"}, {47310000, "47.31MB"}, {2500000000ULL, "2.50GB"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        progress_format_bytes(cases[i].n, out, sizeof out);
        cr_assert_str_eq(out, cases[i].want, "%llu", (unsigned long long)cases[i].n);
    }
}

/* a transfer: "transferring foo: SIZE done" in plain (no size for nothing sent), a
 * "statuses" entry with the action and the bytes in rawjson */
Test(progress, transfer_done)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_PLAIN, f);
    int a = progress_add(p, "[context foo] load from client");
    progress_start(p, a);
    progress_transfer_done(p, a, "foo", 4096003);
    int b = progress_add(p, "[internal] load build context");
    progress_start(p, b);
    progress_transfer_done(p, b, "context", 0);
    progress_free(p);
    fclose(f);
    /* the time shows only above 10ms, which a loaded machine may take */
    const char *t1 = strstr(buf, "\n#1 transferring foo: 4.10MB ");
    cr_assert(t1 && (!strncmp(t1 + 29, "done\n", 5) || !strncmp(t1 + 29, "0.", 2)), "%s", buf);
    const char *t2 = strstr(buf, "\n#2 transferring context: ");
    cr_assert(t2 && (!strncmp(t2 + 26, "done\n", 5) || !strncmp(t2 + 26, "0.", 2)), "%s", buf);
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    p = progress_new(BUILDER_PROGRESS_RAWJSON, f);
    a = progress_add(p, "[context foo] load from client");
    progress_start(p, a);
    progress_transfer_done(p, a, "foo", 3);
    progress_free(p);
    fclose(f);
    const char *st = strstr(buf, "{\"statuses\":[{");
    cr_assert(st, "%s", buf);
    cr_assert(strstr(st, "\"id\":\"transferring foo:\""), "%s", buf);
    cr_assert(strstr(st, "\"name\":\"transferring\""), "%s", buf);
    cr_assert(strstr(st, "\"current\":3,"), "%s", buf);
    cr_assert(strstr(st, "\"completed\":"), "%s", buf);
    cr_assert(!strstr(buf, "\"logs\""), "%s", buf);
    free(buf);
}

/* buildctl's rawjson is Go's encoding of client.SolveStatus: RFC 3339 times (now, not the
 * monotonic clock), log data as base64, a failed vertex's "error" */
static bool rfc3339_near_now(const char *s)
{
    struct tm tm = {0};
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return false;
    if (*rest == '.') {
        size_t d = strspn(rest + 1, "0123456789");
        if (d < 1 || d > 9 || rest[d] == '0')
            return false;
        rest += 1 + d;
    }
    if (strcmp(rest, "Z"))
        return false;
    time_t t = timegm(&tm), now = time(NULL);
    return t > now - 60 && t <= now + 1;
}

Test(progress, rawjson_as_buildctl)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    progress *p = progress_new(BUILDER_PROGRESS_RAWJSON, f);
    int a = progress_add(p, "[1/2] RUN echo hi");
    progress_start(p, a);
    progress_output(p, a, 1, "hi\n", 3);
    progress_done(p, a);
    int b = progress_add(p, "[2/2] RUN false");
    progress_start(p, b);
    progress_error(p, b, "boom");
    progress_free(p);
    fclose(f);
    int times = 0, logs = 0, errors = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        cr_assert(j, "not JSON: %s", line);
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(j, "vertexes"), i, v)
        {
            const char *keys[] = {"started", "completed"};
            for (int k = 0; k < 2; k++)
                if (json_object_get(v, keys[k])) {
                    cr_assert(rfc3339_near_now(json_string_value(json_object_get(v, keys[k]))), "%s", line);
                    times++;
                }
            if (json_object_get(v, "error")) {
                cr_assert_str_eq(json_string_value(json_object_get(v, "error")), "boom");
                errors++;
            }
        }
        json_array_foreach(json_object_get(j, "logs"), i, v)
        {
            cr_assert_str_eq(json_string_value(json_object_get(v, "data")), "aGkK", "%s", line);
            cr_assert(rfc3339_near_now(json_string_value(json_object_get(v, "timestamp"))), "%s", line);
            logs++;
        }
        json_decref(j);
    }
    cr_assert_geq(times, 4);
    cr_assert_eq(logs, 1);
    cr_assert_eq(errors, 1);
    free(buf);
}

Test(progress, parse_modes)
{
    enum builder_progress_mode m;
    cb_err err;
    cr_assert_eq(builder_progress_parse("rawjson", &m, &err), 0);
    cr_assert_eq(m, BUILDER_PROGRESS_RAWJSON);
    cr_assert_lt(builder_progress_parse("fancy", &m, &err), 0);
    cr_assert(strstr(err.msg, "fancy"));
}
