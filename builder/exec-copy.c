/* COPY and ADD, on the host: sources from the context, another stage or image, heredocs or
 * URLs; Docker's rules for globs, directories (contents copied), trailing slashes, created
 * destinations, --chown/--chmod/--link/--exclude/--parents, ADD auto-extraction and
 * --checksum. The layer is written as a tar blob and an overlay ext4 image in one pass. */
#include "internal.h"
#include "attest.h"
#include "copy.h"
#include "git.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static bool is_url(const char *s)
{
    return cb_str_has_prefix(s, "http://") || cb_str_has_prefix(s, "https://");
}

/* ---------- selection ---------- */

/* Select all sources. with_content: also download URLs (key computation needs them). */
int bl_copy_select_sources(copy_ctx *cc, cb_err *err)
{
    const df_cmd *cmd = cc->cmd;
    size_t nsrc = cmd->args.n ? cmd->args.n - 1 : 0;
    /* heredoc sources (COPY <<EOF /dst): files named after their delimiter */
    for (size_t i = 0; i < cmd->n_inline_files; i++) {
        const df_heredoc *h = &cmd->inline_files[i]; /* chomped and expanded by the plan */
        char *content = xstrdup(h->content);
        sel_entry *e = bl_sel_add(&cc->s);
        e->rel = xstrdup(h->name);
        e->src = xasprintf("<<%s", h->name);
        e->origin = O_BUF;
        e->data = content;
        e->len = strlen(content);
        e->st.st_mode = S_IFREG | 0644;
        e->st.st_size = (off_t)e->len;
        e->st.st_mtime = cc->in->b->epoch >= 0 ? cc->in->b->epoch : bl_now(); /* like llb.Mkfile */
        e->target_is_file = true;
    }
    for (size_t i = 0; i < nsrc; i++) {
        const char *arg = cmd->args.v[i];
        if (bl_git_is_url(arg)) {
            if (!cc->add)
                return cb_fail(err, "source can't be a git ref for COPY");
            int rc = bl_copy_select_git(cc, arg, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (is_url(arg)) {
            if (!cc->add)
                return cb_fail(err, "source can't be a URL for COPY");
            cleanup_free char *tmp = bl_step_tmp(cc->in->b, "download");
            int64_t mtime = -1;
            progress_status(cc->in->b->prog, cc->in->progress_id, "downloading %s", arg);
            int rc = bl_http_fetch(cc->in->b, arg, tmp, &mtime, err);
            if (rc < 0)
                return rc;
            cb_strv_push(&cc->tmpfiles, tmp);
            char got[CB_DIGEST_STR_LEN];
            if ((rc = cb_sha256_file(tmp, got, err)) < 0)
                return rc;
            if (cmd->checksum && strcmp(got, cmd->checksum))
                return cb_fail(err, "digest mismatch for %s: %s (expected: %s)", arg, got, cmd->checksum);
            bl_attest_note_source(cc->in->b, arg, got);
            /* the file is named after the URL's last path element */
            const char *u = strstr(arg, "://") + 3;
            const char *slash = strchr(u, '/');
            cleanup_free char *pathpart = xstrdup(slash ? slash : "/");
            char *q = strpbrk(pathpart, "?#");
            if (q)
                *q = 0;
            const char *base = strrchr(pathpart, '/');
            base = base ? base + 1 : pathpart;
            sel_entry *e = bl_sel_add(&cc->s);
            e->rel = xstrdup(*base ? base : "__unnamed__");
            e->src = xstrdup(arg);
            e->origin = O_FILE;
            e->file = xstrdup(tmp);
            struct stat st;
            stat(tmp, &st);
            e->st.st_mode = S_IFREG | 0600;
            e->st.st_size = st.st_size;
            e->st.st_mtime = mtime > 0 ? mtime : 0;
            e->target_is_file = true;
            /* ADD --unpack=true extracts a downloaded archive (BuildKit: never without it) */
            int afd = cmd->unpack == 1 ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
            if (afd >= 0) {
                if (bl_copy_is_archive_fd(afd)) {
                    e->origin = O_ARCHIVE;
                    free(e->rel);
                    e->rel = xstrdup("");
                    e->target_is_file = false;
                }
                close(afd);
            }
            continue;
        }
        int rc = bl_copy_select_path(cc, arg, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---------- execution ---------- */

typedef struct placed {
    char *path;   /* absolute, clean, in the image */
    sel_entry *e; /* NULL for archive members (handled apart) */
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const char *x = ((const placed *)a)->path, *y = ((const placed *)b)->path;
    /* parents before children: compare with '/' as the smallest byte */
    for (;; x++, y++) {
        unsigned char cx = *x == '/' ? 1 : (unsigned char)*x, cy = *y == '/' ? 1 : (unsigned char)*y;
        if (cx != cy || !cx)
            return (int)cx - (int)cy;
    }
}

/* --chmod: octal (one mode for everything) or symbolic (*symbolic set: applied to each entry's
 * own mode, as chmod(1)). */
static int parse_chmod(const char *s, mode_t *out, bool *symbolic, cb_err *err)
{
    int rc = df_chmod_check(s, err);
    if (rc < 0)
        return rc;
    *symbolic = !(*s >= '0' && *s <= '9');
    *out = *symbolic ? 0 : (mode_t)strtoul(s, NULL, 8);
    return 0;
}

/* The mode an entry gets under --chmod. */
static mode_t chmod_mode(const copy_ctx *cc, mode_t mode)
{
    if (!cc->chmod_spec)
        return (mode & S_IFMT) | cc->chmod;
    mode_t m = mode & 07777;
    cb_err e;
    df_chmod_apply(cc->chmod_spec, mode, S_ISDIR(mode), &m, &e); /* checked by parse_chmod */
    return (mode & S_IFMT) | m;
}

static int add_entry(bl_layer_out *lo, copy_ctx *cc, bl_rootfs *view, const char *path, const struct stat *st,
                     const char *linkname, int fd, const void *buf, uint32_t uid, uint32_t gid,
                     bool chmod_set, cb_strv *done, cb_err *err)
{
    int rc = bl_layer_out_parents(lo, view, path, cc->dir_mode, cc->dir_uid, cc->dir_gid, done, err);
    if (rc < 0)
        return rc;
    oci_tar_entry te = {.path = path + 1,
                        .mode = st->st_mode,
                        .uid = uid,
                        .gid = gid,
                        .size = S_ISREG(st->st_mode) ? st->st_size : 0,
                        .mtime = st->st_mtim,
                        .linkname = linkname,
                        .rdev = st->st_rdev};
    if (chmod_set && !S_ISLNK(st->st_mode))
        te.mode = chmod_mode(cc, st->st_mode);
    if (S_ISDIR(st->st_mode)) {
        if (cb_strv_contains(done, path))
            return 0;
        cb_strv_push(done, path);
    }
    return bl_layer_out_add(lo, &te, fd, buf, err);
}

static void archive_member_resolve(bl_rootfs *view, char **path)
{
    char *res = NULL;
    bl_node n;
    cb_err e;
    if (!view)
        return;
    bl_rootfs_resolve(view, *path, false, &res, &n, &e);
    if (res) {
        free(*path);
        *path = res;
    }
}

/* Extract an archive (ADD) below dest. Members keep their owners unless --chown. */
static int add_archive(bl_layer_out *lo, copy_ctx *cc, bl_rootfs *view, const char *dest, int fd,
                       bool chown_set, uint32_t uid, uint32_t gid, cb_strv *done, cb_err *err)
{
    struct archive *a = bl_add_archive_reader();
    int rc = 0;
    /* declared before the first goto: a jump must not bypass a cleanup variable */
    cleanup_free char *tmp = bl_step_tmp(cc->in->b, "member");
    if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
        rc = cb_fail(err, "%s", archive_error_string(a));
        goto out;
    }
    struct archive_entry *ae;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        cleanup_free char *joined = xasprintf("%s/%s", dest, archive_entry_pathname(ae));
        cleanup_free char *path = bl_path_clean(joined);
        if (!strcmp(path, "/") || !cb_str_has_prefix(path, dest))
            continue;
        /* members land through the image's symlinks (var/run -> /run), inside the root */
        archive_member_resolve(view, &path);
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_mode = archive_entry_mode(ae);
        st.st_size = archive_entry_size(ae);
        st.st_mtim.tv_sec = archive_entry_mtime(ae);
        st.st_mtim.tv_nsec = archive_entry_mtime_nsec(ae);
        st.st_rdev = archive_entry_rdev(ae);
        uint32_t u = chown_set ? uid : (uint32_t)archive_entry_uid(ae);
        uint32_t g = chown_set ? gid : (uint32_t)archive_entry_gid(ae);
        const char *hl = archive_entry_hardlink(ae);
        if (hl) {
            cleanup_free char *hj = xasprintf("%s/%s", dest, hl);
            cleanup_free char *hp = bl_path_clean(hj);
            archive_member_resolve(view, &hp);
            oci_tar_entry te = {
                .path = path + 1, .mode = S_IFREG | 0644, .linkname = hp + 1, .hardlink = true};
            if ((rc = bl_layer_out_parents(lo, view, path, cc->dir_mode, cc->dir_uid, cc->dir_gid, done, err)) < 0 ||
                (rc = bl_layer_out_add(lo, &te, -1, NULL, err)) < 0)
                goto out;
            continue;
        }
        int dfd = -1;
        if (S_ISREG(st.st_mode)) {
            dfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (dfd < 0) {
                rc = cb_error(err, errno, "create %s", tmp);
                goto out;
            }
            if (archive_read_data_into_fd(a, dfd) != ARCHIVE_OK) {
                close(dfd);
                rc = cb_fail(err, "%s", archive_error_string(a));
                goto out;
            }
            lseek(dfd, 0, SEEK_SET);
        }
        rc = add_entry(lo, cc, view, path, &st, archive_entry_symlink(ae), dfd, NULL, u, g, false, done,
                       err);
        if (dfd >= 0)
            close(dfd);
        if (rc < 0)
            goto out;
    }
    if (r != ARCHIVE_EOF)
        rc = cb_fail(err, "%s", archive_error_string(a));
out:
    unlink(tmp);
    archive_read_free(a);
    return rc;
}

/* --chown's uid/gid from the image's passwd/group (for --link: the image below all the same). */
static int copy_chown(bl_exec_in *in, bl_rootfs *view, uint32_t *uid, uint32_t *gid, cb_err *err)
{
    if (view)
        return bl_rootfs_resolve_user(view, in->cmd->chown, uid, gid, err);
    bl_rootfs *v2 = NULL;
    cb_strv im2;
    cb_strv_init(&im2);
    int rc = bl_chain_images(in->b->st, in->chain, &im2, err);
    if (rc == 0)
        rc = bl_rootfs_open(&im2, &v2, err);
    if (rc == 0)
        rc = bl_rootfs_resolve_user(v2, in->cmd->chown, uid, gid, err);
    bl_rootfs_free(v2);
    cb_strv_free(&im2);
    return rc;
}

/* The destination: relative to WORKDIR; a trailing slash (or ".") or an existing directory
 * makes it a directory; symlinks in it resolve inside the image, as BuildKit does. */
static char *copy_dest(bl_exec_in *in, bl_rootfs *view, bool *dest_dir)
{
    const char *dest_arg = in->cmd->args.v[in->cmd->args.n - 1];
    size_t dl = strlen(dest_arg);
    *dest_dir =
        dl == 0 || dest_arg[dl - 1] == '/' || !strcmp(dest_arg, ".") || cb_str_has_suffix(dest_arg, "/.");
    cleanup_free char *joined =
        dest_arg[0] == '/'
            ? xstrdup(dest_arg)
            : xasprintf("%s/%s", in->config->working_dir ? in->config->working_dir : "/", dest_arg);
    char *dest = bl_path_clean(joined);
    if (view) {
        char *res = NULL;
        bl_node dn;
        cb_err e;
        int r2 = bl_rootfs_resolve(view, dest, true, &res, &dn, &e);
        if (r2 == 0 && S_ISDIR(dn.st.mode))
            *dest_dir = true;
        if (res) {
            free(dest);
            dest = res;
        }
    }
    return dest;
}

/* A regular file's data: the context file, the download, or a copy out of the --from view. */
static int entry_open(bl_exec_in *in, copy_ctx *cc, const sel_entry *e, int *fd, cb_err *err)
{
    *fd = -1;
    if (e->origin == O_CTX)
        return bl_context_open_file(&in->b->ctx, e->src, fd, err);
    if (e->origin == O_FILE) {
        *fd = open(e->file, O_RDONLY | O_CLOEXEC);
        return *fd < 0 ? cb_error(err, errno, "open %s", e->file) : 0;
    }
    if (e->origin != O_ROOTFS)
        return 0;
    cleanup_free char *tmp = bl_step_tmp(in->b, "from");
    *fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (*fd < 0)
        return cb_error(err, errno, "create %s", tmp);
    unlink(tmp);
    int rc = bl_rootfs_copy_to_fd(cc->from_view, &e->node, *fd, err);
    lseek(*fd, 0, SEEK_SET);
    return rc;
}

/* Where each selected entry lands, parents first. */
static placed *place_entries(sel *s, const char *dest, bool dest_dir)
{
    placed *pl = xcalloc(s->n ? s->n : 1, sizeof *pl);
    for (size_t i = 0; i < s->n; i++) {
        sel_entry *e = &s->v[i];
        char *p;
        if (e->origin == O_ARCHIVE)
            p = xstrdup(dest);
        else if (e->target_is_file && !dest_dir)
            p = xstrdup(dest);
        else
            p = *e->rel ? xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", e->rel) : xstrdup(dest);
        pl[i].path = bl_path_clean(p);
        free(p);
        pl[i].e = e;
    }
    qsort(pl, s->n, sizeof *pl, cmp_placed);
    return pl;
}

/* A directory target exists even when nothing is copied into it: as it is in the image, or
 * created (cc->dir_mode, the --chown owner). */
static int add_dest_dir(bl_layer_out *lo, copy_ctx *cc, bl_rootfs *view, const char *dest, uint32_t uid,
                        uint32_t gid, cb_strv *done, cb_err *err)
{
    struct stat dst;
    memset(&dst, 0, sizeof dst);
    bl_node dn;
    cb_err e;
    if (view && bl_rootfs_lookup(view, dest, &dn, &e) == 0 && S_ISDIR(dn.st.mode)) {
        bl_stat_from_ext4(&dn.st, &dst);
        return add_entry(lo, cc, view, dest, &dst, NULL, -1, NULL, dn.st.uid, dn.st.gid, false, done, err);
    }
    if (!strcmp(dest, "/"))
        return 0;
    dst.st_mode = S_IFDIR | cc->dir_mode;
    dst.st_mtim.tv_sec = cc->in->b->epoch >= 0 ? cc->in->b->epoch : bl_now();
    return add_entry(lo, cc, view, dest, &dst, NULL, -1, NULL, uid, gid, false, done, err);
}

/* About 100 lines: sources, destination image, owner, mode and placement are one sequence whose
 * failures share one clean-up. */
int bl_copy_exec(bl_exec_in *in, bl_layer *out, cb_err *err)
{
    copy_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.in = in;
    cc.cmd = in->cmd;
    cc.add = in->cmd->kind == DF_CMD_ADD;
    cb_strv_init(&cc.tmpfiles);
    cb_strv images, done;
    cb_strv_init(&images);
    cb_strv_init(&done);
    bl_rootfs *view = NULL;
    placed *pl = NULL;
    size_t npl = 0;
    bl_layer_out lo;
    bool lo_open = false;
    /* declared before the first goto: a jump must not bypass a cleanup variable */
    cleanup_free char *dest = NULL;
    int rc = bl_copy_sources_open(&cc, true, err);
    if (rc == 0)
        rc = bl_copy_select_sources(&cc, err);
    /* the destination image (scratch for --link: it is merged on top, like BuildKit) */
    if (rc == 0 && !in->cmd->link && (rc = bl_chain_images(in->b->st, in->chain, &images, err)) == 0)
        rc = bl_rootfs_open(&images, &view, err);
    uint32_t uid = 0, gid = 0;
    bool chown_set = in->cmd->chown && *in->cmd->chown;
    if (rc == 0 && chown_set)
        rc = copy_chown(in, view, &uid, &gid, err);
    mode_t chmod = 0;
    bool chmod_set = in->cmd->chmod && *in->cmd->chmod, symbolic = false;
    if (rc == 0 && chmod_set)
        rc = parse_chmod(in->cmd->chmod, &chmod, &symbolic, err);
    if (rc < 0)
        goto out;
    cc.chmod = chmod;
    cc.chmod_spec = symbolic ? in->cmd->chmod : NULL;
    /* fsutil: created dirs take an octal Mode; a symbolic ModeStr leaves them 0755 */
    cc.dir_mode = chmod_set && !symbolic ? chmod : 0755;
    cc.dir_uid = uid;
    cc.dir_gid = gid;

    bool dest_dir;
    dest = copy_dest(in, view, &dest_dir);
    if (in->cmd->args.n + in->cmd->n_inline_files > 2 && !dest_dir) {
        rc = cb_fail(err,
                     "When using %s with more than one source file, the destination must be a directory and "
                     "end with a /",
                     bl_copy_keyword(&cc));
        goto out;
    }
    pl = place_entries(&cc.s, dest, dest_dir);
    npl = cc.s.n;

    if ((rc = bl_layer_out_open(in->b, &lo, err)) < 0)
        goto out;
    lo_open = true;
    if ((dest_dir || npl == 0) && (rc = add_dest_dir(&lo, &cc, view, dest, uid, gid, &done, err)) < 0)
        goto out;
    for (size_t i = 0; i < npl && rc == 0; i++) {
        sel_entry *e = pl[i].e;
        if (i + 1 < npl && !strcmp(pl[i].path, pl[i + 1].path) && pl[i + 1].e->origin != O_ARCHIVE &&
            e->origin != O_ARCHIVE && !S_ISDIR(e->st.st_mode))
            continue; /* a later source replaces an earlier one at the same path */
        int fd = -1;
        if (e->origin == O_ARCHIVE) {
            if (e->file && (fd = open(e->file, O_RDONLY | O_CLOEXEC)) < 0)
                rc = cb_error(err, errno, "open %s", e->file);
            else if (e->file || (rc = bl_context_open_file(&in->b->ctx, e->src, &fd, err)) == 0) {
                rc = add_archive(&lo, &cc, view, pl[i].path, fd, chown_set, uid, gid, &done, err);
                close(fd);
            }
            continue;
        }
        if (S_ISREG(e->st.st_mode)) {
            if ((rc = entry_open(in, &cc, e, &fd, err)) < 0)
                break;
            struct stat cur;
            /* the size written is what is read now (a file may change between key and copy) */
            if (fd >= 0 && fstat(fd, &cur) == 0 && S_ISREG(cur.st_mode))
                e->st.st_size = cur.st_size;
        }
        /* context files belong to root (or --chown); --from files keep their owners */
        uint32_t u = chown_set ? uid : e->origin == O_ROOTFS ? (uint32_t)e->st.st_uid : 0;
        uint32_t g = chown_set ? gid : e->origin == O_ROOTFS ? (uint32_t)e->st.st_gid : 0;
        rc = add_entry(&lo, &cc, view, pl[i].path, &e->st, e->linkname, fd,
                       e->origin == O_BUF ? e->data : NULL, u, g, chmod_set, &done, err);
        if (fd >= 0)
            close(fd);
    }
    if (rc < 0)
        goto out;
    rc = bl_layer_out_commit(&lo, out, err);
    lo_open = false;
out:
    if (lo_open)
        bl_layer_out_abort(&lo);
    for (size_t i = 0; i < npl; i++)
        free(pl[i].path);
    free(pl);
    bl_rootfs_free(view);
    cb_strv_free(&images);
    cb_strv_free(&done);
    bl_copy_ctx_free(&cc);
    return rc;
}

/* WORKDIR creates its directory (and parents) owned by the stage's USER, like BuildKit's
 * Mkdir file op; the layer is empty when it exists already. */
int bl_workdir_exec(bl_exec_in *in, const char *dir, bl_layer *out, cb_err *err)
{
    cb_strv images, done;
    cb_strv_init(&images);
    cb_strv_init(&done);
    bl_rootfs *view = NULL;
    int rc = bl_chain_images(in->b->st, in->chain, &images, err);
    if (rc == 0)
        rc = bl_rootfs_open(&images, &view, err);
    uint32_t uid = 0, gid = 0;
    if (rc == 0 && in->config->user && *in->config->user)
        rc = bl_rootfs_resolve_user(view, in->config->user, &uid, &gid, err);
    bl_layer_out lo;
    if (rc == 0)
        rc = bl_layer_out_open(in->b, &lo, err);
    if (rc == 0) {
        char *res = NULL;
        bl_node n;
        cb_err e;
        int r2 = bl_rootfs_resolve(view, dir, true, &res, &n, &e);
        if (r2 == -ENOENT && res) {
            cleanup_free char *child = xasprintf("%s/x", res);
            rc = bl_layer_out_parents(&lo, view, child, 0755, uid, gid, &done, err);
        }
        free(res);
        if (rc == 0)
            rc = bl_layer_out_commit(&lo, out, err);
        else
            bl_layer_out_abort(&lo);
    }
    bl_rootfs_free(view);
    cb_strv_free(&images);
    cb_strv_free(&done);
    return rc;
}
