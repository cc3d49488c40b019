/* guest/rlimit.c: --ulimit parses as docker's go-units ParseUlimit, with its messages. */
#include <criterion/criterion.h>
#include <string.h>

#include "guest.h"

static void parses(const char *val, const char *name, uint32_t resource, int64_t soft, int64_t hard)
{
    guest_rlimit r;
    cb_err err;
    cb_err_clear(&err);
    cr_assert_eq(guest_rlimit_parse(val, &r, &err), 0, "%s: %s", val, err.msg);
    cr_assert_str_eq(r.name, name, "%s", val);
    cr_assert_eq(r.resource, resource, "%s", val);
    cr_assert_eq(r.soft, soft, "%s: soft %lld", val, (long long)r.soft);
    cr_assert_eq(r.hard, hard, "%s: hard %lld", val, (long long)r.hard);
}

static void refused(const char *val, const char *msg)
{
    guest_rlimit r;
    cb_err err;
    cb_err_clear(&err);
    cr_assert_lt(guest_rlimit_parse(val, &r, &err), 0, "%s parsed", val);
    cr_assert_str_eq(err.msg, msg, "%s", val);
}

Test(rlimit, soft_and_hard)
{
    parses("nofile=1024:2048", "nofile", 7, 1024, 2048);
    parses("nproc=512", "nproc", 6, 512, 512); /* soft alone: hard = soft */
    parses("core=0:0", "core", 4, 0, 0);
    parses("stack=+8192", "stack", 3, 8192, 8192); /* strconv.ParseInt takes a sign */
}

Test(rlimit, every_docker_name)
{
    static const struct {
        const char *name;
        uint32_t res;
    } names[] = {{"core", 4},    {"cpu", 0},       {"data", 2},    {"fsize", 1},       {"locks", 10},
                 {"memlock", 8}, {"msgqueue", 12}, {"nice", 13},   {"nofile", 7},      {"nproc", 6},
                 {"rss", 5},     {"rtprio", 14},   {"rttime", 15}, {"sigpending", 11}, {"stack", 3}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char v[64];
        snprintf(v, sizeof v, "%s=1:2", names[i].name);
        parses(v, names[i].name, names[i].res, 1, 2);
    }
    refused("as=1", "invalid ulimit type: as"); /* left out by go-units on purpose */
}

Test(rlimit, unlimited)
{
    parses("memlock=-1", "memlock", 8, -1, -1);
    parses("memlock=-1:-1", "memlock", 8, -1, -1);
    parses("memlock=1024:-1", "memlock", 8, 1024, -1);
    parses("core=infinity", "core", 4, -1, -1);
    parses("core=0:infinity", "core", 4, 0, -1);
    refused("nofile=-1:1024",
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024");
}

Test(rlimit, docker_messages)
{
    refused("nofile", "invalid ulimit argument: nofile");
    refused("foo=1", "invalid ulimit type: foo");
    refused("Nofile=1", "invalid ulimit type: Nofile");
    refused("=1", "invalid ulimit type: ");
    refused("nofile=2:1", "ulimit soft limit must be less than or equal to hard limit: 2 > 1");
    refused("nofile=1:2:3", "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`");
    refused("nofile=abc", "strconv.ParseInt: parsing \"abc\": invalid syntax");
    refused("nofile=", "strconv.ParseInt: parsing \"\": invalid syntax");
    refused("nofile=1:", "strconv.ParseInt: parsing \"\": invalid syntax");
    refused("nofile=1.5", "strconv.ParseInt: parsing \"1.5\": invalid syntax");
    refused("nofile=1_000", "strconv.ParseInt: parsing \"1_000\": invalid syntax");
    refused("nofile=\"1\"", "strconv.ParseInt: parsing \"\\\"1\\\"\": invalid syntax");
    refused("nofile=99999999999999999999",
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
    refused("nofile=9223372036854775808",
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
    parses("nofile=-9223372036854775808:9223372036854775807", "nofile", 7, INT64_MIN, INT64_MAX);
    /* go-units reads the hard limit first */
    refused("nofile=x:y", "strconv.ParseInt: parsing \"y\": invalid syntax");
}

Test(rlimit, last_one_wins_sorted_by_name)
{
    guest_rlimit l[GUEST_RLIMITS_MAX];
    size_t n = 0;
    cb_err err;
    cb_err_clear(&err);
    cr_assert_eq(guest_rlimits_set(l, &n, "nproc=512", &err), 0);
    cr_assert_eq(guest_rlimits_set(l, &n, "nofile=1024:2048", &err), 0);
    cr_assert_eq(guest_rlimits_set(l, &n, "core=0", &err), 0);
    cr_assert_eq(guest_rlimits_set(l, &n, "nofile=100:200", &err), 0);
    cr_assert_eq(n, 3);
    char s[64];
    const char *want[] = {"core=0:0", "nofile=100:200", "nproc=512:512"};
    for (size_t i = 0; i < n; i++) {
        guest_rlimit_format(&l[i], s, sizeof s);
        cr_assert_str_eq(s, want[i]);
    }
    cr_assert_lt(guest_rlimits_set(l, &n, "bogus=1", &err), 0);
    cr_assert_eq(n, 3, "a refused value leaves the list alone");
    cb_err_clear(&err);
    cr_assert_eq(guest_rlimits_set(l, &n, "stack=-1", &err), 0);
    guest_rlimit_format(&l[3], s, sizeof s);
    cr_assert_str_eq(s, "stack=-1:-1");
}
