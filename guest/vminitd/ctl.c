/* vminitd: the control channel to the host: finding the virtio-serial port and sending
 * frames (guest/protocol.h). main.c reads the incoming frames. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vminitd.h"

int ctl_fd = -1;

/* Without udev there is no /dev/virtio-ports/NAME: match the name in sysfs, retrying while
 * virtio_console probes the port. */
int port_open(const char *port)
{
    for (int tries = 0; tries < 5000; tries++) {
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char path[300], name[128];
            snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", de->d_name);
            if (read_small_file(path, name, sizeof name) < 0 || strcmp(name, port) != 0)
                continue;
            snprintf(path, sizeof path, "/dev/%s", de->d_name);
            int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
            if (fd >= 0) {
                closedir(d);
                return fd;
            }
        }
        if (d)
            closedir(d);
        sleep_ms(1);
    }
    return -1;
}

int ctl_open(void)
{
    ctl_fd = port_open(GUEST_PORT_NAME);
    return ctl_fd;
}

int ctl_send(uint16_t type, const void *payload, size_t len)
{
    if (ctl_fd < 0)
        return -EPIPE;
    uint8_t hdr[GUEST_HDR_LEN];
    guest_hdr_encode(hdr, type, (uint32_t)len);
    int r = write_all(ctl_fd, hdr, sizeof hdr);
    if (r == 0 && len)
        r = write_all(ctl_fd, payload, len);
    return r;
}

int ctl_send_error(uint32_t kind, int errnum, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vlog("%s (errno %d)", msg, errnum);
    guest_msg m = {0};
    guest_msg_u32(&m, GUEST_F_KIND, kind);
    guest_msg_u32(&m, GUEST_F_ERRNO, (uint32_t)errnum);
    guest_msg_str(&m, GUEST_F_MESSAGE, msg);
    ctl_send(GUEST_MSG_ERROR, m.p, m.len);
    guest_msg_free(&m);
    return -1;
}
