/* guest/run.c: guest_run, the public entry: check the request, make sure a kernel and
 * initramfs exist, pick the accelerator, then boot (vm.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "protocol.h"

_Static_assert(GUEST_RLIMITS_MAX == GUEST_RLIMIT_MAX, "guest.h and protocol.h agree on the rlimit count");

void guest_run_config_init(guest_run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stdin_fd = -1;
    cfg->stdout_fd = 1;
    cfg->stderr_fd = 2;
}

void guest_run_result_free(guest_run_result *res)
{
    if (!res)
        return;
    free(res->console_tail);
    res->console_tail = NULL;
}

static int validate(const guest_run_config *cfg, cb_err *err)
{
    if (!cfg->argv || !cfg->argv[0])
        return cb_fail(err, "no command to run");
    if (!cfg->root)
        return cb_fail(err, "no store root");
    for (size_t i = 0; i < cfg->n_lowers; i++)
        if (access(cfg->lowers[i], R_OK) < 0)
            return cb_error(err, errno, "layer image `%s`", cfg->lowers[i]);
    if (cfg->upper && access(cfg->upper, R_OK | W_OK) < 0)
        return cb_error(err, errno, "upper image `%s`", cfg->upper);
    /* overlayfs stacks at most 500 lowers, and their list must fit in one page of mount options */
    if (cfg->n_lowers > 400)
        return cb_fail(err, "%zu layers: at most 400 are supported (Docker allows 127)", cfg->n_lowers);
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const guest_mount *m = &cfg->mounts[i];
        if (!m->target || m->target[0] != '/')
            return cb_fail(err, "mount target `%s` is not absolute", m->target ? m->target : "");
        if ((m->kind == GUEST_MOUNT_EXT4_RO || m->kind == GUEST_MOUNT_EXT4_RW) &&
            (!m->image || access(m->image, m->kind == GUEST_MOUNT_EXT4_RO ? R_OK : R_OK | W_OK) < 0))
            return cb_error(err, m->image ? errno : EINVAL, "image for mount %s `%s`", m->target,
                            m->image ? m->image : "");
        struct stat st;
        if (m->kind == GUEST_MOUNT_HOSTDIR &&
            (!m->source || m->source[0] != '/' || stat(m->source, &st) < 0 || !S_ISDIR(st.st_mode)))
            return cb_failc(err, ENOTDIR, "shared folder for %s: `%s` is not a directory on the host", m->target,
                            m->source ? m->source : "");
        if (m->kind == GUEST_MOUNT_SECRET && m->data_len > (GUEST_MSG_MAX / 2))
            return cb_fail(err, "secret for %s is %zu bytes: at most %u are supported", m->target,
                           m->data_len, GUEST_MSG_MAX / 2);
    }
    if (cfg->n_ports && cfg->network == GUEST_NET_NONE)
        return cb_fail(err, "published ports need a network (not --network none)");
    if (cfg->n_rlimits > GUEST_RLIMITS_MAX)
        return cb_fail(err, "%zu ulimits: at most %d are supported", cfg->n_rlimits, GUEST_RLIMITS_MAX);
    if (cfg->cwd && cfg->cwd[0] != '/')
        return cb_fail(err, "working directory `%s` is not absolute", cfg->cwd);
    return 0;
}

int guest_run(const guest_run_config *cfg, guest_run_result *res, cb_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = validate(cfg, err);
    if (rc < 0)
        return rc;
    const char *arch = guest_arch_canon(cfg->arch);
    if (!arch)
        return cb_failc(err, ENOTSUP, "cannot run linux/%s VMs (supported: linux/amd64, linux/arm64)",
                        cfg->arch);
    guest_paths own = {0};
    const guest_paths *paths = cfg->paths;
    /* paths filled by hand (no arch) are the host's, as before the field existed */
    const char *paths_arch = paths ? guest_arch_canon(paths->arch) : NULL;
    if (paths && (!paths_arch || strcmp(paths_arch, arch) != 0))
        paths = NULL;
    if (!paths) {
        rc = guest_setup_arch(cfg->root, arch, NULL, &own, err);
        if (rc < 0)
            return rc;
        paths = &own;
    }
    char accel[8], why[256];
    rc = guest_accel(cfg->root, paths, accel, why, err);
    if (rc == 0)
        rc = guest_vm_run(cfg, paths, accel, res, err);
    guest_paths_free(&own);
    return rc;
}
