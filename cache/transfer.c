/* Pull into the store and push from it, with parallel blob transfers. */
#include <sys/statvfs.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"


static void progress(const oci_registry_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const oci_registry_opts *o, const char *fmt, ...)
{
    if (!o || !o->progress)
        return;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&mu);
    vfprintf(o->progress, fmt, ap);
    fputc('\n', o->progress);
    fflush(o->progress);
    pthread_mutex_unlock(&mu);
    va_end(ap);
}

static const char *short_id(const char *digest)
{
    static __thread char buf[13];
    snprintf(buf, sizeof buf, "%.12s", cb_str_has_prefix(digest, "sha256:") ? digest + 7 : digest);
    return buf;
}

/* ---------- pull ---------- */

typedef struct blob_job {
    store *s;
    oci_registry *reg;
    const oci_registry_opts *opts;
    const char *repo;
    const oci_descriptor *desc;
    cb_err err;
    int rc;
} blob_job;

/* Fetch one blob into the store, resuming with Range after a broken transfer. */
static int fetch_blob(store *s, oci_registry *reg, const oci_registry_opts *opts, const char *repo,
                      const oci_descriptor *d, cb_err *err)
{
    if (store_blob_exists(s, d->digest, NULL)) {
        progress(opts, "%s: Already exists", short_id(d->digest));
        return 0;
    }
    int retries = opts && opts->retries > 0 ? opts->retries : 5;
    int rc = 0;
    int64_t short_at = -1; /* the last transfer ended at this byte, before the blob's end */
    for (int attempt = 0; attempt < retries; attempt++) {
        store_blob_writer *w;
        if ((rc = store_blob_writer_open(s, d->digest, &w, err)) < 0)
            return rc;
        if (store_blob_exists(s, d->digest, NULL)) { /* another process finished it */
            store_blob_writer_abort(w, false);
            return 0;
        }
        int64_t off = store_blob_writer_offset(w);
        if (off > d->size) { /* junk: start over */
            store_blob_writer_abort(w, false);
            continue;
        }
        if (off > 0)
            cb_info("blob %s: resuming download at byte %lld of %lld", d->digest, (long long)off, (long long)d->size);
        if (off < d->size || d->size == 0)
            rc = oci_registry_fetch_blob(reg, repo, d->digest, off, store_blob_writer_sink(w), err);
        else
            rc = 0;
        if (rc == -ERANGE) { /* no Range support: restart from zero */
            store_blob_writer_abort(w, false);
            continue;
        }
        if (rc < 0) {
            int64_t got = store_blob_writer_offset(w);
            store_blob_writer_abort(w, true);
            if (rc == -ENOENT || rc == -EACCES || got == off)
                return rc;
            cb_debug("blob %s: transfer broke at %lld bytes, resuming", d->digest, (long long)got);
            cb_err_clear(err);
            continue;
        }
        if (store_blob_writer_offset(w) != d->size) {
            int64_t got = store_blob_writer_offset(w);
            if (got < d->size) {
                store_blob_writer_abort(w, true);
                short_at = got;
                continue; /* short read: resume */
            }
            store_blob_writer_abort(w, false);
            return cb_failc(err, EBADMSG, "blob %s: size mismatch: manifest says %lld bytes, got %lld", d->digest,
                            (long long)d->size, (long long)got);
        }
        rc = store_blob_writer_commit(w, NULL, err);
        if (rc == -EBADMSG && off > 0) {
            /* the kept partial data was bad (the commit dropped it): download it all again */
            cb_info("blob %s: resumed download does not verify (%s); starting over", d->digest, err->msg);
            cb_err_clear(err);
            continue;
        }
        if (rc < 0)
            return cb_error_wrap(err, "blob %s", d->digest);
        progress(opts, "%s: Pull complete", short_id(d->digest));
        return 0;
    }
    if (rc == 0 && short_at >= 0)
        return cb_failc(err, EIO,
                        "blob %s: the registry sent only %lld of its %lld bytes (a transfer that breaks off or a "
                        "truncated blob); giving up after %d attempts",
                        d->digest, (long long)short_at, (long long)d->size, retries);
    return rc < 0 ? rc : cb_failc(err, EIO, "blob %s: giving up after %d attempts", d->digest, retries);
}

static void blob_job_run(void *arg)
{
    blob_job *j = arg;
    j->rc = fetch_blob(j->s, j->reg, j->opts, j->repo, j->desc, &j->err);
    if (j->rc < 0 && !j->err.msg[0]) {
        /* a failure whose message a retry cleared: say where the blob was going */
        cleanup_free char *path = store_blob_path(j->s, j->desc->digest);
        struct statvfs sv;
        bool full = statvfs(store_root(j->s), &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < (4u << 20);
        cb_error(&j->err, full ? ENOSPC : -j->rc, "blob %s into `%s`", j->desc->digest, path);
    }
}

int store_pull(store *s, const char *refstr, const char *platform, const oci_registry_opts *opts, store_image *out,
               cb_err *err)
{
    oci_ref ref;
    int r = oci_ref_parse(refstr, &ref, err);
    if (r < 0)
        return r;
    cleanup_free char *name = oci_ref_string(&ref);
    cleanup_free char *rn = oci_ref_name(&ref);
    oci_platform want;
    if ((r = oci_platform_parse(platform ? platform : "linux/amd64", &want, err)) < 0) {
        oci_ref_free(&ref);
        return r;
    }
    oci_registry *reg = NULL;
    cb_buf body;
    cb_buf_init(&body);
    char *mt = NULL, *index_mt = NULL;
    cb_buf index_body;
    cb_buf_init(&index_body);
    char top_digest[CB_DIGEST_STR_LEN], digest[CB_DIGEST_STR_LEN];
    oci_manifest m = {0};
    blob_job *jobs = NULL;
    if ((r = oci_registry_new(&ref, opts, &reg, err)) < 0)
        goto out;
    progress(opts, "%s: Pulling from %s", ref.tag ? ref.tag : ref.digest, ref.repository);
    if ((r = oci_registry_get_manifest(reg, ref.repository, ref.digest ? ref.digest : ref.tag, &body, &mt, top_digest,
                                       err)) < 0)
        goto out;
    memcpy(digest, top_digest, sizeof digest);
    if (oci_media_type_is_index(mt)) {
        oci_index ix;
        if ((r = oci_index_parse(body.data, body.len, &ix, err)) < 0)
            goto out;
        const oci_descriptor *d = oci_index_select(&ix, &want);
        if (!d) {
            r = cb_failc(err, ENOENT, "no matching manifest for %s/%s%s%s in the manifest list entries of %s", want.os,
                         want.architecture, want.variant ? "/" : "", want.variant ? want.variant : "", name);
            oci_index_free(&ix);
            goto out;
        }
        cleanup_free char *pd = xstrdup(d->digest);
        oci_index_free(&ix);
        /* the tag names the index, so each platform pulled later is kept beside this one */
        index_mt = mt;
        mt = NULL;
        index_body = body;
        cb_buf_init(&body);
        if ((r = oci_registry_get_manifest(reg, ref.repository, pd, &body, &mt, digest, err)) < 0)
            goto out;
    }
    if (!oci_media_type_is_manifest(mt)) {
        r = cb_fail(err, "%s: unsupported manifest media type `%s`", name, mt);
        goto out;
    }
    if ((r = oci_manifest_parse(body.data, body.len, &m, err)) < 0)
        goto out;
    int par = opts && opts->parallel > 0 ? opts->parallel : 4;
    size_t nj = m.n_layers + 1;
    jobs = xcalloc(nj, sizeof *jobs);
    for (size_t i = 0; i < nj; i++)
        jobs[i] = (blob_job){s, reg, opts, ref.repository, i == 0 ? &m.config : &m.layers[i - 1], {0}, 0};
    if (par > 1 && nj > 1) {
        cb_pool *pool = cb_pool_new(par < (int)nj ? par : (int)nj);
        for (size_t i = 0; i < nj; i++)
            cb_pool_submit(pool, blob_job_run, &jobs[i]);
        cb_pool_free(pool);
    } else {
        for (size_t i = 0; i < nj; i++)
            blob_job_run(&jobs[i]);
    }
    for (size_t i = 0; i < nj; i++)
        if (jobs[i].rc < 0) {
            *err = jobs[i].err;
            r = jobs[i].rc;
            cb_error_wrap(err, "pulling %s", name);
            goto out;
        }
    for (size_t i = 0; i < nj; i++)
        store_source_add(s, jobs[i].desc->digest, rn);
    if (platform) { /* a single-platform image asked for another platform: docker's error */
        cb_buf cb;
        cb_buf_init(&cb);
        oci_config cfg;
        if (store_blob_get(s, m.config.digest, &cb, err) == 0 && oci_config_parse(cb.data, cb.len, &cfg, err) == 0) {
            bool ok = oci_platform_matches(cfg.os, cfg.architecture, cfg.variant, &want);
            if (!ok) {
                oci_platform have = {cfg.os, cfg.architecture, cfg.variant, cfg.os_version};
                cleanup_free char *ws = oci_platform_string(&want);
                cleanup_free char *hs = oci_platform_string(&have);
                r = cb_failc(err, ENOEXEC,
                             "image with reference %s was found but does not match the specified platform: wanted "
                             "%s, actual: %s",
                             name, ws, hs);
            }
            oci_config_free(&cfg);
        }
        cb_buf_free(&cb);
        if (r < 0)
            goto out;
    }
    if ((r = store_blob_put_buf(s, body.data, body.len, digest, NULL, err)) < 0)
        goto out;
    if (index_mt && (r = store_blob_put_buf(s, index_body.data, index_body.len, top_digest, NULL, err)) < 0)
        goto out;
    oci_descriptor md = {.media_type = index_mt ? index_mt : mt,
                         .size = (int64_t)(index_mt ? index_body.len : body.len)};
    memcpy(md.digest, index_mt ? top_digest : digest, sizeof md.digest);
    oci_descriptor old = {0};
    cb_err e2 = {0};
    bool same = ref.tag && store_tag_get(s, name, &old, &e2) == 0 && !strcmp(old.digest, md.digest);
    oci_descriptor_free(&old);
    r = ref.tag ? store_tag_set(s, name, &md, err) : store_index_add_untagged(s, &md, err);
    if (r < 0)
        goto out;
    progress(opts, "Digest: %s", top_digest);
    if (same)
        progress(opts, "Status: Image is up to date for %s", name);
    else
        progress(opts, "Status: Downloaded newer image for %s", name);
    if (out)
        r = store_image_load(s, digest, mt, out, err);
out:
    if (r < 0 && !strstr(err->msg, name))
        cb_error_wrap(err, "pulling %s", name);
    free(jobs);
    oci_manifest_free(&m);
    free(mt);
    free(index_mt);
    cb_buf_free(&index_body);
    cb_buf_free(&body);
    oci_registry_free(reg);
    oci_platform_free(&want);
    oci_ref_free(&ref);
    return r;
}

/* ---------- push ---------- */

typedef struct push_job {
    store *s;
    oci_registry *reg;
    const oci_registry_opts *opts;
    const char *repo;
    const char *registry;
    const oci_descriptor *desc;
    cb_err err;
    int rc;
    /* recompress on the fly (store_push_compressed): */
    const oci_compress_opts *co;
    const char *diff_id;
    oci_descriptor out; /* the descriptor pushed (converted layer) */
} push_job;

/* ---------- streaming recompression: blob -> inflate -> compress -> (store, registry) ---------- */

typedef struct conv_stream {
    store *s;
    const oci_descriptor *src;
    const char *diff_id;
    const oci_compress_opts *co;
    int rfd, wfd;
    store_blob_writer *bw;
    oci_layer_result res;
    cb_err err;
    int rc;
    pthread_t th;
    bool joined;
} conv_stream;

static int tee_write(void *opaque, const void *data, size_t n, cb_err *err)
{
    conv_stream *c = opaque;
    int r = store_blob_writer_write(c->bw, data, n, err);
    if (r < 0)
        return r;
    r = cb_write_all(c->wfd, data, n);
    return r < 0 ? cb_error(err, -r, "stream to the upload") : 0;
}

static void *conv_main(void *arg)
{
    conv_stream *c = arg;
    sigset_t set; /* the uploader may stop reading: EPIPE, not a signal */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int fd;
    c->rc = store_blob_open(c->s, c->src->digest, &fd, &c->err);
    if (c->rc == 0) {
        c->rc = oci_recompress_stream(fd, c->co, (oci_sink){tee_write, c}, &c->res, &c->err);
        close(fd);
    }
    close(c->wfd);
    c->wfd = -1;
    if (c->rc == 0 && strcmp(c->res.diff_id, c->diff_id))
        c->rc = cb_failc(&c->err, EBADMSG, "layer %s uncompresses to %s, but the config says %s", c->src->digest,
                         c->res.diff_id, c->diff_id);
    if (c->rc == 0) {
        c->rc = store_blob_writer_commit(c->bw, NULL, &c->err);
        c->bw = NULL;
    }
    return NULL;
}

static int conv_finish(void *ctx, char digest[CB_DIGEST_STR_LEN], cb_err *err)
{
    conv_stream *c = ctx;
    close(c->rfd); /* unblocks a producer still writing after a failed upload */
    c->rfd = -1;
    pthread_join(c->th, NULL);
    c->joined = true;
    if (c->rc < 0) {
        *err = c->err;
        return c->rc;
    }
    memcpy(digest, c->res.digest, CB_DIGEST_STR_LEN);
    return 0;
}

static oci_compression layer_compression(const char *mt)
{
    if (cb_str_has_suffix(mt, "zstd"))
        return OCI_COMPRESSION_ZSTD;
    if (cb_str_has_suffix(mt, "gzip"))
        return OCI_COMPRESSION_GZIP;
    return OCI_COMPRESSION_NONE;
}

/* Recompress and upload one layer in a single pass; the new blob also lands in the store. */
static int push_converted(push_job *j)
{
    conv_stream c = {.s = j->s, .src = j->desc, .diff_id = j->diff_id, .co = j->co, .rfd = -1, .wfd = -1};
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cb_error(&j->err, errno, "pipe");
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    c.rfd = p[0];
    c.wfd = p[1];
    int r = store_blob_writer_open(j->s, NULL, &c.bw, &j->err);
    if (r < 0) {
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pthread_create(&c.th, NULL, conv_main, &c) != 0) {
        close(p[0]);
        close(p[1]);
        store_blob_writer_abort(c.bw, false);
        return cb_fail(&j->err, "cannot start a compression thread");
    }
    char digest[CB_DIGEST_STR_LEN];
    r = oci_registry_push_blob_stream(j->reg, j->repo, c.rfd, conv_finish, &c, digest, &j->err);
    if (!c.joined) {
        close(c.rfd);
        pthread_join(c.th, NULL);
    }
    if (c.bw)
        store_blob_writer_abort(c.bw, false);
    if (r < 0 && c.rc == 0 && r != -EACCES) {
        /* the stream cannot be replayed, but the recompressed blob is in the store now: push
         * it the ordinary, retried way */
        cb_debug("streamed upload of %s failed (%s); uploading the stored blob", j->desc->digest, j->err.msg);
        cb_err_clear(&j->err);
        int fd;
        if ((r = store_blob_open(j->s, c.res.digest, &fd, &j->err)) < 0)
            return r;
        r = oci_registry_push_blob(j->reg, j->repo, c.res.digest, c.res.size, fd, NULL, &j->err);
        close(fd);
        memcpy(digest, c.res.digest, sizeof digest);
    }
    if (r < 0)
        return r;
    j->out.media_type = xstrdup(c.res.media_type);
    memcpy(j->out.digest, digest, sizeof j->out.digest);
    j->out.size = c.res.size;
    progress(j->opts, "%s: Pushed (recompressed to %s as %.12s)", short_id(j->desc->digest),
             oci_compression_name(j->co->algo), digest + 7);
    return 0;
}

static void push_job_run(void *arg)
{
    push_job *j = arg;
    const oci_descriptor *d = j->desc;
    if (j->co) {
        j->rc = push_converted(j);
        return;
    }
    int64_t sz;
    int ex = oci_registry_blob_exists(j->reg, j->repo, d->digest, &sz, &j->err);
    if (ex < 0) {
        j->rc = ex;
        return;
    }
    if (ex == 1) {
        progress(j->opts, "%s: Layer already exists", short_id(d->digest));
        return;
    }
    int fd;
    if ((j->rc = store_blob_open(j->s, d->digest, &fd, &j->err)) < 0)
        return;
    cleanup_free char *from = store_source_find(j->s, d->digest, j->registry, j->repo);
    j->rc = oci_registry_push_blob(j->reg, j->repo, d->digest, d->size, fd, from, &j->err);
    close(fd);
    if (j->rc == 0)
        {
        if (from)
            progress(j->opts, "%s: Mounted from %s", short_id(d->digest), from);
        else
            progress(j->opts, "%s: Pushed", short_id(d->digest));
    }
}

/* An index the store holds whole: each manifest pushed by digest, then the index under the tag. */
static int push_index(store *s, const oci_descriptor *desc, const oci_index *ix, const cb_buf *json, const char *dst,
                      const oci_registry_opts *opts, char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    oci_ref ref;
    int r = oci_ref_parse(dst, &ref, err);
    if (r < 0)
        return r;
    cleanup_free char *name = oci_ref_string(&ref);
    for (size_t i = 0; i < ix->n_manifests && r == 0; i++) {
        store_image im;
        if ((r = store_image_load(s, ix->manifests[i].digest, ix->manifests[i].media_type, &im, err)) < 0)
            break;
        cleanup_free char *by_digest = xasprintf("%s/%s@%s", ref.registry, ref.repository, ix->manifests[i].digest);
        r = store_push_image(s, &im, by_digest, opts, NULL, err);
        store_image_free(&im);
    }
    oci_registry *reg = NULL;
    if (r == 0 && (r = oci_registry_new(&ref, opts, &reg, err)) == 0)
        r = oci_registry_put_manifest(reg, ref.repository, ref.tag ? ref.tag : desc->digest,
                                      desc->media_type ? desc->media_type : OCI_MT_INDEX, json->data, json->len, err);
    if (r == 0) {
        progress(opts, "%s: digest: %s size: %zu", ref.tag ? ref.tag : "", desc->digest, json->len);
        if (digest_out)
            memcpy(digest_out, desc->digest, CB_DIGEST_STR_LEN);
    }
    if (r < 0 && !strstr(err->msg, name))
        cb_error_wrap(err, "pushing %s", name);
    oci_registry_free(reg);
    oci_ref_free(&ref);
    return r;
}

int store_push(store *s, const char *src, const char *dst, const oci_registry_opts *opts,
               char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    oci_descriptor desc;
    oci_index ix;
    cb_buf json;
    if (store_index_local(s, src, &desc, &ix, &json)) {
        int r = push_index(s, &desc, &ix, &json, dst ? dst : src, opts, digest_out, err);
        oci_index_free(&ix);
        oci_descriptor_free(&desc);
        cb_buf_free(&json);
        return r;
    }
    store_image im;
    int r = store_image_resolve(s, src, &im, err);
    if (r < 0)
        return r;
    r = store_push_image(s, &im, dst ? dst : src, opts, digest_out, err);
    store_image_free(&im);
    return r;
}

int store_push_image(store *s, const store_image *im, const char *dst, const oci_registry_opts *opts,
                     char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    int r;
    const char *src = dst;
    oci_ref ref;
    if ((r = oci_ref_parse(dst, &ref, err)) < 0)
        return r;
    cleanup_free char *name = oci_ref_string(&ref);
    cleanup_free char *rn = oci_ref_name(&ref);
    oci_registry *reg = NULL;
    push_job *jobs = NULL;
    size_t nj = im->manifest.n_layers + 1;
    if ((r = oci_registry_new(&ref, opts, &reg, err)) < 0)
        goto out;
    progress(opts, "The push refers to repository [%s/%s]", ref.registry, ref.repository);
    for (size_t i = 0; i < nj; i++) {
        const oci_descriptor *d = i == 0 ? &im->manifest.config : &im->manifest.layers[i - 1];
        if (!store_blob_exists(s, d->digest, NULL)) {
            r = cb_failc(err, ENOENT, "blob %s of %s is missing from the store", d->digest, src);
            goto out;
        }
    }
    jobs = xcalloc(nj, sizeof *jobs);
    for (size_t i = 0; i < nj; i++)
        jobs[i] = (push_job){s, reg, opts, ref.repository, ref.registry,
                             i == 0 ? &im->manifest.config : &im->manifest.layers[i - 1], {0}, 0, NULL, NULL, {0}};
    int par = opts && opts->parallel > 0 ? opts->parallel : 4;
    if (par > 1 && nj > 1) {
        cb_pool *pool = cb_pool_new(par < (int)nj ? par : (int)nj);
        for (size_t i = 0; i < nj; i++)
            cb_pool_submit(pool, push_job_run, &jobs[i]);
        cb_pool_free(pool);
    } else {
        for (size_t i = 0; i < nj; i++)
            push_job_run(&jobs[i]);
    }
    for (size_t i = 0; i < nj; i++)
        if (jobs[i].rc < 0) {
            *err = jobs[i].err;
            r = jobs[i].rc;
            goto out;
        }
    const char *mt = im->manifest.media_type ? im->manifest.media_type : OCI_MT_MANIFEST;
    if ((r = oci_registry_put_manifest(reg, ref.repository, ref.tag ? ref.tag : im->manifest_digest, mt,
                                       im->manifest_json, im->manifest_len, err)) < 0)
        goto out;
    for (size_t i = 0; i < nj; i++)
        store_source_add(s, jobs[i].desc->digest, rn);
    progress(opts, "%s: digest: %s size: %zu", ref.tag ? ref.tag : "", im->manifest_digest, im->manifest_len);
    if (digest_out)
        memcpy(digest_out, im->manifest_digest, CB_DIGEST_STR_LEN);
out:
    if (r < 0 && !strstr(err->msg, name))
        cb_error_wrap(err, "pushing %s", name);
    free(jobs);
    oci_registry_free(reg);
    oci_ref_free(&ref);
    return r;
}

int store_image_convert(store *s, const store_image *im, const oci_compress_opts *opts, store_image *out,
                        cb_err *err)
{
    size_t n = im->manifest.n_layers;
    oci_descriptor *ls = xcalloc(n + 1, sizeof *ls);
    int r = 0;
    if (im->config.diff_ids.n != n)
        r = cb_fail(err, "image %s: config lists %zu diff_ids for %zu layers", im->id, im->config.diff_ids.n, n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const oci_descriptor *d = &im->manifest.layers[i];
        oci_compression have = cb_str_has_suffix(d->media_type, "zstd")     ? OCI_COMPRESSION_ZSTD
                               : cb_str_has_suffix(d->media_type, "gzip")   ? OCI_COMPRESSION_GZIP
                               : cb_str_has_suffix(d->media_type, ".tar")   ? OCI_COMPRESSION_NONE
                                                                            : (oci_compression)-1;
        if (have == opts->algo) {
            oci_descriptor_copy(&ls[i], d);
            free(ls[i].media_type);
            ls[i].media_type = xstrdup(oci_compression_media_type(have));
            continue;
        }
        int fd;
        if ((r = store_blob_open(s, d->digest, &fd, err)) < 0)
            break;
        store_blob_writer *w;
        if ((r = store_blob_writer_open(s, NULL, &w, err)) < 0) {
            close(fd);
            break;
        }
        oci_layer_result res;
        r = oci_recompress_stream(fd, opts, store_blob_writer_sink(w), &res, err);
        close(fd);
        if (r == 0 && strcmp(res.diff_id, im->config.diff_ids.v[i]))
            r = cb_failc(err, EBADMSG, "layer %s uncompresses to %s, but the config says %s", d->digest, res.diff_id,
                         im->config.diff_ids.v[i]);
        if (r < 0) {
            store_blob_writer_abort(w, false);
            cb_error_wrap(err, "recompressing layer %s", d->digest);
            break;
        }
        if ((r = store_blob_writer_commit(w, NULL, err)) < 0)
            break;
        ls[i].media_type = xstrdup(res.media_type);
        memcpy(ls[i].digest, res.digest, sizeof ls[i].digest);
        ls[i].size = res.size;
    }
    if (r == 0) {
        oci_manifest m = {0};
        m.media_type = (char *)OCI_MT_MANIFEST;
        m.config = im->manifest.config;
        m.config.media_type = (char *)OCI_MT_CONFIG;
        m.layers = ls;
        m.n_layers = n;
        size_t len;
        cleanup_free char *mj = oci_manifest_serialize(&m, &len);
        char dg[CB_DIGEST_STR_LEN];
        if ((r = store_blob_put_buf(s, mj, len, NULL, dg, err)) == 0)
            r = store_image_load(s, dg, OCI_MT_MANIFEST, out, err);
    }
    for (size_t i = 0; i < n; i++)
        oci_descriptor_free(&ls[i]);
    free(ls);
    return r;
}

int store_push_compressed(store *s, const char *src, const char *dst, const oci_compress_opts *co,
                          const oci_registry_opts *opts, char digest_out[CB_DIGEST_STR_LEN], cb_err *err)
{
    store_image im;
    int r = store_image_resolve(s, src, &im, err);
    if (r < 0)
        return r;
    oci_ref ref;
    if ((r = oci_ref_parse(dst ? dst : src, &ref, err)) < 0) {
        store_image_free(&im);
        return r;
    }
    cleanup_free char *name = oci_ref_string(&ref);
    cleanup_free char *mj = NULL;
    size_t n = im.manifest.n_layers;
    push_job *jobs = xcalloc(n + 1, sizeof *jobs);
    oci_registry *reg = NULL;
    if (im.config.diff_ids.n != n) {
        r = cb_fail(err, "image %s: config lists %zu diff_ids for %zu layers", im.id, im.config.diff_ids.n, n);
        goto out;
    }
    if ((r = oci_registry_new(&ref, opts, &reg, err)) < 0)
        goto out;
    progress(opts, "The push refers to repository [%s/%s]", ref.registry, ref.repository);
    for (size_t i = 0; i < n; i++) {
        const oci_descriptor *d = &im.manifest.layers[i];
        bool convert = layer_compression(d->media_type) != co->algo;
        jobs[i] = (push_job){s, reg, opts, ref.repository, ref.registry, d, {0}, 0, convert ? co : NULL,
                             im.config.diff_ids.v[i], {0}};
    }
    int par = opts && opts->parallel > 0 ? opts->parallel : 4;
    if (par > 1 && n > 1) {
        cb_pool *pool = cb_pool_new(par < (int)n ? par : (int)n);
        for (size_t i = 0; i < n; i++)
            cb_pool_submit(pool, push_job_run, &jobs[i]);
        cb_pool_free(pool);
    } else {
        for (size_t i = 0; i < n; i++)
            push_job_run(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].rc < 0) {
            *err = jobs[i].err;
            r = jobs[i].rc;
            goto out;
        }
    /* the config is unchanged; the manifest names the new layers */
    push_job cj = {s, reg, opts, ref.repository, ref.registry, &im.manifest.config, {0}, 0, NULL, NULL, {0}};
    push_job_run(&cj);
    if (cj.rc < 0) {
        *err = cj.err;
        r = cj.rc;
        goto out;
    }
    oci_manifest m = {0};
    m.media_type = (char *)OCI_MT_MANIFEST;
    m.config = im.manifest.config;
    m.config.media_type = (char *)OCI_MT_CONFIG;
    oci_descriptor *ls = xcalloc(n + 1, sizeof *ls);
    for (size_t i = 0; i < n; i++) {
        ls[i] = jobs[i].co ? jobs[i].out : im.manifest.layers[i];
        if (!jobs[i].co)
            ls[i].media_type = (char *)oci_compression_media_type(co->algo);
    }
    m.layers = ls;
    m.n_layers = n;
    size_t len;
    mj = oci_manifest_serialize(&m, &len);
    free(ls);
    char md[CB_DIGEST_STR_LEN];
    if ((r = store_blob_put_buf(s, mj, len, NULL, md, err)) < 0)
        goto out;
    if ((r = oci_registry_put_manifest(reg, ref.repository, ref.tag ? ref.tag : md, OCI_MT_MANIFEST, mj, len, err)) <
        0)
        goto out;
    progress(opts, "%s: digest: %s size: %zu", ref.tag ? ref.tag : "", md, len);
    if (digest_out)
        memcpy(digest_out, md, CB_DIGEST_STR_LEN);
out:
    if (r < 0 && !strstr(err->msg, name))
        cb_error_wrap(err, "pushing %s", name);
    for (size_t i = 0; i < n; i++)
        free(jobs[i].out.media_type);
    free(jobs);
    oci_registry_free(reg);
    oci_ref_free(&ref);
    store_image_free(&im);
    return r;
}
