/* Compression front end: algorithm selection, the hashing pipeline, decompression. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"

int oci_compression_parse(const char *s, oci_compression *out, cb_err *err)
{
    if (!strcmp(s, "gzip"))
        *out = OCI_COMPRESSION_GZIP;
    else if (!strcmp(s, "zstd"))
        *out = OCI_COMPRESSION_ZSTD;
    else if (!strcmp(s, "uncompressed") || !strcmp(s, "none"))
        *out = OCI_COMPRESSION_NONE;
    else
        return cb_fail(err, "unknown compression `%s` (want gzip, zstd or uncompressed)", s);
    return 0;
}

const char *oci_compression_name(oci_compression c)
{
    switch (c) {
    case OCI_COMPRESSION_GZIP: return "gzip";
    case OCI_COMPRESSION_ZSTD: return "zstd";
    default: return "uncompressed";
    }
}

const char *oci_compression_media_type(oci_compression c)
{
    switch (c) {
    case OCI_COMPRESSION_GZIP: return OCI_MT_LAYER_GZIP;
    case OCI_COMPRESSION_ZSTD: return OCI_MT_LAYER_ZSTD;
    default: return OCI_MT_LAYER;
    }
}

oci_compression oci_compression_detect(const void *head, size_t n)
{
    const unsigned char *h = head;
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return OCI_COMPRESSION_GZIP;
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
        return OCI_COMPRESSION_ZSTD;
    return OCI_COMPRESSION_NONE;
}

/* ---------- sinks ---------- */

static int fd_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    int fd = (int)(intptr_t)opaque;
    int r = cb_write_all(fd, data, n);
    return r < 0 ? cb_error(err, -r, "write") : 0;
}

oci_sink oci_sink_fd(int fd)
{
    return (oci_sink){fd_write, (void *)(intptr_t)fd};
}

static int buf_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    (void)err;
    cb_buf_append(opaque, data, n);
    return 0;
}

oci_sink oci_sink_buf(cb_buf *b)
{
    return (oci_sink){buf_write, b};
}

/* ---------- pipeline ---------- */

static int blob_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    oci_pipeline *p = opaque;
    cb_sha256_update(p->blob_hash, data, n);
    p->out_bytes += (int64_t)n;
    return p->out.write(p->out.opaque, data, n, err);
}

int oci_pipeline_open(oci_pipeline *p, const oci_compress_opts *o, oci_sink out, cb_err *err)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->algo = o ? o->algo : OCI_COMPRESSION_GZIP;
    p->diff_hash = cb_sha256_new();
    p->blob_hash = cb_sha256_new();
    if (p->algo == OCI_COMPRESSION_GZIP)
        p->ops = &oci_compress_gzip_ops;
    else if (p->algo == OCI_COMPRESSION_ZSTD)
        p->ops = &oci_compress_zstd_ops;
    if (p->ops) {
        oci_compress_opts d = {p->algo, 0, 0};
        int r = p->ops->open(o ? o : &d, (oci_sink){blob_write, p}, &p->comp, err);
        if (r < 0) {
            oci_pipeline_free(p);
            return r;
        }
    }
    return 0;
}

int oci_pipeline_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    oci_pipeline *p = opaque;
    cb_sha256_update(p->diff_hash, data, n);
    p->in_bytes += (int64_t)n;
    if (p->ops)
        return p->ops->write(p->comp, data, n, err);
    return blob_write(p, data, n, err);
}

int oci_pipeline_finish(oci_pipeline *p, oci_layer_result *res, cb_err *err)
{
    if (p->ops) {
        int r = p->ops->finish(p->comp, err);
        if (r < 0)
            return r;
    }
    memset(res, 0, sizeof *res);
    cb_sha256_final(p->diff_hash, res->diff_id);
    cb_sha256_final(p->blob_hash, res->digest);
    p->diff_hash = p->blob_hash = NULL;
    res->size = p->out_bytes;
    res->uncompressed_size = p->in_bytes;
    res->media_type = oci_compression_media_type(p->algo);
    return 0;
}

void oci_pipeline_free(oci_pipeline *p)
{
    if (p->comp)
        p->ops->free(p->comp);
    cb_sha256_free(p->diff_hash);
    cb_sha256_free(p->blob_hash);
    memset(p, 0, sizeof *p);
}

int oci_compress_stream(int in_fd, const oci_compress_opts *opts, oci_sink sink, oci_layer_result *res, cb_err *err)
{
    oci_pipeline p;
    int r = oci_pipeline_open(&p, opts, sink, err);
    if (r < 0)
        return r;
    size_t cap = 1 << 20;
    cleanup_free char *buf = xmalloc(cap);
    for (;;) {
        ssize_t n = read(in_fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = cb_error(err, errno, "read tar stream");
            break;
        }
        if (n == 0)
            break;
        if ((r = oci_pipeline_write(&p, buf, (size_t)n, err)) < 0)
            break;
    }
    if (r == 0)
        r = oci_pipeline_finish(&p, res, err);
    oci_pipeline_free(&p);
    return r;
}

/* ---------- decompression ---------- */

/* The decompressed bytes on their way out: hashed (the diffID) and counted. */
typedef struct dsink {
    oci_sink out;
    cb_sha256 *h;
    int64_t n;
} dsink;

static int dsink_put(void *opaque, const void *data, size_t n, cb_err *err)
{
    dsink *d = opaque;
    if (d->h)
        cb_sha256_update(d->h, data, n);
    d->n += (int64_t)n;
    return d->out.write(d->out.opaque, data, n, err);
}

int oci_decompress_stream(int in_fd, oci_sink sink, char diff_id[CB_DIGEST_STR_LEN], int64_t *n, cb_err *err)
{
    unsigned char head[4];
    ssize_t hn = cb_read_full(in_fd, head, sizeof head);
    if (hn < 0)
        return cb_error(err, (int)-hn, "read");
    dsink d = {sink, diff_id ? cb_sha256_new() : NULL, 0};
    oci_sink ds = {dsink_put, &d};
    const oci_compressor_ops *ops = NULL;
    switch (oci_compression_detect(head, (size_t)hn)) {
    case OCI_COMPRESSION_GZIP: ops = &oci_compress_gzip_ops; break;
    case OCI_COMPRESSION_ZSTD: ops = &oci_compress_zstd_ops; break;
    default: break;
    }
    int r;
    if (ops) {
        r = ops->decompress(in_fd, head, (size_t)hn, ds, err);
    } else {
        r = dsink_put(&d, head, (size_t)hn, err);
        char buf[1 << 16];
        while (r == 0) {
            ssize_t k = read(in_fd, buf, sizeof buf);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                r = cb_error(err, errno, "read");
                break;
            }
            if (k == 0)
                break;
            r = dsink_put(&d, buf, (size_t)k, err);
        }
    }
    if (d.h) {
        if (r == 0)
            cb_sha256_final(d.h, diff_id);
        else
            cb_sha256_free(d.h);
    }
    if (n)
        *n = d.n;
    return r;
}

typedef struct decomp_thread {
    int in_fd, out_fd;
    cb_err err;
    int rc;
} decomp_thread;

static void *decomp_main(void *arg)
{
    decomp_thread *t = arg;
    sigset_t set; /* a write after the reader gave up must fail with EPIPE, not kill us */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    t->rc = oci_decompress_stream(t->in_fd, oci_sink_fd(t->out_fd), NULL, NULL, &t->err);
    close(t->out_fd); /* EOF for the compressing side */
    return NULL;
}

/* Decompression runs in its own thread feeding a pipe, so inflating overlaps with hashing
 * and compressing. */
int oci_recompress_stream(int in_fd, const oci_compress_opts *opts, oci_sink sink, oci_layer_result *res,
                          cb_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cb_error(err, errno, "pipe");
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    decomp_thread t = {in_fd, p[1], {0}, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, decomp_main, &t) != 0) {
        close(p[0]);
        close(p[1]);
        return cb_fail(err, "cannot start a decompression thread");
    }
    int r = oci_compress_stream(p[0], opts, sink, res, err);
    close(p[0]); /* a decompressor still writing gets EPIPE and stops */
    pthread_join(th, NULL);
    if (t.rc < 0) {
        *err = t.err;
        return t.rc;
    }
    return r;
}
