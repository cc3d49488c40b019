/* BuildKit source policies (sourcepolicy/ and its pb.Policy JSON): rules that ALLOW, DENY or
 * CONVERT a build's sources (docker-image://REF, local://NAME, https://URL, git://HOST/PATH#REF,
 * oci-layout://…) by their identifier and attributes, before the source is resolved. */
#ifndef CB_BUILDER_SOURCE_POLICY_H
#define CB_BUILDER_SOURCE_POLICY_H

#include <stdbool.h>

#include "common.h"

typedef struct bl_source_policy bl_source_policy;

/* A source as BuildKit's SourceOp: an identifier and string attributes (http.checksum,
 * git.fullurl, …) as parallel keys and values. */
typedef struct bl_source {
    char *identifier;
    cb_strv attr_keys, attr_values;
} bl_source;

void bl_source_init(bl_source *s, const char *identifier);
void bl_source_free(bl_source *s);
const char *bl_source_attr(const bl_source *s, const char *key); /* NULL when unset */
void bl_source_set_attr(bl_source *s, const char *key, const char *value);

/* The policy file (buildx's EXPERIMENTAL_BUILDKIT_SOURCE_POLICY, buildctl's
 * --source-policy-file): a JSON pb.Policy. Regular expressions (REGEX selectors, MATCHES
 * constraints) are POSIX extended ones; every error names the file and the rule. */
int bl_source_policy_load(const char *path, bl_source_policy **out, cb_err *err);
/* The same from memory; name is the file named in errors. */
int bl_source_policy_parse(const char *json, size_t len, const char *name, bl_source_policy **out, cb_err *err);
void bl_source_policy_free(bl_source_policy *p);

/* BuildKit's Engine.Evaluate: the rules in order, the last matching ALLOW/DENY deciding, a
 * CONVERT that changes the source starting over with the new one (at most 20 times). src is
 * updated in place; *mutated says whether it changed. A denied source fails -EACCES with
 * BuildKit's `source "ID" denied by policy`. A NULL policy allows everything. */
int bl_source_policy_evaluate(const bl_source_policy *p, bl_source *src, bool *mutated, cb_err *err);

#endif
