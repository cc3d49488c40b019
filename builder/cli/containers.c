/* cbuild run -d, ps, logs, stop, rm: detached VMs as docker's containers (containers.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containers.h"

typedef struct container {
    char id[65];
    char *dir, *name, *image, *command, *ports, *status, *error;
    int64_t created, started, finished;
    int exit_code, pid, vmm_pid;
    bool auto_remove;
} container;

static void container_free(container *c)
{
    free(c->dir);
    free(c->name);
    free(c->image);
    free(c->command);
    free(c->ports);
    free(c->status);
    free(c->error);
    memset(c, 0, sizeof *c);
}

static char *containers_dir(const char *root)
{
    return xasprintf("%s/containers", root);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int container_save(const container *c, cb_err *err)
{
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:i,s:b}", "Id", c->id, "Name", c->name,
                  "Image", c->image, "Command", c->command, "Ports", c->ports ? c->ports : "", "Status",
                  c->status, "Error", c->error ? c->error : "", "Created", (json_int_t)c->created,
                  "StartedAt", (json_int_t)c->started, "FinishedAt", (json_int_t)c->finished, "ExitCode",
                  c->exit_code, "Pid", c->pid, "VmmPid", c->vmm_pid, "AutoRemove", c->auto_remove);
    cleanup_free char *s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    cleanup_free char *path = xasprintf("%s/container.json", c->dir);
    return cb_write_file_atomic(path, s, strlen(s), 0644, err);
}

static int container_load(const char *root, const char *id, container *c, cb_err *err)
{
    memset(c, 0, sizeof *c);
    cleanup_free char *cd = containers_dir(root);
    c->dir = xasprintf("%s/%s", cd, id);
    cleanup_free char *path = xasprintf("%s/container.json", c->dir);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        container_free(c);
        return cb_failc(err, ENOENT, "No such container: %s", id);
    }
    snprintf(c->id, sizeof c->id, "%s", jstr(o, "Id"));
    c->name = xstrdup(jstr(o, "Name"));
    c->image = xstrdup(jstr(o, "Image"));
    c->command = xstrdup(jstr(o, "Command"));
    c->ports = xstrdup(jstr(o, "Ports"));
    c->status = xstrdup(jstr(o, "Status"));
    c->error = xstrdup(jstr(o, "Error"));
    c->created = json_integer_value(json_object_get(o, "Created"));
    c->started = json_integer_value(json_object_get(o, "StartedAt"));
    c->finished = json_integer_value(json_object_get(o, "FinishedAt"));
    c->exit_code = (int)json_integer_value(json_object_get(o, "ExitCode"));
    c->pid = (int)json_integer_value(json_object_get(o, "Pid"));
    c->vmm_pid = (int)json_integer_value(json_object_get(o, "VmmPid"));
    c->auto_remove = json_is_true(json_object_get(o, "AutoRemove"));
    json_decref(o);
    return 0;
}

/* Is the monitor alive (it holds the lock)? */
static bool container_alive(const container *c)
{
    cleanup_free char *lock = xasprintf("%s/lock", c->dir);
    cleanup_close int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return false;
    return errno == EWOULDBLOCK;
}

/* The state as docker reports it: a "running" record without a live monitor lost its VM. */
static bool container_running(container *c)
{
    if (strcmp(c->status, "running") != 0)
        return false;
    if (container_alive(c))
        return true;
    free(c->status);
    c->status = xstrdup("exited");
    c->exit_code = 137;
    struct stat st;
    cleanup_free char *lock = xasprintf("%s/lock", c->dir);
    c->finished = stat(lock, &st) == 0 ? st.st_mtime : c->started;
    return false;
}

/* NAME, full ID or a unique ID prefix. */
static int container_find(const char *root, const char *ref, container *c, cb_err *err)
{
    cleanup_free char *cd = containers_dir(root);
    cleanup_free char *link = xasprintf("%s/names/%s", cd, ref[0] == '/' ? ref + 1 : ref);
    char target[80];
    ssize_t n = strchr(ref + 1, '/') ? -1 : readlink(link, target, sizeof target - 1);
    if (n > 0) {
        target[n] = 0;
        return container_load(root, target, c, err);
    }
    DIR *d = opendir(cd);
    char found[65] = "";
    int matches = 0;
    size_t rl = strlen(ref);
    for (struct dirent *de; d && rl && (de = readdir(d));) {
        if (strlen(de->d_name) == 64 && !strncmp(de->d_name, ref, rl)) {
            snprintf(found, sizeof found, "%s", de->d_name);
            matches++;
        }
    }
    if (d)
        closedir(d);
    if (matches > 1)
        return cb_failc(err, EINVAL, "Multiple IDs found with provided prefix: %s", ref);
    if (!matches)
        return cb_failc(err, ENOENT, "No such container: %s", ref);
    return container_load(root, found, c, err);
}

/* docker's namesgenerator, abridged: adjective_scientist */
static char *random_name(void)
{
    static const char *const adj[] = {"admiring", "bold",   "brave",  "clever", "eager",  "festive",
                                      "gallant",  "happy",  "jolly",  "keen",   "loving", "modest",
                                      "nifty",    "quirky", "serene", "vibrant"};
    static const char *const who[] = {"babbage", "curie",    "darwin",  "einstein", "fermi",  "hopper",
                                      "kepler",  "lovelace", "meitner", "noether",  "pascal", "ritchie",
                                      "shannon", "tesla",    "turing",  "wozniak"};
    unsigned char r[2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        r[0] = r[1] = 0;
    return xasprintf("%s_%s", adj[r[0] % 16], who[r[1] % 16]);
}

/* Reserve the name (symlink: atomic, so two cbuild processes cannot both get it). */
static int name_reserve(const char *root, const char *name, const char *id, cb_err *err)
{
    cleanup_free char *cd = containers_dir(root);
    cleanup_free char *names = xasprintf("%s/names", cd);
    if (cb_mkdir_p(names, 0755, err) < 0)
        return -EIO;
    cleanup_free char *link = xasprintf("%s/%s", names, name);
    if (symlink(id, link) == 0)
        return 0;
    if (errno != EEXIST)
        return cb_error(err, errno, "symlink `%s`", link);
    char other[80] = "";
    ssize_t n = readlink(link, other, sizeof other - 1);
    other[n > 0 ? n : 0] = 0;
    return cb_failc(
        err, EEXIST,
        "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove "
        "(or rename) that container to be able to reuse that name.",
        name, other);
}

static bool valid_name(const char *n)
{
    /* docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
    if (!n[0] || !n[1] || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n[0]))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(n);
}

static void container_remove(const char *root, const container *c)
{
    cleanup_free char *cd = containers_dir(root);
    cleanup_free char *link = xasprintf("%s/names/%s", cd, c->name);
    char target[80];
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) {
        target[n] = 0;
        if (!strcmp(target, c->id))
            unlink(link);
    }
    cb_rm_rf(c->dir, NULL);
}

static char *command_string(char *const *argv)
{
    cb_buf b;
    cb_buf_init(&b);
    for (size_t i = 0; argv && argv[i]; i++)
        cb_buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
    return b.data ? cb_buf_steal(&b) : xstrdup("");
}

static int container_create(const char *root, const cli_container_spec *spec, container *c, cb_err *err)
{
    memset(c, 0, sizeof *c);
    if (spec->name && !valid_name(spec->name))
        return cb_failc(err, EINVAL,
                        "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                        spec->name);
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return cb_error(err, errno, "getrandom");
    for (int i = 0; i < 32; i++)
        snprintf(c->id + 2 * i, 3, "%02x", rnd[i]);
    cleanup_free char *cd = containers_dir(root);
    c->dir = xasprintf("%s/%s", cd, c->id);
    if (cb_mkdir_p(c->dir, 0700, err) < 0)
        return -EIO;
    int rc = -EEXIST;
    for (int tries = 0; rc == -EEXIST && tries < (spec->name ? 1 : 20); tries++) {
        free(c->name);
        c->name = spec->name ? xstrdup(spec->name) : random_name();
        if (tries)
            cb_err_clear(err);
        rc = name_reserve(root, c->name, c->id, err);
    }
    if (rc < 0) {
        cb_rm_rf(c->dir, NULL);
        return rc;
    }
    c->image = xstrdup(spec->image);
    c->command = command_string(spec->argv);
    cb_buf pb;
    cb_buf_init(&pb);
    for (size_t i = 0; spec->ports && spec->ports[i]; i++)
        cb_buf_printf(&pb, "%s%s", i ? ", " : "", spec->ports[i]);
    c->ports = pb.data ? cb_buf_steal(&pb) : xstrdup("");
    c->status = xstrdup("created");
    c->created = time(NULL);
    c->auto_remove = spec->auto_remove;
    rc = container_save(c, err);
    if (rc < 0)
        container_remove(root, c);
    return rc;
}

/* ---------- the monitor: the detached process that owns the VM ---------- */
static volatile sig_atomic_t mon_cancel, mon_forward, mon_signals;

/* cbuild stop: the first SIGTERM goes to the command, the next kills the VM */
static void mon_on_signal(int sig)
{
    if (mon_signals++ == 0)
        mon_forward = sig;
    else
        mon_cancel = 1;
}

typedef struct monitor {
    container *c;
    int log_fd, ready_fd;
} monitor;

/* docker's json-file log driver: one {"log","stream","time"} object a line */
static void mon_output(void *opaque, int stream, const char *data, size_t len)
{
    monitor *m = opaque;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof when - w, ".%09ldZ", ts.tv_nsec);
    json_t *o = json_pack("{s:s%,s:s,s:s}", "log", data, len, "stream", stream == 2 ? "stderr" : "stdout",
                          "time", when);
    if (!o)
        return;
    cleanup_free char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    cb_buf line;
    cb_buf_init(&line);
    cb_buf_printf(&line, "%s\n", s);
    cb_write_all(m->log_fd, line.data, line.len);
    cb_buf_free(&line);
}

static void mon_started(void *opaque, pid_t vmm)
{
    monitor *m = opaque;
    m->c->vmm_pid = (int)vmm;
    container_save(m->c, NULL);
    if (m->ready_fd >= 0) {
        cb_write_all(m->ready_fd, "S", 1);
        close(m->ready_fd);
        m->ready_fd = -1;
    }
}

static void monitor_run(const char *root, container *c, guest_run_config *cfg, int ready_fd)
{
    cleanup_free char *lock = xasprintf("%s/lock", c->dir);
    cleanup_free char *logp = xasprintf("%s/container.log", c->dir);
    cleanup_free char *con = xasprintf("%s/console.log", c->dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
        _exit(1);
    monitor m = {
        .c = c, .log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), .ready_fd = ready_fd};
    struct sigaction sa = {.sa_handler = mon_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    free(c->status);
    c->status = xstrdup("running");
    c->pid = (int)getpid();
    c->started = time(NULL);
    container_save(c, NULL);
    cfg->stdin_fd = -1;
    cfg->output = mon_output;
    cfg->output_opaque = &m;
    cfg->output_lines = true;
    cfg->console_log = con;
    cfg->started = mon_started;
    cfg->started_opaque = &m;
    cfg->cancel = &mon_cancel;
    cfg->forward_signal = &mon_forward;
    guest_run_result res;
    cb_err err = {0};
    int r = guest_run(cfg, &res, &err);
    free(c->status);
    c->status = xstrdup("exited");
    c->finished = time(NULL);
    /* a VM that was killed (stop's timeout, rm -f, QEMU gone) reports as docker's SIGKILL */
    c->exit_code = r == 0                                           ? res.exit_code
                   : (res.exit_code == 126 || res.exit_code == 127) ? res.exit_code
                                                                    : 137;
    free(c->error);
    c->error = xstrdup(r < 0 ? err.msg : "");
    guest_run_result_free(&res);
    if (c->auto_remove)
        container_remove(root, c);
    else
        container_save(c, NULL);
    _exit(0);
}

int cli_container_run_detached(cli_ctx *ctx, const cli_container_spec *spec, guest_run_config *cfg)
{
    cb_err err = {0};
    container c;
    if (container_create(ctx->root, spec, &c, &err) < 0)
        return cli_report(&err), CLI_EXIT_USAGE;
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0) {
        container_remove(ctx->root, &c);
        container_free(&c);
        cb_error(&err, errno, "pipe");
        return cli_report(&err), CLI_EXIT_USAGE;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* detach: a new session, then the grandchild is the monitor (reparented, no terminal) */
        close(pp[0]);
        setsid();
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR);
        cleanup_free char *mlog = xasprintf("%s/monitor.log", c.dir);
        int ml = open(mlog, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(null, 0);
        dup2(null, 1);
        dup2(ml >= 0 ? ml : null, 2);
        monitor_run(ctx->root, &c, cfg, pp[1]);
    }
    close(pp[1]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    char b = 0;
    ssize_t n = pid > 0 ? read(pp[0], &b, 1) : -1;
    close(pp[0]);
    int rc = 0;
    if (n == 1 && b == 'S') {
        printf("%s\n", c.id);
    } else {
        /* docker run -d reports a command that could not start and leaves the container */
        container d;
        if (container_load(ctx->root, c.id, &d, &err) == 0) {
            fprintf(stderr, "error: %s\n", d.error[0] ? d.error : "the VM did not start");
            rc = d.exit_code ? d.exit_code : CLI_EXIT_USAGE;
            container_free(&d);
        } else {
            fprintf(stderr, "error: the VM did not start\n");
            rc = CLI_EXIT_USAGE;
        }
    }
    container_free(&c);
    return rc;
}

/* ---------- ps ---------- */
/* go-units HumanDuration, as docker prints STATUS and CREATED */
static char *human_duration(int64_t d)
{
    if (d < 1)
        return xstrdup("Less than a second");
    if (d == 1)
        return xstrdup("1 second");
    if (d < 60)
        return xasprintf("%lld seconds", (long long)d);
    int64_t m = d / 60, h = (d + 1800) / 3600;
    if (m == 1)
        return xstrdup("About a minute");
    if (m < 60)
        return xasprintf("%lld minutes", (long long)m);
    if (h == 1)
        return xstrdup("About an hour");
    if (h < 48)
        return xasprintf("%lld hours", (long long)h);
    if (h < 24 * 7 * 2)
        return xasprintf("%lld days", (long long)(h / 24));
    if (h < 24 * 30 * 2)
        return xasprintf("%lld weeks", (long long)(h / 24 / 7));
    if (h < 24 * 365 * 2)
        return xasprintf("%lld months", (long long)(h / 24 / 30));
    return xasprintf("%lld years", (long long)(h / 24 / 365));
}

/* docker: the command cut to 20 characters (with …) in double quotes */
static char *ps_command(const char *cmd)
{
    size_t l = strlen(cmd);
    return l > 20 ? xasprintf("\"%.19s…\"", cmd) : xasprintf("\"%s\"", cmd);
}

static char *ps_status(container *c, int64_t now)
{
    if (container_running(c)) {
        cleanup_free char *d = human_duration(now - c->started);
        return xasprintf("Up %s", d);
    }
    if (!strcmp(c->status, "created"))
        return xstrdup("Created");
    cleanup_free char *d = human_duration(now - c->finished);
    return xasprintf("Exited (%d) %s ago", c->exit_code, d);
}

static int ps_cmp(const void *a, const void *b)
{
    const container *x = a, *y = b;
    return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

/* Loads every container (sorted newest first) into *out. */
static size_t containers_list(const char *root, container **out)
{
    cleanup_free char *cd = containers_dir(root);
    DIR *d = opendir(cd);
    size_t n = 0, cap = 8;
    container *v = xcalloc(cap, sizeof *v);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (strlen(de->d_name) != 64)
            continue;
        if (n == cap)
            v = xrealloc(v, (cap *= 2) * sizeof *v);
        if (container_load(root, de->d_name, &v[n], NULL) == 0)
            n++;
    }
    if (d)
        closedir(d);
    qsort(v, n, sizeof *v, ps_cmp);
    *out = v;
    return n;
}

void cli_containers_images(const char *root, cb_strv *out)
{
    container *cs;
    size_t n = containers_list(root, &cs);
    for (size_t i = 0; i < n; i++) {
        if (cs[i].image && !cb_strv_contains(out, cs[i].image))
            cb_strv_push(out, cs[i].image);
        container_free(&cs[i]);
    }
    free(cs);
}

size_t cli_containers_prune(const char *root)
{
    container *cs;
    size_t n = containers_list(root, &cs), removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!container_running(&cs[i])) {
            if (!removed++)
                printf("Deleted Containers:\n");
            printf("%s\n", cs[i].id);
            container_remove(root, &cs[i]);
        }
        container_free(&cs[i]);
    }
    free(cs);
    if (removed)
        putchar('\n');
    return removed;
}

int cli_cmd_ps(cli_ctx *ctx, int argc, char **argv)
{
    bool all = false, quiet = false, no_trunc = false;
    const cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "show all containers (default: running ones)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "only display container IDs"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL, "don't truncate output"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"ps", "[OPTIONS]", "List containers (VMs started with run -d)", opts, false, 0,
                               0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    container *cs;
    size_t n = containers_list(ctx->root, &cs);
    int64_t now = time(NULL);
    const char *head[7] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"};
    char **cells = xcalloc((n + 1) * 7, sizeof *cells);
    size_t rows = 0, width[7] = {0};
    for (int k = 0; k < 7; k++)
        cells[k] = xstrdup(head[k]);
    for (size_t i = 0; i < n; i++) {
        container *c = &cs[i];
        bool running = container_running(c);
        if (!all && !running)
            continue;
        if (quiet) {
            printf("%.*s\n", no_trunc ? 64 : 12, c->id);
            continue;
        }
        char **r = cells + (++rows) * 7;
        r[0] = xasprintf("%.*s", no_trunc ? 64 : 12, c->id);
        r[1] = xstrdup(c->image);
        r[2] = no_trunc ? xasprintf("\"%s\"", c->command) : ps_command(c->command);
        cleanup_free char *since = human_duration(now - c->created);
        r[3] = xasprintf("%s ago", since);
        r[4] = ps_status(c, now);
        r[5] = xstrdup(running ? c->ports : "");
        r[6] = xstrdup(c->name);
    }
    for (size_t i = 0; !quiet && i <= rows; i++)
        for (int k = 0; k < 7; k++) {
            size_t w = 0;
            for (const unsigned char *p = (const unsigned char *)cells[i * 7 + k]; *p; p++)
                w += (*p & 0xc0) != 0x80; /* characters, not bytes (…) */
            if (w > width[k])
                width[k] = w;
        }
    for (size_t i = 0; !quiet && i <= rows; i++) {
        for (int k = 0; k < 7; k++) {
            const char *s = cells[i * 7 + k];
            size_t w = 0;
            for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                w += (*p & 0xc0) != 0x80;
            /* docker's tabwriter: three spaces between columns, the last unpadded */
            printf("%s%*s", s, k < 6 ? (int)(width[k] - w + 3) : 0, "");
        }
        printf("\n");
    }
    for (size_t i = 0; i < (n + 1) * 7; i++)
        free(cells[i]);
    free(cells);
    for (size_t i = 0; i < n; i++)
        container_free(&cs[i]);
    free(cs);
    return cli_call_end(&v, 0);
}

/* ---------- logs ---------- */
/* Print the complete lines of buf from *off on; return false on a line that is not JSON. */
static void logs_emit(cb_buf *buf, size_t *off)
{
    for (;;) {
        char *nl = memchr(buf->data + *off, '\n', buf->len - *off);
        if (!nl)
            return;
        json_error_t je;
        json_t *o = json_loadb(buf->data + *off, (size_t)(nl - (buf->data + *off)), 0, &je);
        *off = (size_t)(nl - buf->data) + 1;
        if (!o)
            continue;
        json_t *l = json_object_get(o, "log");
        FILE *f = !strcmp(jstr(o, "stream"), "stderr") ? stderr : stdout;
        fwrite(json_string_value(l), 1, json_string_length(l), f);
        fflush(f);
        json_decref(o);
    }
}

static void logs_read_more(int fd, cb_buf *buf)
{
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        cb_buf_append(buf, chunk, (size_t)n);
}

int cli_cmd_logs(cli_ctx *ctx, int argc, char **argv)
{
    bool follow = false;
    const cli_opt opts[] = {
        {"follow", 'f', CLI_BOOL, &follow, NULL, "follow log output until the container stops"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "logs", "[OPTIONS] CONTAINER", "Fetch the output of a container", opts, false, 1, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    container c;
    if (container_find(ctx->root, v.pos.v[0], &c, &v.err) < 0)
        return cli_call_end(&v, cli_report(&v.err));
    cleanup_free char *path = xasprintf("%s/container.log", c.dir);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    cb_buf buf;
    cb_buf_init(&buf);
    size_t off = 0;
    for (;;) {
        bool alive = follow && container_alive(&c);
        if (fd < 0)
            fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            logs_read_more(fd, &buf);
        logs_emit(&buf, &off);
        if (!alive)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cb_buf_free(&buf);
    container_free(&c);
    return cli_call_end(&v, 0);
}

/* ---------- stop, rm ---------- */
/* Wait up to `secs` for the monitor to let go of the VM. */
static bool wait_gone(const container *c, double secs)
{
    double end = cb_now() + secs;
    while (container_alive(c)) {
        if (cb_now() > end)
            return false;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* SIGTERM for the command (through vminitd), then the VM is killed after `grace` seconds. */
static void container_stop(container *c, double grace)
{
    if (!container_running(c) || c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    if (grace > 0 && wait_gone(c, grace))
        return;
    kill(c->pid, SIGTERM);
    if (!wait_gone(c, 10))
        kill(c->pid, SIGKILL); /* QEMU has PDEATHSIG: it goes with the monitor */
    wait_gone(c, 5);
}

int cli_cmd_stop(cli_ctx *ctx, int argc, char **argv)
{
    long timeout = 10;
    const cli_opt opts[] = {
        {"time", 't', CLI_INT, &timeout, "N", "seconds to wait before killing the VM (default 10)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", opts, false, 1,
        -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    rc = 0;
    for (size_t i = 0; i < v.pos.n; i++) {
        container c;
        cb_err_clear(&v.err);
        if (container_find(ctx->root, v.pos.v[i], &c, &v.err) < 0) {
            rc = cli_report(&v.err);
            continue;
        }
        container_stop(&c, timeout < 0 ? 0 : (double)timeout);
        printf("%s\n", v.pos.v[i]);
        container_free(&c);
    }
    return cli_call_end(&v, rc);
}

int cli_cmd_rm(cli_ctx *ctx, int argc, char **argv)
{
    bool force = false;
    const cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL, "kill and remove a running container"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", opts, false, 1, -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    rc = 0;
    for (size_t i = 0; i < v.pos.n; i++) {
        container c;
        cb_err_clear(&v.err);
        if (container_find(ctx->root, v.pos.v[i], &c, &v.err) < 0) {
            rc = cli_report(&v.err);
            continue;
        }
        if (container_running(&c)) {
            if (!force) {
                cb_failc(
                    &v.err, EBUSY,
                    "You cannot remove a running container %s. Stop the container before attempting removal "
                    "or force remove",
                    c.id);
                rc = cli_report(&v.err);
                container_free(&c);
                continue;
            }
            container_stop(&c, 0);
        }
        container_remove(ctx->root, &c);
        printf("%s\n", v.pos.v[i]);
        container_free(&c);
    }
    return cli_call_end(&v, rc);
}
