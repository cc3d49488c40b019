/* guest/rlimit.c: docker's --ulimit NAME=SOFT[:HARD], parsed as go-units' ParseUlimit does (its
 * names, its order of checks and its messages, strconv's among them), for `cbuild build` and
 * `cbuild run` alike. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

/* go-units' ulimitNameMapping: Linux's resource numbers (asm-generic, so amd64's and arm64's);
 * "as" is left out there on purpose ("doesn't seem usable with the way Docker inits a container"). */
static const struct {
    const char *name;
    uint32_t resource;
} rlimit_names[] = {
    {"core", 4},    {"cpu", 0},       {"data", 2},    {"fsize", 1},       {"locks", 10},
    {"memlock", 8}, {"msgqueue", 12}, {"nice", 13},   {"nofile", 7},      {"nproc", 6},
    {"rss", 5},     {"rtprio", 14},   {"rttime", 15}, {"sigpending", 11}, {"stack", 3},
};

/* strconv.Quote, for the ASCII a flag value holds (other bytes are passed through); malloc'd. */
static char *go_quote(const char *s)
{
    size_t o = 0, cap = strlen(s) * 4 + 3;
    char *out = xmalloc(cap);
    out[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r"
                          : c == '\a' ? "\\a"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\v' ? "\\v"
                                      : NULL;
        if (esc)
            o += (size_t)snprintf(out + o, cap - o, "%s", esc);
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = 0;
    return out;
}

/* strconv.ParseInt(s, 10, 64): an optional sign and decimal digits; a digit run past int64 is a
 * range error where it overflows, any other byte a syntax error. */
static int go_parse_int64(const char *s, int64_t *out, cb_err *err)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    uint64_t v = 0;
    const char *why = *p ? NULL : "invalid syntax";
    for (; !why && *p; p++) {
        if (*p < '0' || *p > '9')
            why = "invalid syntax";
        else if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            why = "value out of range";
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!why && (neg ? v > (1ull << 63) : v >= (1ull << 63)))
        why = "value out of range";
    if (why) {
        cleanup_free char *q = go_quote(s);
        return cb_failc(err, EINVAL, "strconv.ParseInt: parsing %s: %s", q, why);
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int ulimit_value(const char *s, int64_t *out, cb_err *err)
{
    if (!strcmp(s, "infinity")) {
        *out = -1;
        return 0;
    }
    return go_parse_int64(s, out, err);
}

int guest_rlimit_parse(const char *val, guest_rlimit *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(val, '=');
    if (!eq)
        return cb_failc(err, EINVAL, "invalid ulimit argument: %s", val);
    size_t nl = (size_t)(eq - val), i;
    for (i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
        if (strlen(rlimit_names[i].name) == nl && !memcmp(rlimit_names[i].name, val, nl))
            break;
    if (i == sizeof rlimit_names / sizeof rlimit_names[0])
        return cb_failc(err, EINVAL, "invalid ulimit type: %.*s", (int)nl, val);
    const char *limits = eq + 1, *colon = strchr(limits, ':');
    if (colon && strchr(colon + 1, ':'))
        return cb_failc(err, EINVAL,
                        "too many limit value arguments - %s, can only have up to two, `soft[:hard]`",
                        limits);
    cleanup_free char *soft_s = xstrndup(limits, colon ? (size_t)(colon - limits) : strlen(limits));
    int64_t soft, hard;
    /* go-units parses the hard limit first */
    if (colon && ulimit_value(colon + 1, &hard, err) < 0)
        return -EINVAL;
    if (ulimit_value(soft_s, &soft, err) < 0)
        return -EINVAL;
    if (!colon)
        hard = soft;
    if (hard != -1 && soft == -1)
        return cb_failc(
            err, EINVAL,
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: %lld",
            (long long)hard);
    if (hard != -1 && soft > hard)
        return cb_failc(err, EINVAL,
                        "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                        (long long)soft, (long long)hard);
    snprintf(out->name, sizeof out->name, "%s", rlimit_names[i].name);
    out->resource = rlimit_names[i].resource;
    out->soft = soft;
    out->hard = hard;
    return 0;
}

int guest_rlimits_set(guest_rlimit list[GUEST_RLIMITS_MAX], size_t *n, const char *val, cb_err *err)
{
    guest_rlimit r;
    int rc = guest_rlimit_parse(val, &r, err);
    if (rc < 0)
        return rc;
    size_t at = 0;
    while (at < *n && strcmp(list[at].name, r.name) < 0)
        at++;
    if (at < *n && !strcmp(list[at].name, r.name)) {
        list[at] = r; /* docker keeps them in a map by name: the last one wins */
        return 0;
    }
    if (*n == GUEST_RLIMITS_MAX) /* never: there are fewer names */
        return cb_failc(err, E2BIG, "at most %d ulimits", GUEST_RLIMITS_MAX);
    memmove(&list[at + 1], &list[at], sizeof *list * (*n - at));
    list[at] = r;
    (*n)++;
    return 0;
}

void guest_rlimit_format(const guest_rlimit *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s=%lld:%lld", r->name, (long long)r->soft, (long long)r->hard);
}
