/* Disk usage and garbage collection: mark from tags and cache records, sweep the rest. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct marks {
    cb_strv blobs;    /* reachable blob digests */
    cb_strv diff_ids; /* reachable layer image diffIDs */
} marks;

static void mark_add(cb_strv *v, const char *d)
{
    if (!cb_strv_contains(v, d))
        cb_strv_push(v, d);
}

static void mark_json(marks *m, json_t *j)
{
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (cb_digest_valid(s)) {
            mark_add(&m->blobs, s);
            mark_add(&m->diff_ids, s);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) mark_json(m, v);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) mark_json(m, v);
    }
}

static void mark_manifest(store *s, marks *m, const char *digest)
{
    mark_add(&m->blobs, digest);
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    if (store_blob_get(s, digest, &b, &e) == 0) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        json_t *ms = json_object_get(j, "manifests");
        size_t i;
        json_t *v;
        json_array_foreach(ms, i, v)
        {
            const char *d = json_string_value(json_object_get(v, "digest"));
            if (d && cb_digest_valid(d) && store_blob_exists(s, d, NULL))
                mark_manifest(s, m, d);
        }
        const char *cd = json_string_value(json_object_get(json_object_get(j, "config"), "digest"));
        if (cd && cb_digest_valid(cd)) {
            mark_add(&m->blobs, cd);
            cb_buf c;
            cb_buf_init(&c);
            if (store_blob_get(s, cd, &c, &e) == 0) {
                json_t *cj = json_loadb(c.data, c.len, 0, NULL);
                mark_json(m, json_object_get(json_object_get(cj, "rootfs"), "diff_ids"));
                json_decref(cj);
            }
            cb_buf_free(&c);
        }
        json_array_foreach(json_object_get(j, "layers"), i, v)
        {
            const char *d = json_string_value(json_object_get(v, "digest"));
            if (d)
                mark_add(&m->blobs, d);
        }
        json_decref(j);
    }
    cb_buf_free(&b);
}

typedef struct record {
    char *path;
    time_t mtime;
    uint64_t bytes;
} record;

static int list_records(store *s, record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(s->cache);
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!cb_str_has_suffix(de->d_name, ".json"))
            continue;
        cleanup_free char *p = xasprintf("%s/%s", s->cache, de->d_name);
        struct stat st;
        if (stat(p, &st) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = (record){xstrdup(p), st.st_mtime, (uint64_t)st.st_size};
    }
    closedir(d);
    return 0;
}

static void records_free(record *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].path);
    free(r);
}

static void mark_all(store *s, marks *m, const record *recs, size_t n, const bool *removed)
{
    cb_strv_init(&m->blobs);
    cb_strv_init(&m->diff_ids);
    oci_index ix;
    cb_err e = {0};
    if (store_index_read(s, &ix, &e) == 0) {
        for (size_t i = 0; i < ix.n_manifests; i++)
            mark_manifest(s, m, ix.manifests[i].digest);
        oci_index_free(&ix);
    }
    for (size_t i = 0; i < n; i++) {
        if (removed && removed[i])
            continue;
        cb_buf b;
        cb_buf_init(&b);
        if (cb_read_file(recs[i].path, &b, &e) == 0) {
            json_t *j = json_loadb(b.data, b.len, 0, NULL);
            mark_json(m, json_object_get(j, "record"));
            json_decref(j);
        }
        cb_buf_free(&b);
    }
}

static void marks_free(marks *m)
{
    cb_strv_free(&m->blobs);
    cb_strv_free(&m->diff_ids);
}

typedef struct sweep {
    uint64_t total, unreachable;
    uint64_t blobs, blob_bytes, layer_images, layer_image_bytes;
} sweep;

/* Walk blobs and layer images; delete the unreachable ones when del. */
static void sweep_dir(const char *dir, const char *suffix, const cb_strv *keep, bool del, uint64_t *count,
                      uint64_t *bytes, uint64_t *unreachable)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t l = strlen(de->d_name);
        size_t sl = strlen(suffix);
        if (l != 64 + sl || strcmp(de->d_name + 64, suffix))
            continue;
        cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) < 0)
            continue;
        uint64_t sz = (uint64_t)st.st_blocks * 512; /* layer images are sparse */
        cleanup_free char *dg = xasprintf("sha256:%.64s", de->d_name);
        if (cb_strv_contains(keep, dg)) {
            (*count)++;
            *bytes += sz;
            continue;
        }
        *unreachable += sz;
        if (del)
            unlink(p);
        else {
            (*count)++;
            *bytes += sz;
        }
    }
    closedir(d);
}

static void do_sweep(store *s, const marks *m, bool del, sweep *out)
{
    memset(out, 0, sizeof *out);
    sweep_dir(s->blobs, "", &m->blobs, del, &out->blobs, &out->blob_bytes, &out->unreachable);
    sweep_dir(s->layers, ".ext4", &m->diff_ids, del, &out->layer_images, &out->layer_image_bytes, &out->unreachable);
    out->total = out->blob_bytes + out->layer_image_bytes;
}

int store_usage_get(store *s, store_usage *out, cb_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    record *recs;
    size_t n;
    list_records(s, &recs, &n);
    marks m;
    mark_all(s, &m, recs, n, NULL);
    sweep sw;
    do_sweep(s, &m, false, &sw);
    out->blobs = sw.blobs;
    out->blob_bytes = sw.blob_bytes;
    out->layer_images = sw.layer_images;
    out->layer_image_bytes = sw.layer_image_bytes;
    out->reclaimable_bytes = sw.unreachable;
    out->cache_records = n;
    for (size_t i = 0; i < n; i++)
        out->cache_bytes += recs[i].bytes;
    oci_index ix;
    cb_err e = {0};
    if (store_index_read(s, &ix, &e) == 0) {
        out->images = ix.n_manifests;
        oci_index_free(&ix);
    }
    marks_free(&m);
    records_free(recs, n);
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Any object in j with a "digest" member whose blob is gone. */
static bool names_missing_blob(store *s, json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (names_missing_blob(s, v)) return true;
    } else if (json_is_object(j)) {
        const char *d = json_string_value(json_object_get(j, "digest"));
        if (d && cb_digest_valid(d) && !store_blob_exists(s, d, NULL))
            return true;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) if (names_missing_blob(s, v)) return true;
    }
    return false;
}

/* A record is dangling when a descriptor in it names a blob that no longer exists. */
static bool record_dangling(store *s, const char *path)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    bool dangling = true;
    if (cb_read_file(path, &b, &e) == 0) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        dangling = !j || names_missing_blob(s, json_object_get(j, "record"));
        json_decref(j);
    }
    cb_buf_free(&b);
    return dangling;
}

int store_prune(store *s, const store_prune_opts *opts, uint64_t *reclaimed, cb_err *err)
{
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            return cb_error(err, errno, "lock store %s", s->root);
        if (opts->try_lock) {
            /* a failed conversion may have dropped our shared lock: take it back */
            flock(s->lock_fd, LOCK_SH);
            return -EWOULDBLOCK;
        }
        cb_info("waiting for other cbuild processes using %s to finish", s->root);
        if (flock(s->lock_fd, LOCK_EX) < 0)
            return cb_error(err, errno, "lock store %s", s->root);
    }
    record *recs;
    size_t n;
    list_records(s, &recs, &n);
    if (n > 1)
        qsort(recs, n, sizeof *recs, rec_cmp);
    bool *removed = xcalloc(n + 1, sizeof *removed);
    uint64_t freed = 0;
    for (size_t i = 0; i < n; i++) {
        bool old_enough = !opts->until || recs[i].mtime < opts->until;
        if (!old_enough)
            continue;
        if (opts->all || record_dangling(s, recs[i].path)) {
            removed[i] = true;
            freed += recs[i].bytes;
            unlink(recs[i].path);
        }
    }
    marks m;
    mark_all(s, &m, recs, n, removed);
    sweep sw;
    do_sweep(s, &m, true, &sw);
    freed += sw.unreachable;
    marks_free(&m);
    /* keep-storage: drop the least recently used records until the store fits */
    if (opts->keep_storage) {
        for (size_t i = 0; i < n; i++) {
            do_sweep(s, &(marks){0}, false, &sw);
            if (sw.total <= opts->keep_storage)
                break;
            if (removed[i] || (opts->until && recs[i].mtime >= opts->until))
                continue;
            removed[i] = true;
            freed += recs[i].bytes;
            unlink(recs[i].path);
            mark_all(s, &m, recs, n, removed);
            do_sweep(s, &m, true, &sw);
            freed += sw.unreachable;
            marks_free(&m);
        }
    }
    /* leftovers of interrupted writes that nobody holds */
    DIR *d = opendir(s->ingest);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            cleanup_free char *p = xasprintf("%s/%s", s->ingest, de->d_name);
            cb_err e = {0};
            struct stat st;
            if (lstat(p, &st) == 0) {
                freed += (uint64_t)st.st_blocks * 512;
                cb_rm_rf(p, &e);
            }
        }
        closedir(d);
    }
    free(removed);
    records_free(recs, n);
    flock(s->lock_fd, LOCK_SH);
    if (reclaimed)
        *reclaimed = freed;
    return 0;
}
