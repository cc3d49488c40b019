/* guest/protocol.h: the wire protocol between the host (guest/vm.c) and vminitd, shared by
 * both sides. Header-only and libc-only so the static musl vminitd can include it.
 *
 * Transport: one virtio-serial port named GUEST_PORT_NAME (a unix socket on the host).
 * Every message is a frame: an 8-byte header (u32 payload length, u16 type, u16 flags = 0;
 * little-endian) and the payload. Structured payloads are a sequence of fields
 * (u16 tag, u32 length, bytes); unknown tags are skipped so fields can be added without a
 * version bump; a changed meaning bumps GUEST_PROTO_VERSION.
 *
 * Conversation:
 *   guest: HELLO{version, kernel}           as soon as the port is open
 *   host:  CONFIG{...}  EXEC{...}           right after HELLO
 *   guest: READY                            root filesystem assembled, network up
 *   guest: STARTED{pid}                     the command was executed
 *   host:  STDIN* STDIN_EOF SIGNAL* RESIZE*
 *   guest: STDOUT* STDERR*
 *   guest: EXIT{code, signal, flags}        after the command exited and its output drained
 *   guest: DONE{flags}                      upper synced and unmounted; power-off follows
 * A VM restored from a template snapshot (vm.c) was snapshotted right after its HELLO: the
 * host sends CONFIG{…, ENTROPY, WALLCLOCK, RESCAN} and EXEC as soon as the port connects.
 * An ssh-agent mount (GUEST_MOUNT_SSH_AGENT, mount index i) has a port of its own named
 * GUEST_SSH_PORT_PREFIX "<i>": the ssh-agent protocol as is, one request and its answer at a
 * time; vminitd serves the socket at the mount's target one client at a time, so the host keeps
 * one connection to its agent for the whole run.
 * Any failure on the guest side is an ERROR{kind, errno, message}; for a setup or exec
 * failure the guest then shuts down cleanly (DONE follows). A malformed message from the
 * host gets ERROR{GUEST_ERR_PROTOCOL} and is otherwise ignored. */
#ifndef CB_GUEST_PROTOCOL_H
#define CB_GUEST_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_PROTO_VERSION 1
#define GUEST_PORT_NAME "org.cbuild.ctl"
#define GUEST_SSH_PORT_PREFIX "org.cbuild.ssh."
#define GUEST_HDR_LEN 8
#define GUEST_MSG_MAX (4u << 20) /* largest payload accepted */
#define GUEST_DATA_CHUNK 65536   /* stdio payloads are at most this big */
#define GUEST_RLIMIT_MAX 16      /* GUEST_F_RLIMIT fields in one CONFIG */
#define GUEST_RLIMIT_LEN 20      /* bytes of one GUEST_F_RLIMIT */

enum guest_msg_type {
    /* guest -> host */
    GUEST_MSG_HELLO = 1,
    GUEST_MSG_READY = 2,
    GUEST_MSG_STARTED = 3,
    GUEST_MSG_STDOUT = 4,
    GUEST_MSG_STDERR = 5,
    GUEST_MSG_EXIT = 6,
    GUEST_MSG_ERROR = 7,
    GUEST_MSG_DONE = 8,
    /* host -> guest */
    GUEST_MSG_CONFIG = 32,
    GUEST_MSG_EXEC = 33,
    GUEST_MSG_STDIN = 34,
    GUEST_MSG_STDIN_EOF = 35,
    GUEST_MSG_SIGNAL = 36,
    GUEST_MSG_RESIZE = 37,
};

/* Field tags. HELLO */
enum { GUEST_F_VERSION = 1, GUEST_F_KERNEL = 2 };
/* CONFIG */
enum {
    GUEST_F_HOSTNAME = 10,     /* string */
    GUEST_F_NETWORK = 11,      /* u32: 0 user-mode, 1 none */
    GUEST_F_DISK = 12,         /* nested: DISK_* fields, one per disk */
    GUEST_F_LOWER = 13,        /* string: disk id, bottom first, repeated */
    GUEST_F_UPPER = 14,        /* string: disk id; absent = tmpfs upper */
    GUEST_F_MOUNT = 15,        /* nested: MOUNT_* fields, repeated */
    GUEST_F_HOSTS = 16,        /* string: content of /etc/hosts */
    GUEST_F_RESOLV = 17,       /* string: content of /etc/resolv.conf */
    GUEST_F_LOWER_SUBDIR = 18, /* string: where lowers keep their tree; absent = detect */
    /* A VM restored from a template snapshot (no HELLO: the template's boot sent it) */
    GUEST_F_ENTROPY = 19,   /* bytes: fresh entropy from the host, mixed in and credited */
    GUEST_F_WALLCLOCK = 40, /* u64: the host's CLOCK_REALTIME in ns */
    GUEST_F_RESCAN = 41,    /* u32 1: scan the SCSI hosts for this step's disks first */
    GUEST_F_SHM_SIZE = 42,  /* u64: bytes of the /dev/shm tmpfs; absent = 64 MiB */
    GUEST_F_MEMORY_MAX = 43, /* u64: the command's cgroup memory.max in bytes; absent = max */
    GUEST_F_RLIMIT = 44,     /* u32 resource (RLIMIT_*), u64 soft, u64 hard (RLIM_INFINITY = ~0):
                              * setrlimit() before the command's exec; repeated, at most GUEST_RLIMIT_MAX */
};
enum {
    GUEST_F_DISK_ID = 1,     /* string, e.g. "l0", "u", "m3" */
    GUEST_F_DISK_SERIAL = 2, /* string: virtio-blk serial */
    GUEST_F_DISK_LUN = 3,    /* u32: virtio-scsi LUN (target 0) */
};
enum {
    GUEST_F_MOUNT_KIND = 1,   /* u32: enum guest_mount_kind (guest.h) */
    GUEST_F_MOUNT_TARGET = 2, /* string */
    GUEST_F_MOUNT_DISK = 3,   /* string: disk id */
    GUEST_F_MOUNT_SOURCE = 4, /* string: path inside the disk */
    GUEST_F_MOUNT_RO = 5,     /* u32 */
    GUEST_F_MOUNT_SIZE = 6,   /* u64 */
    GUEST_F_MOUNT_DATA = 7,   /* bytes */
    GUEST_F_MOUNT_MODE = 8,   /* u32 */
    GUEST_F_MOUNT_UID = 9,    /* u32 */
    GUEST_F_MOUNT_GID = 10,   /* u32 */
};
/* EXEC */
enum {
    GUEST_F_ARG = 20,   /* string, repeated */
    GUEST_F_ENV = 21,   /* string "K=V", repeated */
    GUEST_F_CWD = 22,   /* string */
    GUEST_F_USER = 23,  /* string */
    GUEST_F_TTY = 24,   /* u32 */
    GUEST_F_ROWS = 25,  /* u32 */
    GUEST_F_COLS = 26,  /* u32 */
    GUEST_F_STDIN = 27, /* u32: 1 when the host will send stdin */
    GUEST_F_BUILD_GROUPS = 28, /* u32 1: groups as BuildKit's RUN (primary gid first, user:group alone) */
    GUEST_F_DEFAULT_CAPS = 29, /* u32 1: the command gets only Docker's default capabilities (RUN's sandbox) */
};
/* STARTED / EXIT / ERROR / DONE / SIGNAL / RESIZE */
enum {
    GUEST_F_PID = 30,     /* u32 */
    GUEST_F_CODE = 31,    /* u32 exit status */
    GUEST_F_SIGNAL = 32,  /* u32 terminating / delivered signal */
    GUEST_F_FLAGS = 33,   /* u32 GUEST_FLAG_* */
    GUEST_F_KIND = 34,    /* u32 enum guest_err_kind */
    GUEST_F_ERRNO = 35,   /* u32 */
    GUEST_F_MESSAGE = 36, /* string */
};

enum guest_flags {
    GUEST_FLAG_UPPER_FULL = 1u << 0, /* the upper disk ran out of blocks or inodes */
    GUEST_FLAG_UNMOUNT_FAILED = 1u << 1,
};

enum guest_err_kind {
    GUEST_ERR_PROTOCOL = 1, /* malformed or unexpected message */
    GUEST_ERR_SETUP = 2,    /* modules, disks, mounts, network */
    GUEST_ERR_EXEC = 3,     /* could not start the command (errno says why) */
    GUEST_ERR_USER = 4,     /* unknown user or group */
    GUEST_ERR_CWD = 5,      /* working directory */
};

/* ---------- little-endian helpers ---------- */
static inline void guest_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void guest_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void guest_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t guest_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t guest_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t guest_get_u64(const uint8_t *p)
{
    return (uint64_t)guest_get_u32(p) | ((uint64_t)guest_get_u32(p + 4) << 32);
}

static inline void guest_hdr_encode(uint8_t hdr[GUEST_HDR_LEN], uint16_t type, uint32_t len)
{
    guest_put_u32(hdr, len);
    guest_put_u16(hdr + 4, type);
    guest_put_u16(hdr + 6, 0);
}

/* ---------- field writer (host and vminitd) ---------- */
/* A payload under construction: fields appended with guest_msg_*; free with guest_msg_free. */
typedef struct guest_msg {
    uint8_t *p;
    size_t len, cap;
} guest_msg;

static inline void guest_msg_reserve(guest_msg *m, size_t extra)
{
    if (m->len + extra <= m->cap)
        return;
    size_t cap = m->cap ? m->cap : 256;
    while (cap < m->len + extra)
        cap *= 2;
    uint8_t *p = (uint8_t *)realloc(m->p, cap);
    if (!p)
        abort(); /* as xmalloc: allocation failure is not an error path */
    m->p = p;
    m->cap = cap;
}
static inline void guest_msg_reset(guest_msg *m)
{
    m->len = 0;
}
static inline void guest_msg_free(guest_msg *m)
{
    free(m->p);
    m->p = NULL;
    m->len = m->cap = 0;
}
static inline void guest_msg_bytes(guest_msg *m, uint16_t tag, const void *data, size_t n)
{
    guest_msg_reserve(m, 6 + n);
    guest_put_u16(m->p + m->len, tag);
    guest_put_u32(m->p + m->len + 2, (uint32_t)n);
    if (n)
        memcpy(m->p + m->len + 6, data, n);
    m->len += 6 + n;
}
static inline void guest_msg_str(guest_msg *m, uint16_t tag, const char *s)
{
    guest_msg_bytes(m, tag, s, strlen(s));
}
static inline void guest_msg_u32(guest_msg *m, uint16_t tag, uint32_t v)
{
    uint8_t b[4];
    guest_put_u32(b, v);
    guest_msg_bytes(m, tag, b, 4);
}
static inline void guest_msg_u64(guest_msg *m, uint16_t tag, uint64_t v)
{
    uint8_t b[8];
    guest_put_u64(b, v);
    guest_msg_bytes(m, tag, b, 8);
}

/* ---------- field reader ---------- */
typedef struct guest_fields {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad; /* a field ran past the end */
} guest_fields;

static inline void guest_fields_init(guest_fields *f, const void *payload, size_t len)
{
    f->p = (const uint8_t *)payload;
    f->len = len;
    f->off = 0;
    f->bad = false;
}

/* Next field: true with tag/value/vlen set, false at the end or on a malformed field
 * (then f->bad is set). */
static inline bool guest_fields_next(guest_fields *f, uint16_t *tag, const uint8_t **val, uint32_t *vlen)
{
    if (f->off == f->len)
        return false;
    if (f->len - f->off < 6) {
        f->bad = true;
        return false;
    }
    uint16_t t = guest_get_u16(f->p + f->off);
    uint32_t l = guest_get_u32(f->p + f->off + 2);
    if (l > f->len - f->off - 6) {
        f->bad = true;
        return false;
    }
    *tag = t;
    *val = f->p + f->off + 6;
    *vlen = l;
    f->off += 6 + (size_t)l;
    return true;
}

/* A u32 field must be exactly 4 bytes; a u64 exactly 8. */
static inline bool guest_field_u32(const uint8_t *val, uint32_t vlen, uint32_t *out)
{
    if (vlen != 4)
        return false;
    *out = guest_get_u32(val);
    return true;
}
static inline bool guest_field_u64(const uint8_t *val, uint32_t vlen, uint64_t *out)
{
    if (vlen != 8)
        return false;
    *out = guest_get_u64(val);
    return true;
}
/* Strings are sent without a terminating NUL and must not contain one. */
static inline bool guest_field_str_ok(const uint8_t *val, uint32_t vlen)
{
    return memchr(val, 0, vlen) == NULL;
}

#endif
