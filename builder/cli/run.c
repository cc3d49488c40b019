/* cbuild run: boot a throwaway VM on an image and run a command in it (docker run). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "containers.h"
#include "ext4.h"
#include "guest.h"
#include "store.h"

static volatile sig_atomic_t run_cancel, run_forward, run_signals;

/* docker run's signal proxy: the first SIGINT/SIGTERM goes to the command, another one
 * kills the VM. */
static void on_signal(int sig)
{
    if (run_signals++ == 0) run_forward = sig;
    else run_cancel = 1;
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

/* --tmpfs PATH[:size=N,mode=M,...] (docker run) */
static int parse_tmpfs(const char *spec, guest_mount *m, cb_err *err)
{
    memset(m, 0, sizeof *m);
    m->kind = GUEST_MOUNT_TMPFS;
    const char *colon = strchr(spec, ':');
    m->target = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
    if (m->target[0] != '/') return cb_fail(err, "--tmpfs %s: the path must be absolute", spec);
    if (!colon) return 0;
    cleanup_free char *opts = xstrdup(colon + 1);
    for (char *o = strtok(opts, ","); o; o = strtok(NULL, ",")) {
        if (!strncmp(o, "size=", 5)) {
            if (cb_parse_size(o + 5, &m->size, err) < 0) return cb_error_wrap(err, "--tmpfs %s", spec);
        } else if (!strncmp(o, "mode=", 5)) {
            m->mode = (uint32_t)strtoul(o + 5, NULL, 8);
        } else if (!strcmp(o, "ro")) {
            m->readonly = true;
        } else if (strcmp(o, "rw") && strcmp(o, "noexec") && strcmp(o, "exec") && strcmp(o, "nosuid") &&
                   strcmp(o, "nodev")) {
            return cb_fail(err, "--tmpfs %s: unknown option %s", spec, o);
        }
    }
    return 0;
}

/* A bind source must be a directory: virtio-fs shares directories, and sharing a file's parent
 * would show the guest its siblings. create: make it when missing (docker run -v does). */
static int bind_source(const char *flag, const char *spec, const char *src, bool create, char **out, cb_err *err)
{
    struct stat st;
    if (stat(src, &st) < 0) {
        if (errno != ENOENT)
            return cb_error(err, errno, "%s %s: `%s`", flag, spec, src);
        if (!create)
            return cb_failc(err, ENOENT, "invalid mount config for type \"bind\": bind source path does not exist: %s",
                            src);
        if (cb_mkdir_p(src, 0755, err) < 0)
            return cb_error_wrap(err, "%s %s", flag, spec);
    } else if (!S_ISDIR(st.st_mode)) {
        return cb_failc(err, ENOTDIR, "%s %s: `%s` is not a directory (cbuild shares directories only)", flag, spec,
                        src);
    }
    *out = realpath(src, NULL);
    if (!*out)
        return cb_error(err, errno, "%s %s: `%s`", flag, spec, src);
    return 0;
}

/* --mount type=tmpfs,target=P[,tmpfs-size=N][,tmpfs-mode=M]
 *         type=bind,source=DIR,target=P[,readonly]     (a host directory through virtio-fs)
 *         type=ext4,source=IMG,target=P[,readonly][,subpath=DIR]   (cbuild: an ext4 image)
 *         type=secret,source=FILE,target=P[,mode=0400][,uid=N][,gid=N] (cbuild: a file copy) */
static int parse_mount(const char *spec, guest_mount *m, cb_err *err)
{
    memset(m, 0, sizeof *m);
    cleanup_free char *copy = xstrdup(spec);
    const char *type = NULL, *src = NULL, *dst = NULL, *subpath = NULL;
    bool ro = false;
    for (char *o = strtok(copy, ","); o; o = strtok(NULL, ",")) {
        char *eq = strchr(o, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq) *eq = 0;
        if (!strcmp(o, "type")) type = v;
        else if (!strcmp(o, "source") || !strcmp(o, "src")) src = v;
        else if (!strcmp(o, "target") || !strcmp(o, "destination") || !strcmp(o, "dst")) dst = v;
        else if (!strcmp(o, "readonly") || !strcmp(o, "ro")) ro = !eq || !strcmp(v, "true") || !strcmp(v, "1");
        else if (!strcmp(o, "subpath")) subpath = v;
        else if (!strcmp(o, "tmpfs-size") || (!strcmp(o, "size"))) {
            if (cb_parse_size(v, &m->size, err) < 0) return cb_error_wrap(err, "--mount %s", spec);
        } else if (!strcmp(o, "tmpfs-mode") || !strcmp(o, "mode")) m->mode = (uint32_t)strtoul(v, NULL, 8);
        else if (!strcmp(o, "uid")) m->uid = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "gid")) m->gid = (uint32_t)strtoul(v, NULL, 10);
        else return cb_fail(err, "--mount %s: unknown option `%s`", spec, o);
    }
    if (!dst || dst[0] != '/') return cb_fail(err, "--mount %s: target=ABSOLUTE-PATH is required", spec);
    m->target = xstrdup(dst);
    m->readonly = ro;
    if (!type || !strcmp(type, "tmpfs")) {
        m->kind = GUEST_MOUNT_TMPFS;
    } else if (!strcmp(type, "ext4")) {
        if (!src) return cb_fail(err, "--mount %s: source=IMAGE.img is required", spec);
        m->kind = ro ? GUEST_MOUNT_EXT4_RO : GUEST_MOUNT_EXT4_RW;
        m->image = xstrdup(src);
        m->source = subpath ? xstrdup(subpath) : NULL;
    } else if (!strcmp(type, "bind")) {
        if (!src) return cb_fail(err, "--mount %s: source=HOST-DIR is required", spec);
        char *real = NULL;
        if (bind_source("--mount", spec, src, false, &real, err) < 0) return -EINVAL;
        m->kind = GUEST_MOUNT_HOSTDIR;
        m->source = real;
    } else if (!strcmp(type, "secret")) {
        if (!src) return cb_fail(err, "--mount %s: source=FILE is required", spec);
        cb_buf b;
        cb_buf_init(&b);
        if (cb_read_file(src, &b, err) < 0) return cb_error_wrap(err, "--mount %s", spec);
        m->kind = GUEST_MOUNT_SECRET;
        m->data_len = b.len;
        m->data = cb_buf_steal(&b);
    } else {
        return cb_fail(err, "--mount %s: type must be bind, tmpfs, ext4 or secret", spec);
    }
    return 0;
}

/* -v HOST:CONTAINER[:ro|rw] (docker run's bind form; named and anonymous volumes are not supported) */
static int parse_volume(const char *spec, guest_mount *m, cb_err *err)
{
    memset(m, 0, sizeof *m);
    m->kind = GUEST_MOUNT_HOSTDIR;
    cleanup_free char *copy = xstrdup(spec);
    char *host = copy, *ctr = strchr(copy, ':'), *opts = NULL;
    if (!ctr)
        return cb_failc(err, EINVAL, "-v %s: anonymous volumes are not supported: use HOST-DIR:CONTAINER-DIR", spec);
    *ctr++ = 0;
    if ((opts = strchr(ctr, ':')))
        *opts++ = 0;
    if (host[0] != '/' && host[0] != '.')
        return cb_failc(err, EINVAL, "-v %s: named volumes are not supported: give an absolute or ./relative host path",
                        spec);
    if (ctr[0] != '/')
        return cb_failc(err, EINVAL, "invalid volume specification: '%s': the container path must be absolute", spec);
    for (char *o = opts ? strtok(opts, ",") : NULL; o; o = strtok(NULL, ",")) {
        if (!strcmp(o, "ro"))
            m->readonly = true;
        else if (strcmp(o, "rw") && strcmp(o, "z") && strcmp(o, "Z") && strcmp(o, "cached") && strcmp(o, "delegated") &&
                 strcmp(o, "consistent") && strcmp(o, "rprivate") && strcmp(o, "private"))
            return cb_failc(err, EINVAL, "invalid mode: %s", o);
    }
    m->target = xstrdup(ctr);
    char *src = NULL;
    if (bind_source("-v", spec, host, true, &src, err) < 0)
        return -EINVAL;
    m->source = src;
    return 0;
}

static int port_number(const char *spec, const char *s, bool zero_ok, unsigned short *out, cb_err *err)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v > 65535 || (!zero_ok && v == 0))
        return cb_failc(err, EINVAL, "invalid port specification: \"%s\"", spec);
    *out = (unsigned short)v;
    return 0;
}

/* Bind the host port now: a taken one fails here with docker's message rather than inside passt,
 * and port 0 picks a free one (docker's -p CONTAINER). */
static int port_reserve(guest_port *pt, cb_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(pt->host_port)};
    if (inet_pton(AF_INET, pt->host_ip, &sa.sin_addr) != 1)
        return cb_failc(err, EINVAL, "invalid IP address in -p: %s (IPv4 only)", pt->host_ip);
    cleanup_close int fd = socket(AF_INET, pt->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return cb_error(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == EADDRINUSE)
            return cb_failc(err, EADDRINUSE, "Bind for %s:%u failed: port is already allocated", pt->host_ip,
                            pt->host_port);
        return cb_error(err, errno, "binding %s:%u", pt->host_ip, pt->host_port);
    }
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return cb_error(err, errno, "getsockname");
    pt->host_port = ntohs(sa.sin_port);
    return 0;
}

/* -p [IP:][HOST:]CONTAINER[/tcp|udp]. Without IP the port is bound on 127.0.0.1, not docker's
 * 0.0.0.0: a VM's service reaches other machines only when asked for (-p 0.0.0.0:8080:80). */
static int parse_publish(const char *spec, guest_port *pt, cb_err *err)
{
    memset(pt, 0, sizeof *pt);
    cleanup_free char *copy = xstrdup(spec);
    char *proto = strchr(copy, '/');
    if (proto) {
        *proto++ = 0;
        if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
            return cb_failc(err, EINVAL, "invalid proto: %s", proto);
        pt->udp = !strcmp(proto, "udp");
    }
    char *parts[3] = {NULL, NULL, NULL};
    size_t n = 0;
    for (char *p = copy, *c; n < 3; p = c + 1) {
        parts[n++] = p;
        if (!(c = strchr(p, ':'))) break;
        *c = 0;
        if (n == 3) return cb_failc(err, EINVAL, "invalid port specification: \"%s\"", spec);
    }
    const char *ip = n == 3 ? parts[0] : "", *host = n >= 2 ? parts[n - 2] : "", *ctr = parts[n - 1];
    pt->host_ip = xstrdup(*ip ? ip : "127.0.0.1");
    if (port_number(spec, ctr, false, &pt->guest_port, err) < 0) return -EINVAL;
    if (*host && port_number(spec, host, false, &pt->host_port, err) < 0) return -EINVAL;
    return port_reserve(pt, err);
}

static void mounts_free(guest_mount *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)m[i].target);
        free((char *)m[i].image);
        free((char *)m[i].source);
        free((void *)m[i].data);
    }
    free(m);
}

/* The image's layers as overlay-format ext4 images in the store (made from the layer blobs
 * on first use, kept by diffID), bottom first. */
static int image_layer_images(store *s, const store_image *im, cb_strv *out, cb_err *err)
{
    if (im->config.diff_ids.n != im->manifest.n_layers)
        return cb_fail(err, "image %s: %zu layers but %zu diff_ids in its config", im->id, im->manifest.n_layers,
                       im->config.diff_ids.n);
    for (size_t i = 0; i < im->manifest.n_layers; i++) {
        char *path = NULL;
        if (store_layer_image_ensure(s, &im->manifest.layers[i], im->config.diff_ids.v[i], NULL, NULL, &path, err) < 0)
            return cb_error_wrap(err, "image %s", im->id);
        cb_strv_push_owned(out, path);
    }
    return 0;
}

/* Does the image's config say it is for `want` (an arch guest_arch_canon knows)? */
static bool image_is_arch(const store_image *im, const char *want)
{
    const char *a = guest_arch_canon(im->config.architecture);
    return a && !strcmp(a, want);
}

static char *image_platform(const store_image *im)
{
    const oci_config *c = &im->config;
    return xasprintf("%s/%s%s%s", c->os ? c->os : "linux", c->architecture ? c->architecture : "unknown",
                     c->variant ? "/" : "", c->variant ? c->variant : "");
}

/* platform/arch: --platform and its architecture ("amd64", "arm64"), or NULL for the image's own. */
static int image_open(cli_ctx *ctx, const char *ref, const char *platform, const char *arch, store **s,
                      store_image *im, cb_err *err)
{
    int rc = store_open(ctx->root, s, err);
    if (rc < 0) return rc;
    /* a local index with the platform's manifest needs no pull */
    rc = platform ? store_image_resolve_platform(*s, ref, platform, im, err) : -ENOENT;
    if (rc < 0) {
        cb_err_clear(err);
        rc = store_image_resolve(*s, ref, im, err);
    }
    if (rc == 0 && arch && !image_is_arch(im, arch)) {
        /* docker run --platform pulls the platform's manifest when the local image is another's */
        cleanup_free char *local = image_platform(im);
        store_image_free(im);
        cb_err_clear(err);
        oci_registry_opts ro;
        oci_registry_opts_default(&ro);
        ro.progress = stderr;
        rc = store_pull(*s, ref, platform, &ro, im, err);
        if (rc < 0) {
            cleanup_free char *why = xstrdup(err->msg);
            cb_err_clear(err);
            rc = cb_failc(err, EINVAL,
                          "image with reference %s was found but its platform (%s) does not match the specified "
                          "platform (%s), and pulling %s failed: %s",
                          ref, local, platform, platform, why);
        }
    } else if (rc == -ENOENT) {
        /* docker run pulls what it does not have */
        fprintf(stderr, "Unable to find image '%s' locally\n", ref);
        cb_err_clear(err);
        oci_registry_opts ro;
        oci_registry_opts_default(&ro);
        ro.progress = stderr;
        rc = store_pull(*s, ref, platform, &ro, im, err);
    }
    if (rc == 0 && arch && !image_is_arch(im, arch)) {
        cleanup_free char *local = image_platform(im);
        rc = cb_failc(err, EINVAL,
                      "image with reference %s was found but its platform (%s) does not match the specified "
                      "platform (%s)",
                      ref, local, platform);
        store_image_free(im);
    }
    if (rc < 0) {
        store_close(*s);
        *s = NULL;
    }
    return rc;
}

/* --platform os/arch[/variant]: the VM architecture it asks for ("amd64", "arm64") in *arch. */
static int run_platform_arch(const char *platform, const char **arch, cb_err *err)
{
    oci_platform p;
    int rc = oci_platform_parse(platform, &p, err);
    if (rc < 0) return rc;
    const char *a = p.os && !strcmp(p.os, "linux") ? guest_arch_canon(p.architecture) : NULL;
    oci_platform_free(&p);
    if (!a) return cb_failc(err, ENOTSUP, "platform %s is not supported (linux/amd64, linux/arm64)", platform);
    *arch = a;
    return 0;
}

/* Long: docker run's option table, the config merge and the VM launch, one sequence. */
int cli_cmd_run(cli_ctx *ctx, int argc, char **argv)
{
    bool rm = false, interactive = false, tty = false, detach = false;
    const char *name = NULL;
    cb_strv envs, add_hosts, layers, tmpfs_specs, mount_specs, volume_specs, publish_specs, ulimits;
    cb_strv_init(&ulimits);
    guest_rlimit rlimits[GUEST_RLIMITS_MAX];
    size_t n_rlimits = 0;
    cb_strv_init(&volume_specs);
    cb_strv_init(&publish_specs);
    guest_port *ports = NULL;
    size_t n_ports = 0;
    cb_strv_init(&tmpfs_specs);
    cb_strv_init(&mount_specs);
    guest_mount *mounts = NULL;
    size_t n_mounts = 0;
    cb_strv_init(&envs);
    cb_strv_init(&layers);
    cb_strv_init(&add_hosts);
    const char *workdir = NULL, *user = NULL, *network = NULL, *memory = NULL, *cpus = NULL, *upper = NULL,
               *hostname = NULL, *entrypoint = NULL, *timeout = NULL, *platform = NULL;
    const cli_opt opts[] = {
        {"rm", 0, CLI_BOOL, &rm, NULL, "remove the container when it exits (without -d: always the case)"},
        {"detach", 'd', CLI_BOOL, &detach, NULL, "leave the VM running in the background and print its container ID"},
        {"name", 0, CLI_STRING, &name, "NAME", "name the container (see ps, logs, stop, rm)"},
        {"interactive", 'i', CLI_BOOL, &interactive, NULL, "keep STDIN open"},
        {"tty", 't', CLI_BOOL, &tty, NULL, "allocate a pseudo-TTY"},
        {"env", 'e', CLI_STRINGS, &envs, "KEY=VALUE", "set an environment variable (KEY alone: take it from here)"},
        {"workdir", 'w', CLI_STRING, &workdir, "DIR", "working directory inside the container (created if missing)"},
        {"user", 'u', CLI_STRING, &user, "USER[:GROUP]", "user name or uid, optionally with group or gid"},
        {"network", 0, CLI_STRING, &network, "MODE", "default (NAT without the host's loopback), none, host (10.0.2.2 is the host's 127.0.0.1)"},
        {"memory", 'm', CLI_STRING, &memory, "SIZE", "VM memory, e.g. 512m, 2g (default 1g)"},
        {"cpus", 0, CLI_STRING, &cpus, "N", "virtual CPUs (default 1)"},
        {"hostname", 0, CLI_STRING, &hostname, "NAME", "container host name"},
        {"entrypoint", 0, CLI_STRING, &entrypoint, "CMD", "override the image's entrypoint"},
        {"add-host", 0, CLI_STRINGS, &add_hosts, "HOST:IP", "add a line to /etc/hosts"},
        {"ulimit", 0, CLI_STRINGS, &ulimits, "TYPE=SOFT[:HARD]",
         "resource limit of the command, e.g. nofile=1024:2048 (-1: unlimited)"},
        {"ext4", 0, CLI_STRINGS, &layers, "FILE", "boot this ext4 image instead of an IMAGE (repeat: overlay layers, bottom first)"},
        {"upper", 0, CLI_STRING, &upper, "FILE", "keep the changes in this empty ext4 image (default: thrown away)"},
        {"tmpfs", 0, CLI_STRINGS, &tmpfs_specs, "PATH[:OPTS]", "mount a tmpfs (options size=, mode=)"},
        {"volume", 'v', CLI_STRINGS, &volume_specs, "HOST:CTR[:ro]", "share a host directory (virtio-fs; created when missing)"},
        {"mount", 0, CLI_STRINGS, &mount_specs, "type=T,...", "bind (source=DIR), tmpfs, ext4 (source=IMG) or secret (source=FILE) mount"},
        {"publish", 'p', CLI_STRINGS, &publish_specs, "[IP:]HOST:CTR[/udp]", "publish a port (IP defaults to 127.0.0.1)"},
        {"timeout", 0, CLI_STRING, &timeout, "SECONDS", "kill the VM after this long (cbuild extension)"},
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "run the image's linux/amd64 or linux/arm64 variant (in a VM of that architecture)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"run", "[OPTIONS] (IMAGE | --ext4 FILE) [COMMAND] [ARG...]",
                               "Run a command in a throwaway VM", opts, true, 0, -1};
    cb_strv pos, env, cmd, image_layers;
    cb_strv_init(&image_layers);
    store *st = NULL;
    store_image im;
    bool have_image = false;
    cb_strv_init(&pos);
    cb_strv_init(&env);
    cb_strv_init(&cmd);
    cb_err err = {0};
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc >= 0) goto out;
    rc = CLI_EXIT_USAGE;
    if (name && !detach) {
        fprintf(stderr, "error: --name names a container left by -d (a run in the foreground is throwaway)\n");
        goto out;
    }
    /* flag values first, as docker's flag parser: before any image is looked at */
    for (size_t i = 0; i < ulimits.n; i++) {
        if (guest_rlimits_set(rlimits, &n_rlimits, ulimits.v[i], &err) < 0) {
            /* pflag's wording and exit 125, as docker run */
            fprintf(stderr, "cbuild run: invalid argument \"%s\" for \"--ulimit\" flag: %s\n", ulimits.v[i],
                    err.msg);
            fprintf(stderr, "See 'cbuild run --help'.\n");
            goto out;
        }
    }

    guest_run_config cfg;
    guest_run_config_init(&cfg);
    cfg.root = ctx->root;
    size_t first_cmd = 0;
    cfg.upper = upper;
    const char *arch = NULL;
    if (platform && run_platform_arch(platform, &arch, &err) < 0) {
        cli_report(&err);
        goto out;
    }
    cfg.arch = arch;
    if (layers.n) {
        cfg.lowers = (const char *const *)layers.v;
        cfg.n_lowers = layers.n;
    } else {
        if (pos.n == 0) {
            fprintf(stderr, "error: an IMAGE or --ext4 FILE is required\n");
            cli_print_usage(&spec, stderr);
            goto out;
        }
        if (image_open(ctx, pos.v[0], platform, arch, &st, &im, &err) < 0 ||
            image_layer_images(st, &im, &image_layers, &err) < 0) {
            if (st) store_image_free(&im);
            cli_report(&err);
            goto out;
        }
        have_image = true;
        first_cmd = 1;
        const char *img_arch = guest_arch_canon(im.config.architecture), *host_arch = guest_arch_canon(NULL);
        if (!arch && img_arch && host_arch && strcmp(img_arch, host_arch) != 0) {
            /* docker runs a foreign image too (with this warning): here in a VM of its architecture */
            fprintf(stderr,
                    "WARNING: The requested image's platform (linux/%s) does not match the detected host platform "
                    "(linux/%s) and no specific platform was requested\n",
                    im.config.architecture, host_arch);
            cfg.arch = im.config.architecture;
        }
        cfg.lowers = (const char *const *)image_layers.v;
        cfg.n_lowers = image_layers.n;
    }
    /* docker: --entrypoint replaces the image's ENTRYPOINT and drops its CMD; arguments after
     * the image replace CMD */
    const oci_config *ic = have_image ? &im.config : NULL;
    if (entrypoint) {
        if (*entrypoint) cb_strv_push(&cmd, entrypoint);
    } else if (ic) {
        for (size_t i = 0; i < ic->entrypoint.n; i++) cb_strv_push(&cmd, ic->entrypoint.v[i]);
    }
    if (pos.n > first_cmd) {
        for (size_t i = first_cmd; i < pos.n; i++) cb_strv_push(&cmd, pos.v[i]);
    } else if (ic && !entrypoint) {
        for (size_t i = 0; i < ic->cmd.n; i++) cb_strv_push(&cmd, ic->cmd.v[i]);
    }
    if (cmd.n == 0) {
        fprintf(stderr, "error: no command specified%s\n", ic ? "" : " (an ext4 image carries no CMD)");
        goto out;
    }
    cfg.argv = cmd.v;
    if (ic) {
        for (size_t i = 0; i < ic->env.n; i++) env_set(&env, ic->env.v[i]);
        if (!workdir && ic->working_dir && *ic->working_dir) workdir = ic->working_dir;
        if (!user && ic->user && *ic->user) user = ic->user;
    }
    for (size_t i = 0; i < envs.n; i++) env_set(&env, envs.v[i]);
    cfg.env = env.v;
    cfg.cwd = workdir;
    cfg.user = user;
    cfg.hostname = hostname;
    cfg.extra_hosts = add_hosts.v;
    cfg.tty = tty;
    if (network && strcmp(network, "none") == 0) {
        cfg.network = GUEST_NET_NONE;
    } else if (network && strcmp(network, "host") == 0) {
        cfg.network = GUEST_NET_HOST;
    } else if (network && strcmp(network, "default") != 0 && strcmp(network, "bridge") != 0) {
        fprintf(stderr, "error: --network %s: expected default, none or host\n", network);
        goto out;
    }
    if (memory) {
        uint64_t m;
        if (cb_parse_size(memory, &m, &err) < 0 || m < (64ull << 20)) {
            fprintf(stderr, "error: --memory %s: expected a size of at least 64m\n", memory);
            goto out;
        }
        cfg.memory = m;
    }
    if (cpus) {
        char *end;
        double c = strtod(cpus, &end);
        if (*end || !(c > 0) || c > 256) {
            fprintf(stderr, "error: --cpus %s: expected a number between 0.01 and 256\n", cpus);
            goto out;
        }
        cfg.cpus = (int)ceil(c);
    }
    cfg.rlimits = rlimits;
    cfg.n_rlimits = n_rlimits;
    if (timeout) {
        char *end;
        double t = strtod(timeout, &end);
        if (*end || !(t > 0)) {
            fprintf(stderr, "error: --timeout %s: expected seconds\n", timeout);
            goto out;
        }
        cfg.timeout = t;
    }
    mounts = xcalloc(tmpfs_specs.n + mount_specs.n + volume_specs.n + 1, sizeof *mounts);
    for (size_t i = 0; i < volume_specs.n; i++, n_mounts++)
        if (parse_volume(volume_specs.v[i], &mounts[n_mounts], &err) < 0) {
            n_mounts++;
            cli_report(&err);
            goto out;
        }
    for (size_t i = 0; i < tmpfs_specs.n; i++, n_mounts++)
        if (parse_tmpfs(tmpfs_specs.v[i], &mounts[n_mounts], &err) < 0) {
            n_mounts++;
            cli_report(&err);
            goto out;
        }
    for (size_t i = 0; i < mount_specs.n; i++, n_mounts++)
        if (parse_mount(mount_specs.v[i], &mounts[n_mounts], &err) < 0) {
            n_mounts++;
            cli_report(&err);
            goto out;
        }
    cfg.mounts = mounts;
    cfg.n_mounts = n_mounts;
    if (publish_specs.n && cfg.network == GUEST_NET_NONE) {
        fprintf(stderr, "error: conflicting options: port publishing and the container type network mode\n");
        goto out;
    }
    ports = xcalloc(publish_specs.n + 1, sizeof *ports);
    for (; n_ports < publish_specs.n; n_ports++)
        if (parse_publish(publish_specs.v[n_ports], &ports[n_ports], &err) < 0) {
            n_ports++;
            cli_report(&err);
            goto out;
        }
    cfg.ports = ports;
    cfg.n_ports = n_ports;
    if (tty && interactive && !isatty(0)) {
        fprintf(stderr, "error: the input device is not a TTY\n");
        goto out;
    }
    if (detach) {
        cb_strv port_strs;
        cb_strv_init(&port_strs);
        for (size_t i = 0; i < n_ports; i++)
            cb_strv_push_owned(&port_strs, xasprintf("%s:%u->%u/%s", ports[i].host_ip, ports[i].host_port,
                                                     ports[i].guest_port, ports[i].udp ? "udp" : "tcp"));
        cli_container_spec cs = {.name = name,
                                 .image = have_image ? pos.v[0] : layers.v[layers.n - 1],
                                 .argv = cmd.v,
                                 .ports = port_strs.v,
                                 .auto_remove = rm};
        /* the detached VM needs no store lock: its layer images are open files once it runs */
        if (st) store_close(st);
        st = NULL;
        rc = cli_container_run_detached(ctx, &cs, &cfg);
        cb_strv_free(&port_strs);
        goto out;
    }
    cfg.stdin_fd = interactive ? 0 : -1;
    cfg.cancel = &run_cancel;
    cfg.forward_signal = &run_forward;
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
    if (have_image) store_image_free(&im);
    if (st) store_close(st);
    cb_strv_free(&image_layers);
    mounts_free(mounts, n_mounts);
    for (size_t i = 0; i < n_ports; i++) free((char *)ports[i].host_ip);
    free(ports);
    cb_strv_free(&volume_specs);
    cb_strv_free(&publish_specs);
    cb_strv_free(&tmpfs_specs);
    cb_strv_free(&mount_specs);
    cb_strv_free(&pos);
    cb_strv_free(&env);
    cb_strv_free(&cmd);
    cb_strv_free(&envs);
    cb_strv_free(&add_hosts);
    cb_strv_free(&layers);
    cb_strv_free(&ulimits);
    return rc;
}
