/* Git sources (git.c): BuildKit's git URL forms for contexts and ADD, fetched with the host's
 * git, a shallow fetch of one ref where the server allows it. */
#ifndef CB_BUILDER_GIT_H
#define CB_BUILDER_GIT_H

#include "common.h"

#include <stdbool.h>
#include <stdint.h>

#define BL_GIT_COMMIT_MAX 65 /* sha1 or sha256 hex, NUL */

typedef struct bl_git_ref {
    char *remote;     /* what git fetches: the URL without query and fragment */
    char *ref;        /* tag, branch, full ref or commit; NULL = the remote's HEAD */
    char *subdir;     /* below the repository root, or NULL */
    char *checksum;   /* commit (prefix) the ref must resolve to, or NULL */
    int keep_git_dir; /* -1 unset */
    int submodules;   /* -1 unset (fetched) */
    const char *ssh_sock; /* not owned: the agent (--ssh ID "default") an ssh remote authenticates with */
} bl_git_ref;

/* Does s name a git repository (git@host:…, git://…, ssh://…, http(s)://….git[#…|?…])? */
bool bl_git_is_url(const char *s);
/* Parse a git URL with its #ref:subdir fragment and ?ref=&tag=&branch=&commit=&subdir=… query. */
int bl_git_ref_parse(const char *s, bl_git_ref *out, cb_err *err);
void bl_git_ref_free(bl_git_ref *r);
/* An ssh remote (ssh://…, user@host:path) is reached only with r->ssh_sock, as BuildKit's git
 * source mounts the client's "default" agent; without one it fails as BuildKit does.
 * Check r out into dest (created): the tree of the resolved commit, .git kept only with
 * keep_git_dir; objects are fetched into (and reused from) the bare repository cache_dir when
 * given. commit receives the resolved commit, *commit_time (when not NULL) its committer time
 * (what SOURCE_DATE_EPOCH=context takes from a git context). */
int bl_git_checkout(const bl_git_ref *r, bool keep_git_dir, const char *cache_dir, const char *dest,
                    char commit[BL_GIT_COMMIT_MAX], int64_t *commit_time, cb_err *err);
/* The URL without its user and password, as BuildKit's urlutil.RedactCredentials: each of them
 * that is there becomes "xxxxx" (provenance never records credentials). */
char *bl_url_redact(const char *url);

#endif
