/* store check: every blob against its name, every tag's manifest/config/layers, every cache
 * record's references, every layer image's ext4 structure; temp leftovers are reclaimable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext4.h"
#include "internal.h"

static void item_add(store_check_item **v, size_t *n, char *path, char *what, uint64_t bytes)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (store_check_item){path, what, bytes};
}

static void problem(store_check_report *r, char *path, char *what)
{
    item_add(&r->problems, &r->n_problems, path, what, 0);
}

static uint64_t tree_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    uint64_t n = (uint64_t)st.st_blocks * 512;
    if (!S_ISDIR(st.st_mode))
        return n;
    DIR *d = opendir(path);
    if (!d)
        return n;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            cleanup_free char *p = xasprintf("%s/%s", path, de->d_name);
            n += tree_bytes(p);
        }
    closedir(d);
    return n;
}

static void leftover(store_check_report *r, const char *path, const char *what)
{
    uint64_t b = tree_bytes(path);
    item_add(&r->leftovers, &r->n_leftovers, xstrdup(path), xstrdup(what), b);
    r->leftover_bytes += b;
}

/* cb_atomic_open's temp names ("<final>.tmp-PID-XXXXXX"): an interrupted write, never a final name */
static bool is_temp_name(const char *name)
{
    return strstr(name, ".tmp-") != NULL;
}

static bool is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool digest_name(const char *name, const char *suffix)
{
    return strlen(name) == 64 + strlen(suffix) && is_hex64(name) && !strcmp(name + 64, suffix);
}

static void check_blob_file(store_check_report *r, const char *path, const char *name)
{
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        problem(r, xstrdup(path), xstrdup("not a regular file"));
        return;
    }
    char got[CB_DIGEST_STR_LEN];
    cb_err e = {0};
    if (cb_sha256_file(path, got, &e) < 0) {
        problem(r, xstrdup(path), xasprintf("unreadable: %s", e.msg));
        return;
    }
    if (strcmp(got + 7, name))
        problem(
            r, xstrdup(path),
            xasprintf("content hashes to %s (%lld bytes): corrupt or partial", got, (long long)st.st_size));
}

static void check_blobs(store *s, store_check_report *r)
{
    DIR *d = opendir(s->blobs);
    if (!d) {
        problem(r, xstrdup(s->blobs), xasprintf("cannot list: %s", strerror(errno)));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *p = xasprintf("%s/%s", s->blobs, de->d_name);
        if (digest_name(de->d_name, "")) {
            r->blobs++;
            check_blob_file(r, p, de->d_name);
        } else if (is_temp_name(de->d_name)) {
            leftover(r, p, "interrupted write");
        } else {
            problem(r, xstrdup(p), xstrdup("stray file: not named by a sha256 digest"));
        }
    }
    closedir(d);
}

/* A referenced blob must exist with the size its descriptor gives. */
static bool check_present(store *s, store_check_report *r, const oci_descriptor *dsc, const char *role,
                          const char *owner)
{
    cleanup_free char *p = store_blob_path(s, dsc->digest);
    int64_t sz;
    if (!cb_digest_valid(dsc->digest)) {
        problem(r, xasprintf("%s/index.json", s->root),
                xasprintf("%s of %s has an invalid digest", role, owner));
        return false;
    }
    if (!store_blob_exists(s, dsc->digest, &sz)) {
        problem(r, xstrdup(p), xasprintf("missing: %s %s of %s", role, dsc->digest, owner));
        return false;
    }
    if (dsc->size >= 0 && sz != dsc->size) {
        problem(r, xstrdup(p),
                xasprintf("%s of %s: %lld bytes, its descriptor says %lld", role, owner, (long long)sz,
                          (long long)dsc->size));
        return false;
    }
    return true;
}

static void check_manifest(store *s, store_check_report *r, const oci_descriptor *dsc, const char *owner,
                           cb_strv *diff_ids, int depth);

static void check_index_blob(store *s, store_check_report *r, const cb_buf *b, const char *digest,
                             const char *owner, cb_strv *diff_ids, int depth)
{
    oci_index ix;
    cb_err e = {0};
    cleanup_free char *p = store_blob_path(s, digest);
    if (oci_index_parse(b->data, b->len, &ix, &e) < 0) {
        problem(r, xstrdup(p), xasprintf("index of %s does not parse: %s", owner, e.msg));
        return;
    }
    /* a pull keeps only the manifests of the platforms it was asked for */
    bool any = false;
    for (size_t i = 0; i < ix.n_manifests; i++) {
        const oci_descriptor *c = &ix.manifests[i];
        if (cb_digest_valid(c->digest) && store_blob_exists(s, c->digest, NULL)) {
            check_manifest(s, r, c, owner, diff_ids, depth + 1);
            any = true;
        }
    }
    if (!any)
        problem(r, xstrdup(p),
                xasprintf("index of %s: none of its %zu manifests is in the store", owner, ix.n_manifests));
    oci_index_free(&ix);
}

static void check_image_manifest(store *s, store_check_report *r, const cb_buf *b, const char *digest,
                                 const char *owner, cb_strv *diff_ids)
{
    oci_manifest m;
    cb_err e = {0};
    cleanup_free char *p = store_blob_path(s, digest);
    if (oci_manifest_parse(b->data, b->len, &m, &e) < 0) {
        problem(r, xstrdup(p), xasprintf("manifest of %s does not parse: %s", owner, e.msg));
        return;
    }
    if (check_present(s, r, &m.config, "config", owner)) {
        cb_buf c;
        cb_buf_init(&c);
        oci_config cfg;
        cleanup_free char *cp = store_blob_path(s, m.config.digest);
        if (store_blob_get(s, m.config.digest, &c, &e) < 0) {
            problem(r, xstrdup(cp), xasprintf("config of %s: %s", owner, e.msg));
        } else if (oci_config_parse(c.data, c.len, &cfg, &e) < 0) {
            problem(r, xstrdup(cp), xasprintf("config of %s does not parse: %s", owner, e.msg));
        } else {
            if (cfg.diff_ids.n != m.n_layers)
                problem(r, xstrdup(cp),
                        xasprintf("config of %s lists %zu diff_ids for %zu layers", owner, cfg.diff_ids.n,
                                  m.n_layers));
            for (size_t i = 0; i < cfg.diff_ids.n; i++)
                if (!cb_strv_contains(diff_ids, cfg.diff_ids.v[i]))
                    cb_strv_push(diff_ids, cfg.diff_ids.v[i]);
            oci_config_free(&cfg);
        }
        cb_buf_free(&c);
    }
    for (size_t i = 0; i < m.n_layers; i++) {
        cleanup_free char *role = xasprintf("layer %zu", i + 1);
        check_present(s, r, &m.layers[i], role, owner);
    }
    oci_manifest_free(&m);
}

static void check_manifest(store *s, store_check_report *r, const oci_descriptor *dsc, const char *owner,
                           cb_strv *diff_ids, int depth)
{
    if (depth > 4) {
        problem(r, store_blob_path(s, dsc->digest), xasprintf("indexes of %s nest too deep", owner));
        return;
    }
    if (!check_present(s, r, dsc, depth ? "manifest" : "tagged manifest", owner))
        return;
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    if (store_blob_get(s, dsc->digest, &b, &e) < 0) {
        cb_buf_free(&b);
        return; /* already reported by the blob pass */
    }
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    bool is_index = oci_media_type_is_index(dsc->media_type) || json_object_get(j, "manifests");
    json_decref(j);
    if (is_index)
        check_index_blob(s, r, &b, dsc->digest, owner, diff_ids, depth);
    else
        check_image_manifest(s, r, &b, dsc->digest, owner, diff_ids);
    cb_buf_free(&b);
}

static void check_tags(store *s, store_check_report *r, cb_strv *diff_ids)
{
    oci_index ix;
    cb_err e = {0};
    if (store_index_read(s, &ix, &e) < 0) {
        problem(r, xasprintf("%s/index.json", s->root), xstrdup(e.msg));
        return;
    }
    for (size_t i = 0; i < ix.n_manifests; i++) {
        const char *name = oci_descriptor_annotation(&ix.manifests[i], "org.opencontainers.image.ref.name");
        cleanup_free char *owner =
            name ? xasprintf("image %s", name) : xasprintf("untagged image %s", ix.manifests[i].digest);
        r->images++;
        check_manifest(s, r, &ix.manifests[i], owner, diff_ids, 0);
    }
    oci_index_free(&ix);
}

/* Every object in j with a "digest" member names a blob that must be present. */
static void check_record_refs(store *s, store_check_report *r, const char *path, json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) check_record_refs(s, r, path, v);
        return;
    }
    if (!json_is_object(j))
        return;
    const char *dg = json_string_value(json_object_get(j, "digest"));
    if (dg) {
        int64_t sz;
        json_t *jsz = json_object_get(j, "size");
        if (!cb_digest_valid(dg))
            problem(r, xstrdup(path), xasprintf("names an invalid digest `%s`", dg));
        else if (!store_blob_exists(s, dg, &sz))
            problem(r, xstrdup(path), xasprintf("names blob %s, which is missing", dg));
        else if (json_is_integer(jsz) && json_integer_value(jsz) != sz)
            problem(r, xstrdup(path),
                    xasprintf("names blob %s of %lld bytes; the blob has %lld", dg,
                              (long long)json_integer_value(jsz), (long long)sz));
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) check_record_refs(s, r, path, v);
}

static void check_record(store *s, store_check_report *r, const char *path, const char *name,
                         cb_strv *diff_ids)
{
    cb_buf b;
    cb_buf_init(&b);
    cb_err e = {0};
    if (cb_read_file(path, &b, &e) < 0) {
        problem(r, xstrdup(path), xasprintf("unreadable: %s", e.msg));
        cb_buf_free(&b);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    cb_buf_free(&b);
    const char *key = json_string_value(json_object_get(j, "key"));
    json_t *rec = json_object_get(j, "record");
    char want[CB_DIGEST_STR_LEN];
    if (!j)
        problem(r, xstrdup(path), xasprintf("not JSON: %s (line %d)", je.text, je.line));
    else if (!key || !json_is_object(rec))
        problem(r, xstrdup(path),
                xstrdup("not a cache record: needs a \"key\" string and a \"record\" object"));
    else if (cb_sha256_buf(key, strlen(key), want), strncmp(want + 7, name, 64))
        problem(r, xstrdup(path),
                xasprintf("holds key `%s`, whose record belongs in %.64s.json", key, want + 7));
    else {
        check_record_refs(s, r, path, rec);
        const char *di = json_string_value(json_object_get(json_object_get(rec, "layer"), "diff_id"));
        if (di && cb_digest_valid(di) && !cb_strv_contains(diff_ids, di))
            cb_strv_push(diff_ids, di);
    }
    json_decref(j);
}

static void check_records(store *s, store_check_report *r, cb_strv *diff_ids)
{
    DIR *d = opendir(s->cache);
    if (!d) {
        problem(r, xstrdup(s->cache), xasprintf("cannot list: %s", strerror(errno)));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *p = xasprintf("%s/%s", s->cache, de->d_name);
        if (digest_name(de->d_name, ".json")) {
            r->records++;
            check_record(s, r, p, de->d_name, diff_ids);
        } else if (is_temp_name(de->d_name)) {
            leftover(r, p, "interrupted write");
        } else {
            problem(r, xstrdup(p), xstrdup("stray file: not a cache record name"));
        }
    }
    closedir(d);
}

/* Bytes the superblock says the filesystem spans (0 when unreadable); offsets per the
 * ext4 on-disk format (s_blocks_count_lo 0x4, s_log_block_size 0x18, s_feature_incompat
 * 0x60, s_blocks_count_hi 0x150). */
static uint64_t ext4_extent_bytes(const char *path)
{
    uint8_t sb[1024];
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pread(fd, sb, sizeof sb, 1024) != (ssize_t)sizeof sb)
        return 0;
    uint32_t lo, log_bs, incompat, hi;
    memcpy(&lo, sb + 0x4, 4);
    memcpy(&log_bs, sb + 0x18, 4);
    memcpy(&incompat, sb + 0x60, 4);
    memcpy(&hi, sb + 0x150, 4);
    if (log_bs > 6)
        return 0;
    uint64_t blocks = lo | ((incompat & 0x80) ? (uint64_t)hi << 32 : 0);
    return blocks * (1024u << log_bs);
}

/* Cheap, e2fsck-free: a readable ext4 superblock and group table, the whole image present,
 * and the overlay tree root `upper/` a directory (what a RUN mounts as a lower). */
static void check_layer_image(store_check_report *r, const char *path)
{
    /* truncation first: the reader refuses an image smaller than its superblock says */
    struct stat st;
    uint64_t need = ext4_extent_bytes(path);
    if (stat(path, &st) == 0 && (uint64_t)st.st_size < need) {
        problem(r, xstrdup(path),
                xasprintf("truncated: %lld bytes, its superblock says %llu", (long long)st.st_size,
                          (unsigned long long)need));
        return;
    }
    ext4_reader *rd;
    cb_err e = {0};
    if (ext4_reader_open(path, &rd, &e) < 0) {
        problem(r, xstrdup(path), xasprintf("not a usable ext4 layer image: %s", e.msg));
        return;
    }
    uint32_t ino;
    ext4_stat es;
    if (ext4_reader_lookup(rd, EXT4_OVERLAY_UPPER_DIR, &ino, &e) < 0 || ext4_reader_stat(rd, ino, &es, &e) < 0 ||
        !S_ISDIR(es.mode))
        problem(r, xstrdup(path),
                xstrdup("not an overlay layer image: no `" EXT4_OVERLAY_UPPER_DIR "/` directory"));
    ext4_reader_free(rd);
}

static void check_layer_images(store *s, store_check_report *r, const cb_strv *diff_ids)
{
    DIR *d = opendir(s->layers);
    if (!d) {
        problem(r, xstrdup(s->layers), xasprintf("cannot list: %s", strerror(errno)));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *p = xasprintf("%s/%s", s->layers, de->d_name);
        if (digest_name(de->d_name, ".ext4")) {
            r->layer_images++;
            check_layer_image(r, p);
            cleanup_free char *di = xasprintf("sha256:%.64s", de->d_name);
            if (!cb_strv_contains(diff_ids, di))
                r->unreferenced_layer_images++;
        } else if (digest_name(de->d_name, ".ext4.lock")) {
            continue; /* store_layer_image_ensure's one-maker-per-diff_id lock */
        } else if (is_temp_name(de->d_name)) {
            leftover(r, p, "interrupted write");
        } else {
            problem(r, xstrdup(p), xstrdup("stray file: not named <diffID>.ext4"));
        }
    }
    closedir(d);
}

static void check_leftovers(store *s, store_check_report *r)
{
    DIR *d = opendir(s->ingest);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                cleanup_free char *p = xasprintf("%s/%s", s->ingest, de->d_name);
                leftover(r, p,
                         cb_str_has_suffix(de->d_name, ".partial") ? "partial download (resumable)"
                                                                   : "temporary file");
            }
        closedir(d);
    }
    if ((d = opendir(s->root))) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (is_temp_name(de->d_name)) {
                cleanup_free char *p = xasprintf("%s/%s", s->root, de->d_name);
                leftover(r, p, "interrupted write");
            }
        closedir(d);
    }
}

int store_check(store *s, store_check_report *out, cb_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    cb_strv diff_ids;
    cb_strv_init(&diff_ids);
    check_blobs(s, out);
    check_tags(s, out, &diff_ids);
    check_records(s, out, &diff_ids);
    check_layer_images(s, out, &diff_ids);
    check_leftovers(s, out);
    cb_strv_free(&diff_ids);
    return 0;
}

void store_check_report_free(store_check_report *r)
{
    for (size_t i = 0; i < r->n_problems; i++) {
        free(r->problems[i].path);
        free(r->problems[i].what);
    }
    for (size_t i = 0; i < r->n_leftovers; i++) {
        free(r->leftovers[i].path);
        free(r->leftovers[i].what);
    }
    free(r->problems);
    free(r->leftovers);
    memset(r, 0, sizeof *r);
}
