/* libFuzzer: arbitrary bytes as an archive for the safe extractor (cache/extract.c). It must
 * not crash, and whatever it accepts stays inside its destination: a canary beside the
 * destination must survive every input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char base[64], dest[96], canary[96];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0]) {
        snprintf(base, sizeof base, "/tmp/cbuild-extract-fuzz-%d", (int)getpid());
        mkdir(base, 0700);
        snprintf(dest, sizeof dest, "%s/dest", base);
        snprintf(canary, sizeof canary, "%s/canary", base);
    }
    FILE *c = fopen(canary, "w");
    if (c) fclose(c);
    cb_err err = {0};
    store_tar_extract_mem(data, size, "fuzz input", dest, 0, &err);
    struct stat st;
    if (stat(canary, &st) != 0 || st.st_size != 0)
        abort(); /* something was written outside the destination */
    cb_rm_rf(dest, NULL);
    return 0;
}
