/* The per-build image resolver (builder/resolve.c): concurrent askers for one reference share
 * one resolution, a failure reaches every waiter, and no lock is held while a pull waits on
 * the network (a local reference resolves while another reference's pull hangs). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

typedef struct rfix {
    char *root;
    char *log_data;
    size_t log_len;
    FILE *log;
    builder_opts opts;
    bl_build b;
} rfix;

static void fix_open(rfix *f)
{
    memset(f, 0, sizeof *f);
    f->root = xstrdup("/tmp/cbuild-resolve-XXXXXX");
    cr_assert_not_null(mkdtemp(f->root));
    f->log = open_memstream(&f->log_data, &f->log_len);
    f->opts.root = f->root;
    f->b.opts = &f->opts;
    pthread_mutex_init(&f->b.lock, NULL);
    cb_err err;
    cr_assert_eq(store_open(f->root, &f->b.st, &err), 0, "%s", err.msg);
    f->b.prog = progress_new(BUILDER_PROGRESS_RAWJSON, f->log);
    f->b.images = bl_resolver_new(&f->b);
}

/* A local image without layers, tagged name. */
static void fix_image(rfix *f, const char *name)
{
    oci_config cfg;
    oci_config_init(&cfg);
    cfg.created = xstrdup("2024-01-01T00:00:00Z");
    store_image im;
    cb_err err;
    cr_assert_eq(store_image_commit(f->b.st, &cfg, NULL, 0, name, &im, &err), 0, "%s", err.msg);
    store_image_free(&im);
    oci_config_free(&cfg);
}

/* How often the progress log names a "load metadata" vertex for ref (once per resolution). */
static int fix_loads(rfix *f, const char *ref)
{
    progress_free(f->b.prog);
    f->b.prog = NULL;
    fflush(f->log);
    cleanup_free char *needle = xasprintf("load metadata for %s", ref);
    int n = 0;
    cb_strv seen;
    cb_strv_init(&seen);
    /* rawjson repeats a vertex on every update: count the distinct vertex ids naming ref */
    for (const char *p = f->log_data; p && (p = strstr(p, needle)); p += strlen(needle)) {
        const char *line = p;
        while (line > f->log_data && line[-1] != '\n')
            line--;
        const char *d = strstr(line, "\"digest\"");
        cleanup_free char *id =
            d && d < p + 400 ? xstrndup(d, 80) : xasprintf("%zu", (size_t)(line - f->log_data));
        if (!cb_strv_contains(&seen, id)) {
            cb_strv_push(&seen, id);
            n++;
        }
    }
    cb_strv_free(&seen);
    return n;
}

static void fix_close(rfix *f)
{
    bl_resolver_free(f->b.images);
    if (f->b.prog)
        progress_free(f->b.prog);
    store_close(f->b.st);
    fclose(f->log);
    free(f->log_data);
    cb_err err;
    cb_rm_rf(f->root, &err);
    free(f->root);
    pthread_mutex_destroy(&f->b.lock);
}

typedef struct asker {
    rfix *f;
    const char *ref;
    const bl_image *im;
    int rc;
    cb_err err;
} asker;

static void *ask(void *arg)
{
    asker *a = arg;
    a->rc = bl_resolver_image(a->f->b.images, a->ref, "linux/amd64", &a->im, &a->err);
    return NULL;
}

Test(resolver, concurrent_askers_share_one_resolution)
{
    rfix f;
    fix_open(&f);
    fix_image(&f, "example.test/dedup/base:1");
    enum { N = 8 };
    asker a[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (asker){.f = &f, .ref = "example.test/dedup/base:1"};
        pthread_create(&t[i], NULL, ask, &a[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(a[i].rc, 0, "%s", a[i].err.msg);
        cr_assert_eq(a[i].im, a[0].im, "every asker gets the one entry");
    }
    cr_assert(cb_digest_valid(a[0].im->key));
    cr_assert_eq(fix_loads(&f, "example.test/dedup/base:1"), 1);
    fix_close(&f);
}

Test(resolver, a_failure_reaches_every_waiter)
{
    rfix f;
    fix_open(&f);
    /* nothing listens on port 1: the pull fails fast */
    f.opts.pull = true;
    enum { N = 4 };
    asker a[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (asker){.f = &f, .ref = "127.0.0.1:1/missing/base:1"};
        pthread_create(&t[i], NULL, ask, &a[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert_lt(a[i].rc, 0);
        cr_assert(strstr(a[i].err.msg, "failed to resolve source metadata for 127.0.0.1:1/missing/base:1"),
                  "%s", a[i].err.msg);
    }
    cr_assert_eq(fix_loads(&f, "127.0.0.1:1/missing/base:1"), 1);
    fix_close(&f);
}

Test(resolver, no_lock_across_a_hanging_pull, .timeout = 60)
{
    rfix f;
    fix_open(&f);
    fix_image(&f, "example.test/local/base:1");
    /* a registry that accepts connections and never answers */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(ls, 16), 0);
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    cleanup_free char *hung = xasprintf("127.0.0.1:%d/hung/base:1", ntohs(sa.sin_port));
    asker slow = {.f = &f, .ref = hung}, fast = {.f = &f, .ref = "example.test/local/base:1"};
    pthread_t ts, tf;
    pthread_create(&ts, NULL, ask, &slow);
    usleep(300 * 1000); /* the slow pull is connected and waiting */
    pthread_create(&tf, NULL, ask, &fast);
    pthread_join(tf, NULL);
    cr_assert_eq(fast.rc, 0, "%s", fast.err.msg);
    /* the hanging pull is still in flight: it did not hold up the other reference */
    cr_assert_eq(pthread_tryjoin_np(ts, NULL), EBUSY);
    close(ls);
    shutdown(ls, SHUT_RDWR);
    pthread_join(ts, NULL);
    cr_assert_lt(slow.rc, 0);
    fix_close(&f);
}
