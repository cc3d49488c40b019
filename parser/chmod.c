/* --chmod's symbolic modes (BuildKit >= 0.14 takes them besides octal): chmod(1)'s grammar,
 * [ugoa]*([-+=]([rwxXst]*|[ugo]))+ clauses separated by commas, applied to each copied file's
 * own mode. Without a who the clause applies to all (there is no umask in a build). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *apply_clause(const char *p, mode_t *m, bool is_dir)
{
    mode_t who = 0;
    for (; *p && strchr("ugoa", *p); p++)
        who |= *p == 'u' ? 04700 : *p == 'g' ? 02070 : *p == 'o' ? 01007 : 07777;
    if (!who)
        who = 07777;
    if (!*p || !strchr("+-=", *p))
        return NULL;
    while (*p && strchr("+-=", *p)) {
        char op = *p++;
        mode_t bits = 0;
        if (*p && strchr("ugo", *p)) {
            /* g=u: copy another class's permissions */
            mode_t src = *p == 'u' ? (*m >> 6) & 7 : *p == 'g' ? (*m >> 3) & 7 : *m & 7;
            bits = (src << 6) | (src << 3) | src;
            p++;
        } else {
            for (; *p && strchr("rwxXst", *p); p++) {
                switch (*p) {
                case 'r': bits |= 0444; break;
                case 'w': bits |= 0222; break;
                case 'x': bits |= 0111; break;
                case 'X': /* search for directories, execute where some class has it */
                    if (is_dir || (*m & 0111))
                        bits |= 0111;
                    break;
                case 's': bits |= 06000; break;
                case 't': bits |= 01000; break;
                }
            }
        }
        bits &= who;
        if (op == '+')
            *m |= bits;
        else if (op == '-')
            *m &= ~bits;
        else
            *m = (*m & ~(who & (is_dir ? 00777 : 07777))) | bits; /* a directory keeps its set-gid */
    }
    return p;
}

int df_chmod_apply(const char *spec, mode_t mode, bool is_dir, mode_t *out, cb_err *err)
{
    mode_t m = mode & 07777;
    const char *p = spec ? spec : "";
    if (!*p)
        return cb_fail(err, "invalid chmod parameter: '%s': empty mode", p);
    for (;;) {
        const char *q = apply_clause(p, &m, is_dir);
        if (!q)
            return cb_fail(err, "invalid chmod parameter: '%s': not an octal or a symbolic mode (as chmod(1): u+rw,go-w, a+X)", spec);
        if (!*q)
            break;
        if (*q != ',' || !q[1])
            return cb_fail(err, "invalid chmod parameter: '%s': not an octal or a symbolic mode (as chmod(1): u+rw,go-w, a+X)", spec);
        p = q + 1;
    }
    *out = m;
    return 0;
}

int df_chmod_check(const char *spec, cb_err *err)
{
    const char *p = spec ? spec : "";
    if (*p >= '0' && *p <= '9') {
        /* BuildKit's text for anything that looks like a number (convert_copy.go: 64a too) */
        char *end;
        unsigned long v = strtoul(p, &end, 8);
        if (*end || v > 07777)
            return cb_fail(err, "invalid chmod parameter: '%s'. it should be octal string and between 0 and 07777", p);
        return 0;
    }
    mode_t dummy;
    return df_chmod_apply(p, 0644, false, &dummy, err);
}
