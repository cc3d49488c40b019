/* guest/vm-ssh.h: ssh-agent relays for a VM's GUEST_MOUNT_SSH_AGENT mounts (vm-ssh.c). */
#ifndef CB_GUEST_VM_SSH_H
#define CB_GUEST_VM_SSH_H

#include "internal.h"

typedef struct vm_agent_relay vm_agent_relay;

/* For each agent mount i: socks[i] = DIR/ssh<i>.sock, listened on (QEMU's chardev connects),
 * relayed to the mount's agent by a thread. Stop with vm_agent_relays_stop even on failure. */
int vm_agent_relays_start(const guest_mount *mounts, size_t n, const char *dir, char **socks,
                          vm_agent_relay **out, cb_err *err);
void vm_agent_relays_stop(vm_agent_relay *v, size_t n);

#endif
