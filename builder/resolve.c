/* Image resolution during a build (FROM, COPY --from=image, RUN --mount from=image): one
 * resolver per build, one entry per reference. The first asker resolves (local store, cache
 * import, registry pull) without holding the lock; later askers for the same reference wait
 * for that result, while other references resolve in parallel. */
#include "internal.h"
#include "cache-io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bl_resolver {
    bl_build *b;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bl_image **v; /* entries never move: steps keep pointers while others are added */
    size_t n;
};

bl_resolver *bl_resolver_new(bl_build *b)
{
    bl_resolver *r = xcalloc(1, sizeof *r);
    r->b = b;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    return r;
}

void bl_resolver_free(bl_resolver *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i]->ref);
        free(r->v[i]->platform);
        free(r->v[i]->source);
        if (r->v[i]->ready && r->v[i]->rc == 0)
            store_image_free(&r->v[i]->im);
        bl_chain_free(&r->v[i]->chain);
        free(r->v[i]);
    }
    free(r->v);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

size_t bl_resolver_count(bl_resolver *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const bl_image *bl_resolver_at(bl_resolver *r, size_t i)
{
    pthread_mutex_lock(&r->lock);
    const bl_image *im = i < r->n ? r->v[i] : NULL;
    pthread_mutex_unlock(&r->lock);
    return im;
}

static void chain_from_image(const store_image *im, bl_chain *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < im->manifest.n_layers; i++) {
        bl_layer l;
        memset(&l, 0, sizeof l);
        const oci_descriptor *d = &im->manifest.layers[i];
        memcpy(l.digest, d->digest, sizeof l.digest);
        if (i < im->config.diff_ids.n)
            snprintf(l.diff_id, sizeof l.diff_id, "%s", im->config.diff_ids.v[i]);
        l.size = d->size;
        snprintf(l.media_type, sizeof l.media_type, "%s", d->media_type ? d->media_type : OCI_MT_LAYER_GZIP);
        bl_chain_push(c, &l);
    }
}

/* The local store first (unless --pull), then a cache import (layers fetched lazily), then
 * the registry. Runs without the resolver's lock. */
static int image_fetch(bl_build *b, const char *ref, const char *platform, store_image *im, bl_image *bi,
                       cb_err *err)
{
    memset(im, 0, sizeof *im);
    cb_err e;
    bl_policy_image pi;
    int rc = bl_policy_resolve_image(b, ref, &pi, err); /* named contexts, then the source policy */
    if (rc < 0)
        return rc;
    const bl_named *nc = pi.named;
    bi->source_kind = nc ? (int)nc->kind : -1;
    bi->source = xstrdup(nc ? nc->value : pi.ref);
    bi->source_named = nc && nc != &pi.conv ? nc : NULL;
    if (nc) {
        /* BuildKit's vertex names: a local context comes "from client" */
        cleanup_free char *nm = nc->kind == BL_NAMED_LOCAL
                                    ? xasprintf("[context %s] load from client", nc->name)
                                    : xasprintf("[context %s] load %s", nc->name, nc->value);
        int npid = progress_add(b->prog, nm);
        progress_start(b->prog, npid);
        uint64_t bytes = 0;
        rc = nc->kind == BL_NAMED_LOCAL ? bl_named_fetch_local(b, nc, im, &bytes, err)
                                        : bl_named_fetch(b, nc, platform, im, err);
        if (rc < 0)
            progress_error(b->prog, npid, err->msg);
        else if (nc->kind == BL_NAMED_LOCAL) /* source/local's status: "transferring foo:" */
            progress_transfer_done(b->prog, npid, nc->name, bytes);
        if (rc == 0)
            progress_done(b->prog, npid);
        bl_policy_image_free(&pi); /* nc may be pi.conv */
        return rc;
    }
    ref = pi.ref; /* a docker-image:// context's reference, or the policy's */
    rc = -ENOENT;
    cleanup_free char *name = b->multi_platform
                                  ? xasprintf("[%s internal] load metadata for %s", platform, ref)
                                  : xasprintf("[internal] load metadata for %s", ref);
    int pid = bl_progress_add(b, name);
    progress_start(b->prog, pid);
    if (!b->opts->pull)
        rc = store_image_resolve_platform(b->st, ref, platform, im, &e);
    if (rc < 0 && bl_cache_io_image(b, ref, platform, im) == 1)
        rc = 0;
    if (rc < 0) {
        oci_registry_opts ro;
        bl_registry_opts(b->opts, &ro);
        rc = store_pull(b->st, ref, platform, &ro, im, err);
        if (rc == -ENOEXEC) {
            /* a single-platform image of another platform: BuildKit builds on it (the plan
             * lints InvalidBaseImagePlatform); docker's refusal is for pull and run */
            rc = store_image_resolve_platform(b->st, ref, NULL, im, &e);
            if (rc < 0)
                rc = store_pull(b->st, ref, NULL, &ro, im, err);
        }
        if (rc < 0) {
            progress_error(b->prog, pid, err->msg);
            rc = cb_error_wrap(err, "failed to resolve source metadata for %s", ref);
            bl_policy_image_free(&pi);
            return rc;
        }
    }
    progress_done(b->prog, pid);
    bl_policy_image_free(&pi);
    return 0;
}

int bl_resolver_image(bl_resolver *r, const char *ref, const char *platform, const bl_image **out, cb_err *err)
{
    pthread_mutex_lock(&r->lock);
    bl_image *bi = NULL;
    for (size_t i = 0; i < r->n && !bi; i++)
        if (!strcmp(r->v[i]->ref, ref) && !strcmp(r->v[i]->platform, platform))
            bi = r->v[i];
    if (bi) {
        while (!bi->ready)
            pthread_cond_wait(&r->cond, &r->lock);
        pthread_mutex_unlock(&r->lock);
        if (bi->rc < 0) {
            *err = bi->err;
            return bi->rc;
        }
        *out = bi;
        return 0;
    }
    bi = xcalloc(1, sizeof *bi);
    bi->ref = xstrdup(ref);
    bi->platform = xstrdup(platform);
    r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
    r->v[r->n++] = bi;
    pthread_mutex_unlock(&r->lock);

    store_image im;
    int rc = image_fetch(r->b, ref, platform, &im, bi, err);
    pthread_mutex_lock(&r->lock);
    if (rc == 0) {
        bi->im = im;
        chain_from_image(&bi->im, &bi->chain);
        bl_image_key(im.manifest_digest, bi->key);
    } else {
        bi->err = *err;
    }
    bi->rc = rc;
    bi->ready = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return rc;
    *out = bi;
    return 0;
}

int bl_resolve_from(const bl_exec_in *in, const char *from, int from_stage, const bl_chain **chain,
                    const char **key, cb_err *err)
{
    bl_build *b = in->b;
    if (from_stage >= 0) {
        bl_stage_job *j = &in->job->solve->jobs[from_stage];
        pthread_mutex_lock(&b->lock);
        bool done = j->done;
        pthread_mutex_unlock(&b->lock);
        if (!done)
            return cb_fail(err, "internal: stage %s used before it was built", from);
        *chain = &j->chain;
        *key = j->key;
        return 0;
    }
    const bl_image *im;
    int rc = bl_resolver_image(b->images, from, in->job->platform, &im, err);
    if (rc < 0)
        return rc;
    *chain = &im->chain;
    *key = im->key;
    return 0;
}
