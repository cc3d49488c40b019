/* oci/: OCI images, layouts, layers and the registry client (filled in by the oci work). */
#ifndef CB_OCI_H
#define CB_OCI_H
#include "common.h"
#endif
