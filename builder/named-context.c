/* Named build contexts (`--build-context NAME=VALUE`, buildx's flag, BuildKit's
 * `context:NAME` frontend attribute): VALUE is a local directory, `docker-image://REF`,
 * `oci-layout://PATH[:TAG|@DIGEST]`, a git URL or an HTTP(S) URL. A name replaces the stage of
 * that name, or the image reference `FROM NAME`, `COPY --from=NAME` and `RUN --mount=from=NAME`
 * would use. Every kind becomes an image in the store, so the resolver treats them alike. */
#include "internal.h"
#include "attest.h"
#include "copy.h"
#include "git.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void named_free_one(bl_named *n)
{
    free(n->name);
    free(n->value);
    free(n->select);
    cb_strv_free(&n->follow);
}

void bl_named_free(bl_build *b)
{
    for (size_t i = 0; i < b->n_named; i++)
        named_free_one(&b->named[i]);
    free(b->named);
    b->named = NULL;
    b->n_named = 0;
}

/* BuildKit looks a name up in its familiar form without ":latest" (dockerui NamedContext):
 * `FROM docker.io/library/busybox:latest` asks for the context "busybox". */
char *bl_named_key(const char *ref)
{
    char *s = xstrdup(ref);
    for (char *q = s; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    const char *p = s;
    if (cb_str_has_prefix(p, "docker.io/library/"))
        p += 18;
    else if (cb_str_has_prefix(p, "index.docker.io/library/"))
        p += 24;
    else if (cb_str_has_prefix(p, "docker.io/"))
        p += 10;
    char *out = xstrdup(p);
    free(s);
    size_t n = strlen(out);
    if (n > 7 && !strcmp(out + n - 7, ":latest") && !strchr(out + n - 7 + 1, '/'))
        out[n - 7] = 0;
    return out;
}

/* oci-layout://PATH[:TAG|@sha256:HEX]: a tag only after the last slash, as buildx splits it */
static int named_parse_oci(bl_named *n, const char *v, cb_err *err)
{
    const char *at = strrchr(v, '@');
    const char *slash = strrchr(v, '/');
    if (at && cb_str_has_prefix(at + 1, "sha256:")) {
        n->value = xstrndup(v, (size_t)(at - v));
        n->select = xstrdup(at + 1);
    } else {
        const char *colon = strrchr(v, ':');
        if (colon && (!slash || colon > slash)) {
            n->value = xstrndup(v, (size_t)(colon - v));
            n->select = xstrdup(colon + 1);
        } else {
            n->value = xstrdup(v);
        }
    }
    if (!*n->value)
        return cb_fail(err, "invalid oci-layout context %s: no path", v);
    return 0;
}

static int named_parse_one(const char *spec, bl_named *n, cb_err *err)
{
    memset(n, 0, sizeof *n);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return cb_fail(err, "invalid context value: %s, expected key=value", spec);
    cleanup_free char *raw = xstrndup(spec, (size_t)(eq - spec));
    n->name = bl_named_key(raw);
    const char *v = eq + 1;
    if (cb_str_has_prefix(v, "docker-image://")) {
        n->kind = BL_NAMED_IMAGE;
        n->value = xstrdup(v + 15);
        if (!*n->value)
            return cb_fail(err, "invalid context value: %s, no image reference", spec);
        return 0;
    }
    if (cb_str_has_prefix(v, "oci-layout://")) {
        n->kind = BL_NAMED_OCI;
        return named_parse_oci(n, v + 13, err);
    }
    if (bl_git_is_url(v) || cb_str_has_prefix(v, "http://") || cb_str_has_prefix(v, "https://")) {
        n->kind = BL_NAMED_URL;
        n->value = xstrdup(v);
        return 0;
    }
    if (cb_str_has_prefix(v, "target:") || cb_str_has_prefix(v, "input:"))
        return cb_failc(err, ENOTSUP,
                        "unsupported context source %s for %s (cbuild takes a local directory, a git or "
                        "HTTP(S) URL, docker-image:// or oci-layout://)",
                        v, raw);
    n->kind = BL_NAMED_LOCAL;
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(v, real) || stat(real, &st) < 0)
        return cb_failc(err, ENOENT, "failed to get build context %s: stat %s: no such file or directory",
                        raw, v);
    if (!S_ISDIR(st.st_mode))
        return cb_fail(err, "failed to get build context %s: %s is not a directory", raw, v);
    n->value = xstrdup(real);
    return 0;
}

int bl_named_parse(bl_build *b, const cb_strv *specs, cb_err *err)
{
    for (size_t i = 0; specs && i < specs->n; i++) {
        bl_named n;
        int rc = named_parse_one(specs->v[i], &n, err);
        if (rc < 0) {
            named_free_one(&n);
            return rc;
        }
        /* the last --build-context for a name wins, as buildx's map does */
        for (size_t k = 0; k < b->n_named; k++)
            if (!strcmp(b->named[k].name, n.name)) {
                named_free_one(&b->named[k]);
                b->named[k] = n;
                n.name = NULL;
                break;
            }
        if (!n.name)
            continue;
        b->named = xrealloc(b->named, (b->n_named + 1) * sizeof *b->named);
        b->named[b->n_named++] = n;
    }
    return 0;
}

const bl_named *bl_named_find(const bl_build *b, const char *ref)
{
    if (!b->n_named)
        return NULL;
    cleanup_free char *k = bl_named_key(ref);
    for (size_t i = 0; i < b->n_named; i++)
        if (!strcmp(b->named[i].name, k))
            return &b->named[i];
    return NULL;
}

/* The layout's manifest: by digest, by tag (org.opencontainers.image.ref.name, full or tag
 * alone), or its only one. */
int bl_named_oci_pick(const bl_named *n, char digest[CB_DIGEST_STR_LEN], cb_err *err)
{
    if (n->select && cb_str_has_prefix(n->select, "sha256:")) {
        snprintf(digest, CB_DIGEST_STR_LEN, "%s", n->select);
        return 0;
    }
    cleanup_free char *ip = cb_path_join(n->value, "index.json");
    cb_buf data;
    cb_buf_init(&data);
    oci_index ix;
    int rc = cb_read_file(ip, &data, err);
    if (rc == 0)
        rc = oci_index_parse(data.data, data.len, &ix, err);
    cb_buf_free(&data);
    if (rc < 0)
        return cb_error_wrap(err, "oci-layout %s", n->value);
    const char *want = n->select ? n->select : "latest";
    const oci_descriptor *found = NULL;
    for (size_t i = 0; i < ix.n_manifests && !found; i++) {
        const char *rn = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
        const char *tag = rn ? strrchr(rn, ':') : NULL;
        if (rn && (!strcmp(rn, want) || (tag && !strcmp(tag + 1, want))))
            found = &ix.manifests[i];
    }
    if (!found && !n->select && ix.n_manifests == 1)
        found = &ix.manifests[0];
    if (found)
        snprintf(digest, CB_DIGEST_STR_LEN, "%s", found->digest);
    oci_index_free(&ix);
    if (!found)
        return cb_failc(err, ENOENT, "oci-layout %s: no image tagged %s in index.json", n->value, want);
    return 0;
}

static int named_fetch_oci(bl_build *b, const bl_named *n, const char *platform, store_image *im, cb_err *err)
{
    char digest[CB_DIGEST_STR_LEN];
    int rc = bl_named_oci_pick(n, digest, err);
    if (rc < 0)
        return rc;
    cb_strv loaded;
    cb_strv_init(&loaded);
    rc = store_load_layout(b->st, n->value, &loaded, err);
    cb_strv_free(&loaded);
    if (rc < 0)
        return rc;
    rc = store_image_resolve_platform(b->st, digest, platform, im, err);
    return rc < 0 ? cb_error_wrap(err, "oci-layout %s@%s", n->value, digest) : 0;
}

/* ---------- what the build reads of a local named context ---------- */

/* The stage a reference starts from, followed down its FROM stages to the image reference
 * at the bottom: a stage built on the context reads from the same transfer, as
 * dispatchState.init shares its base's paths in BuildKit. */
static bl_named *follow_root(bl_build *b, const df_plan *plan, int stage, const char *ref)
{
    for (int guard = 0; stage >= 0 && (size_t)stage < plan->n_stages && guard <= (int)plan->n_stages; guard++) {
        const df_stage *st = &plan->stages[stage];
        ref = st->base;
        stage = st->base_stage;
    }
    const bl_named *n = ref ? bl_named_find(b, ref) : NULL;
    return n && n->kind == BL_NAMED_LOCAL ? &b->named[n - b->named] : NULL;
}

static void follow_add(bl_named *n, const char *src)
{
    /* path.Join("/", src) made relative: "" is the root */
    cleanup_free char *clean = bl_path_clean(src);
    const char *p = clean + 1;
    if (!*p) {
        n->whole = true;
        return;
    }
    for (size_t i = 0; i < n->follow.n; i++)
        if (!strcmp(n->follow.v[i], p))
            return;
    cb_strv_push(&n->follow, p);
}

/* dockerfile2llb's paths of a named context: COPY --from sources, RUN --mount from= sources
 * (none: the root), everything once a stage built on it runs a command or is the target. */
void bl_named_select(bl_build *b, const df_plan *plan)
{
    for (size_t i = 0; i < plan->n_stages; i++) {
        const df_stage *st = &plan->stages[i];
        if (!st->needed)
            continue;
        bl_named *base = follow_root(b, plan, (int)i, NULL);
        if (base && (int)i == plan->target)
            base->whole = true;
        for (size_t k = 0; k < st->n_cmds; k++) {
            const df_cmd *c = &st->cmds[k];
            if (c->kind == DF_CMD_RUN && base)
                base->whole = true; /* a command may read any file */
            if ((c->kind == DF_CMD_COPY || c->kind == DF_CMD_ADD) && c->from) {
                bl_named *n = follow_root(b, plan, c->from_stage, c->from);
                for (size_t a = 0; n && a + 1 < c->args.n; a++)
                    follow_add(n, c->args.v[a]);
            }
            for (size_t m = 0; c->kind == DF_CMD_RUN && m < c->n_mounts; m++) {
                const df_mount *mt = &c->mounts[m];
                bl_named *n = mt->from ? follow_root(b, plan, mt->from_stage, mt->from) : NULL;
                if (n)
                    follow_add(n, mt->source);
            }
        }
    }
}

typedef struct local_walk {
    bl_layer_out *lo;
    const cb_strv *follow; /* NULL: everything */
    uint64_t bytes;
} local_walk;

/* Against the follow patterns, component by component: *in when path is a match or below
 * one, *parent when it leads to one (a "**" takes everything below it). */
static void follow_match(const cb_strv *follow, const char *path, bool *in, bool *parent)
{
    *in = *parent = false;
    for (size_t i = 0; i < follow->n && !*in; i++) {
        const char *pp = follow->v[i], *fp = path;
        for (;;) {
            const char *pe = strchr(pp, '/'), *fe = strchr(fp, '/');
            size_t pn = pe ? (size_t)(pe - pp) : strlen(pp), fn = fe ? (size_t)(fe - fp) : strlen(fp);
            if (pn == 2 && pp[0] == '*' && pp[1] == '*') {
                *in = true;
                break;
            }
            char pc[NAME_MAX + 1], fc[NAME_MAX + 1];
            if (pn > NAME_MAX || fn > NAME_MAX)
                break;
            memcpy(pc, pp, pn);
            pc[pn] = 0;
            memcpy(fc, fp, fn);
            fc[fn] = 0;
            if (fnmatch(pc, fc, 0) != 0)
                break;
            if (!pe) { /* the whole pattern matched: this path or one below it */
                *in = true;
                break;
            }
            if (!fe) { /* the path ends inside the pattern */
                *parent = true;
                break;
            }
            pp = pe + 1;
            fp = fe + 1;
        }
    }
}

static int local_visit(void *ud, const char *path, const struct stat *st, bool excluded, int fd,
                       const char *link, cb_err *err)
{
    local_walk *w = ud;
    bool in = true, parent = false;
    if (w->follow)
        follow_match(w->follow, path, &in, &parent);
    if (!in && !parent)
        return S_ISDIR(st->st_mode) ? BL_WALK_SKIP : 0;
    if (!in && S_ISREG(st->st_mode))
        return 0;
    /* an excluded directory is walked for re-included children: keep it only as their parent */
    if (excluded && !S_ISDIR(st->st_mode))
        return 0;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
        return 0;
    if (S_ISREG(st->st_mode) && fd < 0)
        return cb_failc(err, EACCES, "open %s in the named context", path);
    cleanup_free char *p = S_ISDIR(st->st_mode) ? xasprintf("%s/", path) : xstrdup(path);
    oci_tar_entry e = {.path = p,
                       .mode = st->st_mode,
                       .size = S_ISREG(st->st_mode) ? st->st_size : 0,
                       .mtime = st->st_mtim,
                       .linkname = link};
    if (S_ISREG(st->st_mode))
        w->bytes += (uint64_t)st->st_size;
    return bl_layer_out_add(w->lo, &e, fd, NULL, err);
}

/* FollowPaths follows symlinks: a followed path that is one brings its target along. */
static void follow_resolved(bl_context *c, const cb_strv *follow, cb_strv *out)
{
    for (size_t i = 0; i < follow->n; i++) {
        cb_strv_push(out, follow->v[i]);
        if (strpbrk(follow->v[i], "*?[\\"))
            continue;
        char *canon = NULL;
        if (bl_context_resolve(c, follow->v[i], true, &canon) == 0 && canon && *canon &&
            strcmp(canon, follow->v[i]))
            cb_strv_push(out, canon);
        free(canon);
    }
}

/* A directory (after its own .dockerignore when use_ignore) as a one-layer image with an empty
 * config: what BuildKit's llb.Local (or llb.Git, llb.HTTP) gives a stage, files owned by root
 * as the build context's are. follow: only those paths (NULL: all); *bytes: file bytes read. */
static int dir_image(bl_build *b, const char *dir, bool use_ignore, const cb_strv *follow, const char *name,
                     store_image *im, uint64_t *bytes, cb_err *err)
{
    bl_context c;
    int rc = bl_context_open_dir(dir, &c, err);
    if (rc < 0) {
        bl_context_close(&c);
        return rc;
    }
    if (!use_ignore) {
        df_ignore_free(c.ignore);
        c.ignore = NULL;
    }
    bl_layer_out lo;
    if ((rc = bl_layer_out_open(b, &lo, err)) < 0) {
        bl_context_close(&c);
        return rc;
    }
    cb_strv paths;
    cb_strv_init(&paths);
    if (follow)
        follow_resolved(&c, follow, &paths);
    local_walk w = {.lo = &lo, .follow = follow ? &paths : NULL};
    rc = bl_context_walk(&c, "", local_visit, &w, err);
    bl_context_close(&c);
    cb_strv_free(&paths);
    if (rc < 0) {
        bl_layer_out_abort(&lo);
        return cb_error_wrap(err, "named context %s", name);
    }
    if (bytes)
        *bytes = w.bytes;
    bl_layer l;
    if ((rc = bl_layer_out_commit(&lo, &l, err)) < 0)
        return rc;
    oci_config cfg;
    oci_config_init(&cfg);
    cb_strv_push(&cfg.diff_ids, l.diff_id);
    oci_descriptor d = {.media_type = l.media_type, .size = l.size};
    memcpy(d.digest, l.digest, sizeof d.digest);
    rc = store_image_commit(b->st, &cfg, &d, 1, "", im, err);
    oci_config_free(&cfg);
    return rc;
}

int bl_named_fetch_local(bl_build *b, const bl_named *n, store_image *im, uint64_t *bytes, cb_err *err)
{
    memset(im, 0, sizeof *im);
    const cb_strv *follow = n->whole || !n->follow.n ? NULL : &n->follow;
    return dir_image(b, n->value, true, follow, n->name, im, bytes, err);
}

int bl_named_url_fetch(bl_build *b, const bl_named *n, bool material, char **dir, int64_t *epoch, cb_err *err)
{
    *dir = NULL;
    *epoch = -1;
    if (bl_git_is_url(n->value)) {
        bl_git_ref r;
        int rc = bl_git_ref_parse(n->value, &r, err);
        if (rc < 0)
            return rc;
        r.ssh_sock = bl_ssh_socket(b, "default");
        cleanup_free char *dest = bl_step_tmp(b, "named-git");
        char commit[BL_GIT_COMMIT_MAX];
        rc = bl_git_checkout(&r, r.keep_git_dir == 1, NULL, dest, commit, epoch, err);
        if (rc == 0) {
            cleanup_free char *mu = r.ref ? xasprintf("%s#%s", r.remote, r.ref) : xstrdup(r.remote);
            cleanup_free char *pin = xasprintf("%s:%s", strlen(commit) == 64 ? "sha256" : "sha1", commit);
            if (material)
                bl_attest_note_source(b, mu, pin);
            *dir = r.subdir ? cb_path_join(dest, r.subdir) : xstrdup(dest);
            struct stat st;
            if (stat(*dir, &st) < 0 || !S_ISDIR(st.st_mode))
                rc = cb_failc(err, ENOENT, "failed to get build context %s: path \"%s\" not found in %s", n->name,
                              r.subdir ? r.subdir : "", r.remote);
        }
        bl_git_ref_free(&r);
        return rc;
    }
    /* llb.HTTP(url, llb.Filename("context")): the download alone, as it is */
    char *d = bl_step_tmp(b, "named-http");
    if (mkdir(d, 0755) < 0) {
        int rc = cb_error(err, errno, "mkdir %s", d);
        free(d);
        return rc;
    }
    cleanup_free char *file = cb_path_join(d, "context");
    int rc = bl_http_fetch(b, n->value, file, epoch, err);
    char got[CB_DIGEST_STR_LEN];
    if (rc == 0 && material && (rc = cb_sha256_file(file, got, err)) == 0)
        bl_attest_note_source(b, n->value, got);
    if (rc == 0 && chmod(file, 0600) < 0)
        rc = cb_error(err, errno, "chmod %s", file);
    if (rc == 0 && *epoch >= 0) {
        struct timespec ts[2] = {{.tv_sec = *epoch}, {.tv_sec = *epoch}};
        utimensat(AT_FDCWD, file, ts, 0);
    }
    if (rc == 0 && *epoch < 0)
        *epoch = bl_archive_newest_mtime(file); /* Last-Modified first, then an archive's newest file */
    if (rc < 0) {
        free(d);
        return cb_error_wrap(err, "failed to get build context %s", n->name);
    }
    *dir = d;
    return 0;
}

static int named_fetch_url(bl_build *b, const bl_named *n, store_image *im, cb_err *err)
{
    char *dir;
    int64_t epoch;
    int rc = bl_named_url_fetch(b, n, true, &dir, &epoch, err);
    if (rc == 0)
        rc = dir_image(b, dir, false, NULL, n->name, im, NULL, err);
    free(dir);
    return rc;
}

int bl_named_fetch(bl_build *b, const bl_named *n, const char *platform, store_image *im, cb_err *err)
{
    memset(im, 0, sizeof *im);
    if (n->kind == BL_NAMED_OCI)
        return named_fetch_oci(b, n, platform, im, err);
    if (n->kind == BL_NAMED_LOCAL)
        return bl_named_fetch_local(b, n, im, NULL, err);
    if (n->kind == BL_NAMED_URL)
        return named_fetch_url(b, n, im, err);
    if (!strcmp(n->value, "scratch")) {
        /* docker-image://scratch: an image of no layers, as BuildKit's scratch source */
        oci_config cfg;
        oci_config_init(&cfg);
        int rc = store_image_commit(b->st, &cfg, NULL, 0, "", im, err);
        oci_config_free(&cfg);
        return rc;
    }
    return cb_fail(err, "internal: docker-image context %s is resolved as its reference", n->name);
}
