/* store check: an intact store passes; each way of damaging one is named with its path. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext4.h"
#include "store.h"

static char *root;
static store *st;
static store_image img; /* tagged chk:1, one layer, its layer image built, one cache record */

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
    oci_config cfg;
    oci_config_init(&cfg);
    cb_strv_push(&cfg.diff_ids, res.diff_id);
    oci_config_add_history(&cfg, NULL, "test", NULL, false);
    oci_descriptor l = {.media_type = (char *)res.media_type, .size = res.size};
    memcpy(l.digest, res.digest, sizeof l.digest);
    cr_assert_eq(store_image_commit(st, &cfg, &l, 1, tag, out, &err), 0, "%s", err.msg);
    oci_config_free(&cfg);
}

static void setup(void)
{
    root = xstrdup("/tmp/cbuild-check-test-XXXXXX");
    cr_assert(mkdtemp(root));
    cb_err err = {0};
    cr_assert_eq(store_open(root, &st, &err), 0, "%s", err.msg);
    commit_image("chk:1", "checked content", &img);
    char *path;
    cr_assert_eq(store_layer_image_ensure(st, &img.manifest.layers[0], img.config.diff_ids.v[0], NULL, NULL, &path, &err),
                 0, "%s", err.msg);
    free(path);
    json_t *rec =
        json_pack("{s:{s:s,s:s,s:I,s:s},s:s}", "layer", "diff_id", img.config.diff_ids.v[0], "digest",
                  img.manifest.layers[0].digest, "size", (json_int_t)img.manifest.layers[0].size, "mediaType",
                  img.manifest.layers[0].media_type, "created", "2024-01-01T00:00:00Z");
    cr_assert_eq(store_cache_put(st, "step key", rec, &err), 0, "%s", err.msg);
    json_decref(rec);
}

static void teardown(void)
{
    store_image_free(&img);
    store_close(st);
    cb_err e = {0};
    cb_rm_rf(root, &e);
    free(root);
}

TestSuite(check, .init = setup, .fini = teardown);

/* The report's single problem: its path ends with path_suffix and its text has what. */
static void expect_one_problem(const store_check_report *r, const char *path_suffix, const char *what)
{
    cr_assert_eq(r->n_problems, 1, "want exactly one problem, got %zu (first: %s: %s)", r->n_problems,
                 r->n_problems ? r->problems[0].path : "-", r->n_problems ? r->problems[0].what : "-");
    cr_expect(cb_str_has_suffix(r->problems[0].path, path_suffix), "path %s should end with %s",
              r->problems[0].path, path_suffix);
    cr_expect(strstr(r->problems[0].what, what), "problem `%s` should say `%s`", r->problems[0].what, what);
}

static void run_check(store_check_report *r)
{
    cb_err err = {0};
    cr_assert_eq(store_check(st, r, &err), 0, "%s", err.msg);
}

static char *hex_of(const char *digest)
{
    return xstrdup(digest + 7);
}

Test(check, intact_store_counts_everything)
{
    store_check_report r;
    run_check(&r);
    cr_expect_eq(r.n_problems, 0, "first: %s: %s", r.n_problems ? r.problems[0].path : "",
                 r.n_problems ? r.problems[0].what : "");
    cr_expect_eq(r.blobs, 3, "layer, config, manifest");
    cr_expect_eq(r.images, 1);
    cr_expect_eq(r.records, 1);
    cr_expect_eq(r.layer_images, 1);
    cr_expect_eq(r.unreferenced_layer_images, 0);
    cr_expect_eq(r.n_leftovers, 0);
    store_check_report_free(&r);
}

Test(check, blob_content_not_matching_its_name)
{
    char *p = store_blob_path(st, img.manifest.layers[0].digest);
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(p, "garbage", 7, 0644, &err), 0);
    store_check_report r;
    run_check(&r);
    cr_assert_geq(r.n_problems, 1);
    cleanup_free char *hex = hex_of(img.manifest.layers[0].digest);
    bool found = false;
    for (size_t i = 0; i < r.n_problems; i++)
        if (cb_str_has_suffix(r.problems[i].path, hex) &&
            strstr(r.problems[i].what, "content hashes to sha256:") && strstr(r.problems[i].what, "7 bytes"))
            found = true;
    cr_expect(found, "the corrupt blob is named with what it hashes to; first: %s: %s", r.problems[0].path,
              r.problems[0].what);
    store_check_report_free(&r);
    free(p);
}

Test(check, truncated_blob_is_partial)
{
    char *p = store_blob_path(st, img.manifest.config.digest);
    cr_assert_eq(truncate(p, 10), 0);
    store_check_report r;
    run_check(&r);
    bool hashed = false, sized = false;
    for (size_t i = 0; i < r.n_problems; i++) {
        hashed |= strstr(r.problems[i].what, "corrupt or partial") != NULL;
        sized |= strstr(r.problems[i].what, "10 bytes, its descriptor says") != NULL;
    }
    cr_expect(hashed && sized, "both the digest and the descriptor size disagree (%zu problems)",
              r.n_problems);
    store_check_report_free(&r);
    free(p);
}

Test(check, missing_layer_of_a_tag)
{
    char *p = store_blob_path(st, img.manifest.layers[0].digest);
    cr_assert_eq(unlink(p), 0);
    store_check_report r;
    run_check(&r);
    /* the tag's layer and the cache record's blob are both gone */
    cr_assert_eq(r.n_problems, 2, "got %zu", r.n_problems);
    cr_expect(strstr(r.problems[0].what, "missing: layer 1 sha256:") &&
                  strstr(r.problems[0].what, "image docker.io/library/chk:1"),
              "%s", r.problems[0].what);
    cr_expect(strstr(r.problems[1].what, "names blob sha256:") &&
                  strstr(r.problems[1].what, "which is missing"),
              "%s", r.problems[1].what);
    cr_expect(cb_str_has_suffix(r.problems[1].path, ".json"), "%s", r.problems[1].path);
    store_check_report_free(&r);
    free(p);
}

Test(check, missing_config_and_manifest)
{
    char *p = store_blob_path(st, img.manifest.config.digest);
    cr_assert_eq(unlink(p), 0);
    store_check_report r;
    run_check(&r);
    cleanup_free char *hex = hex_of(img.manifest.config.digest);
    expect_one_problem(&r, hex, "missing: config");
    store_check_report_free(&r);
    free(p);
    p = store_blob_path(st, img.manifest_digest);
    cr_assert_eq(unlink(p), 0);
    run_check(&r);
    cleanup_free char *mhex = hex_of(img.manifest_digest);
    expect_one_problem(&r, mhex, "missing: tagged manifest");
    store_check_report_free(&r);
    free(p);
}

Test(check, corrupt_index_json)
{
    char *p = xasprintf("%s/index.json", root);
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(p, "{\"manifests\":[", 14, 0644, &err), 0);
    store_check_report r;
    run_check(&r);
    expect_one_problem(&r, "/index.json", "store index");
    store_check_report_free(&r);
    free(p);
}

Test(check, cache_record_corrupt_or_misplaced)
{
    char *p = xasprintf("%s/cache/%064d.json", root, 0);
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(p, "{\"key\":", 7, 0644, &err), 0);
    store_check_report r;
    run_check(&r);
    cr_expect_eq(r.records, 2);
    expect_one_problem(&r, "0000.json", "not JSON");
    store_check_report_free(&r);
    const char *moved = "{\"key\":\"other key\",\"record\":{}}";
    cr_assert_eq(cb_write_file_atomic(p, moved, strlen(moved), 0644, &err), 0);
    run_check(&r);
    expect_one_problem(&r, "0000.json", "holds key `other key`, whose record belongs in");
    store_check_report_free(&r);
    free(p);
}

Test(check, layer_image_truncated_or_not_ext4)
{
    char *p = store_layer_image_path(st, img.config.diff_ids.v[0]);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(truncate(p, sb.st_size / 2), 0);
    store_check_report r;
    run_check(&r);
    expect_one_problem(&r, ".ext4", "truncated:");
    store_check_report_free(&r);
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(p, "not ext4", 8, 0644, &err), 0);
    run_check(&r);
    expect_one_problem(&r, ".ext4", "not a usable ext4 layer image");
    store_check_report_free(&r);
    free(p);
}

Test(check, flattened_image_is_not_a_layer_image)
{
    char *p = store_layer_image_path(st, img.config.diff_ids.v[0]);
    cb_err err = {0};
    ext4_writer *w;
    cr_assert_eq(ext4_writer_new(p, NULL, &w, &err), 0, "%s", err.msg);
    ext4_entry e = {.path = "file", .mode = S_IFREG | 0644};
    cr_assert_eq(ext4_writer_add_file_buf(w, &e, "x", 1, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ext4_writer_finish(w, &err), 0, "%s", err.msg);
    ext4_writer_free(w);
    store_check_report r;
    run_check(&r);
    expect_one_problem(&r, ".ext4", "not an overlay layer image: no `upper/`");
    store_check_report_free(&r);
    free(p);
}

Test(check, stray_names_are_problems_temp_names_are_leftovers)
{
    cb_err err = {0};
    char *stray = xasprintf("%s/blobs/sha256/notadigest", root);
    cr_assert_eq(cb_write_file_atomic(stray, "x", 1, 0644, &err), 0);
    char *tmp = xasprintf("%s/cache/%064d.json.tmp-1-abcdef", root, 1);
    cr_assert_eq(cb_write_file_atomic(tmp, "{\"ke", 4, 0644, &err), 0);
    char *ing = xasprintf("%s/ingest/build-XYZ", root);
    cr_assert_eq(mkdir(ing, 0700), 0);
    char *big = xasprintf("%s/upper.ext4", ing);
    cr_assert_eq(cb_write_file_atomic(big, "0123456789", 10, 0644, &err), 0);
    store_check_report r;
    run_check(&r);
    expect_one_problem(&r, "/notadigest", "stray file");
    cr_expect_eq(r.records, 1, "the temp file is no record");
    cr_expect_eq(r.n_leftovers, 2);
    cr_expect_gt(r.leftover_bytes, 0);
    bool saw_build = false;
    for (size_t i = 0; i < r.n_leftovers; i++)
        saw_build |= cb_str_has_suffix(r.leftovers[i].path, "/ingest/build-XYZ");
    cr_expect(saw_build);
    store_check_report_free(&r);
    free(stray);
    free(tmp);
    free(ing);
    free(big);
}

Test(check, unreferenced_layer_image_is_not_a_problem)
{
    char *path;
    cb_err err = {0};
    store_image other;
    commit_image("gone:1", "soon untagged", &other);
    cr_assert_eq(
        store_layer_image_ensure(st, &other.manifest.layers[0], other.config.diff_ids.v[0], NULL, NULL, &path, &err), 0);
    cr_assert_eq(store_tag_remove(st, "gone:1", &err), 0);
    store_check_report r;
    run_check(&r);
    cr_expect_eq(r.n_problems, 0);
    cr_expect_eq(r.layer_images, 2);
    cr_expect_eq(r.unreferenced_layer_images, 1);
    store_check_report_free(&r);
    free(path);
    store_image_free(&other);
}
