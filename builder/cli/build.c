/* cbuild build: docker build's flags; the build itself is builder_build(). */
#include "cli.h"

#include "builder.h"
#include "guest.h"
#include "oci.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t build_signal;

/* The first SIGINT/SIGTERM cancels the build (cleanup runs); a second one quits at once. */
static void on_signal(int sig)
{
    if (build_signal)
        _exit(128 + sig);
    build_signal = sig;
}

static int build_with_signals(builder_opts *o, builder_result *res, cb_err *err)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    build_signal = 0;
    o->interrupt = &build_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = builder_build(o, res, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* docker build flags for a container that map to a RUN VM, or are accepted for scripts. */
typedef struct docker_flags {
    const char *memory, *memory_swap, *cpus, *shm_size, *isolation, *cpuset_cpus, *cgroup_parent;
    long cpu_shares, cpu_period, cpu_quota;
    cb_strv add_hosts, security_opts, ulimits;
    bool rm, force_rm, compress;
    guest_rlimit rlimits[GUEST_RLIMITS_MAX]; /* --ulimit, parsed */
    size_t n_rlimits;
} docker_flags;

/* A flag value docker's CLI refuses: its message (pflag's wording), exit 125 as docker. */
static int flag_invalid(const char *flag, const char *val, const char *why)
{
    fprintf(stderr, "cbuild build: invalid argument \"%s\" for \"%s\" flag: %s\nSee 'cbuild build --help'.\n",
            val, flag, why);
    return CLI_EXIT_USAGE;
}

/* go-units RAMInBytes, which docker uses for --memory and --shm-size: `^(\d+(\.\d+)*) ?([kmgtp])?i?b?$`,
 * binary multiples. */
static int docker_ram_parse(const char *s, uint64_t *out)
{
    static const char digits[] = "0123456789";
    const char *p = s + strspn(s, digits);
    if (p == s)
        return -1;
    if (*p == '.' && strspn(p + 1, digits))
        p += 1 + strspn(p + 1, digits);
    double v = strtod(s, NULL); /* only digits and one '.' before p */
    if (*p == ' ')
        p++;
    double mult = 1;
    const char *units = "kmgtp";
    const char *u = *p ? strchr(units, *p | 0x20) : NULL;
    if (u) {
        for (const char *q = units; q <= u; q++)
            mult *= 1024;
        p++;
    }
    if ((*p | 0x20) == 'i')
        p++;
    if ((*p | 0x20) == 'b')
        p++;
    if (*p || v * mult > 9.2e18)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

static int docker_size_flag(const char *flag, const char *val, uint64_t *out)
{
    if (docker_ram_parse(val, out) == 0)
        return 0;
    char why[300];
    snprintf(why, sizeof why, "invalid size: '%s'", val);
    return flag_invalid(flag, val, why);
}

/* The host's address as a RUN VM reaches it: docker's host-gateway. Under passt the guest reaches
 * the host's own addresses (not its loopback), so the source address of the host's default route;
 * under --network host (slirp) 10.0.2.2 is the host's loopback. */
static int host_gateway_ip(const char *network, char ip[INET_ADDRSTRLEN], cb_err *err)
{
    if (network && !strcmp(network, "host")) {
        snprintf(ip, INET_ADDRSTRLEN, "10.0.2.2");
        return 0;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cb_error(err, errno, "--add-host host-gateway: socket");
    /* connecting a UDP socket sends nothing: it only picks the route's source address */
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    int rc = 0;
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 ||
        getsockname(fd, (struct sockaddr *)&me, &len) < 0)
        rc = cb_error(err, errno,
                      "--add-host host-gateway: the host has no IPv4 route to take its address from");
    else
        inet_ntop(AF_INET, &me.sin_addr, ip, INET_ADDRSTRLEN);
    close(fd);
    return rc;
}

/* docker's ValidateExtraHost: NAME:IP or NAME=IP, IP may be [v6] or host-gateway. Normalised to
 * NAME:IP for the guest's /etc/hosts. */
static int add_host_parse(const char *val, const char *network, cb_strv *out)
{
    const char *sep = strchr(val, '=');
    if (!sep)
        sep = strchr(val, ':');
    char why[600];
    if (!sep || sep == val) {
        snprintf(why, sizeof why, "bad format for add-host: \"%s\"", val);
        return flag_invalid("--add-host", val, why);
    }
    cleanup_free char *ip = xstrdup(sep + 1);
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
        memmove(ip, ip + 1, n - 2);
        ip[n - 2] = 0;
    }
    char gw[INET_ADDRSTRLEN];
    if (!strcmp(ip, "host-gateway")) {
        cb_err err;
        cb_err_clear(&err);
        if (host_gateway_ip(network, gw, &err) < 0)
            return cli_report(&err);
        free(ip);
        ip = xstrdup(gw);
    } else {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1) {
            snprintf(why, sizeof why, "invalid IP address in add-host: \"%s\"", sep + 1);
            return flag_invalid("--add-host", val, why);
        }
    }
    cb_strv_push_owned(out, xasprintf("%.*s:%s", (int)(sep - val), val, ip));
    return 0;
}

/* What --security-opt can mean for a VM: only options that ask for less confinement than the VM
 * already gives hold; they are accepted with a warning that names why nothing changes. */
static int security_opt_check(const char *v, cb_err *err)
{
    if (!strcmp(v, "seccomp=unconfined") || !strcmp(v, "seccomp:unconfined"))
        fprintf(stderr, "WARNING: --security-opt %s: RUN steps run in their own VM with no seccomp filter\n",
                v);
    else if (cb_str_has_prefix(v, "apparmor=") || cb_str_has_prefix(v, "apparmor:"))
        fprintf(stderr, "WARNING: --security-opt %s: RUN VMs apply no AppArmor profile\n", v);
    else if (cb_str_has_prefix(v, "label=") || cb_str_has_prefix(v, "label:"))
        fprintf(stderr, "WARNING: --security-opt %s: RUN VMs have no SELinux labels\n", v);
    else
        return cb_failc(
            err, EINVAL,
            "invalid --security-opt %s: a RUN VM has no seccomp filter, AppArmor profile or SELinux "
            "label to set (only seccomp=unconfined, apparmor=… and label=… are accepted)",
            v);
    return 0;
}

/* Map the docker flags onto o: 0, or the exit status (the error printed). */
static int docker_flags_apply(docker_flags *d, builder_opts *o, cb_strv *hosts)
{
    cb_err err;
    cb_err_clear(&err);
    if (d->memory) {
        if (docker_size_flag("-m, --memory", d->memory, &o->run_memory))
            return CLI_EXIT_USAGE;
        if (o->run_memory < (64ull << 20)) {
            cb_fail(&err, "invalid --memory %s: a RUN VM needs at least 64MiB", d->memory);
            return cli_report(&err);
        }
    }
    uint64_t swap;
    if (d->memory_swap && strcmp(d->memory_swap, "-1") &&
        docker_size_flag("--memory-swap", d->memory_swap, &swap))
        return CLI_EXIT_USAGE;
    if (d->shm_size && docker_size_flag("--shm-size", d->shm_size, &o->shm_size))
        return CLI_EXIT_USAGE;
    if (d->cpus) {
        char *end;
        errno = 0;
        double c = strtod(d->cpus, &end);
        char why[300];
        if (errno || end == d->cpus || *end || !isfinite(c) || strpbrk(d->cpus, "xXnNiI")) {
            snprintf(why, sizeof why, "failed to parse %s as a rational number", d->cpus);
            return flag_invalid("--cpus", d->cpus, why);
        }
        int n = cb_ncpus();
        if (c != 0 && (c < 0.01 || c > n)) {
            cb_fail(&err, "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n);
            return cli_report(&err);
        }
        o->run_cpus = (int)ceil(c); /* a VM has whole vCPUs */
    }
    for (size_t i = 0; i < d->add_hosts.n; i++) {
        int rc = add_host_parse(d->add_hosts.v[i], o->network, hosts);
        if (rc)
            return rc;
    }
    o->add_hosts = hosts;
    if (d->isolation && *d->isolation && strcmp(d->isolation, "default")) {
        cb_fail(&err,
                "invalid --isolation %s: only `default` is supported (each RUN step runs in its own VM)",
                d->isolation);
        return cli_report(&err);
    }
    for (size_t i = 0; i < d->security_opts.n; i++)
        if (security_opt_check(d->security_opts.v[i], &err) < 0)
            return cli_report(&err);
    for (size_t i = 0; i < d->ulimits.n; i++)
        if (guest_rlimits_set(d->rlimits, &d->n_rlimits, d->ulimits.v[i], &err) < 0)
            return flag_invalid("--ulimit", d->ulimits.v[i], err.msg);
    o->ulimits = d->rlimits;
    o->n_ulimits = d->n_rlimits;
    if (d->cpu_shares || d->cpu_period || d->cpu_quota || d->cpuset_cpus)
        fprintf(stderr, "WARNING: --cpu-shares, --cpu-period, --cpu-quota and --cpuset-cpus have no effect: "
                        "RUN VMs get whole vCPUs (--cpus)\n");
    if (d->cgroup_parent)
        fprintf(stderr, "WARNING: --cgroup-parent has no effect: each RUN command runs in a cgroup of its own "
                        "inside its VM (--memory is its memory.max)\n");
    return 0;
}

/* --load: buildx hands the image to the docker engine; here to `docker load`, else `podman load`. */
const char *cli_load_tool(void)
{
    static const char *tools[] = {"docker", "podman"};
    const char *path = getenv("PATH");
    for (size_t t = 0; t < 2; t++) {
        cleanup_free char *dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            cleanup_free char *f = xasprintf("%s/%s", d, tools[t]);
            if (access(f, X_OK) == 0)
                return tools[t];
        }
    }
    return NULL;
}

int cli_load_run(const char *tool, const char *tar, cb_err *err)
{
    char *argv[] = {(char *)tool, "load", "-i", (char *)tar, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO); /* stdout stays the image ID's */
    pid_t pid;
    int rc = posix_spawnp(&pid, tool, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return cb_error(err, rc, "--load: running %s load", tool);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return cb_error(err, errno, "--load: waiting for %s load", tool);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        return cb_failc(err, EIO, "--load: `%s load` failed (exit status %d)", tool,
                        WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}

/* A docker archive of the result in the store's ingest folder for --load: its path (malloc'd). */
char *cli_load_tar_path(const char *root, cb_err *err)
{
    char *dir = cb_path_join(root, "ingest");
    if (cb_mkdir_p(dir, 0700, err) < 0) {
        free(dir);
        return NULL;
    }
    char *p = xasprintf("%s/load-XXXXXX", dir);
    free(dir);
    int fd = mkstemp(p);
    if (fd < 0) {
        cb_error(err, errno, "--load: mkstemp %s", p);
        free(p);
        return NULL;
    }
    close(fd);
    return p;
}

/* buildx's CanonicalizeAttest: a bool is type=T,disabled=!b, anything else type=T,VALUE. */
static void cli_attest_canonical(cb_strv *out, const char *type, const char *v)
{
    if (!v || !*v)
        return;
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
            cb_strv_push_owned(out, xasprintf("type=%s,disabled=%s", type, !strcmp(v, no[i]) ? "true" : "false"));
            return;
        }
    }
    cb_strv_push_owned(out, xasprintf("type=%s,%s", type, v));
}

/* Long: docker build's option table is most of it. */
int cli_cmd_build(cli_ctx *ctx, int argc, char **argv)
{
    cb_strv tags, build_args, labels, secrets, outputs, cache_from, cache_to, no_cache_filter;
    cb_strv_init(&tags);
    cb_strv_init(&build_args);
    cb_strv_init(&labels);
    cb_strv_init(&secrets);
    cb_strv_init(&outputs);
    cb_strv_init(&cache_from);
    cb_strv_init(&cache_to);
    cb_strv_init(&no_cache_filter);
    cb_strv ssh;
    cb_strv_init(&ssh);
    cb_strv allow, allow_devices;
    cb_strv_init(&allow);
    cb_strv_init(&allow_devices);
    cb_strv build_contexts; /* --build-context NAME=VALUE (builder/named-context.c) */
    cb_strv_init(&build_contexts);
    const char *file = NULL, *target = NULL, *platform = NULL, *network = NULL, *iidfile = NULL,
               *metadata_file = NULL, *progress = NULL;
    /* buildctl's flag; buildx reads the variable (both a JSON BuildKit source policy) */
    const char *source_policy = getenv("EXPERIMENTAL_BUILDKIT_SOURCE_POLICY");
    bool no_cache = false, pull = false, quiet = false, push = false, load = false;
    const char *call = NULL; /* --call / --check (BuildKit's subrequests; builder/call.c) */
    bool check = false, call_json = false;
    int call_kind = 0;
    long jobs = 0;
    docker_flags df = {.rm = true};
    cb_strv_init(&df.add_hosts);
    cb_strv_init(&df.security_opts);
    cb_strv_init(&df.ulimits);
    cb_strv hosts, annotations;
    cb_strv_init(&hosts);
    cb_strv_init(&annotations);
    /* --provenance, --sbom, --attest (buildx's; builder/attest.c) */
    cb_strv attests;
    cb_strv_init(&attests);
    const char *provenance = NULL, *sbom = NULL;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"tag", 't', CLI_STRINGS, &tags, "NAME[:TAG]", "name and optionally a tag (repeatable)"},
        {"file", 'f', CLI_STRING, &file, "PATH", "Dockerfile (default PATH/Dockerfile; - reads stdin)"},
        {"build-arg", 0, CLI_STRINGS, &build_args, "KEY=VALUE", "set a build-time variable"},
        {"target", 0, CLI_STRING, &target, "STAGE", "build this stage"},
        {"label", 0, CLI_STRINGS, &labels, "KEY=VALUE", "set image metadata"},
        {"no-cache", 0, CLI_BOOL, &no_cache, NULL, "do not use the cache"},
        {"no-cache-filter", 0, CLI_STRINGS, &no_cache_filter, "STAGE", "do not cache this stage"},
        {"pull", 0, CLI_BOOL, &pull, NULL, "always pull referenced images"},
        {"platform", 0, CLI_STRING, &platform, "PLATFORM", "target platform (linux/amd64)"},
        {"secret", 0, CLI_STRINGS, &secrets, "id=ID,src=PATH", "secret to expose to RUN --mount=type=secret"},
        {"ssh", 0, CLI_STRINGS, &ssh, "default|ID[=SOCKET|KEY[,KEY]]", "ssh agent socket or keys for RUN --mount=type=ssh"},
        {"network", 0, CLI_STRING, &network, "MODE", "network for RUN: default, none, host"},
        {"allow", 0, CLI_STRINGS, &allow, "ENTITLEMENT", "grant an entitlement: network.host, security.insecure, device[=NAME[,alias=ALIAS]] (repeatable)"},
        {"iidfile", 0, CLI_STRING, &iidfile, "FILE", "write the image ID to FILE"},
        {"metadata-file", 0, CLI_STRING, &metadata_file, "FILE", "write build result metadata to FILE"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "print only the image ID"},
        {"push", 0, CLI_BOOL, &push, NULL, "push the result (same as --output type=image,push=true)"},
        {"output", 'o', CLI_STRINGS, &outputs, "type=TYPE,dest=PATH",
         "output: image, oci, docker, ext4, tar, local, cacheonly"},
        {"progress", 0, CLI_STRING, &progress, "MODE", "auto, tty, plain, quiet, rawjson"},
        {"cache-from", 0, CLI_STRINGS, &cache_from, "SOURCE", "external cache sources"},
        {"cache-to", 0, CLI_STRINGS, &cache_to, "DEST", "cache export destinations"},
        {"jobs", 'j', CLI_INT, &jobs, "N", "steps run at once (default: cores)"},
        {"load", 0, CLI_BOOL, &load, NULL, "load the result into docker (or podman when docker is absent)"},
        {"annotation", 0, CLI_STRINGS, &annotations, "[TYPE:]KEY=VALUE",
         "manifest annotation; TYPE manifest (default), index, manifest-descriptor, index-descriptor"},
        {"memory", 'm', CLI_STRING, &df.memory, "SIZE", "RAM of each RUN VM, e.g. 512m, 1.5g (default 1g)"},
        {"cpus", 0, CLI_STRING, &df.cpus, "N", "vCPUs of each RUN VM, rounded up (default 1)"},
        {"shm-size", 0, CLI_STRING, &df.shm_size, "SIZE", "size of /dev/shm in RUN VMs (default 64m)"},
        {"add-host", 0, CLI_STRINGS, &df.add_hosts, "HOST:IP",
         "add to RUN's /etc/hosts; host-gateway: the host's address as the VM reaches it"},
        {"memory-swap", 0, CLI_STRING, &df.memory_swap, "SIZE", "accepted, no effect (RUN VMs have no swap)"},
        {"cpu-shares", 0, CLI_INT, &df.cpu_shares, "N",
         "accepted, no effect: RUN VMs get whole vCPUs (--cpus)"},
        {"cpuset-cpus", 0, CLI_STRING, &df.cpuset_cpus, "CPUS", "accepted, no effect (see --cpu-shares)"},
        {"cpu-period", 0, CLI_INT, &df.cpu_period, "US", "accepted, no effect (see --cpu-shares)"},
        {"cpu-quota", 0, CLI_INT, &df.cpu_quota, "US", "accepted, no effect (see --cpu-shares)"},
        {"cgroup-parent", 0, CLI_STRING, &df.cgroup_parent, "PATH",
         "accepted, no effect: each RUN runs in its own VM's cgroup"},
        {"ulimit", 0, CLI_STRINGS, &df.ulimits, "TYPE=SOFT[:HARD]",
         "resource limit of RUN commands, e.g. nofile=1024:2048 (-1: unlimited; part of the cache key)"},
        {"security-opt", 0, CLI_STRINGS, &df.security_opts, "OPT",
         "seccomp=unconfined, apparmor=…, label=…: accepted, a VM has none of them; others refused"},
        {"isolation", 0, CLI_STRING, &df.isolation, "default",
         "only default: every RUN step runs in its own VM"},
        {"rm", 0, CLI_BOOL, &df.rm, NULL, "accepted: every RUN VM is always removed"},
        {"force-rm", 0, CLI_BOOL, &df.force_rm, NULL, "accepted: every RUN VM is always removed"},
        {"compress", 0, CLI_BOOL, &df.compress, NULL, "accepted: the context is not sent over a network"},
        {"call", 0, CLI_STRING, &call, "METHOD[,format=json]", "build (default), check, outline or targets"},
        {"check", 0, CLI_BOOL, &check, NULL, "shorthand for --call=check"},
        {"build-context", 0, CLI_STRINGS, &build_contexts, "NAME=VALUE",
         "additional build context: a directory, docker-image://REF or oci-layout://PATH[:TAG|@DIGEST]"},
        {"source-policy-file", 0, CLI_STRING, &source_policy, "FILE",
         "BuildKit source policy (JSON) that allows, denies or converts sources (default: "
         "$EXPERIMENTAL_BUILDKIT_SOURCE_POLICY)"},
        {"attest", 0, CLI_STRINGS, &attests, "type=provenance|sbom[,…]", "attestation to attach (repeatable)"},
        {"provenance", 0, CLI_STRING, &provenance, "true|false|mode=min|max[,…]",
         "shorthand for --attest=type=provenance"},
        {"sbom", 0, CLI_STRING, &sbom, "true|false|…", "shorthand for --attest=type=sbom"},
        CLI_REGISTRY_OPTS(&rf),
        CLI_CREDS_OPT(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "build", "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", opts, false, 1, 1};
    cb_strv pos;
    cb_strv_init(&pos);
    int rc = cli_parse_exit(cli_parse(ctx, &spec, argc, argv, &pos));
    if (rc < 0) {
        cb_err err;
        cb_err_clear(&err);
        builder_opts o = {
            .root = ctx->root,
            .context = pos.v[0],
            .dockerfile = file,
            .target = target,
            .platform = platform,
            .network = network,
            .iidfile = iidfile,
            .metadata_file = metadata_file,
            .tags = &tags,
            .build_args = &build_args,
            .labels = &labels,
            .secrets = &secrets,
            .ssh = &ssh,
            .outputs = &outputs,
            .no_cache_filter = &no_cache_filter,
            .no_cache = no_cache,
            .pull = pull,
            .push = push,
            .jobs = (int)jobs,
            .out = stdout,
            .log = stderr,
        };
        o.cache_from = &cache_from;
        o.cache_to = &cache_to;
        o.annotations = &annotations;
        o.build_contexts = &build_contexts;
        o.source_policy_file = source_policy && *source_policy ? source_policy : NULL;
        cli_attest_canonical(&attests, "provenance", provenance);
        cli_attest_canonical(&attests, "sbom", sbom);
        o.attests = &attests;
        const char *tool = load ? cli_load_tool() : NULL;
        cleanup_free char *load_tar = NULL;
        const char *bad_allow = NULL;
        for (size_t i = 0; i < allow.n; i++) {
            if (!strcmp(allow.v[i], "network.host"))
                o.allow_network_host = true;
            else if (!strcmp(allow.v[i], "security.insecure"))
                o.allow_security_insecure = true;
            else if (!strcmp(allow.v[i], "device") || cb_str_has_prefix(allow.v[i], "device="))
                cb_strv_push(&allow_devices, allow.v[i][6] ? allow.v[i] + 7 : "");
            else if (!bad_allow)
                bad_allow = allow.v[i];
        }
        o.allow_devices = &allow_devices;
        oci_registry_opts ro;
        cli_registry_flags_apply(&rf, &ro);
        o.registry = &ro;
        if (network && strcmp(network, "default") && strcmp(network, "none") && strcmp(network, "host")) {
            cb_fail(&err, "invalid --network %s: expected default, none or host", network);
            rc = cli_report(&err);
        } else if (bad_allow) {
            cb_fail(&err, "invalid --allow %s: only network.host, security.insecure and device[=NAME[,alias=ALIAS]] are supported",
                    bad_allow);
            rc = cli_report(&err);
        } else if (jobs < 0) {
            cb_fail(&err, "invalid --jobs %ld: must be at least 1", jobs);
            rc = cli_report(&err);
        } else if (builder_progress_parse(progress, &o.progress, &err) < 0) {
            rc = cli_report(&err);
        } else if ((rc = docker_flags_apply(&df, &o, &hosts)) != 0) {
            ;
        } else if (load && !tool) {
            cb_fail(&err, "--load needs docker or podman to load the image into: neither is installed");
            rc = cli_report(&err);
        } else if (load && !(load_tar = cli_load_tar_path(ctx->root, &err))) {
            rc = cli_report(&err);
        } else if (builder_call_parse(check ? "check" : call, &call_kind, &call_json, &err) < 0) {
            rc = cli_report(&err);
        } else if (call_kind) {
            int status = 0;
            rc = builder_call(&o, call_kind, call_json, &status, &err) < 0 ? cli_report(&err) : status;
        } else {
            if (load_tar)
                cb_strv_push_owned(&outputs, xasprintf("type=docker,dest=%s", load_tar));
            if (quiet)
                o.progress = BUILDER_PROGRESS_QUIET;
            builder_result res;
            if (build_with_signals(&o, &res, &err) < 0) {
                rc = cli_report_build(&err);
                if (build_signal) /* as a shell reports a command killed by the signal */
                    rc = 128 + build_signal;
            } else if (load_tar && cli_load_run(tool, load_tar, &err) < 0) {
                rc = cli_report(&err);
            } else {
                if (o.progress == BUILDER_PROGRESS_QUIET)
                    printf("%s\n", res.image_id);
                rc = 0;
            }
            if (load_tar)
                unlink(load_tar);
        }
    }
    cb_strv_free(&df.add_hosts);
    cb_strv_free(&df.security_opts);
    cb_strv_free(&df.ulimits);
    cb_strv_free(&hosts);
    cb_strv_free(&annotations);
    cb_strv_free(&attests);
    cb_strv_free(&pos);
    cb_strv_free(&allow);
    cb_strv_free(&allow_devices);
    cb_strv_free(&build_contexts);
    cb_strv_free(&tags);
    cb_strv_free(&build_args);
    cb_strv_free(&labels);
    cb_strv_free(&secrets);
    cb_strv_free(&ssh);
    cb_strv_free(&outputs);
    cb_strv_free(&cache_from);
    cb_strv_free(&cache_to);
    cb_strv_free(&no_cache_filter);
    cli_registry_flags_free(&rf);
    return rc;
}
