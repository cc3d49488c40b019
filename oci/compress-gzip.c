/* Block-parallel gzip, as pigz does: the input is cut into blocks, each block is deflated
 * independently (primed with the previous block's last 32 KiB as dictionary) on every core,
 * and the raw deflate streams, each ended by a sync flush, are concatenated under one gzip
 * header and a trailer whose CRC is combined from the blocks' CRCs. */
#include <errno.h>
#include <unistd.h>
#include <pthread.h>
#include <string.h>
#include <zlib.h>

#include "compress.h"

#define GZ_BLOCK (512 * 1024)
#define GZ_DICT 32768

typedef struct gz_job {
    unsigned char *in;
    size_t in_len;
    unsigned char dict[GZ_DICT];
    size_t dict_len;
    bool last;
    int level;
    unsigned char *out;
    size_t out_len;
    uLong crc;
    bool done;
    bool failed;
    oci_compressor *owner;
} gz_job;

struct oci_compressor {
    oci_sink out;
    int level;
    int nthreads;
    cb_pool *pool;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gz_job **ring; /* in-flight jobs in submission order */
    size_t ring_cap, ring_head, ring_n;
    gz_job *cur; /* block being filled */
    unsigned char prev_tail[GZ_DICT];
    size_t prev_tail_len;
    uLong crc;
    uint64_t total;
    bool header_done;
};

static void gz_compress_job(gz_job *j)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    j->crc = crc32(0L, j->in, (uInt)j->in_len);
    if (deflateInit2(&zs, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        j->failed = true;
        return;
    }
    if (j->dict_len)
        deflateSetDictionary(&zs, j->dict, (uInt)j->dict_len);
    size_t cap = deflateBound(&zs, j->in_len) + 64;
    j->out = xmalloc(cap);
    zs.next_in = j->in;
    zs.avail_in = (uInt)j->in_len;
    int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
        zs.next_out = j->out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        int r = deflate(&zs, flush);
        if (r == Z_STREAM_ERROR) {
            j->failed = true;
            break;
        }
        if ((j->last && r == Z_STREAM_END) || (!j->last && zs.avail_out > 0 && zs.avail_in == 0))
            break;
        cap *= 2;
        j->out = xrealloc(j->out, cap);
    }
    j->out_len = zs.total_out;
    deflateEnd(&zs);
}

static void gz_worker(void *arg)
{
    gz_job *j = arg;
    oci_compressor *c = j->owner;
    gz_compress_job(j);
    pthread_mutex_lock(&c->mu);
    j->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void gz_job_free(gz_job *j)
{
    if (!j)
        return;
    free(j->in);
    free(j->out);
    free(j);
}

static int gzh_write(oci_compressor *c, cb_err *err)
{
    /* fixed header: no name, mtime 0, OS unknown, so output is reproducible */
    static const unsigned char h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    c->header_done = true;
    return c->out.write(c->out.opaque, h, sizeof h, err);
}

/* Wait for the oldest in-flight job and write it out. */
static int gz_drain_one(oci_compressor *c, cb_err *err)
{
    gz_job *j = c->ring[c->ring_head];
    pthread_mutex_lock(&c->mu);
    while (!j->done)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    c->ring_head = (c->ring_head + 1) % c->ring_cap;
    c->ring_n--;
    int r = 0;
    if (j->failed)
        r = cb_fail(err, "gzip compression failed");
    else {
        c->crc = crc32_combine(c->crc, j->crc, (z_off_t)j->in_len);
        r = c->out.write(c->out.opaque, j->out, j->out_len, err);
    }
    gz_job_free(j);
    return r;
}

static int gz_submit(oci_compressor *c, bool last, cb_err *err)
{
    int r;
    if (!c->header_done && (r = gzh_write(c, err)) < 0)
        return r;
    gz_job *j = c->cur;
    c->cur = NULL;
    j->last = last;
    j->level = c->level;
    j->owner = c;
    memcpy(j->dict, c->prev_tail, c->prev_tail_len);
    j->dict_len = c->prev_tail_len;
    /* the next block's dictionary: this block's tail (plus the old tail when short) */
    if (j->in_len >= GZ_DICT) {
        memcpy(c->prev_tail, j->in + j->in_len - GZ_DICT, GZ_DICT);
        c->prev_tail_len = GZ_DICT;
    } else {
        size_t keep = GZ_DICT - j->in_len;
        if (keep > c->prev_tail_len)
            keep = c->prev_tail_len;
        memmove(c->prev_tail, c->prev_tail + c->prev_tail_len - keep, keep);
        memcpy(c->prev_tail + keep, j->in, j->in_len);
        c->prev_tail_len = keep + j->in_len;
    }
    c->total += j->in_len;
    while (c->ring_n == c->ring_cap)
        if ((r = gz_drain_one(c, err)) < 0) {
            gz_job_free(j);
            return r;
        }
    c->ring[(c->ring_head + c->ring_n) % c->ring_cap] = j;
    c->ring_n++;
    if (c->pool)
        cb_pool_submit(c->pool, gz_worker, j);
    else
        gz_worker(j);
    return 0;
}

static int gz_open(const oci_compress_opts *o, oci_sink out, oci_compressor **cp, cb_err *err)
{
    (void)err;
    oci_compressor *c = xcalloc(1, sizeof *c);
    c->out = out;
    c->level = o->level > 0 ? (o->level > 9 ? 9 : o->level) : 6;
    c->nthreads = o->threads > 0 ? o->threads : cb_ncpus();
    if (c->nthreads > 1)
        c->pool = cb_pool_new(c->nthreads);
    c->ring_cap = (size_t)c->nthreads * 2;
    c->ring = xcalloc(c->ring_cap, sizeof *c->ring);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->crc = crc32(0L, Z_NULL, 0);
    *cp = c;
    return 0;
}

static int gz_write(oci_compressor *c, const void *data, size_t n, cb_err *err)
{
    const unsigned char *p = data;
    while (n > 0) {
        if (!c->cur) {
            c->cur = xcalloc(1, sizeof *c->cur);
            c->cur->in = xmalloc(GZ_BLOCK);
        }
        size_t room = GZ_BLOCK - c->cur->in_len;
        size_t k = n < room ? n : room;
        memcpy(c->cur->in + c->cur->in_len, p, k);
        c->cur->in_len += k;
        p += k;
        n -= k;
        if (c->cur->in_len == GZ_BLOCK) {
            int r = gz_submit(c, false, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int gz_finish(oci_compressor *c, cb_err *err)
{
    if (!c->cur) {
        c->cur = xcalloc(1, sizeof *c->cur);
        c->cur->in = xmalloc(1);
    }
    int r = gz_submit(c, true, err);
    while (r == 0 && c->ring_n)
        r = gz_drain_one(c, err);
    if (r < 0)
        return r;
    unsigned char t[8];
    uint32_t crc = (uint32_t)c->crc, isz = (uint32_t)c->total;
    for (int i = 0; i < 4; i++) {
        t[i] = (unsigned char)(crc >> (8 * i));
        t[4 + i] = (unsigned char)(isz >> (8 * i));
    }
    return c->out.write(c->out.opaque, t, sizeof t, err);
}

static void gz_free(oci_compressor *c)
{
    if (c->pool)
        cb_pool_free(c->pool); /* waits for in-flight jobs */
    while (c->ring_n) {
        gz_job_free(c->ring[c->ring_head]);
        c->ring_head = (c->ring_head + 1) % c->ring_cap;
        c->ring_n--;
    }
    gz_job_free(c->cur);
    free(c->ring);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* ---------- decompression ---------- */
/* Every gzip member in turn (a multi-member stream is one layer), into out. */
static int gzip_decompress(int fd, const unsigned char *head, size_t hn, oci_sink sink, cb_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return cb_fail(err, "zlib init failed");
    size_t cap = 1 << 18;
    cleanup_free unsigned char *in = xmalloc(cap);
    cleanup_free unsigned char *out = xmalloc(cap);
    int r = 0;
    bool eof = false;
    memcpy(in, head, hn);
    zs.next_in = in;
    zs.avail_in = (uInt)hn;
    bool ended = false;
    for (;;) {
        if (zs.avail_in == 0 && !eof) {
            ssize_t n = read(fd, in, cap);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                r = cb_error(err, errno, "read");
                break;
            }
            if (n == 0)
                eof = true;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
        }
        if (zs.avail_in == 0 && eof) {
            if (!ended)
                r = cb_fail(err, "gzip stream is truncated");
            break;
        }
        if (ended) { /* another gzip member follows */
            inflateReset(&zs);
            ended = false;
        }
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        int z = inflate(&zs, Z_NO_FLUSH);
        if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR) {
            r = cb_fail(err, "corrupt gzip data: %s", zs.msg ? zs.msg : "inflate failed");
            break;
        }
        size_t got = cap - zs.avail_out;
        if (got && (r = sink.write(sink.opaque, out, got, err)) < 0)
            break;
        if (z == Z_STREAM_END)
            ended = true;
    }
    inflateEnd(&zs);
    return r;
}

const oci_compressor_ops oci_compress_gzip_ops = {
    OCI_COMPRESSION_GZIP, "gzip", 6, gz_open, gz_write, gz_finish, gz_free,
    .decompress = gzip_decompress,
};
