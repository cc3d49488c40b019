/* libFuzzer: `cbuild store check`'s readers (cache/check.c) on a hostile store. The input is
 * up to five parts separated by a 0xff byte: index.json, a manifest, a config, a cache record
 * and a layer blob. Before they are written, "@M", "@C" and "@L" in the text become the real
 * digests of the manifest, config and layer parts (so references resolve and the fuzzer
 * reaches the manifest, config and record readers rather than "missing blob"). The check must
 * finish with a report, never crash; a store it calls clean must have nothing missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "store.h"

static char root[64];

static void subst(cb_buf *out, const uint8_t *p, size_t n, const char *m, const char *c, const char *l)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '@' && i + 1 < n && (p[i + 1] == 'M' || p[i + 1] == 'C' || p[i + 1] == 'L')) {
            cb_buf_puts(out, p[i + 1] == 'M' ? m : p[i + 1] == 'C' ? c : l);
            i++;
        } else {
            cb_buf_putc(out, (char)p[i]);
        }
    }
}

static void put_blob(const char *digest, const void *data, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", root, digest + 7);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[5] = {0};
    size_t len[5] = {0};
    size_t np = 0, st = 0;
    for (size_t i = 0; i <= size && np < 5; i++)
        if (i == size || data[i] == 0xff) {
            part[np] = data + st;
            len[np++] = i - st;
            st = i + 1;
        }
    snprintf(root, sizeof root, "/tmp/store-check-fuzz-%d", (int)getpid());
    cb_err err = {0};
    cb_rm_rf(root, &err);
    store *s;
    if (store_open(root, &s, &err) < 0)
        abort();
    char ld[CB_DIGEST_STR_LEN] = "", cd[CB_DIGEST_STR_LEN] = "", md[CB_DIGEST_STR_LEN] = "";
    if (np > 4) {
        cb_sha256_buf(part[4], len[4], ld);
        put_blob(ld, part[4], len[4]);
    }
    cb_buf cfg, man, idx, rec;
    cb_buf_init(&cfg);
    cb_buf_init(&man);
    cb_buf_init(&idx);
    cb_buf_init(&rec);
    if (np > 2) {
        subst(&cfg, part[2], len[2], "", "", ld);
        cb_sha256_buf(cfg.data ? cfg.data : "", cfg.len, cd);
        put_blob(cd, cfg.data ? cfg.data : "", cfg.len);
    }
    if (np > 1) {
        subst(&man, part[1], len[1], "", cd, ld);
        cb_sha256_buf(man.data ? man.data : "", man.len, md);
        put_blob(md, man.data ? man.data : "", man.len);
    }
    if (np > 0) {
        subst(&idx, part[0], len[0], md, cd, ld);
        char path[128];
        snprintf(path, sizeof path, "%s/index.json", root);
        if (cb_write_file_atomic(path, idx.data ? idx.data : "", idx.len, 0644, &err) < 0)
            abort();
    }
    if (np > 3) {
        subst(&rec, part[3], len[3], md, cd, ld);
        json_t *j = json_loadb(rec.data ? rec.data : "", rec.len, 0, NULL);
        if (j) {
            store_cache_put(s, "fuzz-key", j, &err);
            json_decref(j);
        }
    }
    store_check_report r;
    memset(&r, 0, sizeof r);
    cb_err_clear(&err);
    if (store_check(s, &r, &err) == 0) {
        for (size_t i = 0; i < r.n_problems; i++)
            if (!r.problems[i].path || !r.problems[i].what)
                abort(); /* every problem names what and where */
        store_check_report_free(&r);
    } else if (!err.msg[0]) {
        abort(); /* a failed check says why */
    }
    store_close(s);
    cb_rm_rf(root, &err);
    cb_buf_free(&cfg);
    cb_buf_free(&man);
    cb_buf_free(&idx);
    cb_buf_free(&rec);
    return 0;
}
