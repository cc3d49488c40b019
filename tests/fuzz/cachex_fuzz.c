/* libFuzzer: the cache record document parser (cache/cache-export.c). An accepted document
 * must serialise and parse back to the same records, byte for byte.
 * Build by hand (see docs/cache.md):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon -Ioci -Icache -Iext4 \
 *     tests/fuzz/cachex_fuzz.c cache/cache-export.c cache/cache-import.c cache/[a-z]*.c oci/*.c \
 *     ext4/*.c common/*.c -ljansson -larchive -lcurl -lzstd -lz -lcrypto -lpthread -lm */
#include <stdlib.h>
#include <string.h>

#include "cachex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    cachex_set s = {0}, t = {0};
    cb_err err = {0};
    if (cachex_doc_parse(j, &s, &err) == 0) {
        json_t *doc = cachex_doc_new(&s);
        char *a = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (cachex_doc_parse(doc, &t, &err) != 0)
            abort();
        json_t *doc2 = cachex_doc_new(&t);
        char *b = json_dumps(doc2, JSON_COMPACT | JSON_SORT_KEYS);
        if (strcmp(a, b))
            abort();
        oci_descriptor *l;
        size_t n;
        cachex_set_layers(&t, &l, &n);
        for (size_t i = 0; i < n; i++)
            oci_descriptor_free(&l[i]);
        free(l);
        free(a);
        free(b);
        json_decref(doc);
        json_decref(doc2);
    } else if (s.n) {
        abort(); /* nothing half-imported */
    }
    cachex_set_free(&s);
    cachex_set_free(&t);
    json_decref(j);
    return 0;
}
