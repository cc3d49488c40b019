/* libFuzzer target for oci/: the first byte picks the parser, the rest is its input.
 * Parsers must reject bad input with an error, never crash; what they accept must
 * serialise and parse again to the same bytes. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

static void roundtrip_manifest(const char *d, size_t n)
{
    oci_manifest m;
    cb_err err = {0};
    if (oci_manifest_parse(d, n, &m, &err) < 0)
        return;
    size_t l1, l2;
    char *s1 = oci_manifest_serialize(&m, &l1);
    oci_manifest m2;
    if (oci_manifest_parse(s1, l1, &m2, &err) < 0)
        __builtin_trap();
    char *s2 = oci_manifest_serialize(&m2, &l2);
    if (l1 != l2 || memcmp(s1, s2, l1))
        __builtin_trap();
    free(s1);
    free(s2);
    oci_manifest_free(&m);
    oci_manifest_free(&m2);
}

static void roundtrip_config(const char *d, size_t n)
{
    oci_config c;
    cb_err err = {0};
    if (oci_config_parse(d, n, &c, &err) < 0)
        return;
    size_t l1, l2;
    char *s1 = oci_config_serialize(&c, &l1);
    oci_config c2;
    if (oci_config_parse(s1, l1, &c2, &err) < 0)
        __builtin_trap();
    char *s2 = oci_config_serialize(&c2, &l2);
    if (l1 != l2 || memcmp(s1, s2, l1))
        __builtin_trap();
    free(s1);
    free(s2);
    oci_config_free(&c);
    oci_config_free(&c2);
}

static void index_select(const char *d, size_t n)
{
    oci_index ix;
    cb_err err = {0};
    if (oci_index_parse(d, n, &ix, &err) < 0)
        return;
    oci_platform p = {(char *)"linux", (char *)"amd64", NULL};
    (void)oci_index_select(&ix, &p);
    size_t l;
    free(oci_index_serialize(&ix, &l));
    oci_index_free(&ix);
}

static void reference(const char *d, size_t n)
{
    char *s = xstrndup(d, n);
    cb_err err = {0};
    char *a = oci_ref_normalize(s, &err);
    if (a) { /* normalising is idempotent */
        char *b = oci_ref_normalize(a, &err);
        if (!b || strcmp(a, b))
            __builtin_trap();
        free(b);
    }
    free(a);
    free(s);
}

static int discard(void *o, const void *d, size_t n, cb_err *e)
{
    (void)o, (void)d, (void)n, (void)e;
    return 0;
}

static void layer(const char *d, size_t n)
{
    int p[2];
    if (pipe(p) < 0)
        return;
    if (n > 60000)
        n = 60000; /* fits in the pipe buffer */
    if (write(p[1], d, n) != (ssize_t)n) {
        close(p[0]);
        close(p[1]);
        return;
    }
    close(p[1]);
    oci_layer_reader *r;
    cb_err err = {0};
    if (oci_layer_reader_open_fd(p[0], &r, &err) == 0) {
        oci_tar_entry e;
        char buf[4096];
        while (oci_layer_reader_next(r, &e, &err) == 1)
            while (oci_layer_reader_read(r, buf, sizeof buf, &err) > 0)
                ;
        oci_layer_reader_free(r);
    }
    close(p[0]);
    (void)discard;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: roundtrip_manifest(d, n); break;
    case 1: roundtrip_config(d, n); break;
    case 2: index_select(d, n); break;
    case 3: reference(d, n); break;
    case 4: layer(d, n); break;
    }
    return 0;
}
