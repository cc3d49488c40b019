/* Progress display. plain follows BuildKit's `--progress=plain` layout:
 *   #5 [stage-1 2/4] RUN make
 *   #5 0.412 cc -o app app.c
 *   #5 DONE 1.8s
 * tty redraws a live view (per-step timers, CACHED marks, tail of running output);
 * rawjson writes one JSON status object per event, like buildctl --progress=rawjson. */
#include "progress.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define TAIL_LINES 12
#define TTY_TAIL 6
#define TTY_STATUS 4

enum vstate { V_WAITING, V_RUNNING, V_DONE, V_CACHED, V_ERROR };

typedef struct pvertex {
    char *name;
    enum vstate state;
    double started, completed;
    char *tail[TAIL_LINES]; /* ring of the last output lines */
    int tail_pos, tail_n;
    cb_buf partial; /* output not yet ended by a newline */
    int partial_stream;
    bool after_cr;            /* the last byte was a '\r' that ended a line: a '\n' next ends none (CRLF) */
    char *status[TTY_STATUS]; /* the latest status lines, tty sub-rows */
    int status_n;
    uint64_t logged[2]; /* bytes a step wrote per stream (stdout, stderr) */
    bool clipped[2];
} pvertex;

struct progress {
    enum builder_progress_mode mode;
    FILE *log;
    pthread_mutex_t lock;
    pvertex *v;
    int n, cap;
    double t0;
    double wall_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC at the start: vertex times are monotonic */
    int current; /* plain: the vertex whose header was printed last, 0 after one completed */
    /* tty */
    pthread_t ticker;
    bool ticker_on, stop;
    pthread_cond_t cond;
    int drawn_lines;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int builder_progress_parse(const char *s, enum builder_progress_mode *out, cb_err *err)
{
    static const char *names[] = {"auto", "tty", "plain", "quiet", "rawjson"};
    if (!s || !*s) {
        *out = BUILDER_PROGRESS_AUTO;
        return 0;
    }
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *out = (enum builder_progress_mode)i;
            return 0;
        }
    return cb_fail(err, "invalid --progress value `%s`: expected auto, tty, plain, quiet or rawjson", s);
}

static void *ticker_main(void *arg);

progress *progress_new(enum builder_progress_mode mode, FILE *log)
{
    progress *p = xcalloc(1, sizeof *p);
    if (mode == BUILDER_PROGRESS_AUTO) {
        const char *term = getenv("TERM");
        mode = isatty(fileno(log)) && !(term && !strcmp(term, "dumb")) ? BUILDER_PROGRESS_TTY
                                                                       : BUILDER_PROGRESS_PLAIN;
    }
    p->mode = mode;
    p->log = log;
    p->t0 = cb_now();
    p->wall_offset = wall_now() - p->t0;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (mode == BUILDER_PROGRESS_TTY && pthread_create(&p->ticker, NULL, ticker_main, p) == 0)
        p->ticker_on = true;
    return p;
}

enum builder_progress_mode progress_mode(const progress *p)
{
    return p->mode;
}

/* ---------- rawjson ----------
 * buildctl's encoding of client.SolveStatus (Go's encoding/json): times are RFC 3339 strings
 * with nanoseconds (time.Time's MarshalJSON, trailing zeros trimmed), log data is []byte, hence
 * base64, a failed vertex carries its "error". */

static json_t *raw_time(double wall)
{
    time_t sec = (time_t)wall;
    long ns = (long)((wall - (double)sec) * 1e9);
    if (ns < 0)
        ns = 0;
    if (ns > 999999999)
        ns = 999999999;
    struct tm tm;
    gmtime_r(&sec, &tm);
    char frac[16] = "";
    if (ns) {
        snprintf(frac, sizeof frac, ".%09ld", ns);
        for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
            frac[k - 1] = 0;
    }
    char out[64];
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return json_string(out);
}

static void raw_digest(int id, char dg[CB_DIGEST_STR_LEN])
{
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "vertex-%d", id);
    cb_sha256_buf(idbuf, strlen(idbuf), dg);
}

/* one SolveStatus line holding `item` as the only element of `member` */
static void raw_emit(progress *p, const char *member, json_t *item)
{
    json_t *st = json_object();
    json_t *arr = json_array();
    json_array_append_new(arr, item);
    json_object_set_new(st, member, arr);
    char *s = json_dumps(st, JSON_COMPACT);
    fprintf(p->log, "%s\n", s);
    free(s);
    json_decref(st);
}

static void raw_vertex(progress *p, int id, const char *error)
{
    pvertex *v = &p->v[id - 1];
    json_t *vx = json_object();
    char dg[CB_DIGEST_STR_LEN];
    raw_digest(id, dg);
    json_object_set_new(vx, "digest", json_string(dg));
    json_object_set_new(vx, "name", json_string(v->name));
    if (v->started > 0)
        json_object_set_new(vx, "started", raw_time(v->started + p->wall_offset));
    if (v->completed > 0)
        json_object_set_new(vx, "completed", raw_time(v->completed + p->wall_offset));
    if (v->state == V_CACHED)
        json_object_set_new(vx, "cached", json_true());
    if (error)
        json_object_set_new(vx, "error", json_string(error));
    raw_emit(p, "vertexes", vx);
}

/* one line of a vertex's output, with its newline as the process wrote it */
static void raw_log(progress *p, int id, int stream, const char *line, size_t n)
{
    char dg[CB_DIGEST_STR_LEN];
    raw_digest(id, dg);
    json_t *lg = json_object();
    json_object_set_new(lg, "vertex", json_string(dg));
    json_object_set_new(lg, "stream", json_integer(stream));
    cleanup_free char *nl = xmalloc(n + 1);
    memcpy(nl, line, n);
    nl[n] = '\n';
    cleanup_free char *b64 = cb_base64(nl, n + 1);
    json_object_set_new(lg, "data", json_string(b64));
    json_object_set_new(lg, "timestamp", raw_time(wall_now()));
    raw_emit(p, "logs", lg);
}

/* ---------- tty ---------- */

static void fmt_secs(double s, char *out, size_t n)
{
    snprintf(out, n, "%.1fs", s < 0 ? 0 : s);
}

static int tty_width(FILE *f)
{
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

/* One row as BuildKit's progressui draws it: the text cut to fit, the timing right-aligned. */
static void tty_row(FILE *f, int cols, const char *color, const char *prefix, const char *text,
                    const char *tm)
{
    int room = cols - (int)strlen(prefix) - (int)strlen(tm) - 1;
    if (room < 1)
        room = 1;
    int n = (int)strlen(text);
    if (n > room)
        n = room;
    fprintf(f, "%s%s%.*s%*s%s\033[0m\n", color, prefix, n, text, room - n + 1 + (int)strlen(tm), tm, "");
}

static int tty_draw_vertex_locked(progress *p, pvertex *v, int cols)
{
    FILE *f = p->log;
    char t[32];
    double end = v->state == V_RUNNING ? cb_now() : v->completed;
    fmt_secs(v->state == V_CACHED ? 0 : end - v->started, t, sizeof t);
    const char *color = v->state == V_ERROR ? "\033[31m" : v->state == V_RUNNING ? "\033[34m" : "\033[36m";
    cb_buf name;
    cb_buf_init(&name);
    cb_buf_printf(&name, "%s%s",
                  v->state == V_CACHED  ? "CACHED "
                  : v->state == V_ERROR ? "ERROR "
                                        : "",
                  v->name);
    tty_row(f, cols, color, " => ", name.data, t);
    cb_buf_free(&name);
    int lines = 1;
    for (int k = 0; k < v->status_n; k++, lines++)
        tty_row(f, cols, color, " => => ", v->status[k], "");
    if (v->state == V_RUNNING || v->state == V_ERROR) {
        int show = v->tail_n < TTY_TAIL ? v->tail_n : TTY_TAIL;
        for (int k = show; k > 0; k--, lines++) {
            const char *l = v->tail[(v->tail_pos - k + TAIL_LINES) % TAIL_LINES];
            fprintf(f, "\033[90m => => # %.*s\033[0m\n", cols - 10 > 0 ? cols - 10 : 1, l);
        }
    }
    return lines;
}

static void tty_draw_locked(progress *p, bool final)
{
    FILE *f = p->log;
    for (int i = 0; i < p->drawn_lines; i++)
        fputs("\033[1A\033[2K", f);
    int done = 0;
    for (int i = 0; i < p->n; i++)
        if (p->v[i].state >= V_DONE)
            done++;
    char t[32];
    fmt_secs(cb_now() - p->t0, t, sizeof t);
    fprintf(f, "[+] Building %s (%d/%d)%s\n", t, done, p->n, final ? " FINISHED" : "");
    int lines = 1;
    int cols = tty_width(f);
    for (int i = 0; i < p->n; i++)
        if (p->v[i].state != V_WAITING)
            lines += tty_draw_vertex_locked(p, &p->v[i], cols);
    p->drawn_lines = final ? 0 : lines;
    fflush(f);
}

static void *ticker_main(void *arg)
{
    progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        tty_draw_locked(p, false);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 150 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---------- plain ---------- */

/* BuildKit's textMux: a vertex's lines follow its `#N name` header; when another vertex
 * printed in between (or this one was done), the header is printed again. */
static void plain_header_locked(progress *p, int id)
{
    if (p->current == id)
        return;
    fprintf(p->log, "\n#%d %s\n", id, p->v[id - 1].name);
    p->current = id;
}

/* ---------- events ---------- */

int progress_add(progress *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = xrealloc(p->v, (size_t)p->cap * sizeof *p->v);
    }
    pvertex *v = &p->v[p->n];
    memset(v, 0, sizeof *v);
    v->name = xstrdup(name);
    cb_buf_init(&v->partial);
    int id = ++p->n;
    pthread_mutex_unlock(&p->lock);
    return id;
}

static pvertex *vget(progress *p, int id)
{
    return id >= 1 && id <= p->n ? &p->v[id - 1] : NULL;
}

void progress_start(progress *p, int id)
{
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v && v->state == V_WAITING) {
        v->state = V_RUNNING;
        v->started = cb_now();
        if (p->mode == BUILDER_PROGRESS_PLAIN) {
            p->current = 0;
            plain_header_locked(p, id);
            fflush(p->log);
        } else if (p->mode == BUILDER_PROGRESS_RAWJSON) {
            raw_vertex(p, id, NULL);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

void progress_cached(progress *p, int id)
{
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        v->state = V_CACHED;
        v->started = v->completed = cb_now();
        if (p->mode == BUILDER_PROGRESS_PLAIN) {
            p->current = 0;
            plain_header_locked(p, id);
            fprintf(p->log, "#%d CACHED\n", id);
            p->current = 0;
            fflush(p->log);
        } else if (p->mode == BUILDER_PROGRESS_RAWJSON) {
            raw_vertex(p, id, NULL);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

static void add_line_locked(progress *p, int id, pvertex *v, int stream, const char *line, size_t n)
{
    free(v->tail[v->tail_pos]);
    v->tail[v->tail_pos] = xstrndup(line, n < 4096 ? n : 4096); /* the error excerpt, not the log */
    v->tail_pos = (v->tail_pos + 1) % TAIL_LINES;
    if (v->tail_n < TAIL_LINES)
        v->tail_n++;
    if (p->mode == BUILDER_PROGRESS_PLAIN) {
        plain_header_locked(p, id);
        fprintf(p->log, "#%d %.3f %.*s\n", id, cb_now() - v->started, (int)n, line);
    } else if (p->mode == BUILDER_PROGRESS_RAWJSON)
        raw_log(p, id, stream, line, n);
}

/* BuildKit's per-stream step log limit (util/progress/logs: 2 MiB, BUILDKIT_STEP_LOG_MAX_SIZE,
 * -1 = none): output past it is dropped, so a step printing without end costs no memory. */
static int64_t log_limit(void)
{
    const char *e = getenv("BUILDKIT_STEP_LOG_MAX_SIZE");
    char *end;
    long long v = e && *e ? strtoll(e, &end, 10) : 0;
    if (e && *e && !*end && v >= -1)
        return v;
    return 2 * 1024 * 1024;
}

static void limit_text(int64_t lim, char *out, size_t n)
{
    if (lim >= 1024 * 1024 && lim % (1024 * 1024) == 0)
        snprintf(out, n, "%lldMiB", (long long)(lim / (1024 * 1024)));
    else if (lim >= 1024 && lim % 1024 == 0)
        snprintf(out, n, "%lldKiB", (long long)(lim / 1024));
    else
        snprintf(out, n, "%lldB", (long long)lim);
}

void progress_output(progress *p, int id, int stream, const char *data, size_t n)
{
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        int s = stream == 2 ? 1 : 0;
        int64_t lim = log_limit();
        size_t keep = n;
        if (lim >= 0) {
            uint64_t room = v->logged[s] >= (uint64_t)lim ? 0 : (uint64_t)lim - v->logged[s];
            keep = n < room ? n : (size_t)room;
        }
        v->logged[s] += n;
        bool clip = keep < n && !v->clipped[s];
        if (keep < n)
            v->clipped[s] = true;
        n = keep;
        for (size_t i = 0; i < n; i++) {
            char c = data[i];
            bool crlf = c == '\n' && v->after_cr;
            v->after_cr = c == '\r' && v->partial.len;
            if (crlf)
                continue;
            if (c == '\n' || c == '\r') {
                if (c == '\n' || v->partial.len)
                    add_line_locked(p, id, v, stream, v->partial.data ? v->partial.data : "", v->partial.len);
                cb_buf_reset(&v->partial);
            } else {
                cb_buf_putc(&v->partial, c);
            }
        }
        v->partial_stream = stream;
        if (clip) {
            if (v->partial.len)
                add_line_locked(p, id, v, stream, v->partial.data, v->partial.len);
            cb_buf_reset(&v->partial);
            char lt[32], msg[80];
            limit_text(lim, lt, sizeof lt);
            snprintf(msg, sizeof msg, "[output clipped, log limit %s reached]", lt);
            add_line_locked(p, id, v, stream, msg, strlen(msg));
        }
        if (p->mode == BUILDER_PROGRESS_PLAIN)
            fflush(p->log);
    }
    pthread_mutex_unlock(&p->lock);
}

static void flush_partial_locked(progress *p, int id, pvertex *v)
{
    if (v->partial.len) {
        add_line_locked(p, id, v, v->partial_stream ? v->partial_stream : 1, v->partial.data, v->partial.len);
        cb_buf_reset(&v->partial);
    }
}

void progress_status(progress *p, int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        flush_partial_locked(p, id, v);
        if (v->status_n == TTY_STATUS) {
            free(v->status[0]);
            memmove(v->status, v->status + 1, (TTY_STATUS - 1) * sizeof *v->status);
            v->status_n--;
        }
        v->status[v->status_n++] = xstrdup(b.data ? b.data : "");
        if (p->mode == BUILDER_PROGRESS_PLAIN) {
            plain_header_locked(p, id);
            fprintf(p->log, "#%d %s\n", id, b.data ? b.data : "");
            fflush(p->log);
        } else if (p->mode == BUILDER_PROGRESS_RAWJSON) {
            raw_log(p, id, 1, b.data ? b.data : "", b.len);
        }
    }
    pthread_mutex_unlock(&p->lock);
    cb_buf_free(&b);
}

void progress_format_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    /* below 1kB the integer alone; else the largest decimal unit not above n, two decimals */
    if (n < 1000) {
        snprintf(out, outlen, "%lluB", (unsigned long long)n);
        return;
    }
    double base = 1;
    int u = 0;
    while (u < 6 && (double)n >= base * 1000) {
        base *= 1000;
        u++;
    }
    snprintf(out, outlen, "%.2f%s", (double)n / base, units[u]);
}

static void raw_transfer(progress *p, int id, const char *status_id, uint64_t bytes, double started_wall)
{
    char dg[CB_DIGEST_STR_LEN];
    raw_digest(id, dg);
    double now = wall_now();
    json_t *vs = json_object();
    json_object_set_new(vs, "id", json_string(status_id));
    json_object_set_new(vs, "vertex", json_string(dg));
    json_object_set_new(vs, "name", json_string("transferring"));
    json_object_set_new(vs, "current", json_integer((json_int_t)bytes));
    json_object_set_new(vs, "timestamp", raw_time(now));
    json_object_set_new(vs, "started", raw_time(started_wall));
    json_object_set_new(vs, "completed", raw_time(now));
    raw_emit(p, "statuses", vs);
}

void progress_transfer_done(progress *p, int id, const char *what, uint64_t bytes)
{
    cleanup_free char *status_id = xasprintf("transferring %s:", what);
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (!v) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    double now = cb_now();
    double took = v->started > 0 ? now - v->started : 0;
    if (p->mode == BUILDER_PROGRESS_RAWJSON) {
        raw_transfer(p, id, status_id, bytes, wall_now() - took);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    /* progressui's printer: no size while nothing was sent, the time once above 10ms */
    char sz[32] = "";
    if (bytes)
        progress_format_bytes(bytes, sz, sizeof sz);
    char tm[32] = "";
    if (took > 0.01)
        snprintf(tm, sizeof tm, " %.1fs", took);
    pthread_mutex_unlock(&p->lock);
    progress_status(p, id, "%s%s%s%s done", status_id, *sz ? " " : "", sz, tm);
}

void progress_done(progress *p, int id)
{
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        if (v->state == V_WAITING)
            v->started = cb_now();
        flush_partial_locked(p, id, v);
        v->state = V_DONE;
        v->completed = cb_now();
        if (p->mode == BUILDER_PROGRESS_PLAIN) {
            plain_header_locked(p, id);
            fprintf(p->log, "#%d DONE %.1fs\n", id, v->completed - v->started);
            p->current = 0;
            fflush(p->log);
        } else if (p->mode == BUILDER_PROGRESS_RAWJSON) {
            raw_vertex(p, id, NULL);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

void progress_error(progress *p, int id, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        if (v->state == V_WAITING)
            v->started = cb_now();
        flush_partial_locked(p, id, v);
        v->state = V_ERROR;
        v->completed = cb_now();
        if (p->mode == BUILDER_PROGRESS_PLAIN) {
            plain_header_locked(p, id);
            fprintf(p->log, "#%d ERROR: %s\n", id, msg);
            p->current = 0;
            fflush(p->log);
        } else if (p->mode == BUILDER_PROGRESS_RAWJSON) {
            raw_vertex(p, id, msg);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

char *progress_tail(progress *p, int id, int n)
{
    cb_buf b;
    cb_buf_init(&b);
    pthread_mutex_lock(&p->lock);
    pvertex *v = vget(p, id);
    if (v) {
        int show = v->tail_n < n ? v->tail_n : n;
        for (int k = show; k > 0; k--) {
            cb_buf_puts(&b, v->tail[(v->tail_pos - k + TAIL_LINES) % TAIL_LINES]);
            if (k > 1)
                cb_buf_putc(&b, '\n');
        }
    }
    pthread_mutex_unlock(&p->lock);
    return cb_buf_steal(&b);
}

void progress_free(progress *p)
{
    if (!p)
        return;
    if (p->ticker_on) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->ticker, NULL);
        pthread_mutex_lock(&p->lock);
        tty_draw_locked(p, true);
        pthread_mutex_unlock(&p->lock);
    }
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].name);
        for (int k = 0; k < TAIL_LINES; k++)
            free(p->v[i].tail[k]);
        for (int k = 0; k < p->v[i].status_n; k++)
            free(p->v[i].status[k]);
        cb_buf_free(&p->v[i].partial);
    }
    free(p->v);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
