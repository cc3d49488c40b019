/* Interrupts: a watcher thread turns the caller's signal flag (set by a SIGINT/SIGTERM
 * handler, which may do nothing else) into a canceled build: running VMs are killed, no
 * further step starts, and the build's temporary files go with the normal cleanup. */
#include <errno.h>
#include <time.h>

#include "internal.h"

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "a signal";
    }
}

static void *watch(void *arg)
{
    bl_build *b = arg;
    pthread_mutex_lock(&b->lock);
    while (!b->watch_stop) {
        int sig = *b->opts->interrupt;
        if (sig && !b->interrupted) {
            b->interrupted = true;
            b->cancel = 1;
            if (!b->failed) {
                b->failed = true;
                cb_failc(&b->first_err, ECANCELED, "canceled: interrupted by %s", signal_name(sig));
            }
            pthread_cond_broadcast(&b->cond);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

void bl_cancel_watch_start(bl_build *b)
{
    if (!b->opts->interrupt)
        return;
    b->watching = pthread_create(&b->watcher, NULL, watch, b) == 0;
}

void bl_cancel_watch_stop(bl_build *b)
{
    if (!b->watching)
        return;
    pthread_mutex_lock(&b->lock);
    b->watch_stop = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->watcher, NULL);
    b->watching = false;
}

bool bl_interrupted(bl_build *b)
{
    pthread_mutex_lock(&b->lock);
    bool i = b->interrupted;
    pthread_mutex_unlock(&b->lock);
    return i;
}
