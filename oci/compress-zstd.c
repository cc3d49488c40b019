/* zstd with libzstd's own worker threads (ZSTD_c_nbWorkers = cores). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "compress.h"

struct oci_compressor {
    oci_sink out;
    ZSTD_CCtx *cctx;
    unsigned char *buf;
    size_t cap;
};

static int zs_open(const oci_compress_opts *o, oci_sink out, oci_compressor **cp, cb_err *err)
{
    oci_compressor *c = xcalloc(1, sizeof *c);
    c->out = out;
    c->cctx = ZSTD_createCCtx();
    int level = o->level > 0 ? o->level : 3;
    if (level > ZSTD_maxCLevel())
        level = ZSTD_maxCLevel();
    int threads = o->threads > 0 ? o->threads : cb_ncpus();
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    if (threads > 1 && ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_nbWorkers, threads)))
        cb_debug("zstd: no multithreading support in libzstd; using one thread");
    c->cap = ZSTD_CStreamOutSize();
    c->buf = xmalloc(c->cap);
    (void)err;
    *cp = c;
    return 0;
}

static int zs_run(oci_compressor *c, const void *data, size_t n, ZSTD_EndDirective mode, cb_err *err)
{
    ZSTD_inBuffer in = {data, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {c->buf, c->cap, 0};
        size_t rem = ZSTD_compressStream2(c->cctx, &out, &in, mode);
        if (ZSTD_isError(rem))
            return cb_fail(err, "zstd compression failed: %s", ZSTD_getErrorName(rem));
        if (out.pos) {
            int r = c->out.write(c->out.opaque, c->buf, out.pos, err);
            if (r < 0)
                return r;
        }
        if (mode == ZSTD_e_continue ? in.pos == in.size : rem == 0)
            return 0;
    }
}

static int zs_write(oci_compressor *c, const void *data, size_t n, cb_err *err)
{
    return zs_run(c, data, n, ZSTD_e_continue, err);
}

static int zs_finish(oci_compressor *c, cb_err *err)
{
    return zs_run(c, NULL, 0, ZSTD_e_end, err);
}

static void zs_free(oci_compressor *c)
{
    ZSTD_freeCCtx(c->cctx);
    free(c->buf);
    free(c);
}

/* ---------- decompression ---------- */
static int zstd_decompress(int fd, const unsigned char *head, size_t hn, oci_sink sink, cb_err *err)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    size_t cap = ZSTD_DStreamInSize() > (1 << 17) ? ZSTD_DStreamInSize() : (1 << 17);
    size_t ocap = ZSTD_DStreamOutSize();
    cleanup_free unsigned char *in = xmalloc(cap);
    cleanup_free unsigned char *out = xmalloc(ocap);
    memcpy(in, head, hn);
    ZSTD_inBuffer ib = {in, hn, 0};
    int r = 0;
    size_t last = 1;
    bool eof = false;
    for (;;) {
        if (ib.pos == ib.size && !eof) {
            ssize_t n = read(fd, in, cap);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                r = cb_error(err, errno, "read");
                break;
            }
            if (n == 0)
                eof = true;
            ib.size = (size_t)n;
            ib.pos = 0;
        }
        if (ib.pos == ib.size && eof) {
            if (last != 0)
                r = cb_fail(err, "zstd stream is truncated");
            break;
        }
        ZSTD_outBuffer ob = {out, ocap, 0};
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            r = cb_fail(err, "corrupt zstd data: %s", ZSTD_getErrorName(last));
            break;
        }
        if (ob.pos && (r = sink.write(sink.opaque, out, ob.pos, err)) < 0)
            break;
    }
    ZSTD_freeDStream(ds);
    return r;
}

const oci_compressor_ops oci_compress_zstd_ops = {
    OCI_COMPRESSION_ZSTD, "zstd", 3, zs_open, zs_write, zs_finish, zs_free,
    .decompress = zstd_decompress,
};
