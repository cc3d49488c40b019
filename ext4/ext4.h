/* ext4/: userspace ext4 writer and reader (filled in by the ext4 work). */
#ifndef CB_EXT4_H
#define CB_EXT4_H
#include "common.h"
#endif
