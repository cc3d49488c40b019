/* cache/: the local store (filled in by the oci and builder work). */
#ifndef CB_STORE_H
#define CB_STORE_H
#include "common.h"
#endif
