/* Layer tars and compression, judged by gzip, zstd and Python's tarfile. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "oci.h"

static char *tmpdir(void)
{
    char *d = xstrdup("/tmp/cbuild-oci-test-XXXXXX");
    cr_assert(mkdtemp(d));
    return d;
}

static void rmtree(const char *d)
{
    cb_err e = {0};
    cb_rm_rf(d, &e);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* compress data with opts into path; returns the result */
static oci_layer_result compress_to(const char *dir, const char *name, const char *data, size_t n,
                                    oci_compress_opts o)
{
    char *in = xasprintf("%s/in", dir), *out = xasprintf("%s/%s", dir, name);
    cb_err err = {0};
    cr_assert_eq(cb_write_file_atomic(in, data, n, 0644, &err), 0);
    int ifd = open(in, O_RDONLY), ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    oci_layer_result r;
    cr_assert_eq(oci_compress_stream(ifd, &o, oci_sink_fd(ofd), &r, &err), 0, "%s", err.msg);
    close(ifd);
    close(ofd);
    free(in);
    free(out);
    return r;
}

static char *test_data(size_t n)
{
    char *d = xmalloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        /* half text-like, half noise, so blocks compress differently */
        d[i] = (i / 100000) % 2 ? (char)(x >> 16) : "the quick brown fox "[i % 20];
    }
    return d;
}

Test(compress, parallel_gzip_is_valid_and_deterministic)
{
    char *dir = tmpdir();
    size_t n = 3 * 1024 * 1024 + 12345;
    char *data = test_data(n);
    oci_layer_result r4 = compress_to(dir, "a.gz", data, n, (oci_compress_opts){OCI_COMPRESSION_GZIP, 6, 4});
    oci_layer_result r1 = compress_to(dir, "b.gz", data, n, (oci_compress_opts){OCI_COMPRESSION_GZIP, 6, 1});
    cr_expect_str_eq(r4.digest, r1.digest, "thread count does not change the output");
    char diff[CB_DIGEST_STR_LEN];
    cb_sha256_buf(data, n, diff);
    cr_expect_str_eq(r4.diff_id, diff);
    cr_expect_eq(r4.uncompressed_size, (int64_t)n);
    cr_expect_str_eq(r4.media_type, OCI_MT_LAYER_GZIP);
    char *cmd = xasprintf("gzip -t %s/a.gz && gzip -dc %s/a.gz | cmp -s - %s/in", dir, dir, dir);
    cr_expect_eq(run(cmd), 0, "gzip accepts the block-parallel stream");
    free(cmd);
    char blob[CB_DIGEST_STR_LEN];
    char *p = xasprintf("%s/a.gz", dir);
    cb_err err = {0};
    cr_assert_eq(cb_sha256_file(p, blob, &err), 0);
    cr_expect_str_eq(blob, r4.digest, "blob digest computed in the same pass");
    /* and our own decompressor agrees with gzip */
    int fd = open(p, O_RDONLY);
    cb_buf out;
    cb_buf_init(&out);
    char d2[CB_DIGEST_STR_LEN];
    cr_assert_eq(oci_decompress_stream(fd, oci_sink_buf(&out), d2, NULL, &err), 0, "%s", err.msg);
    cr_expect_str_eq(d2, diff);
    cr_expect_eq(out.len, n);
    close(fd);
    cb_buf_free(&out);
    free(p);
    free(data);
    rmtree(dir);
    free(dir);
}

Test(compress, empty_input)
{
    char *dir = tmpdir();
    compress_to(dir, "e.gz", "", 0, (oci_compress_opts){OCI_COMPRESSION_GZIP, 0, 2});
    char *cmd = xasprintf("test \"$(gzip -dc %s/e.gz | wc -c)\" = 0", dir);
    cr_expect_eq(run(cmd), 0);
    free(cmd);
    rmtree(dir);
    free(dir);
}

Test(compress, zstd_multithreaded)
{
    char *dir = tmpdir();
    size_t n = 5 * 1024 * 1024;
    char *data = test_data(n);
    oci_layer_result r = compress_to(dir, "a.zst", data, n, (oci_compress_opts){OCI_COMPRESSION_ZSTD, 3, 2});
    cr_expect_str_eq(r.media_type, OCI_MT_LAYER_ZSTD);
    char *cmd = xasprintf("zstd -q -dc %s/a.zst | cmp -s - %s/in", dir, dir);
    cr_expect_eq(run(cmd), 0, "zstd accepts the stream");
    free(cmd);
    free(data);
    rmtree(dir);
    free(dir);
}

Test(compress, corrupt_input_is_an_error)
{
    char *dir = tmpdir();
    char *p = xasprintf("%s/bad.gz", dir);
    cb_err err = {0};
    const unsigned char junk[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0x00};
    cr_assert_eq(cb_write_file_atomic(p, junk, sizeof junk, 0644, &err), 0);
    int fd = open(p, O_RDONLY);
    cb_buf out;
    cb_buf_init(&out);
    cr_expect_lt(oci_decompress_stream(fd, oci_sink_buf(&out), NULL, NULL, &err), 0);
    cr_expect(strstr(err.msg, "gzip"), "%s", err.msg);
    close(fd);
    cb_buf_free(&out);
    free(p);
    rmtree(dir);
    free(dir);
}

static void make_tree(const char *root)
{
    char *p;
    cb_err err = {0};
    char longdir[300];
    memset(longdir, 'd', 150);
    longdir[150] = '\0';
    p = xasprintf("%s/%s", root, longdir);
    cr_assert_eq(mkdir(p, 0755), 0);
    free(p);
    p = xasprintf("%s/%s/%0200d.txt", root, longdir, 7);
    cr_assert_eq(cb_write_file_atomic(p, "long name\n", 10, 0644, &err), 0);
    free(p);
    p = xasprintf("%s/b", root);
    cr_assert_eq(cb_write_file_atomic(p, "hello\n", 6, 0640, &err), 0);
    struct timespec ts[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
    free(p);
    p = xasprintf("%s/a-link", root);
    cr_assert_eq(symlink("b", p), 0);
    free(p);
    char *a = xasprintf("%s/b", root), *h = xasprintf("%s/c-hard", root);
    cr_assert_eq(link(a, h), 0);
    free(a);
    free(h);
}

Test(layer, pax_long_names_links_xattrs_ns_times)
{
    char *dir = tmpdir();
    char *root = xasprintf("%s/root", dir);
    mkdir(root, 0755);
    make_tree(root);
    char *bx = xasprintf("%s/b", root);
    bool have_xattr = lsetxattr(bx, "user.cbuild", "v1", 2, 0) == 0;
    free(bx);
    char *tarp = xasprintf("%s/layer.tar", dir);
    int fd = open(tarp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    oci_layer_opts o = {.compress = {OCI_COMPRESSION_NONE, 0, 0}, .clamp_mtime = -1};
    oci_layer_writer *w;
    cb_err err = {0};
    cr_assert_eq(oci_layer_writer_new(&o, oci_sink_fd(fd), &w, &err), 0);
    cr_assert_eq(oci_layer_writer_add_tree(w, root, "", &err), 0, "%s", err.msg);
    cr_assert_eq(oci_layer_writer_add_whiteout(w, "gone/file", false, &err), 0);
    oci_layer_result res;
    cr_assert_eq(oci_layer_writer_finish(w, &res, &err), 0, "%s", err.msg);
    oci_layer_writer_free(w);
    close(fd);
    char dg[CB_DIGEST_STR_LEN];
    cr_assert_eq(cb_sha256_file(tarp, dg, &err), 0);
    cr_expect_str_eq(dg, res.diff_id);
    cr_expect_str_eq(res.diff_id, res.digest, "uncompressed: blob digest is the diffID");
    /* Python's tarfile is the independent reader */
    char *py = xasprintf(
        "python3 - '%s' %d <<'PY'\n"
        "import sys, tarfile\n"
        "t = tarfile.open(sys.argv[1]); m = {x.name.rstrip('/'): x for x in t.getmembers()}\n"
        "names = [x.name.rstrip('/') for x in t.getmembers()]\n"
        "long = [n for n in names if n.endswith('.txt')][0]\n"
        "assert len(long) > 255, long\n"
        "assert m['a-link'].issym() and m['a-link'].linkname == 'b'\n"
        "assert m['c-hard'].islnk() and m['c-hard'].linkname == 'b', m['c-hard'].linkname\n"
        "assert abs(m['b'].mtime - 1700000000.123456789) < 1e-6, m['b'].mtime\n"
        "assert m['b'].mode == 0o640\n"
        "assert 'gone/.wh.file' in names, names\n"
        "assert names[:3] == ['a-link', 'b', 'c-hard'], names\n"
        "if sys.argv[2] == '1': assert m['b'].pax_headers.get('SCHILY.xattr.user.cbuild') == 'v1', m['b'].pax_headers\n"
        "PY",
        tarp, have_xattr);
    cr_expect_eq(run(py), 0, "tarfile checks");
    free(py);
    /* our reader sees the same */
    fd = open(tarp, O_RDONLY);
    oci_layer_reader *r;
    cr_assert_eq(oci_layer_reader_open_fd(fd, &r, &err), 0);
    oci_tar_entry e;
    int found = 0;
    while (oci_layer_reader_next(r, &e, &err) == 1)
        if (!strcmp(e.path, "b")) {
            found = 1;
            cr_expect_eq(e.mtime.tv_nsec, 123456789);
            if (have_xattr) {
                cr_expect_eq(e.n_xattrs, 1);
                cr_expect_str_eq(e.xattrs[0].name, "user.cbuild");
            }
        }
    cr_expect(found);
    oci_layer_reader_free(r);
    close(fd);
    rmtree(dir);
    free(tarp);
    free(root);
    free(dir);
}

Test(layer, deterministic_with_clamped_times)
{
    char *dir = tmpdir();
    char *root = xasprintf("%s/root", dir);
    mkdir(root, 0755);
    make_tree(root);
    char digests[2][CB_DIGEST_STR_LEN];
    for (int i = 0; i < 2; i++) {
        if (i == 1) { /* touch everything: clamping must hide it */
            char *cmd = xasprintf("find %s -exec touch -h {} +", root);
            run(cmd);
            free(cmd);
        }
        cb_buf out;
        cb_buf_init(&out);
        oci_layer_opts o = {.compress = {OCI_COMPRESSION_GZIP, 0, 2}, .clamp_mtime = 1000};
        oci_layer_writer *w;
        cb_err err = {0};
        cr_assert_eq(oci_layer_writer_new(&o, oci_sink_buf(&out), &w, &err), 0);
        cr_assert_eq(oci_layer_writer_add_tree(w, root, "app", &err), 0, "%s", err.msg);
        oci_layer_result res;
        cr_assert_eq(oci_layer_writer_finish(w, &res, &err), 0);
        oci_layer_writer_free(w);
        memcpy(digests[i], res.digest, CB_DIGEST_STR_LEN);
        cb_buf_free(&out);
    }
    cr_expect_str_eq(digests[0], digests[1], "same tree, same clamp: same blob");
    rmtree(dir);
    free(root);
    free(dir);
}

Test(compress, recompress_keeps_diff_id_and_fails_cleanly)
{
    char *dir = tmpdir();
    size_t n = 4 * 1024 * 1024;
    char *data = test_data(n);
    oci_layer_result g = compress_to(dir, "a.gz", data, n, (oci_compress_opts){OCI_COMPRESSION_GZIP, 6, 2});
    char *p = xasprintf("%s/a.gz", dir), *q = xasprintf("%s/a.zst", dir);
    int in = open(p, O_RDONLY), out = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    oci_layer_result z;
    cb_err err = {0};
    oci_compress_opts zo = {OCI_COMPRESSION_ZSTD, 3, 2};
    cr_assert_eq(oci_recompress_stream(in, &zo, oci_sink_fd(out), &z, &err), 0, "%s", err.msg);
    close(in);
    close(out);
    cr_expect_str_eq(z.diff_id, g.diff_id, "same uncompressed stream");
    char *cmd = xasprintf("zstd -q -dc %s | cmp -s - %s/in", q, dir);
    cr_expect_eq(run(cmd), 0);
    free(cmd);
    /* truncated gzip input: an error, no crash, no SIGPIPE from the inflating thread */
    char *t = xasprintf("%s/trunc.gz", dir);
    cmd = xasprintf("head -c 100000 %s > %s", p, t);
    cr_assert_eq(run(cmd), 0);
    free(cmd);
    in = open(t, O_RDONLY);
    cb_buf sinkbuf;
    cb_buf_init(&sinkbuf);
    cr_expect_lt(oci_recompress_stream(in, &zo, oci_sink_buf(&sinkbuf), &z, &err), 0);
    cr_expect(strstr(err.msg, "truncated"), "%s", err.msg);
    close(in);
    cb_buf_free(&sinkbuf);
    free(t);
    free(p);
    free(q);
    free(data);
    rmtree(dir);
    free(dir);
}
