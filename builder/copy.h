/* COPY/ADD internals shared by source selection (copy-select.c), the cache keys (key.c) and
 * the executor (exec-copy.c). */
#ifndef CB_BUILDER_COPY_H
#define CB_BUILDER_COPY_H

#include "internal.h"

enum origin { O_CTX, O_ROOTFS, O_BUF, O_FILE, O_ARCHIVE };

typedef struct sel_entry {
    char *rel; /* path below the copy's target ("" = the target itself) */
    char *src; /* path in the source */
    enum origin origin;
    struct stat st;
    char *linkname;
    bl_node node;
    char *data; /* O_BUF */
    size_t len;
    char *file;          /* O_FILE / O_ARCHIVE: host path (downloads) or context path (archives) */
    bool target_is_file; /* rel names the file itself: placed at dest or dest/<rel> */
    bool source_keyed;   /* a git checkout's file: the cache key has its commit (source_keys) */
} sel_entry;

typedef struct sel {
    sel_entry *v;
    size_t n, cap;
} sel;

/* A source filesystem: the context or a merged image view. */
typedef struct srcfs {
    bl_context *ctx; /* context, or NULL */
    bl_rootfs *view; /* image view, or NULL */
    df_ignore *excl; /* --exclude */
} srcfs;

typedef struct copy_ctx {
    bl_exec_in *in;
    const df_cmd *cmd;
    bool add;
    srcfs fs;
    bl_rootfs *from_view;
    cb_strv from_images;
    sel s;
    cb_strv tmpfiles;
    cb_strv tmpdirs;     /* git checkouts, removed with the context */
    cb_strv source_keys; /* what keys the source_keyed entries: remote, commit, subdir, .git kept */
    mode_t chmod;           /* octal --chmod */
    const char *chmod_spec; /* symbolic --chmod (applied per entry), or NULL */
    /* directories the copy creates: root's (or --chown's), 0755 or the octal --chmod
     * (fsutil's Copy: MkdirAll(dest, ci.Mode, ci.Chown)), whatever the source's owners */
    mode_t dir_mode;
    uint32_t dir_uid, dir_gid;
} copy_ctx;

static inline const char *bl_copy_keyword(const copy_ctx *cc)
{
    return cc->add ? "ADD" : "COPY";
}

sel_entry *bl_sel_add(sel *s);
void bl_sel_free(sel *s);
void bl_stat_from_ext4(const ext4_stat *es, struct stat *st);
char *bl_join_rel(const char *a, const char *b);
/* Open the source filesystem: the context, or (need_view) the --from stage's or image's view. */
int bl_copy_sources_open(copy_ctx *cc, bool need_view, cb_err *err);
void bl_copy_ctx_free(copy_ctx *cc);
/* Add the files of a git URL's checkout (git.c; ADD only). */
int bl_copy_select_git(copy_ctx *cc, const char *url, cb_err *err);
/* Add the entries one path argument selects (globs expanded, directories walked). */
int bl_copy_select_path(copy_ctx *cc, const char *arg, cb_err *err);
/* A reader for what ADD extracts: tar, optionally gzip, bzip2, xz or zstd compressed. */
struct archive *bl_add_archive_reader(void);
/* Is this file a tar that ADD extracts? (the offset is rewound) */
bool bl_copy_is_archive_fd(int fd);
/* Download url to path (revalidating a cached copy, http.c); *mtime from Last-Modified or -1. */
int bl_http_fetch(bl_build *b, const char *url, const char *path, int64_t *mtime, cb_err *err);
/* Select all sources: heredocs, URLs (downloaded), paths. */
int bl_copy_select_sources(copy_ctx *cc, cb_err *err);

#endif
