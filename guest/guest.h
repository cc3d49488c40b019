/* guest/: host-side VM launcher, kernel and initramfs (filled in by the guest work). */
#ifndef CB_GUEST_H
#define CB_GUEST_H
#include "common.h"
#endif
