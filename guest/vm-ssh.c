/* The host side of RUN --mount=type=ssh: per agent mount, a unix socket that QEMU's
 * virtio-serial chardev connects to, relayed byte for byte to one connection to the host's
 * ssh-agent (vminitd keeps the requests in order, protocol.h). Only the agent's socket is
 * reached: no key ever enters the VM. */
#include "vm-ssh.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vm_agent_relay {
    pthread_t thread;
    int listen_fd;
    char *agent;
    atomic_bool stop;
    bool started;
};

static int unix_socket(const char *path, bool do_listen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = do_listen ? bind(fd, (struct sockaddr *)&sa, sizeof sa)
                      : connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r == 0 && do_listen)
        r = listen(fd, 1);
    if (r < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* Copy what is readable from a to b; false at EOF or an error. */
static bool pump(int a, int b)
{
    char buf[16384];
    ssize_t n = read(a, buf, sizeof buf);
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = send(b, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static void *relay_main(void *arg)
{
    vm_agent_relay *r = arg;
    int vm = -1, agent = -1;
    while (!atomic_load(&r->stop)) {
        struct pollfd pf[2];
        int np = 0;
        if (vm < 0)
            pf[np++] = (struct pollfd){r->listen_fd, POLLIN, 0};
        else {
            pf[np++] = (struct pollfd){vm, POLLIN, 0};
            pf[np++] = (struct pollfd){agent, POLLIN, 0};
        }
        if (poll(pf, (nfds_t)np, 100) <= 0)
            continue;
        if (vm < 0) {
            vm = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (vm >= 0 && (agent = unix_socket(r->agent, false)) < 0) {
                cb_warn("ssh: cannot connect to the agent %s: %s", r->agent, strerror(-agent));
                close(vm);
                vm = -1;
                atomic_store(&r->stop, true);
            }
            continue;
        }
        if ((pf[0].revents && !pump(vm, agent)) || (pf[1].revents && !pump(agent, vm)))
            break;
    }
    if (vm >= 0)
        close(vm);
    if (agent >= 0)
        close(agent);
    return NULL;
}

int vm_agent_relays_start(const guest_mount *mounts, size_t n, const char *dir, char **socks,
                          vm_agent_relay **out, cb_err *err)
{
    vm_agent_relay *v = xcalloc(n ? n : 1, sizeof *v);
    *out = v;
    for (size_t i = 0; i < n; i++) {
        v[i].listen_fd = -1;
        if (mounts[i].kind != GUEST_MOUNT_SSH_AGENT)
            continue;
        socks[i] = xasprintf("%s/ssh%zu.sock", dir, i);
        v[i].agent = xstrdup(mounts[i].agent);
        v[i].listen_fd = unix_socket(socks[i], true);
        if (v[i].listen_fd < 0)
            return cb_error(err, -v[i].listen_fd, "ssh agent relay socket %s", socks[i]);
        if (pthread_create(&v[i].thread, NULL, relay_main, &v[i]) != 0)
            return cb_error(err, EAGAIN, "starting the ssh agent relay");
        v[i].started = true;
    }
    return 0;
}

void vm_agent_relays_stop(vm_agent_relay *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        atomic_store(&v[i].stop, true);
        if (v[i].started)
            pthread_join(v[i].thread, NULL);
        if (v[i].listen_fd >= 0)
            close(v[i].listen_fd);
        free(v[i].agent);
    }
    free(v);
}
