/* Cache records (build cache key -> JSON result) and per-layer ext4 images. */
#include <pthread.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext4.h"
#include "internal.h"

static char *record_path(const store *s, const char *key)
{
    char dg[CB_DIGEST_STR_LEN];
    cb_sha256_buf(key, strlen(key), dg);
    return xasprintf("%s/%s.json", s->cache, dg + 7);
}

int store_cache_put(store *s, const char *key, json_t *record, cb_err *err)
{
    json_t *j = json_object();
    json_object_set_new(j, "key", json_string(key));
    json_object_set(j, "record", record);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    cleanup_free char *p = record_path(s, key);
    int r = cb_write_file_atomic(p, txt, strlen(txt), 0644, err);
    free(txt);
    return r;
}

int store_cache_get(store *s, const char *key, json_t **out, cb_err *err)
{
    *out = NULL;
    cleanup_free char *p = record_path(s, key);
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    int r = cb_read_file(p, &b, &e);
    if (r == -ENOENT) {
        cb_buf_free(&b);
        return -ENOENT;
    }
    if (r < 0) {
        cb_buf_free(&b);
        *err = e;
        return r;
    }
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    cb_buf_free(&b);
    const char *k = json_string_value(json_object_get(j, "key"));
    if (!j || !k || strcmp(k, key) || !json_object_get(j, "record")) {
        json_decref(j);
        return cb_failc(err, EBADMSG, "cache record `%s` is corrupt; remove it with `cbuild prune`", p);
    }
    *out = json_incref(json_object_get(j, "record"));
    json_decref(j);
    utimensat(AT_FDCWD, p, NULL, 0); /* last use, for prune --filter until= */
    return 0;
}

int store_cache_remove(store *s, const char *key, cb_err *err)
{
    cleanup_free char *p = record_path(s, key);
    if (unlink(p) < 0)
        return errno == ENOENT ? -ENOENT : cb_error(err, errno, "remove `%s`", p);
    return 0;
}

/* ---------- layer images ---------- */

static int discard_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    (void)opaque, (void)data, (void)n, (void)err;
    return 0;
}

char *store_layer_image_path(const store *s, const char *diff_id)
{
    cleanup_free char *hex = store_hex(diff_id);
    return xasprintf("%s/%s.ext4", s->layers, hex);
}

bool store_layer_image_exists(const store *s, const char *diff_id)
{
    cleanup_free char *p = store_layer_image_path(s, diff_id);
    return cb_path_exists(p);
}

char *store_layer_image_tmp_path(store *s, const char *diff_id)
{
    cleanup_free char *hex = store_hex(diff_id);
    static unsigned seq;
    return xasprintf("%s/layer-%s.ext4.tmp-%d-%u", s->ingest, hex, (int)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
}

int store_layer_image_commit(store *s, const char *diff_id, const char *tmp_path, cb_err *err)
{
    if (!cb_digest_valid(diff_id))
        return cb_fail(err, "invalid diffID `%s`", diff_id);
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", tmp_path);
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return cb_error(err, e, "fsync `%s`", tmp_path);
    }
    close(fd);
    cleanup_free char *dst = store_layer_image_path(s, diff_id);
    if (rename(tmp_path, dst) < 0)
        return cb_error(err, errno, "rename `%s` to `%s`", tmp_path, dst);
    cb_fsync_dir(s->layers);
    return 0;
}

/* The decompressing side of a layer image build: blob -> uncompressed tar into a socket
 * (send with MSG_NOSIGNAL: the reader may stop early), hashing it on the way. */
typedef struct unpack_job {
    int blob_fd, out_fd;
    char diff_id[CB_DIGEST_STR_LEN];
    int rc;
    cb_err err;
} unpack_job;

static int sock_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    int fd = *(int *)opaque;
    const char *p = data;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return cb_error(err, errno, "feeding the layer to the ext4 writer");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *unpack_main(void *arg)
{
    unpack_job *j = arg;
    j->rc = oci_decompress_stream(j->blob_fd, (oci_sink){sock_write, &j->out_fd}, j->diff_id, NULL, &j->err);
    shutdown(j->out_fd, SHUT_WR);
    return NULL;
}

/* Build the image at tmp from the blob while hashing its uncompressed bytes into diff_id. */
static int build_hashed(int blob_fd, const char *tmp, const char *seed, char diff_id[CB_DIGEST_STR_LEN],
                        cb_err *err)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return cb_error(err, errno, "socketpair");
    unpack_job j = {.blob_fd = blob_fd, .out_fd = sp[1]};
    pthread_t t;
    if (pthread_create(&t, NULL, unpack_main, &j) != 0) {
        close(sp[0]);
        close(sp[1]);
        return cb_fail(err, "cannot start a thread");
    }
    ext4_options o;
    ext4_options_init(&o);
    o.seed = seed; /* same layer, same bytes */
    int rc = ext4_build_overlay_layer_fd(tmp, sp[0], &o, err);
    /* the tar reader stops at the end-of-archive marker: the digest covers every byte */
    char buf[65536];
    while (read(sp[0], buf, sizeof buf) > 0) {
    }
    close(sp[0]);
    pthread_join(t, NULL);
    close(sp[1]);
    if (rc == 0 && j.rc < 0) {
        *err = j.err;
        rc = j.rc;
    }
    if (rc == 0)
        memcpy(diff_id, j.diff_id, CB_DIGEST_STR_LEN);
    return rc;
}

static int lock_layer_image(store *s, const char *diff_id, int *fd, cb_err *err)
{
    cleanup_free char *img = store_layer_image_path(s, diff_id);
    cleanup_free char *lock = xasprintf("%s.lock", img);
    *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return cb_error(err, errno, "open `%s`", lock);
    while (flock(*fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return cb_error(err, errno, "lock `%s`", lock);
    return 0;
}

int store_layer_image_ensure(store *s, const oci_descriptor *layer, const char *diff_id, store_blob_fetch_fn fetch,
                             void *ud, char **path, cb_err *err)
{
    *path = NULL;
    char computed[CB_DIGEST_STR_LEN];
    int r;
    if (!diff_id) {
        int fd;
        if (!store_blob_exists(s, layer->digest, NULL) && fetch && (r = fetch(ud, s, layer->digest, err)) < 0)
            return r;
        if ((r = store_blob_open(s, layer->digest, &fd, err)) < 0)
            return r;
        r = oci_decompress_stream(fd, (oci_sink){discard_write, NULL}, computed, NULL, err);
        close(fd);
        if (r < 0)
            return cb_error_wrap(err, "layer %s", layer->digest);
        diff_id = computed;
    }
    if (store_layer_image_exists(s, diff_id)) {
        *path = store_layer_image_path(s, diff_id);
        return 0;
    }
    cleanup_close int lk = -1;
    if ((r = lock_layer_image(s, diff_id, &lk, err)) < 0)
        return r;
    if (store_layer_image_exists(s, diff_id)) {
        *path = store_layer_image_path(s, diff_id);
        return 0;
    }
    if (!store_blob_exists(s, layer->digest, NULL) && fetch && (r = fetch(ud, s, layer->digest, err)) < 0)
        return r;
    int fd;
    if ((r = store_blob_open(s, layer->digest, &fd, err)) < 0)
        return r;
    cleanup_free char *tmp = store_layer_image_tmp_path(s, diff_id);
    char actual[CB_DIGEST_STR_LEN];
    r = build_hashed(fd, tmp, diff_id, actual, err);
    close(fd);
    if (r == 0 && strcmp(actual, diff_id) != 0)
        r = cb_failc(err, EBADMSG,
                     "layer %s: its content is %s, not the diff_id %s the image's config claims; no layer image made",
                     layer->digest, actual, diff_id);
    if (r == 0)
        r = store_layer_image_commit(s, diff_id, tmp, err);
    if (r < 0) {
        unlink(tmp);
        return r == -EBADMSG ? r : cb_error_wrap(err, "ext4 image of layer %s", layer->digest);
    }
    *path = store_layer_image_path(s, diff_id);
    return 0;
}
