/* Cache records (build cache key -> JSON result) and per-layer ext4 images. */
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

int store_layer_image_ensure(store *s, const oci_descriptor *layer, const char *diff_id, char **path, cb_err *err)
{
    *path = NULL;
    char computed[CB_DIGEST_STR_LEN];
    int r;
    if (!diff_id) {
        int fd;
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
    int fd;
    if ((r = store_blob_open(s, layer->digest, &fd, err)) < 0)
        return r;
    cleanup_free char *tmp = store_layer_image_tmp_path(s, diff_id);
    ext4_options o;
    ext4_options_init(&o);
    o.seed = diff_id; /* same layer, same bytes */
    r = ext4_build_overlay_layer_fd(tmp, fd, &o, err);
    close(fd);
    if (r == 0)
        r = store_layer_image_commit(s, diff_id, tmp, err);
    if (r < 0) {
        unlink(tmp);
        return cb_error_wrap(err, "ext4 image of layer %s", layer->digest);
    }
    *path = store_layer_image_path(s, diff_id);
    return 0;
}
