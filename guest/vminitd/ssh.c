/* vminitd: RUN --mount=type=ssh. A unix socket served by a child process that relays each
 * ssh-agent request and its answer over the mount's own virtio-serial port (protocol.h); one
 * client at a time, so the host needs one connection to its agent for the whole run. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vminitd.h"

#define AGENT_MSG_MAX (256u << 10) /* ssh-agent's own limit */

static int read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One ssh-agent message (u32 big-endian length, then the body) from fd into buf. */
static int read_msg(int fd, uint8_t *buf, size_t *len)
{
    if (read_full(fd, buf, 4) < 0)
        return -1;
    uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (n > AGENT_MSG_MAX || read_full(fd, buf + 4, n) < 0)
        return -1;
    *len = 4 + (size_t)n;
    return 0;
}

static void relay(int ls, int port)
{
    static const uint8_t failure[5] = {0, 0, 0, 1, 5}; /* SSH_AGENT_FAILURE */
    uint8_t *buf = xzalloc(AGENT_MSG_MAX + 4);
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        size_t n;
        while (read_msg(c, buf, &n) == 0) {
            /* the answer is read even when the client left, so the port stays in step */
            if (write_all(port, buf, n) < 0 || read_msg(port, buf, &n) < 0) {
                write_all(c, failure, sizeof failure);
                continue;
            }
            write_all(c, buf, n);
        }
        close(c);
    }
}

int ssh_agent_serve(const char *path, const char *port, uint32_t mode, uint32_t uid, uint32_t gid)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int pfd = port_open(port);
    if (pfd < 0)
        return -ENODEV;
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 16) < 0 ||
        chown(path, uid, gid) < 0 || chmod(path, mode ? mode & 07777 : 0600) < 0) {
        int e = -errno;
        if (ls >= 0)
            close(ls);
        close(pfd);
        return e;
    }
    pid_t pid = fork();
    if (pid == 0) {
        relay(ls, pfd);
        _exit(0);
    }
    close(ls);
    close(pfd);
    return pid < 0 ? -errno : 0;
}
