/* The store: layout creation, process locking, blobs and streaming blob writers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

char *store_hex(const char *digest)
{
    return xstrdup(cb_str_has_prefix(digest, "sha256:") ? digest + 7 : digest);
}

const char *store_root(const store *s)
{
    return s->root;
}

int store_open(const char *root, store **out, cb_err *err)
{
    store *s = xcalloc(1, sizeof *s);
    s->lock_fd = -1;
    s->root = xstrdup(root);
    s->blobs = xasprintf("%s/blobs/sha256", root);
    s->ingest = xasprintf("%s/ingest", root);
    s->cache = xasprintf("%s/cache", root);
    s->layers = xasprintf("%s/layers/sha256", root);
    int r;
    if ((r = cb_mkdir_p(s->blobs, 0755, err)) < 0 || (r = cb_mkdir_p(s->ingest, 0700, err)) < 0 ||
        (r = cb_mkdir_p(s->cache, 0700, err)) < 0 || (r = cb_mkdir_p(s->layers, 0755, err)) < 0) {
        store_close(s);
        return cb_error_wrap(err, "opening store %s", root);
    }
    cleanup_free char *lock = xasprintf("%s/lock", root);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_SH) < 0) {
        r = cb_error(err, errno, "lock store `%s`", lock);
        store_close(s);
        return r;
    }
    cleanup_free char *layout = xasprintf("%s/oci-layout", root);
    if (!cb_path_exists(layout)) {
        static const char txt[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        if ((r = cb_write_file_atomic(layout, txt, sizeof txt - 1, 0644, err)) < 0) {
            store_close(s);
            return r;
        }
    }
    cleanup_free char *index = xasprintf("%s/index.json", root);
    if (!cb_path_exists(index)) {
        oci_index ix = {.media_type = (char *)OCI_MT_INDEX};
        size_t n;
        cleanup_free char *j = oci_index_serialize(&ix, &n);
        /* a concurrent creator writes the same bytes; rename makes either win */
        if ((r = cb_write_file_atomic(index, j, n, 0644, err)) < 0) {
            store_close(s);
            return r;
        }
    }
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->root);
    free(s->blobs);
    free(s->ingest);
    free(s->cache);
    free(s->layers);
    free(s);
}

char *store_blob_path(const store *s, const char *digest)
{
    cleanup_free char *hex = store_hex(digest);
    return xasprintf("%s/%s", s->blobs, hex);
}

bool store_blob_exists(const store *s, const char *digest, int64_t *size)
{
    if (!cb_digest_valid(digest))
        return false;
    cleanup_free char *p = store_blob_path(s, digest);
    struct stat st;
    if (stat(p, &st) < 0)
        return false;
    if (size)
        *size = st.st_size;
    return true;
}

int store_blob_open(const store *s, const char *digest, int *fd, cb_err *err)
{
    if (!cb_digest_valid(digest))
        return cb_fail(err, "invalid digest `%s`", digest);
    cleanup_free char *p = store_blob_path(s, digest);
    *fd = open(p, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return cb_error(err, errno, "blob %s in store %s", digest, s->root);
    return 0;
}

int store_blob_get(const store *s, const char *digest, cb_buf *out, cb_err *err)
{
    if (!cb_digest_valid(digest))
        return cb_fail(err, "invalid digest `%s`", digest);
    cleanup_free char *p = store_blob_path(s, digest);
    cb_buf_reset(out);
    int r = cb_read_file(p, out, err);
    if (r < 0)
        return cb_error_wrap(err, "blob %s", digest);
    char got[CB_DIGEST_STR_LEN];
    cb_sha256_buf(out->data ? out->data : "", out->len, got);
    if (strcmp(got, digest))
        return cb_failc(err, EBADMSG, "blob %s in store %s is corrupt (content hashes to %s)", digest, s->root, got);
    return 0;
}

/* ---------- streaming writer ---------- */

#define WRITER_BUF (1 << 20)

struct store_blob_writer {
    store *s;
    char *expected;
    char *tmp;
    int fd;
    cb_sha256 *h;
    int64_t n;
    char *buf; /* writes are batched: network callbacks deliver small pieces */
    size_t buf_len;
    off_t synced; /* writeback started up to here */
};

static int writer_flush(store_blob_writer *w, cb_err *err)
{
    if (!w->buf_len)
        return 0;
    int r = cb_write_all(w->fd, w->buf, w->buf_len);
    w->buf_len = 0;
    if (r < 0)
        return cb_error(err, -r, "write `%s`", w->tmp);
    /* start writeback while data still arrives, so the fsync at commit has little left */
    off_t end = lseek(w->fd, 0, SEEK_CUR);
    if (end - w->synced >= (8 << 20)) {
        sync_file_range(w->fd, w->synced, end - w->synced, SYNC_FILE_RANGE_WRITE);
        w->synced = end;
    }
    return 0;
}

int store_blob_writer_open(store *s, const char *expected, store_blob_writer **out, cb_err *err)
{
    if (expected && !cb_digest_valid(expected))
        return cb_fail(err, "invalid digest `%s`", expected);
    store_blob_writer *w = xcalloc(1, sizeof *w);
    w->s = s;
    w->h = cb_sha256_new();
    w->fd = -1;
    if (expected) {
        cleanup_free char *hex = store_hex(expected);
        w->expected = xstrdup(expected);
        w->tmp = xasprintf("%s/%s.partial", s->ingest, hex);
        /* one writer per digest across processes; a holder that commits renames the file
         * away, so after the lock check that the path still names the locked file */
        for (;;) {
            w->fd = open(w->tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (w->fd < 0)
                break;
            struct stat a, b;
            if (flock(w->fd, LOCK_EX) < 0) {
                int e = errno;
                close(w->fd);
                w->fd = -1;
                errno = e;
                break;
            }
            if (fstat(w->fd, &a) == 0 && stat(w->tmp, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                break;
            close(w->fd);
        }
    } else {
        w->tmp = xasprintf("%s/blob-XXXXXX", s->ingest);
        w->fd = mkostemp(w->tmp, O_CLOEXEC);
    }
    if (w->fd < 0) {
        int r = cb_error(err, errno, "create `%s`", w->tmp);
        store_blob_writer_abort(w, true);
        return r;
    }
    /* resume: hash what an interrupted download left */
    char buf[1 << 16];
    for (;;) {
        ssize_t k = read(w->fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int r = cb_error(err, errno, "read `%s`", w->tmp);
            store_blob_writer_abort(w, false);
            return r;
        }
        if (k == 0)
            break;
        cb_sha256_update(w->h, buf, (size_t)k);
        w->n += k;
    }
    *out = w;
    return 0;
}

int64_t store_blob_writer_offset(const store_blob_writer *w)
{
    return w->n;
}

int store_blob_writer_write(store_blob_writer *w, const void *data, size_t n, cb_err *err)
{
    cb_sha256_update(w->h, data, n);
    w->n += (int64_t)n;
    if (!w->buf)
        w->buf = xmalloc(WRITER_BUF);
    if (w->buf_len + n > WRITER_BUF) {
        int r = writer_flush(w, err);
        if (r < 0)
            return r;
    }
    if (n >= WRITER_BUF) {
        int r = cb_write_all(w->fd, data, n);
        return r < 0 ? cb_error(err, -r, "write `%s`", w->tmp) : 0;
    }
    memcpy(w->buf + w->buf_len, data, n);
    w->buf_len += n;
    return 0;
}

static int writer_sink(void *opaque, const void *data, size_t n, cb_err *err)
{
    return store_blob_writer_write(opaque, data, n, err);
}

oci_sink store_blob_writer_sink(store_blob_writer *w)
{
    return (oci_sink){writer_sink, w};
}

int store_blob_writer_commit(store_blob_writer *w, char out[CB_DIGEST_STR_LEN], cb_err *err)
{
    char got[CB_DIGEST_STR_LEN];
    int r = writer_flush(w, err);
    if (r < 0) {
        store_blob_writer_abort(w, false);
        return r;
    }
    cb_sha256_final(w->h, got);
    w->h = NULL;
    if (w->expected && strcmp(got, w->expected)) {
        r = cb_failc(err, EBADMSG, "digest mismatch: expected %s, got %s (%lld bytes); nothing stored", w->expected,
                     got, (long long)w->n);
        store_blob_writer_abort(w, false);
        return r;
    }
    if (fsync(w->fd) < 0) {
        r = cb_error(err, errno, "fsync `%s`", w->tmp);
        store_blob_writer_abort(w, false);
        return r;
    }
    fchmod(w->fd, 0644);
    cleanup_free char *dst = store_blob_path(w->s, got);
    if (rename(w->tmp, dst) < 0) {
        r = cb_error(err, errno, "rename `%s` to `%s`", w->tmp, dst);
        store_blob_writer_abort(w, false);
        return r;
    }
    cb_fsync_dir(w->s->blobs);
    if (out)
        memcpy(out, got, CB_DIGEST_STR_LEN);
    free(w->tmp);
    w->tmp = NULL;
    store_blob_writer_abort(w, false);
    return 0;
}

void store_blob_writer_abort(store_blob_writer *w, bool keep_partial)
{
    if (!w)
        return;
    if (keep_partial && w->expected) {
        cb_err e = {0};
        writer_flush(w, &e); /* what was hashed must be on disk for the resume */
    }
    free(w->buf);
    if (w->tmp && !(keep_partial && w->expected))
        unlink(w->tmp);
    if (w->fd >= 0)
        close(w->fd);
    cb_sha256_free(w->h);
    free(w->tmp);
    free(w->expected);
    free(w);
}

int store_blob_put_buf(store *s, const void *data, size_t n, const char *expected, char out[CB_DIGEST_STR_LEN],
                       cb_err *err)
{
    char dg[CB_DIGEST_STR_LEN];
    cb_sha256_buf(data, n, dg);
    if (expected && strcmp(dg, expected))
        return cb_failc(err, EBADMSG, "digest mismatch: expected %s, got %s; nothing stored", expected, dg);
    if (out)
        memcpy(out, dg, CB_DIGEST_STR_LEN);
    if (store_blob_exists(s, dg, NULL))
        return 0;
    store_blob_writer *w;
    int r = store_blob_writer_open(s, NULL, &w, err);
    if (r < 0)
        return r;
    if ((r = store_blob_writer_write(w, data, n, err)) < 0) {
        store_blob_writer_abort(w, false);
        return r;
    }
    return store_blob_writer_commit(w, out, err);
}

int store_blob_put_file(store *s, const char *path, const char *expected, char out[CB_DIGEST_STR_LEN], cb_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open `%s`", path);
    if (expected && store_blob_exists(s, expected, NULL)) {
        if (out)
            memcpy(out, expected, CB_DIGEST_STR_LEN);
        return 0;
    }
    store_blob_writer *w;
    int r = store_blob_writer_open(s, NULL, &w, err);
    if (r < 0)
        return r;
    free(w->expected);
    w->expected = expected ? xstrdup(expected) : NULL;
    char buf[1 << 17];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = cb_error(err, errno, "read `%s`", path);
            break;
        }
        if (k == 0)
            break;
        if ((r = store_blob_writer_write(w, buf, (size_t)k, err)) < 0)
            break;
    }
    if (r < 0) {
        store_blob_writer_abort(w, false);
        return r;
    }
    r = store_blob_writer_commit(w, out, err);
    return r < 0 ? cb_error_wrap(err, "`%s`", path) : 0;
}

/* ---------- layers ---------- */

struct store_layer_writer {
    store_blob_writer *bw;
    oci_layer_writer *lw;
};

int store_layer_writer_open(store *s, const oci_layer_opts *opts, store_layer_writer **out, cb_err *err)
{
    store_layer_writer *w = xcalloc(1, sizeof *w);
    int r = store_blob_writer_open(s, NULL, &w->bw, err);
    if (r < 0) {
        free(w);
        return r;
    }
    if ((r = oci_layer_writer_new(opts, store_blob_writer_sink(w->bw), &w->lw, err)) < 0) {
        store_blob_writer_abort(w->bw, false);
        free(w);
        return r;
    }
    *out = w;
    return 0;
}

oci_layer_writer *store_layer_writer_tar(store_layer_writer *w)
{
    return w->lw;
}

int store_layer_writer_commit(store_layer_writer *w, oci_layer_result *res, cb_err *err)
{
    int r = oci_layer_writer_finish(w->lw, res, err);
    if (r == 0) {
        w->bw->expected = xstrdup(res->digest);
        r = store_blob_writer_commit(w->bw, NULL, err);
        w->bw = NULL;
    }
    store_layer_writer_abort(w);
    return r;
}

void store_layer_writer_abort(store_layer_writer *w)
{
    if (!w)
        return;
    oci_layer_writer_free(w->lw);
    store_blob_writer_abort(w->bw, false);
    free(w);
}

int store_layer_put_tar(store *s, int tar_fd, const oci_compress_opts *opts, oci_layer_result *res, cb_err *err)
{
    store_blob_writer *bw;
    int r = store_blob_writer_open(s, NULL, &bw, err);
    if (r < 0)
        return r;
    r = oci_compress_stream(tar_fd, opts, store_blob_writer_sink(bw), res, err);
    if (r < 0) {
        store_blob_writer_abort(bw, false);
        return r;
    }
    bw->expected = xstrdup(res->digest);
    return store_blob_writer_commit(bw, NULL, err);
}

/* ---------- sources for cross-repository mounts ---------- */

void store_source_add(store *s, const char *digest, const char *repo_name)
{
    cleanup_free char *hex = store_hex(digest);
    cleanup_free char *dir = xasprintf("%s/sources", s->root);
    mkdir(dir, 0755);
    cleanup_free char *p = xasprintf("%s/%s", dir, hex);
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    if (cb_read_file(p, &b, &e) == 0) {
        for (char *save = NULL, *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (!strcmp(l, repo_name)) {
                cb_buf_free(&b);
                return;
            }
    }
    cb_buf_free(&b);
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        cleanup_free char *line = xasprintf("%s\n", repo_name);
        (void)cb_write_all(fd, line, strlen(line));
        close(fd);
    }
}

char *store_source_find(store *s, const char *digest, const char *registry, const char *not_repo)
{
    cleanup_free char *hex = store_hex(digest);
    cleanup_free char *p = xasprintf("%s/sources/%s", s->root, hex);
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    char *found = NULL;
    size_t rl = strlen(registry);
    if (cb_read_file(p, &b, &e) == 0) {
        for (char *save = NULL, *l = strtok_r(b.data, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save))
            if (!strncmp(l, registry, rl) && l[rl] == '/' && strcmp(l + rl + 1, not_repo))
                found = xstrdup(l + rl + 1);
    }
    cb_buf_free(&b);
    return found;
}
