/* parser/: Dockerfile -> AST (filled in by the parser work). */
#ifndef CB_DOCKERFILE_H
#define CB_DOCKERFILE_H
#include "common.h"
#endif
