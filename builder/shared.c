/* What the builds of one process share (cbuild bake): one progress display, and an in-flight
 * table of cache keys, so a step two targets have in common runs once while the other waits
 * and takes the result from the store, as BuildKit's solver merges equal vertices. */
#include "internal.h"

struct builder_shared {
    progress *prog;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cb_strv running; /* keys a build is executing */
};

builder_shared *builder_shared_new(enum builder_progress_mode mode, FILE *log)
{
    builder_shared *s = xcalloc(1, sizeof *s);
    s->prog = progress_new(mode, log ? log : stderr);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    cb_strv_init(&s->running);
    return s;
}

void builder_shared_free(builder_shared *s)
{
    if (!s)
        return;
    progress_free(s->prog);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    cb_strv_free(&s->running);
    free(s);
}

progress *bl_shared_progress(builder_shared *s)
{
    return s->prog;
}

static ssize_t running_index(builder_shared *s, const char *key)
{
    for (size_t i = 0; i < s->running.n; i++)
        if (!strcmp(s->running.v[i], key))
            return (ssize_t)i;
    return -1;
}

bool bl_flight_claim(builder_shared *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    bool waited = false;
    while (running_index(s, key) >= 0) {
        waited = true;
        pthread_cond_wait(&s->cond, &s->lock);
    }
    if (!waited)
        cb_strv_push(&s->running, key);
    pthread_mutex_unlock(&s->lock);
    return !waited;
}

void bl_flight_release(builder_shared *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    ssize_t i = running_index(s, key);
    if (i >= 0) {
        free(s->running.v[i]);
        s->running.v[i] = s->running.v[s->running.n - 1];
        s->running.v[--s->running.n] = NULL;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
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
