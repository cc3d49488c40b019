/* --platform values: containerd platforms.Parse + Normalize. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

void df_platform_split(const char *p, char **os, char **arch, char **variant)
{
    const char *a = strchr(p, '/');
    const char *v = a ? strchr(a + 1, '/') : NULL;
    size_t ol = a ? (size_t)(a - p) : strlen(p);
    const char *par = memchr(p, '(', ol); /* os(version): the OS alone */
    *os = xstrndup(p, par ? (size_t)(par - p) : ol);
    *arch = a ? (v ? xstrndup(a + 1, (size_t)(v - a - 1)) : xstrdup(a + 1)) : xstrdup("");
    *variant = v ? xstrdup(v + 1) : xstrdup("");
}

char *df_platform_os_version(const char *p)
{
    size_t ol = strcspn(p, "/");
    const char *par = memchr(p, '(', ol), *close = par ? memchr(par, ')', ol - (size_t)(par - p)) : NULL;
    return close ? xstrndup(par + 1, (size_t)(close - par - 1)) : xstrdup("");
}

/* containerd platforms.Parse + Normalize: "linux/arm64", "arm64", "linux", "x86_64",
 * "linux/arm/7", "windows(10.0.1)/amd64" ... -> canonical "os[(version)]/arch[/variant]". */
/* Long: containerd's normalisation table (os, arch and variant aliases) written out. */
int df_platform_normalize(const char *spec, char **out, cb_err *err)
{
    static const char *const oses[] = {"aix",     "android", "darwin",  "dragonfly", "freebsd", "hurd",
                                       "illumos", "ios",     "js",      "linux",     "nacl",    "netbsd",
                                       "openbsd", "plan9",   "solaris", "wasip1",    "windows", "zos"};
    static const char *const arches[] = {
        "386",     "amd64",  "amd64p32", "arm",      "armbe",     "arm64",       "arm64be", "loong64",
        "mips",    "mipsle", "mips64",   "mips64le", "mips64p32", "mips64p32le", "ppc",     "ppc64",
        "ppc64le", "riscv",  "riscv64",  "s390",     "s390x",     "sparc",       "sparc64", "wasm"};
    cb_strv parts;
    cb_strv_init(&parts);
    const char *st = spec;
    for (const char *c = spec;; c++) {
        if (*c == '/' || !*c) {
            cb_strv_push_owned(&parts, xstrndup(st, (size_t)(c - st)));
            st = c + 1;
            if (!*c)
                break;
        }
    }
    int rc = 0;
    /* the first part is os[(version[+feature…])] (platforms.Parse's osRe); features are dropped */
    cleanup_free char *osver = NULL;
    char *open = parts.n ? strchr(parts.v[0], '(') : NULL;
    if (open) {
        char *close = strchr(open, ')');
        size_t vl = close ? strcspn(open + 1, "+)") : 0;
        bool ok = close && !close[1];
        for (const char *q = open + 1; ok && q < close; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' ||
                 *q == '-' || *q == '.' || *q == '+';
        if (!ok)
            rc = cb_fail(err,
                         "failed to parse platform %s: \"%s\" is an invalid OS component of \"%s\": invalid argument",
                         spec, parts.v[0], spec);
        else if (vl)
            osver = xstrndup(open + 1, vl);
        *open = 0;
    }
    for (size_t i = 0; i < parts.n && rc == 0; i++) {
        const char *q = parts.v[i];
        bool ok = *q != 0;
        for (; *q && ok; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '_' || *q == '-';
        if (!ok)
            rc = cb_fail(err,
                         "failed to parse platform %s: \"%s\": must match ^[A-Za-z0-9_-]+$: invalid argument",
                         spec, parts.v[i]);
    }
    if (rc == 0 && parts.n > 3)
        rc = cb_fail(err,
                     "failed to parse platform %s: \"%s\": cannot parse platform specifier: invalid argument",
                     spec, spec);
    if (rc < 0) {
        cb_strv_free(&parts);
        return rc;
    }
    char *os = NULL, *arch = NULL, *variant = NULL;
    char *p0 = df_str_lower(parts.v[0]);
    if (parts.n == 1) {
        if (!strcmp(p0, "macos")) {
            free(p0);
            p0 = xstrdup("darwin");
        }
        for (size_t i = 0; i < sizeof(oses) / sizeof(oses[0]) && !os; i++)
            if (!strcmp(p0, oses[i]))
                os = xstrdup(p0);
        if (os) {
            arch = xstrdup("amd64");
            variant = xstrdup("");
        } else {
            arch = p0;
            p0 = NULL;
            variant = xstrdup("");
            os = xstrdup("linux");
        }
    } else {
        os = !strcmp(p0, "macos") ? xstrdup("darwin") : xstrdup(p0);
        arch = df_str_lower(parts.v[1]);
        variant = parts.n == 3 ? df_str_lower(parts.v[2]) : xstrdup("");
    }
    free(p0);
    /* normalizeArch */
    if (!strcmp(arch, "i386")) {
        free(arch);
        arch = xstrdup("386");
        variant[0] = 0;
    } else if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64") || !strcmp(arch, "amd64")) {
        free(arch);
        arch = xstrdup("amd64");
        if (!strcmp(variant, "v1"))
            variant[0] = 0;
    } else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
        free(arch);
        arch = xstrdup("arm64");
        if (!strcmp(variant, "8") || !strcmp(variant, "v8") || !strcmp(variant, "v8.0")) {
            free(variant);
            variant = xstrdup(parts.n == 3 ? "v8" : "");
        }
    } else if (!strcmp(arch, "armhf")) {
        free(arch);
        arch = xstrdup("arm");
        free(variant);
        variant = xstrdup("v7");
    } else if (!strcmp(arch, "armel")) {
        free(arch);
        arch = xstrdup("arm");
        free(variant);
        variant = xstrdup("v6");
    } else if (!strcmp(arch, "arm")) {
        if (!*variant || !strcmp(variant, "7")) {
            free(variant);
            variant = xstrdup("v7");
        } else if (!strcmp(variant, "5") || !strcmp(variant, "6") || !strcmp(variant, "8")) {
            char *v = xasprintf("v%s", variant);
            free(variant);
            variant = v;
        }
    }
    if (parts.n < 3 && !strcmp(arch, "arm") && !strcmp(variant, "v7"))
        variant[0] = 0; /* platforms.Parse: plain "arm" means arm/v7 and is printed without it */
    if (parts.n == 1 && !strcmp(os, "linux") && strcmp(spec, "linux")) {
        bool known = false;
        for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
            known |= !strcmp(arch, arches[i]);
        if (!known)
            rc = cb_fail(err,
                         "failed to parse platform %s: \"%s\": unknown operating system or architecture: "
                         "invalid argument",
                         spec, spec);
    }
    if (rc == 0) {
        /* platforms.Format drops the default arm v7 only when parsing a bare "arm"; FormatAll
         * writes the OS version in parentheses */
        cleanup_free char *o = osver ? xasprintf("%s(%s)", os, osver) : xstrdup(os);
        *out = *variant ? xasprintf("%s/%s/%s", o, arch, variant) : xasprintf("%s/%s", o, arch);
    }
    free(os);
    free(arch);
    free(variant);
    cb_strv_free(&parts);
    return rc;
}

char *df_platform_canonical(const char *platform)
{
    char *os, *arch, *variant;
    df_platform_split(platform, &os, &arch, &variant);
    char *ver = df_platform_os_version(platform);
    if (*ver) { /* FormatAll: the version stays with the OS */
        char *o = xasprintf("%s(%s)", os, ver);
        free(os);
        os = o;
    }
    free(ver);
    /* normalizeArch again: what platforms.Parse left out of the name comes back, and goes */
    if (!strcmp(arch, "arm") && !*variant) {
        free(variant);
        variant = xstrdup("v7");
    } else if (!strcmp(arch, "arm64") && !strcmp(variant, "v8")) {
        variant[0] = 0;
    }
    char *out = *variant ? xasprintf("%s/%s/%s", os, arch, variant)
                : *arch  ? xasprintf("%s/%s", os, arch)
                         : xstrdup(os);
    free(os);
    free(arch);
    free(variant);
    return out;
}
