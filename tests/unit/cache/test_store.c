/* The local store: verified blobs, resumable writers, tags under concurrency, images,
 * cache records, layer images and GC. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

static char *root;
static store *st;

static void setup(void)
{
    root = xstrdup("/tmp/cbuild-store-test-XXXXXX");
    cr_assert(mkdtemp(root));
    cb_err err = {0};
    cr_assert_eq(store_open(root, &st, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    store_close(st);
    cb_err e = {0};
    cb_rm_rf(root, &e);
    free(root);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, layout_files)
{
    char *p = xasprintf("%s/oci-layout", root);
    cb_buf b;
    cb_buf_init(&b);
    cb_err err = {0};
    cr_assert_eq(cb_read_file(p, &b, &err), 0);
    cr_expect(strstr(b.data, "\"imageLayoutVersion\":\"1.0.0\""));
    free(p);
    p = xasprintf("%s/index.json", root);
    cr_assert_eq(cb_read_file(p, &b, &err), 0);
    cr_expect(strstr(b.data, "\"manifests\":[]"), "%s", b.data);
    free(p);
    cb_buf_free(&b);
}

Test(store, blob_put_verifies)
{
    cb_err err = {0};
    char dg[CB_DIGEST_STR_LEN];
    cr_assert_eq(store_blob_put_buf(st, "abc", 3, NULL, dg, &err), 0);
    cr_expect_str_eq(dg, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    int64_t sz;
    cr_expect(store_blob_exists(st, dg, &sz));
    cr_expect_eq(sz, 3);
    cb_buf b;
    cb_buf_init(&b);
    cr_assert_eq(store_blob_get(st, dg, &b, &err), 0);
    cr_expect_str_eq(b.data, "abc");
    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    cr_expect_eq(store_blob_put_buf(st, "abd", 3, wrong, NULL, &err), -EBADMSG);
    cr_expect(strstr(err.msg, wrong) && strstr(err.msg, "nothing stored"), "%s", err.msg);
    cr_expect_not(store_blob_exists(st, wrong, NULL));
    /* a blob corrupted on disk is detected on read */
    char *p = store_blob_path(st, dg);
    cr_assert_eq(cb_write_file_atomic(p, "abX", 3, 0644, &err), 0);
    cr_expect_eq(store_blob_get(st, dg, &b, &err), -EBADMSG);
    cr_expect(strstr(err.msg, "corrupt"), "%s", err.msg);
    free(p);
    cb_buf_free(&b);
}

Test(store, writer_resumes_and_verifies)
{
    cb_err err = {0};
    char want[CB_DIGEST_STR_LEN];
    cb_sha256_buf("hello world", 11, want);
    store_blob_writer *w;
    cr_assert_eq(store_blob_writer_open(st, want, &w, &err), 0);
    cr_assert_eq(store_blob_writer_write(w, "hello", 5, &err), 0);
    store_blob_writer_abort(w, true);
    cr_assert_eq(store_blob_writer_open(st, want, &w, &err), 0);
    cr_expect_eq(store_blob_writer_offset(w), 5, "partial data kept");
    oci_sink sk = store_blob_writer_sink(w);
    cr_assert_eq(sk.write(sk.opaque, " world", 6, &err), 0);
    char got[CB_DIGEST_STR_LEN];
    cr_assert_eq(store_blob_writer_commit(w, got, &err), 0, "%s", err.msg);
    cr_expect_str_eq(got, want);
    cr_expect(store_blob_exists(st, want, NULL));
    /* wrong bytes: refused, partial removed */
    char other[CB_DIGEST_STR_LEN];
    cb_sha256_buf("other", 5, other);
    cr_assert_eq(store_blob_writer_open(st, other, &w, &err), 0);
    cr_assert_eq(store_blob_writer_write(w, "0ther", 5, &err), 0);
    cr_expect_eq(store_blob_writer_commit(w, NULL, &err), -EBADMSG);
    cr_expect(strstr(err.msg, "digest mismatch"), "%s", err.msg);
    cr_expect_not(store_blob_exists(st, other, NULL));
    cr_assert_eq(store_blob_writer_open(st, other, &w, &err), 0);
    cr_expect_eq(store_blob_writer_offset(w), 0, "bad partial was dropped");
    store_blob_writer_abort(w, false);
}

static void commit_image(const char *tag, const char *content, store_image *out)
{
    cb_err err = {0};
    store_layer_writer *lw;
    oci_layer_opts lo;
    oci_layer_opts_default(&lo);
    lo.clamp_mtime = 0;
    cr_assert_eq(store_layer_writer_open(st, &lo, &lw, &err), 0);
    oci_tar_entry e = {.path = "file", .mode = S_IFREG | 0644, .size = (int64_t)strlen(content)};
    cr_assert_eq(oci_layer_writer_add(store_layer_writer_tar(lw), &e, -1, content, &err), 0);
    oci_layer_result res;
    cr_assert_eq(store_layer_writer_commit(lw, &res, &err), 0, "%s", err.msg);
    cr_assert(store_blob_exists(st, res.digest, NULL));
    oci_config cfg;
    oci_config_init(&cfg);
    cb_strv_push(&cfg.diff_ids, res.diff_id);
    oci_config_add_history(&cfg, NULL, "test", NULL, false);
    oci_descriptor l = {.media_type = (char *)res.media_type, .size = res.size};
    memcpy(l.digest, res.digest, sizeof l.digest);
    cr_assert_eq(store_image_commit(st, &cfg, &l, 1, tag, out, &err), 0, "%s", err.msg);
    oci_config_free(&cfg);
}

Test(store, images_tags_resolve)
{
    store_image a, b, r;
    cb_err err = {0};
    commit_image("app:1", "one", &a);
    commit_image("localhost:5000/x/app:2", "two", &b);
    cr_assert_eq(store_image_resolve(st, "app:1", &r, &err), 0, "%s", err.msg);
    cr_expect_str_eq(r.id, a.id);
    store_image_free(&r);
    cr_assert_eq(store_image_resolve(st, "docker.io/library/app:1", &r, &err), 0);
    store_image_free(&r);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", b.id + 7);
    cr_assert_eq(store_image_resolve(st, prefix, &r, &err), 0, "ID prefix: %s", err.msg);
    cr_expect_str_eq(r.manifest_digest, b.manifest_digest);
    store_image_free(&r);
    cr_assert_eq(store_image_resolve(st, b.manifest_digest, &r, &err), 0, "manifest digest: %s", err.msg);
    store_image_free(&r);
    cr_expect_eq(store_image_resolve(st, "app:nope", &r, &err), -ENOENT);
    cr_expect(strstr(err.msg, "No such image: docker.io/library/app:nope"), "%s", err.msg);
    store_tag *t;
    size_t n;
    cr_assert_eq(store_tag_list(st, &t, &n, &err), 0);
    cr_expect_eq(n, 2);
    store_tags_free(t, n);
    cr_expect_eq(store_tag_remove(st, "app:1", &err), 0);
    cr_expect_eq(store_tag_remove(st, "app:1", &err), -ENOENT);
    store_image_free(&a);
    store_image_free(&b);
}

Test(store, concurrent_tagging_keeps_every_tag)
{
    store_image a;
    commit_image("base:1", "x", &a);
    oci_descriptor d = {.media_type = (char *)OCI_MT_MANIFEST, .size = (int64_t)a.manifest_len};
    memcpy(d.digest, a.manifest_digest, sizeof d.digest);
    enum { PROCS = 6, TAGS = 15 };
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            store *s2;
            cb_err e = {0};
            if (store_open(root, &s2, &e) < 0)
                _exit(2);
            for (int i = 0; i < TAGS; i++) {
                char tag[64];
                snprintf(tag, sizeof tag, "p%d:t%d", p, i);
                if (store_tag_set(s2, tag, &d, &e) < 0)
                    _exit(3);
            }
            store_close(s2);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int stt;
        wait(&stt);
        cr_expect(WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
    }
    store_tag *t;
    size_t n;
    cb_err err = {0};
    cr_assert_eq(store_tag_list(st, &t, &n, &err), 0);
    cr_expect_eq(n, 1 + PROCS * TAGS, "every tag survived concurrent updates (got %zu)", n);
    store_tags_free(t, n);
    store_image_free(&a);
}

Test(store, cache_records)
{
    cb_err err = {0};
    json_t *rec = json_pack("{s:s,s:[s]}", "config", "x", "layers", "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    cr_assert_eq(store_cache_put(st, "key one", rec, &err), 0);
    json_decref(rec);
    json_t *got;
    cr_assert_eq(store_cache_get(st, "key one", &got, &err), 0);
    cr_expect_str_eq(json_string_value(json_object_get(got, "config")), "x");
    json_decref(got);
    cr_expect_eq(store_cache_get(st, "key two", &got, &err), -ENOENT);
    cr_expect_null(got);
    cr_expect_eq(store_cache_remove(st, "key one", &err), 0);
    cr_expect_eq(store_cache_get(st, "key one", &got, &err), -ENOENT);
}

Test(store, layer_images)
{
    cb_err err = {0};
    const char *diff = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    cr_expect_not(store_layer_image_exists(st, diff));
    char *tmp = store_layer_image_tmp_path(st, diff);
    cr_assert_eq(cb_write_file_atomic(tmp, "ext4", 4, 0644, &err), 0);
    cr_assert_eq(store_layer_image_commit(st, diff, tmp, &err), 0, "%s", err.msg);
    cr_expect(store_layer_image_exists(st, diff));
    char *p = store_layer_image_path(st, diff);
    cr_expect(cb_str_has_suffix(p, "2222.ext4"), "%s", p);
    free(p);
    free(tmp);
}

Test(store, prune_keeps_what_is_referenced)
{
    cb_err err = {0};
    store_image a;
    commit_image("keep:1", "kept", &a);
    char loose[CB_DIGEST_STR_LEN], cached[CB_DIGEST_STR_LEN];
    cr_assert_eq(store_blob_put_buf(st, "loose", 5, NULL, loose, &err), 0);
    cr_assert_eq(store_blob_put_buf(st, "cached", 6, NULL, cached, &err), 0);
    json_t *rec = json_pack("{s:[{s:s}]}", "layers", "digest", cached);
    cr_assert_eq(store_cache_put(st, "k", rec, &err), 0);
    json_decref(rec);
    store_usage u;
    cr_assert_eq(store_usage_get(st, &u, &err), 0);
    cr_expect_eq(u.cache_records, 1);
    cr_expect_gt(u.reclaimable_bytes, 0);
    store_prune_opts po = {0};
    uint64_t freed;
    cr_assert_eq(store_prune(st, &po, &freed, &err), 0, "%s", err.msg);
    cr_expect_not(store_blob_exists(st, loose, NULL), "unreferenced blob removed");
    cr_expect(store_blob_exists(st, cached, NULL), "blob named by a cache record kept");
    cr_expect(store_blob_exists(st, a.manifest.layers[0].digest, NULL), "tagged image's layer kept");
    store_image r;
    cr_assert_eq(store_image_resolve(st, "keep:1", &r, &err), 0, "%s", err.msg);
    store_image_free(&r);
    po.all = true;
    cr_assert_eq(store_prune(st, &po, &freed, &err), 0);
    cr_expect_not(store_blob_exists(st, cached, NULL), "--all drops the record and its blob");
    cr_expect(store_blob_exists(st, a.manifest.config.digest, NULL));
    store_image_free(&a);
}

Test(store, layer_image_from_blob)
{
    cb_err err = {0};
    store_image a;
    commit_image("li:1", "layer image content", &a);
    char *path;
    cr_assert_eq(store_layer_image_ensure(st, &a.manifest.layers[0], NULL, NULL, NULL, &path, &err), 0, "%s", err.msg);
    cr_expect(store_layer_image_exists(st, a.config.diff_ids.v[0]), "keyed by the diffID");
    char *cmd = xasprintf("e2fsck -fn %s >/dev/null 2>&1 && debugfs -R 'cat upper/file' %s 2>/dev/null | grep -qx 'layer image content'", path, path);
    int stt = system(cmd);
    cr_expect(WIFEXITED(stt) && WEXITSTATUS(stt) == 0, "e2fsck clean and debugfs reads upper/file");
    free(cmd);
    char *again;
    cr_assert_eq(store_layer_image_ensure(st, &a.manifest.layers[0], a.config.diff_ids.v[0], NULL, NULL, &again, &err), 0);
    cr_expect_str_eq(path, again);
    free(path);
    free(again);
    store_image_free(&a);
}
