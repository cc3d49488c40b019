/* Internal: compression backends behind one small table (compress-gzip.c, compress-zstd.c). */
#ifndef CB_OCI_COMPRESS_H
#define CB_OCI_COMPRESS_H
#include "oci.h"

typedef struct oci_compressor oci_compressor;
typedef struct oci_compressor_ops {
    oci_compression algo;
    const char *name;
    int default_level;
    int (*open)(const oci_compress_opts *o, oci_sink out, oci_compressor **c, cb_err *err);
    int (*write)(oci_compressor *c, const void *data, size_t n, cb_err *err);
    int (*finish)(oci_compressor *c, cb_err *err);
    void (*free)(oci_compressor *c);
    /* The whole compressed stream from fd (its first hn bytes already read into head), the
     * uncompressed bytes into out; a truncated or corrupt stream is an error. */
    int (*decompress)(int fd, const unsigned char *head, size_t hn, oci_sink out, cb_err *err);
} oci_compressor_ops;

extern const oci_compressor_ops oci_compress_gzip_ops;
extern const oci_compressor_ops oci_compress_zstd_ops;

/* The layer pipeline: uncompressed bytes in -> diffID hash -> compressor -> blob hash -> sink. */
typedef struct oci_pipeline {
    const oci_compressor_ops *ops; /* NULL: uncompressed */
    oci_compressor *comp;
    oci_sink out;
    cb_sha256 *diff_hash;
    cb_sha256 *blob_hash;
    int64_t in_bytes, out_bytes;
    oci_compression algo;
} oci_pipeline;
int oci_pipeline_open(oci_pipeline *p, const oci_compress_opts *o, oci_sink out, cb_err *err);
int oci_pipeline_write(void *p, const void *data, size_t n, cb_err *err);
int oci_pipeline_finish(oci_pipeline *p, oci_layer_result *res, cb_err *err);
void oci_pipeline_free(oci_pipeline *p);
#endif
