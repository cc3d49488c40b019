/* ext4/: write ext4 images in userspace in one streaming pass (format + populate), read them
 * back, turn OCI layer tars into images and overlay upper images into OCI layer tars.
 *
 * Images: 4 KiB blocks, 64bit, extents, flex_bg, sparse_super, large_file, huge_file,
 * dir_index (htree for every directory over one block), 256-byte inodes with ns times,
 * metadata_csum, filetype, dir_nlink, extra_isize and an internal jbd2 journal (inode 8);
 * clean, e2fsck -fn silent, byte-identical for the same input and options. */
#ifndef CB_EXT4_H
#define CB_EXT4_H

#include "common.h"

#include <sys/stat.h>

/* ---------------------------------------------------------------- options */

enum ext4_mode {
    /* Docker semantics: `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory, a
     * later entry replaces an earlier one, a directory replaced by a non-directory loses its
     * children. Whiteouts never appear in the image. */
    EXT4_MODE_FLATTEN = 0,
    /* One layer as an overlayfs layer: `.wh.NAME` becomes a 0:0 character device NAME (mode
     * 0), `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory. */
    EXT4_MODE_OVERLAY = 1,
};

/* The overlay disk layout used by guest/: the overlay upperdir is IMAGE:/upper, its workdir
 * IMAGE:/work. Overlay-mode layer images keep their tree under EXT4_OVERLAY_UPPER_DIR too,
 * so a finished upper disk and a layer image built from a tar look the same and both serve
 * as lowerdir=<mountpoint>/upper. */
#define EXT4_OVERLAY_UPPER_DIR "upper"
#define EXT4_OVERLAY_WORK_DIR "work"

typedef struct ext4_options {
    uint64_t size;            /* image size in bytes; 0 = automatic from the content */
    uint64_t extra_free_space;/* automatic size: bytes of free space to leave (default 0) */
    uint64_t extra_free_inodes; /* automatic size: free inodes to leave (default 0) */
    enum ext4_mode mode;      /* FLATTEN (default) or OVERLAY */
    /* Directory under the image root that receives the tree: NULL = the image root in
     * FLATTEN mode, EXT4_OVERLAY_UPPER_DIR in OVERLAY mode; "" forces the image root. */
    const char *root_subdir;
    /* Clamp every timestamp to at most this value (SOURCE_DATE_EPOCH); -1 = no clamp.
     * Also used as the filesystem's own timestamps when >= 0. */
    int64_t source_date_epoch;
    /* Determinism: UUID, hash seed and journal UUID are derived from this string (e.g. the
     * input's digest). NULL = derived from a digest of everything added (still byte-
     * reproducible for the same input). */
    const char *seed;
    const char *label;        /* volume label, up to 16 bytes; NULL = none */
    /* Reserved: 0 means 4096. Only 4096 is supported. */
    uint32_t block_size;
} ext4_options;

/* Defaults: automatic size, FLATTEN, no clamp, no seed, no label. */
void ext4_options_init(ext4_options *opts);

/* ---------------------------------------------------------------- writer */

typedef struct ext4_writer ext4_writer;

/* Metadata of one entry added by call. Paths are relative to the tree root ("a/b", "/a/b"
 * and "./a/b" are the same; ".." components are resolved inside the root, never above it).
 * Missing parent directories are created (0755, root, with the entry's times). */
typedef struct ext4_entry {
    const char *path;
    mode_t mode;              /* type bits (S_IFREG...) + permission bits incl. suid/sgid/sticky */
    uint32_t uid, gid;
    dev_t rdev;               /* character and block devices */
    struct timespec atime, mtime, ctime, crtime; /* crtime {0,0} = mtime */
} ext4_entry;

/* Extended attribute: full name with namespace ("user.x", "trusted.overlay.opaque",
 * "security.capability", "system.posix_acl_access" in the VFS xattr format). */
typedef struct ext4_xattr {
    const char *name;
    const void *value;
    size_t size;
} ext4_xattr;

/* Start a new filesystem for OUT_PATH. The image is written to a temporary file beside it
 * and renamed over OUT_PATH (after fsync) by finish, so an existing file is untouched until
 * then; OUT_PATH must not be a directory or device. With opts->size == 0 the size is
 * computed at finish. opts may be NULL (defaults). */
int ext4_writer_new(const char *out_path, const ext4_options *opts, ext4_writer **out, cb_err *err);
/* Finish the image: lay out metadata, write directories, inodes, bitmaps, journal and
 * superblocks, fsync and rename into place. After an error nothing is left behind. */
int ext4_writer_finish(ext4_writer *w, cb_err *err);
/* Frees the writer (when finish did not succeed, the temporary file is removed). */
void ext4_writer_free(ext4_writer *w);

/* Each add_* replaces an existing entry at the same path (a directory over a directory only
 * updates its metadata and keeps its children; anything else over a directory removes the
 * directory and its children). xattrs may be NULL/0. */
/* Regular file with `size` bytes read from fd (read(2) sequentially; all-zero 4 KiB blocks
 * become holes). */
int ext4_writer_add_file_fd(ext4_writer *w, const ext4_entry *e, int fd, uint64_t size,
                            const ext4_xattr *xattrs, size_t nxattrs, cb_err *err);
int ext4_writer_add_file_buf(ext4_writer *w, const ext4_entry *e, const void *data, size_t size,
                             const ext4_xattr *xattrs, size_t nxattrs, cb_err *err);
int ext4_writer_add_dir(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs,
                        size_t nxattrs, cb_err *err);
int ext4_writer_add_symlink(ext4_writer *w, const ext4_entry *e, const char *target,
                            const ext4_xattr *xattrs, size_t nxattrs, cb_err *err);
/* Character/block device, FIFO or socket: type from e->mode. */
int ext4_writer_add_special(ext4_writer *w, const ext4_entry *e, const ext4_xattr *xattrs,
                            size_t nxattrs, cb_err *err);
/* Hard link `path` to the existing non-directory `target` (both relative to the root). */
int ext4_writer_add_hardlink(ext4_writer *w, const char *path, const char *target, cb_err *err);
/* Remove `path` and everything under it (no error when absent). */
int ext4_writer_remove(ext4_writer *w, const char *path, cb_err *err);
/* Overlay whiteout for `path` (0:0 character device, mode 0). In FLATTEN mode: remove. */
int ext4_writer_add_whiteout(ext4_writer *w, const char *path, cb_err *err);
/* Opaque directory `path`: FLATTEN removes its current children; OVERLAY sets
 * trusted.overlay.opaque=y. The directory is created when missing. */
int ext4_writer_set_opaque(ext4_writer *w, const char *path, cb_err *err);

/* Apply one tar stream (plain, gzip or zstd, auto-detected) read from fd: OCI whiteouts per
 * mode, hostile paths resolved as containerd does. `name` labels errors (e.g. the file or
 * the layer digest); may be NULL. */
int ext4_writer_add_tar_fd(ext4_writer *w, int fd, const char *name, cb_err *err);
/* Copy a host directory tree (never following symlinks) into the root. */
int ext4_writer_add_host_dir(ext4_writer *w, const char *dir, cb_err *err);

/* ---------------------------------------------------------------- one-call helpers */

/* Flattened image from N layer tars (paths; "-" = stdin) applied in order. */
int ext4_build_from_tars(const char *out_path, const char *const *tars, size_t ntars,
                         const ext4_options *opts, cb_err *err);
/* Overlay layer image (mode forced to OVERLAY) from one layer tar read from fd. */
int ext4_build_overlay_layer_fd(const char *out_path, int tar_fd, const ext4_options *opts,
                                cb_err *err);
/* Empty sparse image of exactly `size` bytes (for a VM's upper disk or a cache mount),
 * with the directories in `dirs` (NULL-terminated, may be NULL) created at its root, mode
 * 0755, owned by root — e.g. {EXT4_OVERLAY_UPPER_DIR, EXT4_OVERLAY_WORK_DIR, NULL}. */
int ext4_create_empty(const char *out_path, uint64_t size, const char *const *dirs,
                      const ext4_options *opts, cb_err *err);

/* ---------------------------------------------------------------- reader */

typedef struct ext4_reader ext4_reader;

typedef struct ext4_stat {
    uint32_t ino;
    mode_t mode;          /* type + permissions */
    uint32_t uid, gid;
    uint32_t nlink;
    uint64_t size;
    dev_t rdev;
    struct timespec atime, mtime, ctime, crtime;
} ext4_stat;

int ext4_reader_open(const char *img_path, ext4_reader **out, cb_err *err);
void ext4_reader_free(ext4_reader *r);
/* Resolve `path` from the root without following a final symlink (intermediate symlinks
 * are not followed either: a path through a symlink is ENOENT/ENOTDIR). */
int ext4_reader_lookup(ext4_reader *r, const char *path, uint32_t *ino, cb_err *err);
int ext4_reader_stat(ext4_reader *r, uint32_t ino, ext4_stat *st, cb_err *err);

/* readdir: callback per entry except "." and ".." (in on-disk order); returning non-zero
 * stops the walk and is returned. */
typedef int (*ext4_dirent_fn)(void *ctx, const char *name, uint32_t ino, unsigned file_type);
int ext4_reader_readdir(ext4_reader *r, uint32_t dir_ino, ext4_dirent_fn fn, void *ctx, cb_err *err);
/* Depth-first walk below dir_ino in sorted (bytewise) name order; `path` is relative to the
 * walk's start ("a/b"). Returning non-zero stops the walk. */
typedef int (*ext4_walk_fn)(void *ctx, const char *path, const ext4_stat *st);
int ext4_reader_walk(ext4_reader *r, uint32_t dir_ino, ext4_walk_fn fn, void *ctx, cb_err *err);

/* Read up to n bytes at offset (holes read as zeros); returns bytes read (0 at EOF) or <0. */
ssize_t ext4_reader_pread(ext4_reader *r, uint32_t ino, void *buf, size_t n, uint64_t off, cb_err *err);
/* Copy a regular file's whole content to fd. */
int ext4_reader_copy_to_fd(ext4_reader *r, uint32_t ino, int fd, cb_err *err);
/* Symlink target (NUL-terminated, malloc'd) into *out. */
int ext4_reader_readlink(ext4_reader *r, uint32_t ino, char **out, cb_err *err);
/* All xattrs (in-inode then block), full names, ACLs converted to the VFS xattr format.
 * Free with ext4_xattrs_free. */
int ext4_reader_xattrs(ext4_reader *r, uint32_t ino, ext4_xattr **out, size_t *n, cb_err *err);
void ext4_xattrs_free(ext4_xattr *x, size_t n);

/* ---------------------------------------------------------------- export */

typedef struct ext4_export_options {
    /* Export the tree below this directory of the image ("upper"); NULL or "" = root. */
    const char *root_subdir;
    /* Clamp mtimes in the tar to this value; -1 = no clamp. */
    int64_t source_date_epoch;
    /* OCI layer from an overlay upper: 0:0 char devices become `.wh.NAME` (each its own
     * entry, even when they share one inode), trusted.overlay.opaque=y becomes
     * `DIR/.wh..wh..opq`, other trusted.overlay.* xattrs are dropped. */
    bool oci_layer;
    /* Skip /lost+found at the export root (default true via ext4_export_options_init). */
    bool skip_lost_found;
} ext4_export_options;

void ext4_export_options_init(ext4_export_options *o);
/* Write a deterministic POSIX pax tar (sorted entries, hard links as links, xattrs as
 * SCHILY.xattr.*) to fd. */
int ext4_reader_export_tar(ext4_reader *r, int fd, const ext4_export_options *o, cb_err *err);
/* Convenience: open img, export as an OCI layer from root_subdir ("upper" if NULL). */
int ext4_upper_to_oci_layer(const char *img_path, const char *root_subdir, int fd,
                            int64_t source_date_epoch, cb_err *err);

#endif
