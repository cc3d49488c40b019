/* CDI (Container Device Interface) devices for RUN --device: the spec files of the spec
 * directories (YAML or JSON: cdiVersion, kind "vendor.com/class", devices[].name,
 * containerEdits), BuildKit's device lookup (solver/llbsolver/cdidevices) and its `device`
 * entitlement (solver/llbsolver/vertex.go ValidateEntitlements). A RUN step is a VM, not a
 * container on the host: of a device's containerEdits only env can reach it. */
#ifndef CBUILD_BUILDER_CDI_H
#define CBUILD_BUILDER_CDI_H

#include "common.h"
#include "dockerfile.h"

/* The spec directories when CBUILD_CDI_SPEC_DIRS is unset, lowest priority first (CDI's). */
#define CDI_DEFAULT_SPEC_DIRS "/etc/cdi:/var/run/cdi"

/* What a VM cannot be given of a device's edits: the first such containerEdits field. */
typedef struct cdi_edits {
    cb_strv env;             /* "K=V" */
    const char *unsupported; /* "deviceNodes", "mounts", "hooks"… or NULL */
} cdi_edits;

typedef struct cdi_spec {
    char *path;
    char *kind;      /* "vendor.com/class" */
    size_t dir;      /* index of its spec directory: a later one overrides an earlier one */
    cdi_edits edits; /* applied once for any of its devices */
} cdi_spec;

typedef struct cdi_device {
    char *name;  /* qualified: "vendor.com/class=name" */
    size_t spec; /* index in cdi_registry.specs */
    size_t line; /* in the spec file, for errors */
    char *class_annotation; /* org.mobyproject.buildkit.device.class, or NULL */
    bool autoallow;         /* org.mobyproject.buildkit.device.autoallow is true */
    cdi_edits edits;
} cdi_device;

typedef struct cdi_registry {
    cdi_spec *specs;
    size_t n_specs;
    cdi_device *devices;
    size_t n_devices;
} cdi_registry;

void cdi_registry_init(cdi_registry *r);
void cdi_registry_free(cdi_registry *r);
/* Every *.json and *.yaml spec of the colon-separated directories (missing ones are skipped),
 * in name order; a device defined again in a later directory replaces the earlier one, twice
 * in one directory is an error. */
int cdi_registry_load(cdi_registry *r, const char *dirs, cb_err *err);
/* One spec file's text (path names it in errors), dir its directory's index. */
int cdi_registry_add_spec(cdi_registry *r, const char *path, const char *text, size_t len, size_t dir,
                          cb_err *err);
const cdi_device *cdi_registry_get(const cdi_registry *r, const char *name);

/* --allow device[=NAME[,alias=ALIAS]] (buildx, BuildKit's DevicesConfig), merged. */
typedef struct cdi_allow {
    bool all;         /* --allow device: every device */
    cb_strv names;    /* granted devices (request syntax: kind, kind=name, kind=*, a class) */
    cb_strv aliases;  /* per name: the request name the build uses for it, "" for none */
} cdi_allow;
void cdi_allow_init(cdi_allow *a);
void cdi_allow_free(cdi_allow *a);
/* value: what follows "device" in --allow (NULL or "" for all, else "NAME[,alias=ALIAS]"). */
int cdi_allow_add(cdi_allow *a, const char *value, cb_err *err);

/* One RUN's devices: the entitlement checked, optional devices not registered noted in
 * warnings, and the environment their edits add (K=V, later ones replacing earlier keys). */
int cdi_resolve(const cdi_registry *r, const cdi_allow *a, const df_device *reqs, size_t n, cb_strv *env,
                cb_strv *warnings, cb_err *err);

#endif
