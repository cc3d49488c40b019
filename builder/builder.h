/* builder/: planning, solving, step executors, exporters, progress. */
#ifndef CB_BUILDER_H
#define CB_BUILDER_H
#include "common.h"
#endif
