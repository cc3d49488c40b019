/* What the builds of one process share (cbuild bake): one progress display, and an in-flight
 * table of cache keys, so a step two targets have in common runs once while the other waits
 * and takes the result from the store, as BuildKit's solver merges equal vertices; a key
 * executed once is taken from the store afterwards too, even under --no-cache. A build of its
 * own (cbuild build) has a table of its own: its platforms and stages share steps too. */
#include "internal.h"

struct bl_flights {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cb_strv running; /* keys a build is executing */
    cb_strv done;    /* keys executed (their records are in the store) */
};

struct builder_shared {
    progress *prog;
    bl_flights *flights;
};

bl_flights *bl_flights_new(void)
{
    bl_flights *f = xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    cb_strv_init(&f->running);
    cb_strv_init(&f->done);
    return f;
}

void bl_flights_free(bl_flights *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    cb_strv_free(&f->running);
    cb_strv_free(&f->done);
    free(f);
}

builder_shared *builder_shared_new(enum builder_progress_mode mode, FILE *log)
{
    builder_shared *s = xcalloc(1, sizeof *s);
    s->prog = progress_new(mode, log ? log : stderr);
    s->flights = bl_flights_new();
    return s;
}

void builder_shared_free(builder_shared *s)
{
    if (!s)
        return;
    progress_free(s->prog);
    bl_flights_free(s->flights);
    free(s);
}

progress *bl_shared_progress(builder_shared *s)
{
    return s->prog;
}

bl_flights *bl_shared_flights(builder_shared *s)
{
    return s->flights;
}

static ssize_t key_index(const cb_strv *v, const char *key)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->v[i], key))
            return (ssize_t)i;
    return -1;
}

bl_flight bl_flight_claim(bl_flights *f, const char *key, bool ignore_done)
{
    pthread_mutex_lock(&f->lock);
    bl_flight r = BL_FLIGHT_MINE;
    while (key_index(&f->running, key) >= 0) {
        r = BL_FLIGHT_WAITED;
        pthread_cond_wait(&f->cond, &f->lock);
    }
    if (r == BL_FLIGHT_MINE && !ignore_done && key_index(&f->done, key) >= 0)
        r = BL_FLIGHT_DONE;
    if (r == BL_FLIGHT_MINE)
        cb_strv_push(&f->running, key);
    pthread_mutex_unlock(&f->lock);
    return r;
}

void bl_flight_release(bl_flights *f, const char *key, bool executed)
{
    pthread_mutex_lock(&f->lock);
    ssize_t i = key_index(&f->running, key);
    if (i >= 0) {
        free(f->running.v[i]);
        f->running.v[i] = f->running.v[f->running.n - 1];
        f->running.v[--f->running.n] = NULL;
    }
    if (executed && key_index(&f->done, key) < 0)
        cb_strv_push(&f->done, key);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* buildx's progress.WithPrefix for several targets: "[app 2/3] RUN …", "[app] exporting …" */
int bl_progress_add(bl_build *b, const char *name)
{
    const char *pfx = b->opts->name;
    if (!pfx || !*pfx)
        return progress_add(b->prog, name);
    cleanup_free char *n =
        name[0] == '[' ? xasprintf("[%s %s", pfx, name + 1) : xasprintf("[%s] %s", pfx, name);
    return progress_add(b->prog, n);
}
