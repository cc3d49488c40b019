/* cbuild run: boot a throwaway VM on an image and run a command in it (docker run). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "guest.h"

static volatile sig_atomic_t run_cancel;

static void on_signal(int sig)
{
    (void)sig;
    run_cancel++;
}

/* -e KEY=VALUE, or -e KEY to pass the variable from cbuild's environment (as docker does;
 * an unset KEY is dropped). Later values replace earlier ones. */
static void env_set(cb_strv *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char *entry;
    if (eq) {
        entry = xstrdup(kv);
    } else {
        const char *v = getenv(kv);
        if (!v) return;
        entry = xasprintf("%s=%s", kv, v);
    }
    size_t klen = (size_t)(strchr(entry, '=') - entry);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], entry, klen) == 0 && env->v[i][klen] == '=') {
            free(env->v[i]);
            env->v[i] = entry;
            return;
        }
    }
    cb_strv_push_owned(env, entry);
}

int cli_cmd_run(cli_ctx *ctx, int argc, char **argv)
{
    bool rm = false, interactive = false, tty = false;
    cb_strv envs, add_hosts, layers;
    cb_strv_init(&envs);
    cb_strv_init(&layers);
    cb_strv_init(&add_hosts);
    const char *workdir = NULL, *user = NULL, *network = NULL, *memory = NULL, *cpus = NULL, *upper = NULL,
               *hostname = NULL, *entrypoint = NULL, *timeout = NULL;
    const cli_opt opts[] = {
        {"rm", 0, CLI_BOOL, &rm, NULL, "remove the container when it exits (always the case: VMs are throwaway)"},
        {"interactive", 'i', CLI_BOOL, &interactive, NULL, "keep STDIN open"},
        {"tty", 't', CLI_BOOL, &tty, NULL, "allocate a pseudo-TTY"},
        {"env", 'e', CLI_STRINGS, &envs, "KEY=VALUE", "set an environment variable (KEY alone: take it from here)"},
        {"workdir", 'w', CLI_STRING, &workdir, "DIR", "working directory inside the container (created if missing)"},
        {"user", 'u', CLI_STRING, &user, "USER[:GROUP]", "user name or uid, optionally with group or gid"},
        {"network", 0, CLI_STRING, &network, "MODE", "default (user-mode NAT) or none"},
        {"memory", 'm', CLI_STRING, &memory, "SIZE", "VM memory, e.g. 512m, 2g (default 1g)"},
        {"cpus", 0, CLI_STRING, &cpus, "N", "virtual CPUs (default 1)"},
        {"hostname", 0, CLI_STRING, &hostname, "NAME", "container host name"},
        {"entrypoint", 0, CLI_STRING, &entrypoint, "CMD", "override the image's entrypoint"},
        {"add-host", 0, CLI_STRINGS, &add_hosts, "HOST:IP", "add a line to /etc/hosts"},
        {"ext4", 0, CLI_STRINGS, &layers, "FILE", "boot this ext4 image instead of an IMAGE (repeat: overlay layers, bottom first)"},
        {"upper", 0, CLI_STRING, &upper, "FILE", "keep the changes in this empty ext4 image (default: thrown away)"},
        {"timeout", 0, CLI_STRING, &timeout, "SECONDS", "kill the VM after this long (cbuild extension)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"run", "[OPTIONS] (IMAGE | --ext4 FILE) [COMMAND] [ARG...]",
                               "Run a command in a throwaway VM", opts, true, 0, -1};
    cb_strv pos, env, cmd;
    cb_strv_init(&pos);
    cb_strv_init(&env);
    cb_strv_init(&cmd);
    cb_err err = {0};
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc >= 0) goto out;
    rc = CLI_EXIT_USAGE;
    (void)rm;

    guest_run_config cfg;
    guest_run_config_init(&cfg);
    cfg.root = ctx->root;
    size_t first_cmd = 0;
    cfg.upper = upper;
    if (layers.n) {
        cfg.lowers = (const char *const *)layers.v;
        cfg.n_lowers = layers.n;
    } else {
        if (pos.n == 0) {
            fprintf(stderr, "cbuild run: an IMAGE or --ext4 FILE is required\n");
            cli_print_usage(&spec, stderr);
            goto out;
        }
        fprintf(stderr, "cbuild run: running image %s needs the local image store, which this build lacks; "
                        "boot a flattened image with --ext4 FILE\n", pos.v[0]);
        goto out;
    }
    if (entrypoint && *entrypoint) cb_strv_push(&cmd, entrypoint);
    for (size_t i = first_cmd; i < pos.n; i++) cb_strv_push(&cmd, pos.v[i]);
    if (cmd.n == 0) {
        fprintf(stderr, "cbuild run: no command specified (the ext4 image carries no CMD)\n");
        goto out;
    }
    cfg.argv = cmd.v;
    for (size_t i = 0; i < envs.n; i++) env_set(&env, envs.v[i]);
    cfg.env = env.v;
    cfg.cwd = workdir;
    cfg.user = user;
    cfg.hostname = hostname;
    cfg.extra_hosts = add_hosts.v;
    cfg.tty = tty;
    if (network && strcmp(network, "none") == 0) {
        cfg.network = GUEST_NET_NONE;
    } else if (network && strcmp(network, "default") != 0 && strcmp(network, "bridge") != 0) {
        fprintf(stderr, "cbuild run: --network %s: expected default or none\n", network);
        goto out;
    }
    if (memory) {
        uint64_t m;
        if (cb_parse_size(memory, &m, &err) < 0 || m < (64ull << 20)) {
            fprintf(stderr, "cbuild run: --memory %s: expected a size of at least 64m\n", memory);
            goto out;
        }
        cfg.memory = m;
    }
    if (cpus) {
        char *end;
        double c = strtod(cpus, &end);
        if (*end || !(c > 0) || c > 256) {
            fprintf(stderr, "cbuild run: --cpus %s: expected a number between 0.01 and 256\n", cpus);
            goto out;
        }
        cfg.cpus = (int)ceil(c);
    }
    if (timeout) {
        char *end;
        double t = strtod(timeout, &end);
        if (*end || !(t > 0)) {
            fprintf(stderr, "cbuild run: --timeout %s: expected seconds\n", timeout);
            goto out;
        }
        cfg.timeout = t;
    }
    if (tty && interactive && !isatty(0)) {
        fprintf(stderr, "cbuild run: the input device is not a TTY\n");
        goto out;
    }
    cfg.stdin_fd = interactive ? 0 : -1;
    cfg.cancel = &run_cancel;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN); /* `cbuild run ... | head` must still stop its VM */

    guest_run_result res;
    int r = guest_run(&cfg, &res, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    cb_debug("VM (%s): boot %.0f ms, run %.0f ms, shutdown %.0f ms", res.accel, res.boot_ms, res.run_ms,
             res.shutdown_ms);
    if (r < 0) {
        cli_report(&err);
        /* docker: 126 command cannot be invoked, 127 not found, 125 anything else */
        rc = (res.exit_code == 126 || res.exit_code == 127) ? res.exit_code : CLI_EXIT_USAGE;
    } else {
        rc = res.exit_code;
    }
    guest_run_result_free(&res);
out:
    cb_strv_free(&pos);
    cb_strv_free(&env);
    cb_strv_free(&cmd);
    cb_strv_free(&envs);
    cb_strv_free(&add_hosts);
    cb_strv_free(&layers);
    return rc;
}
