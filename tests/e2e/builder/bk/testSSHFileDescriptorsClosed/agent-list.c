/* agent-list: `ssh-add -l` reduced to what the ssh cases need, static so it runs in busybox:
 * asks $SSH_AUTH_SOCK for its identities (SSH2_AGENTC_REQUEST_IDENTITIES) and prints how many
 * keys the agent holds, as "keys: N". Exit 1 when the agent cannot be reached or answers oddly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int main(void)
{
    const char *path = getenv("SSH_AUTH_SOCK");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "agent-list: SSH_AUTH_SOCK is not set\n");
        return 1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("agent-list: connect");
        return 1;
    }
    const unsigned char req[5] = {0, 0, 0, 1, 11};
    unsigned char hdr[9];
    if (write(fd, req, sizeof req) != sizeof req || read_full(fd, hdr, 9) < 0 || hdr[4] != 12) {
        fprintf(stderr, "agent-list: no identities answer\n");
        return 1;
    }
    printf("keys: %u\n", (unsigned)hdr[5] << 24 | (unsigned)hdr[6] << 16 | (unsigned)hdr[7] << 8 | hdr[8]);
    return 0;
}
