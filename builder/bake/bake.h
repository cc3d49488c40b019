/* builder/bake/: bake definitions (docker-bake.json, docker-bake.hcl, compose.yaml build
 * sections) read, merged in order and resolved into buildx's model: groups and targets with
 * buildx's JSON keys, as `docker buildx bake --print` shows them. */
#ifndef CB_BAKE_H
#define CB_BAKE_H
#include <jansson.h>

#include "common.h"

typedef struct bake_def {
    json_t *target;   /* name -> attributes (buildx's keys); strings may still hold ${VAR} */
    json_t *group;    /* name -> {"targets": [...]} */
    json_t *variable; /* name -> default (string, number, bool or null) */
    cb_strv refs;     /* "FILE:LINE\tNAME": variables an HCL file names, checked when resolving */
} bake_def;

void bake_def_init(bake_def *d);
void bake_def_free(bake_def *d);
/* buildx's default definition files, in the order it reads (and merges) those present */
extern const char *const bake_default_files[];
/* Read one file into d, merged over what d holds: .json, .hcl, else compose YAML. */
int bake_file_read(bake_def *d, const char *path, cb_err *err);
int bake_json_parse(bake_def *d, const char *path, const char *text, cb_err *err);
int bake_hcl_parse(bake_def *d, const char *path, const char *text, cb_err *err);
int bake_compose_parse(bake_def *d, const char *path, const char *text, cb_err *err);

/* A target attribute's value in the model's types (strings, lists and maps of strings, bools):
 * a new reference, or NULL with why filled (an unknown key, a wrong type). */
json_t *bake_attr_normalize(const char *key, json_t *val, char *why, size_t n);
/* Add a target's attributes over those of t as buildx's Target.Merge: args, labels and
 * contexts by key; cache-from, secret and the other merged lists appended; the rest replaced. */
void bake_target_merge(json_t *t, json_t *t2);
/* Put a target read from a file into d, merged over one of the same name read before. */
void bake_def_put_target(bake_def *d, const char *name, json_t *attrs);

/* Resolve names (targets or groups; none: "default") with --set overrides
 * (TARGET.KEY=VALUE, TARGET a pattern such as `*`) into {"group": {...}, "target": {...}}. */
int bake_def_resolve(bake_def *d, const cb_strv *names, const cb_strv *sets, json_t **out, cb_err *err);
/* buildx --print's text for a resolved definition (malloc'd, ends with a newline) */
char *bake_print(json_t *resolved);

#endif
