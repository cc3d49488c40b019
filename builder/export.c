/* Exporters: the local store (tags), a registry (--push), OCI and docker archives, the final
 * filesystem as a tar or a directory, and a flattened ext4 image; plus --iidfile and
 * --metadata-file. */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct output_spec {
    char *type;
    char *dest;
    char *name; /* type=image,oci,docker name=a,b */
    bool push;
    bool dir;   /* type=oci|docker,tar=false: an OCI layout directory */
} output_spec;

static void output_free(output_spec *o)
{
    free(o->type);
    free(o->dest);
    free(o->name);
}

/* Split a --output value like buildx and buildctl (Go's encoding/csv): commas separate
 * fields, a field in double quotes may hold commas ("name=a,b"), "" is a quote. */
static void csv_fields(const char *s, cb_strv *out)
{
    cb_buf f;
    cb_buf_init(&f);
    cb_buf_puts(&f, "");
    bool q = false;
    for (const char *p = s;; p++) {
        if (q && *p == '"' && p[1] == '"') {
            cb_buf_putc(&f, '"');
            p++;
        } else if (*p == '"') {
            q = !q;
        } else if (!*p || (!q && *p == ',')) {
            cb_strv_push_owned(out, cb_buf_steal(&f));
            cb_buf_init(&f);
            cb_buf_puts(&f, "");
            if (!*p)
                break;
        } else {
            cb_buf_putc(&f, *p);
        }
    }
    cb_buf_free(&f);
}

static int output_parse(const char *s, output_spec *o, cb_err *err)
{
    memset(o, 0, sizeof *o);
    if (!strchr(s, '=')) {
        /* docker: `-o DIR` is type=local, `-o -` a tar on stdout */
        o->type = xstrdup(!strcmp(s, "-") ? "tar" : "local");
        o->dest = xstrdup(s);
        return 0;
    }
    cb_strv fields;
    cb_strv_init(&fields);
    csv_fields(s, &fields);
    for (size_t f = 0; f < fields.n; f++) {
        char *t = fields.v[f];
        char *eq = strchr(t, '=');
        if (!eq) {
            output_free(o);
            int rc = cb_fail(err, "invalid --output %s: `%s` is not KEY=VALUE", s, t);
            cb_strv_free(&fields);
            return rc;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(t, "type"))
            free(o->type), o->type = xstrdup(v);
        else if (!strcmp(t, "dest"))
            free(o->dest), o->dest = xstrdup(v);
        else if (!strcmp(t, "name"))
            free(o->name), o->name = xstrdup(v);
        else if (!strcmp(t, "push"))
            o->push = !strcmp(v, "true") || !strcmp(v, "1");
        else if (!strcmp(t, "tar"))
            o->dir = !strcmp(v, "false");
        else if (!strcmp(t, "compression") || !strcmp(t, "oci-mediatypes"))
            ; /* accepted for compatibility; layers are gzip OCI layers */
        else {
            output_free(o);
            int rc = cb_fail(err, "invalid --output %s: unknown key `%s`", s, t);
            cb_strv_free(&fields);
            return rc;
        }
    }
    cb_strv_free(&fields);
    if (!o->type)
        o->type = xstrdup("local");
    static const char *types[] = {"image", "registry", "oci", "docker", "ext4", "tar", "local"};
    bool known = false;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        known |= !strcmp(o->type, types[i]);
    if (!known) {
        int rc = cb_fail(
            err, "invalid --output %s: unknown type `%s` (image, registry, oci, docker, ext4, tar, local)", s,
            o->type);
        output_free(o);
        return rc;
    }
    if (!strcmp(o->type, "registry")) {
        free(o->type);
        o->type = xstrdup("image");
        o->push = true;
    }
    if (strcmp(o->type, "image") && !o->dest) {
        int rc = cb_fail(err, "invalid --output %s: type=%s needs dest=PATH", s, o->type);
        output_free(o);
        return rc;
    }
    return 0;
}

static int copy_file_to_fd(const char *path, int out, cb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cb_error(err, errno, "open %s", path);
    char buf[65536];
    ssize_t k;
    int rc = 0;
    while ((k = read(fd, buf, sizeof buf)) > 0)
        if (cb_write_all(out, buf, (size_t)k) < 0) {
            rc = cb_error(err, errno, "write");
            break;
        }
    close(fd);
    return rc;
}

static int extract_to_dir(const char *tar, const char *dir, cb_err *err)
{
    return store_tar_extract_file(tar, dir, STORE_EXTRACT_OWNERS, err);
}

static int write_metadata(const char *path, const store_image *im, const cb_strv *names, cb_err *err)
{
    json_t *m = json_object();
    json_object_set_new(m, "containerimage.config.digest", json_string(im->id));
    json_object_set_new(m, "containerimage.digest", json_string(im->manifest_digest));
    json_t *d = json_object();
    json_object_set_new(d, "mediaType",
                        json_string(im->manifest.media_type ? im->manifest.media_type : OCI_MT_MANIFEST));
    json_object_set_new(d, "digest", json_string(im->manifest_digest));
    json_object_set_new(d, "size", json_integer((json_int_t)im->manifest_len));
    json_object_set_new(m, "containerimage.descriptor", d);
    if (names->n) {
        cb_buf nb;
        cb_buf_init(&nb);
        for (size_t i = 0; i < names->n; i++)
            cb_buf_printf(&nb, "%s%s", i ? "," : "", names->v[i]);
        json_object_set_new(m, "image.name", json_string(nb.data));
        cb_buf_free(&nb);
    }
    char *s = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(m);
    int rc = cb_write_file_atomic(path, s, strlen(s), 0644, err);
    free(s);
    return rc;
}

int bl_outputs_validate(const builder_opts *o, cb_err *err)
{
    bool named = o->tags && o->tags->n;
    bool push = o->push;
    for (size_t i = 0; o->outputs && i < o->outputs->n; i++) {
        output_spec os;
        int rc = output_parse(o->outputs->v[i], &os, err);
        if (rc < 0)
            return rc;
        if (!strcmp(os.type, "image")) {
            push |= os.push;
            named |= os.name != NULL;
        }
        output_free(&os);
    }
    if (push && !named)
        return cb_fail(err, "--push needs a name: use -t NAME or --output type=image,name=NAME,push=true");
    for (size_t i = 0; o->tags && i < o->tags->n; i++) {
        char *n = oci_ref_normalize(o->tags->v[i], err);
        if (!n)
            return cb_error_wrap(err, "invalid tag \"%s\"", o->tags->v[i]);
        free(n);
    }
    return 0;
}

/* The image's names: -t, then type=image,name=a,b; *push also from type=image,push=true. */
static int output_names(const builder_opts *o, const output_spec *outs, size_t nout, cb_strv *names,
                        bool *push, cb_err *err)
{
    for (size_t i = 0; o->tags && i < o->tags->n; i++) {
        char *n = oci_ref_normalize(o->tags->v[i], err);
        if (!n) {
            return cb_error_wrap(err, "invalid tag \"%s\"", o->tags->v[i]);
        }
        cb_strv_push_owned(names, n);
    }
    for (size_t i = 0; i < nout; i++)
        if (!strcmp(outs[i].type, "image")) {
            *push |= outs[i].push;
            if (outs[i].name) {
                cleanup_free char *c = xstrdup(outs[i].name);
                char *save = NULL;
                for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    char *n = oci_ref_normalize(t, err);
                    if (!n) {
                        return cb_error_wrap(err, "invalid image name \"%s\"", t);
                    }
                    cb_strv_push_owned(names, n);
                }
            }
        }
    return 0;
}

/* One non-image output (oci, docker, tar, local, ext4) of the committed image ref. */
static int export_one(bl_build *b, const output_spec *os, const char *ref, const bl_chain *chain, cb_err *err)
{
    cleanup_free char *nm = xasprintf("exporting to %s %s", os->type, os->dest);
    int xp = progress_add(b->prog, nm);
    progress_start(b->prog, xp);
    int rc = 0;
    bool to_stdout = !strcmp(os->dest, "-");
    cleanup_free char *tmp = bl_step_tmp(b, "export");
    const char *path = to_stdout ? tmp : os->dest;
    if (!strcmp(os->type, "oci") || !strcmp(os->type, "docker")) {
        const char *apath = os->dir ? tmp : path;
        if (os->name) {
            /* name=a,b: the image once per name, named as BuildKit's OCI exporter does */
            cb_strv as, refs;
            cb_strv_init(&as);
            cb_strv_init(&refs);
            cleanup_free char *c = xstrdup(os->name);
            char *save = NULL;
            for (char *t = strtok_r(c, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
                char *n = oci_ref_normalize(t, err);
                if (!n) {
                    rc = cb_error_wrap(err, "invalid image name \"%s\"", t);
                    break;
                }
                cb_strv_push_owned(&as, n);
                cb_strv_push(&refs, ref);
            }
            if (rc == 0)
                rc = store_save_as(b->st, (const char *const *)refs.v, (const char *const *)as.v, as.n, true,
                                   apath, err);
            cb_strv_free(&as);
            cb_strv_free(&refs);
        } else {
            const char *refs[1] = {ref};
            rc = store_save(b->st, refs, 1, apath, err);
        }
        if (rc == 0 && os->dir) {
            rc = extract_to_dir(tmp, os->dest, err);
            unlink(tmp);
            to_stdout = false;
        }
    } else if (!strcmp(os->type, "tar") || !strcmp(os->type, "local")) {
        const char *tpath = !strcmp(os->type, "local") ? tmp : path;
        int fd = open(tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = cb_error(err, errno, "create %s", tpath);
        } else {
            rc = store_export_tar(b->st, ref, oci_sink_fd(fd), err);
            if (close(fd) < 0 && rc == 0)
                rc = cb_error(err, errno, "write %s", tpath);
        }
        if (rc == 0 && !strcmp(os->type, "local")) {
            rc = extract_to_dir(tmp, os->dest, err);
            unlink(tmp);
            to_stdout = false;
        }
    } else if (!strcmp(os->type, "ext4")) {
        cb_strv tars;
        cb_strv_init(&tars);
        for (size_t k = 0; k < chain->n; k++)
            cb_strv_push_owned(&tars, store_blob_path(b->st, chain->v[k].digest));
        ext4_options eo;
        ext4_options_init(&eo);
        eo.source_date_epoch = b->epoch;
        eo.extra_free_space = 256ULL << 20;
        eo.extra_free_inodes = 4096;
        rc = ext4_build_from_tars(path, (const char *const *)tars.v, tars.n, &eo, err);
        cb_strv_free(&tars);
    }
    if (rc == 0 && to_stdout) {
        rc = copy_file_to_fd(tmp, STDOUT_FILENO, err);
        unlink(tmp);
    }
    if (rc < 0) {
        cb_error_wrap(err, "exporting %s to %s", os->type, os->dest);
        progress_error(b->prog, xp, err->msg);
    } else {
        progress_done(b->prog, xp);
    }

    return rc;
}

int bl_export(bl_build *b, const oci_config *cfg, const bl_chain *chain, builder_result *res, cb_err *err)
{
    const builder_opts *o = b->opts;
    size_t nout = o->outputs ? o->outputs->n : 0;
    output_spec *outs = xcalloc(nout + 1, sizeof *outs);
    int rc = 0;
    size_t parsed = 0;
    for (size_t i = 0; i < nout; i++, parsed++)
        if ((rc = output_parse(o->outputs->v[i], &outs[i], err)) < 0)
            goto out;
    cb_strv names;
    cb_strv_init(&names);
    bool push = o->push;
    if ((rc = output_names(o, outs, nout, &names, &push, err)) < 0) {
        cb_strv_free(&names);
        goto out;
    }
    if (push && !names.n) {
        rc = cb_fail(err, "--push needs a name: use -t NAME or --output type=image,name=NAME,push=true");
        cb_strv_free(&names);
        goto out;
    }
    int pid = progress_add(b->prog, "exporting to image");
    progress_start(b->prog, pid);
    oci_descriptor *layers = xcalloc(chain->n ? chain->n : 1, sizeof *layers);
    for (size_t i = 0; i < chain->n; i++) {
        layers[i].media_type = chain->v[i].media_type;
        memcpy(layers[i].digest, chain->v[i].digest, sizeof layers[i].digest);
        layers[i].size = chain->v[i].size;
    }
    progress_status(b->prog, pid, "exporting layers done"); /* stored as blobs by the steps already */
    store_image im;
    memset(&im, 0, sizeof im);
    rc = store_image_commit(b->st, cfg, layers, chain->n, names.n ? names.v[0] : NULL, &im, err);
    free(layers);
    if (rc < 0) {
        progress_error(b->prog, pid, err->msg);
        cb_strv_free(&names);
        goto out;
    }
    progress_status(b->prog, pid, "writing image %s done", im.id);
    oci_descriptor md;
    memset(&md, 0, sizeof md);
    md.media_type = im.manifest.media_type ? im.manifest.media_type : (char *)OCI_MT_MANIFEST;
    memcpy(md.digest, im.manifest_digest, sizeof md.digest);
    md.size = (int64_t)im.manifest_len;
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        if (i > 0)
            rc = store_tag_set(b->st, names.v[i], &md, err);
        if (rc == 0)
            progress_status(b->prog, pid, "naming to %s done", names.v[i]);
    }
    memcpy(res->image_id, im.id, sizeof res->image_id);
    memcpy(res->manifest_digest, im.manifest_digest, sizeof res->manifest_digest);
    if (rc == 0 && push) {
        oci_registry_opts ro;
        bl_registry_opts(b->opts, &ro);
        for (size_t i = 0; i < names.n && rc == 0; i++) {
            progress_status(b->prog, pid, "pushing %s", names.v[i]);
            rc = store_push(b->st, names.v[i], NULL, &ro, NULL, err);
        }
    }
    if (rc < 0) {
        progress_error(b->prog, pid, err->msg);
    } else {
        progress_done(b->prog, pid);
    }
    const char *ref = names.n ? names.v[0] : im.id;
    for (size_t i = 0; i < nout && rc == 0; i++) {
        if (strcmp(outs[i].type, "image"))
            rc = export_one(b, &outs[i], ref, chain, err);
    }
    if (rc == 0 && o->iidfile)
        rc = cb_write_file_atomic(o->iidfile, im.id, strlen(im.id), 0644, err);
    if (rc == 0 && o->metadata_file)
        rc = write_metadata(o->metadata_file, &im, &names, err);
    store_image_free(&im);
    cb_strv_free(&names);
out:
    for (size_t i = 0; i < parsed; i++)
        output_free(&outs[i]);
    free(outs);
    return rc;
}
