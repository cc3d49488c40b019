/* vminitd: the parsers for the host's CONFIG and EXEC messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vminitd.h"

static void disk_free(disk *d)
{
    free(d->id);
    free(d->serial);
}

static void vmount_free(vmount *m)
{
    free(m->target);
    free(m->disk);
    free(m->source);
    free(m->data);
    free(m->staging);
}

#define PUSH(arr, n, item)                                                                                   \
    do {                                                                                                     \
        void *np_ = realloc((arr), sizeof(*(arr)) * ((n) + 1));                                              \
        if (!np_)                                                                                            \
            abort();                                                                                         \
        (arr) = np_;                                                                                         \
        (arr)[(n)++] = (item);                                                                               \
    } while (0)

static int parse_str(const uint8_t *v, uint32_t n, char **out, const char *what)
{
    if (!guest_field_str_ok(v, n)) {
        ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "%s contains a NUL byte", what);
        return -1;
    }
    free(*out);
    *out = xstrndup0(v, n);
    return 0;
}

static int bad_field(const char *msg, uint16_t tag)
{
    ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "%s: malformed field %u", msg, tag);
    return -1;
}

static int parse_disk(const uint8_t *p, uint32_t len, disk *d)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *v;
    uint32_t n, u;
    memset(d, 0, sizeof *d);
    d->lun = -1;
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &v, &n)) {
        if (tag == GUEST_F_DISK_ID) {
            if (parse_str(v, n, &d->id, "disk id"))
                return -1;
        } else if (tag == GUEST_F_DISK_SERIAL) {
            if (parse_str(v, n, &d->serial, "disk serial"))
                return -1;
        } else if (tag == GUEST_F_DISK_LUN) {
            if (!guest_field_u32(v, n, &u) || u > 16383)
                return bad_field("CONFIG disk", tag);
            d->lun = (int)u;
        }
    }
    if (f.bad || !d->id || (!d->serial && d->lun < 0))
        return bad_field("CONFIG disk", 0);
    return 0;
}

static int parse_mount(const uint8_t *p, uint32_t len, vmount *m)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *v;
    uint32_t n, u;
    memset(m, 0, sizeof *m);
    m->kind = UINT32_MAX;
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &v, &n)) {
        switch (tag) {
        case GUEST_F_MOUNT_KIND:
            if (!guest_field_u32(v, n, &m->kind) || m->kind > 5)
                return bad_field("CONFIG mount", tag);
            break;
        case GUEST_F_MOUNT_TARGET:
            if (parse_str(v, n, &m->target, "mount target"))
                return -1;
            break;
        case GUEST_F_MOUNT_DISK:
            if (parse_str(v, n, &m->disk, "mount disk"))
                return -1;
            break;
        case GUEST_F_MOUNT_SOURCE:
            if (parse_str(v, n, &m->source, "mount source"))
                return -1;
            break;
        case GUEST_F_MOUNT_RO:
            if (!guest_field_u32(v, n, &u))
                return bad_field("CONFIG mount", tag);
            m->ro = u != 0;
            break;
        case GUEST_F_MOUNT_SIZE:
            if (!guest_field_u64(v, n, &m->size))
                return bad_field("CONFIG mount", tag);
            break;
        case GUEST_F_MOUNT_DATA:
            free(m->data);
            m->data = xzalloc(n);
            memcpy(m->data, v, n);
            m->data_len = n;
            break;
        case GUEST_F_MOUNT_MODE:
            if (!guest_field_u32(v, n, &m->mode))
                return bad_field("CONFIG mount", tag);
            break;
        case GUEST_F_MOUNT_UID:
            if (!guest_field_u32(v, n, &m->uid))
                return bad_field("CONFIG mount", tag);
            break;
        case GUEST_F_MOUNT_GID:
            if (!guest_field_u32(v, n, &m->gid))
                return bad_field("CONFIG mount", tag);
            break;
        default:
            break;
        }
    }
    if (f.bad || m->kind == UINT32_MAX || !m->target || m->target[0] != '/')
        return bad_field("CONFIG mount", 0);
    if ((m->kind == 0 || m->kind == 1) && !m->disk)
        return bad_field("CONFIG mount (no disk)", 0);
    return 0;
}

int config_parse(const uint8_t *p, size_t len, config *c)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    memset(c, 0, sizeof *c);
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &v, &n)) {
        switch (tag) {
        case GUEST_F_HOSTNAME:
            if (parse_str(v, n, &c->hostname, "hostname"))
                return -1;
            break;
        case GUEST_F_NETWORK:
            if (!guest_field_u32(v, n, &c->network) || c->network > 1)
                return bad_field("CONFIG", tag);
            break;
        case GUEST_F_DISK: {
            disk d;
            if (parse_disk(v, n, &d)) {
                disk_free(&d);
                return -1;
            }
            PUSH(c->disks, c->n_disks, d);
            break;
        }
        case GUEST_F_LOWER: {
            char *s = NULL;
            if (parse_str(v, n, &s, "lower"))
                return -1;
            PUSH(c->lowers, c->n_lowers, s);
            break;
        }
        case GUEST_F_UPPER:
            if (parse_str(v, n, &c->upper, "upper"))
                return -1;
            break;
        case GUEST_F_LOWER_SUBDIR:
            if (parse_str(v, n, &c->lower_subdir, "lower sub-directory"))
                return -1;
            if (strstr(c->lower_subdir, "..") || strchr(c->lower_subdir, ':') ||
                strchr(c->lower_subdir, ',')) {
                ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "bad lower sub-directory %s", c->lower_subdir);
                return -1;
            }
            break;
        case GUEST_F_MOUNT: {
            vmount m;
            if (parse_mount(v, n, &m)) {
                vmount_free(&m);
                return -1;
            }
            PUSH(c->mounts, c->n_mounts, m);
            break;
        }
        case GUEST_F_HOSTS:
            if (parse_str(v, n, &c->hosts, "hosts"))
                return -1;
            break;
        case GUEST_F_RESOLV:
            if (parse_str(v, n, &c->resolv, "resolv.conf"))
                return -1;
            break;
        case GUEST_F_ENTROPY:
            if (n == 0 || n > sizeof c->entropy)
                return bad_field("CONFIG", tag);
            memcpy(c->entropy, v, n);
            c->entropy_len = n;
            break;
        case GUEST_F_WALLCLOCK:
            if (!guest_field_u64(v, n, &c->wallclock_ns))
                return bad_field("CONFIG", tag);
            break;
        case GUEST_F_SHM_SIZE:
            if (!guest_field_u64(v, n, &c->shm_size))
                return bad_field("CONFIG", tag);
            break;
        case GUEST_F_MEMORY_MAX:
            if (!guest_field_u64(v, n, &c->memory_max))
                return bad_field("CONFIG", tag);
            break;
        case GUEST_F_RLIMIT: {
            /* RLIM_NLIMITS is 16 on every architecture vminitd runs on */
            if (n != GUEST_RLIMIT_LEN || c->n_rlimits == GUEST_RLIMIT_MAX || guest_get_u32(v) >= 16)
                return bad_field("CONFIG", tag);
            vrlimit *r = &c->rlimits[c->n_rlimits++];
            r->resource = guest_get_u32(v);
            r->soft = guest_get_u64(v + 4);
            r->hard = guest_get_u64(v + 12);
            break;
        }
        case GUEST_F_RESCAN: {
            uint32_t u;
            if (!guest_field_u32(v, n, &u))
                return bad_field("CONFIG", tag);
            c->rescan = u != 0;
            break;
        }
        default:
            break; /* unknown fields are skipped: newer hosts may add some */
        }
    }
    if (f.bad)
        return bad_field("CONFIG", 0);
    if (!c->hostname)
        c->hostname = xsprintf("cbuild");
    return 0;
}

int execspec_parse(const uint8_t *p, size_t len, execspec *e)
{
    guest_fields f;
    uint16_t tag;
    const uint8_t *v;
    uint32_t n, u;
    memset(e, 0, sizeof *e);
    guest_fields_init(&f, p, len);
    while (guest_fields_next(&f, &tag, &v, &n)) {
        char *s = NULL;
        switch (tag) {
        case GUEST_F_ARG:
            if (parse_str(v, n, &s, "argument"))
                return -1;
            PUSH(e->argv, e->argc, s);
            break;
        case GUEST_F_ENV:
            if (parse_str(v, n, &s, "environment variable"))
                return -1;
            PUSH(e->env, e->envc, s);
            break;
        case GUEST_F_CWD:
            if (parse_str(v, n, &e->cwd, "working directory"))
                return -1;
            break;
        case GUEST_F_USER:
            if (parse_str(v, n, &e->user, "user"))
                return -1;
            break;
        case GUEST_F_TTY:
            if (!guest_field_u32(v, n, &u))
                return bad_field("EXEC", tag);
            e->tty = u != 0;
            break;
        case GUEST_F_STDIN:
            if (!guest_field_u32(v, n, &u))
                return bad_field("EXEC", tag);
            e->stdin_open = u != 0;
            break;
        case GUEST_F_BUILD_GROUPS:
            if (!guest_field_u32(v, n, &u))
                return bad_field("EXEC", tag);
            e->build_groups = u != 0;
            break;
        case GUEST_F_DEFAULT_CAPS:
            if (!guest_field_u32(v, n, &u))
                return bad_field("EXEC", tag);
            e->default_caps = u != 0;
            break;
        case GUEST_F_ROWS:
            if (!guest_field_u32(v, n, &e->rows))
                return bad_field("EXEC", tag);
            break;
        case GUEST_F_COLS:
            if (!guest_field_u32(v, n, &e->cols))
                return bad_field("EXEC", tag);
            break;
        default:
            break;
        }
    }
    if (f.bad)
        return bad_field("EXEC", 0);
    if (e->argc == 0) {
        ctl_send_error(GUEST_ERR_PROTOCOL, EINVAL, "EXEC without a command");
        return -1;
    }
    PUSH(e->argv, e->argc, NULL);
    e->argc--;
    PUSH(e->env, e->envc, NULL);
    e->envc--;
    if (!e->cwd || !e->cwd[0]) {
        free(e->cwd);
        e->cwd = xsprintf("/");
    }
    return 0;
}

void config_free(config *c)
{
    free(c->hostname);
    for (size_t i = 0; i < c->n_disks; i++)
        disk_free(&c->disks[i]);
    free(c->disks);
    for (size_t i = 0; i < c->n_lowers; i++)
        free(c->lowers[i]);
    free(c->lowers);
    free(c->upper);
    free(c->lower_subdir);
    for (size_t i = 0; i < c->n_mounts; i++)
        vmount_free(&c->mounts[i]);
    free(c->mounts);
    free(c->hosts);
    free(c->resolv);
    memset(c, 0, sizeof *c);
}

void execspec_free(execspec *e)
{
    for (size_t i = 0; e->argv && i < e->argc; i++)
        free(e->argv[i]);
    free(e->argv);
    for (size_t i = 0; e->env && i < e->envc; i++)
        free(e->env[i]);
    free(e->env);
    free(e->cwd);
    free(e->user);
    memset(e, 0, sizeof *e);
}
