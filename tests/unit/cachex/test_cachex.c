/* Cache export/import documents and the local (OCI layout) form: round trips, determinism,
 * version and corruption checks, missing and tampered blobs. The layout is also read by
 * skopeo in tests/e2e/cachex. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachex.h"

static char *root;
static store *st;

static void setup(void)
{
    root = xstrdup("/tmp/cbuild-cachex-test-XXXXXX");
    cr_assert(mkdtemp(root));
    cb_err err = {0};
    cleanup_free char *sr = xasprintf("%s/store", root);
    cr_assert_eq(store_open(sr, &st, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    store_close(st);
    cb_err e = {0};
    cb_rm_rf(root, &e);
    free(root);
}

static json_t *rec(const char *digest, const char *diff_id, int64_t size)
{
    return json_pack("{s:{s:s,s:s,s:I,s:s},s:s}", "layer", "diff_id", diff_id, "digest", digest, "size", (json_int_t)size,
                     "mediaType", "application/vnd.oci.image.layer.v1.tar+gzip", "created", "2023-11-14T22:13:20Z");
}

/* a real blob in the store; returns its digest */
static void put_blob(const char *text, char out[CB_DIGEST_STR_LEN])
{
    cb_err err = {0};
    cr_assert_eq(store_blob_put_buf(st, text, strlen(text), NULL, out, &err), 0, "%s", err.msg);
}

static void two_records(cachex_set *s, char d1[CB_DIGEST_STR_LEN], char d2[CB_DIGEST_STR_LEN])
{
    put_blob("layer one", d1);
    put_blob("layer two!", d2);
    json_t *r1 = rec(d1, d1, 9), *r2 = rec(d2, d2, 10);
    cachex_set_add(s, "key-b", r2);
    cachex_set_add(s, "key-a", r1);
    cachex_set_add(s, "key-c", r1); /* same blob twice */
    json_decref(r1);
    json_decref(r2);
}

TestSuite(cachex, .init = setup, .fini = teardown);

Test(cachex, doc_round_trip_sorted_and_deterministic)
{
    cachex_set s = {0}, t = {0};
    char d1[CB_DIGEST_STR_LEN], d2[CB_DIGEST_STR_LEN];
    two_records(&s, d1, d2);
    json_t *doc = cachex_doc_new(&s);
    char *a = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(doc, "records"), 0), "key")), "key-a");
    cb_err err = {0};
    cr_assert_eq(cachex_doc_parse(doc, &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t.n, 3);
    cr_assert(json_equal(cachex_set_find(&t, "key-b"), cachex_set_find(&s, "key-b")));
    json_t *doc2 = cachex_doc_new(&t);
    char *b = json_dumps(doc2, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(a, b, "same records in another order give the same bytes");
    oci_descriptor *l;
    size_t n;
    cachex_set_layers(&s, &l, &n);
    cr_assert_eq(n, 2, "a blob named twice is listed once");
    cr_assert(strcmp(l[0].digest, l[1].digest) < 0);
    for (size_t i = 0; i < n; i++)
        oci_descriptor_free(&l[i]);
    free(l);
    free(a);
    free(b);
    json_decref(doc);
    json_decref(doc2);
    cachex_set_free(&s);
    cachex_set_free(&t);
}

Test(cachex, doc_rejects_other_versions_and_garbage)
{
    cachex_set t = {0};
    cb_err err = {0};
    json_t *j = json_pack("{s:i,s:[]}", "version", 2, "records");
    int vrc = cachex_doc_parse(j, &t, &err);
    cr_assert_eq(vrc, -EPROTONOSUPPORT, "%d %s", vrc, err.msg);
    cr_assert(strstr(err.msg, "version 2"), "%s", err.msg);
    json_decref(j);
    j = json_pack("{s:s}", "version", "1");
    cr_assert_eq(cachex_doc_parse(j, &t, &err), -EBADMSG);
    json_decref(j);
    const char *bad[] = {
        "{\"version\":1,\"records\":{}}",
        "{\"version\":1,\"records\":[{\"key\":\"k\"}]}",
        "{\"version\":1,\"records\":[{\"key\":\"k\",\"record\":{\"layer\":{\"digest\":\"sha256:zz\"}}}]}",
        "{\"version\":1,\"records\":[{\"key\":\"\",\"record\":{}}]}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = json_loads(bad[i], 0, NULL);
        cr_assert(j);
        int prc = cachex_doc_parse(j, &t, &err);
        cr_assert_eq(prc, -EBADMSG, "%s: %d %s", bad[i], prc, err.msg);
        json_decref(j);
    }
    cr_assert_eq(t.n, 0, "nothing half-imported");
}

Test(cachex, local_export_import_round_trip)
{
    cachex_set s = {0}, t = {0};
    char d1[CB_DIGEST_STR_LEN], d2[CB_DIGEST_STR_LEN], m1[CB_DIGEST_STR_LEN], m2[CB_DIGEST_STR_LEN];
    two_records(&s, d1, d2);
    cleanup_free char *dir = xasprintf("%s/lc", root);
    cb_err err = {0};
    cr_assert_eq(cachex_export_local(st, dir, &s, NULL, m1, &err), 0, "%s", err.msg);
    cr_assert_eq(cachex_export_local(st, dir, &s, NULL, m2, &err), 0, "%s", err.msg);
    cr_assert_str_eq(m1, m2, "export is deterministic");
    cachex_source *src = NULL;
    cr_assert_eq(cachex_import_local(st, dir, &t, &src, &err), 0, "%s", err.msg);
    cr_assert_eq(t.n, 3);
    /* a second, empty store fetches the blob from the directory, verified */
    store *st2;
    cleanup_free char *r2 = xasprintf("%s/store2", root);
    cr_assert_eq(store_open(r2, &st2, &err), 0, "%s", err.msg);
    int64_t got = 0;
    cr_assert_eq(cachex_source_fetch(src, st2, d2, 10, &got, &err), 0, "%s", err.msg);
    cr_assert(store_blob_exists(st2, d2, NULL));
    cr_assert_eq(got, 10);
    /* tampered in the directory: refused, not stored */
    cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, d1 + 7);
    FILE *f = fopen(p, "w");
    fputs("layer 0ne", f);
    fclose(f);
    cr_assert_lt(cachex_source_fetch(src, st2, d1, 9, NULL, &err), 0);
    cr_assert(strstr(err.msg, d1), "%s", err.msg);
    cr_assert(!store_blob_exists(st2, d1, NULL));
    cachex_source_free(src);
    store_close(st2);
    cachex_set_free(&s);
    cachex_set_free(&t);
}

Test(cachex, local_import_refuses_missing_blob_and_corrupt_index)
{
    cachex_set s = {0}, t = {0};
    char d1[CB_DIGEST_STR_LEN], d2[CB_DIGEST_STR_LEN];
    two_records(&s, d1, d2);
    cleanup_free char *dir = xasprintf("%s/lc", root);
    cb_err err = {0};
    cr_assert_eq(cachex_export_local(st, dir, &s, NULL, NULL, &err), 0, "%s", err.msg);
    cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, d1 + 7);
    cr_assert_eq(unlink(p), 0);
    cachex_source *src = NULL;
    cr_assert_lt(cachex_import_local(st, dir, &t, &src, &err), 0);
    cr_assert(strstr(err.msg, d1), "%s", err.msg);
    cr_assert_null(src);
    cr_assert_eq(t.n, 0);
    cleanup_free char *ix = xasprintf("%s/index.json", dir);
    FILE *f = fopen(ix, "w");
    fputs("{\"schemaVersion\":", f);
    fclose(f);
    cr_assert_lt(cachex_import_local(st, dir, &t, &src, &err), 0);
    cr_assert_eq(t.n, 0);
    cachex_set_free(&s);
}

Test(cachex, export_needs_every_blob)
{
    cachex_set s = {0};
    json_t *r = rec("sha256:1111111111111111111111111111111111111111111111111111111111111111",
                    "sha256:1111111111111111111111111111111111111111111111111111111111111111", 5);
    cachex_set_add(&s, "k", r);
    json_decref(r);
    cleanup_free char *dir = xasprintf("%s/lc", root);
    cb_err err = {0};
    cr_assert_lt(cachex_export_local(st, dir, &s, NULL, NULL, &err), 0);
    cr_assert(strstr(err.msg, "sha256:1111"), "%s", err.msg);
    cleanup_free char *ix = xasprintf("%s/index.json", dir);
    cr_assert_neq(access(ix, F_OK), 0, "no index.json names a manifest with a missing blob");
    cachex_set_free(&s);
}
