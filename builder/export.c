/* Exporters: the local store (tags), a registry (--push), OCI and docker archives, the final
 * filesystem as a tar or a directory, and a flattened ext4 image; plus --iidfile and
 * --metadata-file. */
#include "internal.h"
#include "attest.h"

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
    bool dir;      /* type=oci|docker,tar=false: an OCI layout directory */
    int oci_types; /* oci-mediatypes: -1 unset (OCI, BuildKit's default), 0 docker's, 1 OCI */
    bool boot;     /* type=ext4,boot=true: bootable with init=/sbin/cbuild-init */
    int rewrite_ts; /* rewrite-timestamp: -1 unset, 0, 1 */
    int split;      /* local/tar platform-split: -1 unset (split when several platforms), 0, 1 */
    char *sde;      /* source-date-epoch=VALUE ("" unsets the exporter's epoch), NULL unset */
    int comp;       /* compression: -1 unset (gzip, BuildKit's default), else an oci_compression */
    int comp_level; /* compression-level: -1 unset */
    int comp_force; /* force-compression: -1 unset, 0, 1 */
    bool push_by_digest; /* push the manifest by its digest only, no tag in the registry */
    bool insecure;       /* insecure / registry.insecure: push to the names' registries over HTTP */
    bool store;          /* store=false: no name in the local store (default true) */
    int oci_artifact;    /* oci-artifact: -1 unset, 0, 1 */
    cb_strv annotations; /* annotation[-TYPE][\[PLATFORM\]].KEY=V as --annotation TYPE[\[PLATFORM\]]:KEY=V */
} output_spec;

static void output_free(output_spec *o)
{
    free(o->type);
    free(o->dest);
    free(o->name);
    free(o->sde);
    cb_strv_free(&o->annotations);
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

/* Go's strconv.ParseBool: 1 true, 0 false, -1 neither */
static int parse_bool(const char *v)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (!strcmp(v, t[i]))
            return 1;
        if (!strcmp(v, f[i]))
            return 0;
    }
    return -1;
}

/* BuildKit's compression attributes (util/compression/attrs.go), its messages. */
static int output_compression_key(output_spec *o, const char *k, const char *v, cb_err *err)
{
    if (!strcmp(k, "compression")) {
        static const char *const names[] = {"uncompressed", "gzip", "zstd"};
        static const oci_compression algos[] = {OCI_COMPRESSION_NONE, OCI_COMPRESSION_GZIP, OCI_COMPRESSION_ZSTD};
        for (size_t i = 0; i < 3; i++)
            if (!strcmp(v, names[i])) {
                o->comp = (int)algos[i];
                return 0;
            }
        if (!strcmp(v, "estargz"))
            return cb_fail(err, "exporter option \"compression=estargz\": cbuild writes no eStargz layers "
                                "(compression=gzip, zstd or uncompressed)");
        return cb_fail(err, "unsupported compression type %s", v);
    }
    if (!strcmp(k, "force-compression")) {
        int b = *v ? parse_bool(v) : 1;
        if (b < 0)
            return cb_fail(err, "non-bool value %s specified for force-compression: strconv.ParseBool: parsing "
                                "\"%s\": invalid syntax", v, v);
        o->comp_force = b;
        return 0;
    }
    char *end = NULL;
    long long l = strtoll(v, &end, 10);
    if (!*v || *end)
        return cb_fail(err, "non-integer value %s specified for compression-level: strconv.ParseInt: parsing "
                            "\"%s\": invalid syntax", v, v);
    if (l < 0 || l > 22)
        return cb_fail(err, "compression-level %lld is out of range (gzip 0-9, zstd 1-22)", l);
    o->comp_level = (int)l;
    return 0;
}

/* The image exporter's boolean options (BuildKit's export.go, opts.go): an empty value is true. */
static int output_bool_key(output_spec *o, const char *k, const char *v, bool *known, cb_err *err)
{
    bool *field = !strcmp(k, "push")                 ? &o->push
                  : !strcmp(k, "push-by-digest")     ? &o->push_by_digest
                  : !strcmp(k, "insecure")           ? &o->insecure
                  : !strcmp(k, "registry.insecure")  ? &o->insecure
                  : !strcmp(k, "store")              ? &o->store
                  : NULL;
    /* unpack: the store keeps each layer's ext4 image already, there is nothing to unpack;
     * attestation-inline (force-inline-attestations): attestations are always in the image's index;
     * prefer-nondist-layers: cbuild pushes every layer it has, foreign ones included */
    bool ignored = !strcmp(k, "unpack") || !strcmp(k, "attestation-inline") ||
                   !strcmp(k, "force-inline-attestations") || !strcmp(k, "prefer-nondist-layers") ||
                   !strcmp(k, "oci-artifact");
    *known = field || ignored;
    if (!*known)
        return 0;
    int b = *v ? parse_bool(v) : 1;
    if (b < 0)
        return cb_fail(err, "non-bool value specified for %s: strconv.ParseBool: parsing \"%s\": invalid syntax", k,
                       v);
    if (field)
        *field = b;
    if (!strcmp(k, "oci-artifact"))
        o->oci_artifact = b;
    return 0;
}

/* annotation.K=V, annotation-manifest[linux/amd64].K=V ... as annotations_parse reads
 * --annotation: "K=V", "manifest[linux/amd64]:K=V". 0 when k is no annotation key. */
static int output_annotation_key(output_spec *o, const char *k, const char *v, cb_err *err)
{
    if (strncmp(k, "annotation", 10) || (k[10] != '.' && k[10] != '-'))
        return 0;
    const char *dot = k[10] == '.' ? k + 10 : strchr(k + 10, '.');
    const char *close = strchr(k, ']');
    if (close && dot && dot < close) /* a platform like linux/arm/v7 has no dot, a key may */
        dot = strchr(close, '.');
    if (!dot || !dot[1])
        return cb_fail(err, "invalid annotation %s: expected annotation[-TYPE][[PLATFORM]].KEY=VALUE", k);
    cb_buf a;
    cb_buf_init(&a);
    if (k[10] == '-')
        cb_buf_printf(&a, "%.*s:", (int)(dot - k - 11), k + 11);
    cb_buf_printf(&a, "%s=%s", dot + 1, v);
    cb_strv_push_owned(&o->annotations, cb_buf_steal(&a));
    return 1;
}

static int output_parse(const char *s, output_spec *o, cb_err *err)
{
    memset(o, 0, sizeof *o);
    cb_strv_init(&o->annotations);
    o->store = true;
    o->oci_artifact = -1;
    o->oci_types = -1;
    o->rewrite_ts = -1;
    o->split = -1;
    o->comp = o->comp_level = o->comp_force = -1;
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
        else if (!strcmp(t, "tar"))
            o->dir = !strcmp(v, "false");
        else if (!strcmp(t, "boot"))
            o->boot = !strcmp(v, "true") || !strcmp(v, "1");
        else if (!strcmp(t, "oci-mediatypes") && (!strcmp(v, "true") || !strcmp(v, "false")))
            o->oci_types = !strcmp(v, "true");
        else if (!strcmp(t, "oci-mediatypes")) {
            output_free(o);
            int rc =
                cb_fail(err, "invalid --output %s: oci-mediatypes must be true or false, not `%s`", s, v);
            cb_strv_free(&fields);
            return rc;
        } else if (!strcmp(t, "rewrite-timestamp")) {
            int b = parse_bool(v);
            if (b < 0) {
                output_free(o);
                int rc = cb_fail(err, "non-bool value specified for rewrite-timestamp: strconv.ParseBool: parsing "
                                      "\"%s\": invalid syntax", v);
                cb_strv_free(&fields);
                return rc;
            }
            o->rewrite_ts = b;
        } else if (!strcmp(t, "platform-split")) {
            if ((o->split = parse_bool(v)) < 0) {
                output_free(o);
                int rc = cb_fail(err, "non-bool value for platform-split: %s", v);
                cb_strv_free(&fields);
                return rc;
            }
        } else if (!strcmp(t, "source-date-epoch")) {
            char *end = NULL;
            if (*v && (strtoll(v, &end, 10), *end)) {
                output_free(o);
                int rc = cb_fail(err, "invalid source-date-epoch: strconv.ParseInt: parsing \"%s\": invalid syntax", v);
                cb_strv_free(&fields);
                return rc;
            }
            free(o->sde), o->sde = xstrdup(v);
        } else if (!strcmp(t, "compression") || !strcmp(t, "force-compression") ||
                   !strcmp(t, "compression-level")) {
            int rc = output_compression_key(o, t, v, err);
            if (rc < 0) {
                output_free(o);
                cb_strv_free(&fields);
                return rc;
            }
        } else {
            bool known = false;
            int rc = output_bool_key(o, t, v, &known, err);
            if (rc == 0 && !known && (rc = output_annotation_key(o, t, v, err)) > 0)
                known = true, rc = 0;
            if (rc == 0 && !known && (!strcmp(t, "name-canonical") || !strcmp(t, "dangling-name-prefix") ||
                                           !strcmp(t, "danging-name-empty-only")))
                rc = cb_fail(err, "invalid --output %s: %s: cbuild's store names images by tag only, not by "
                                  "name@digest (an unnamed image is kept by its manifest digest)", s, t);
            if (rc == 0 && known)
                continue;
            output_free(o);
            if (rc == 0)
                rc = cb_fail(err, "invalid --output %s: unknown key `%s`", s, t);
            cb_strv_free(&fields);
            return rc;
        }
    }
    cb_strv_free(&fields);
    if (!o->type)
        o->type = xstrdup("local");
    static const char *types[] = {"image", "registry", "oci", "docker", "ext4", "tar", "local", "cacheonly"};
    bool known = false;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        known |= !strcmp(o->type, types[i]);
    if (!known) {
        int rc = cb_fail(
            err, "invalid --output %s: unknown type `%s` (image, registry, oci, docker, ext4, tar, local, cacheonly)", s,
            o->type);
        output_free(o);
        return rc;
    }
    if (!strcmp(o->type, "registry")) {
        free(o->type);
        o->type = xstrdup("image");
        o->push = true;
    }
    if ((o->rewrite_ts >= 0 || o->sde) && strcmp(o->type, "image") && strcmp(o->type, "oci") &&
        strcmp(o->type, "docker")) {
        int rc = cb_fail(err, "invalid --output %s: rewrite-timestamp and source-date-epoch are options of the "
                              "image, oci and docker exporters", s);
        output_free(o);
        return rc;
    }
    if (o->split >= 0 && strcmp(o->type, "local") && strcmp(o->type, "tar")) {
        int rc = cb_fail(err, "invalid --output %s: platform-split is an option of the local and tar exporters", s);
        output_free(o);
        return rc;
    }
    if (o->comp == OCI_COMPRESSION_ZSTD && o->oci_types == 0) {
        int rc = cb_fail(err, "exporter option \"compression=zstd\" conflicts with \"oci-mediatypes=false\"");
        output_free(o);
        return rc;
    }
    if (o->oci_artifact == 1 && o->oci_types == 0) {
        int rc = cb_fail(err, "exporter option \"oci-artifact=true\" conflicts with \"oci-mediatypes=false\"");
        output_free(o);
        return rc;
    }
    if (o->comp_level > 9 && o->comp != OCI_COMPRESSION_ZSTD) {
        int rc = cb_fail(err, "invalid --output %s: compression-level %d is out of range for gzip (0-9)", s,
                         o->comp_level);
        output_free(o);
        return rc;
    }
    if (o->boot && strcmp(o->type, "ext4")) {
        int rc = cb_fail(err, "invalid --output %s: boot=true needs type=ext4", s);
        output_free(o);
        return rc;
    }
    /* buildx: a docker archive without dest goes to stdout, never to a terminal */
    if (!strcmp(o->type, "docker") && !o->dest) {
        if (isatty(STDOUT_FILENO)) {
            output_free(o);
            return cb_fail(
                err,
                "invalid --output %s: refusing to write the image archive to a terminal: use --load "
                "or dest=FILE",
                s);
        }
        o->dest = xstrdup("-");
    }
    if (strcmp(o->type, "image") && strcmp(o->type, "cacheonly") && !o->dest) {
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

/* --metadata-file: BuildKit's keys for the result (config_digest NULL for an index). */
static int write_metadata(const char *path, const char *config_digest, const oci_descriptor *md, const cb_strv *names,
                          cb_err *err)
{
    json_t *m = json_object();
    if (config_digest)
        json_object_set_new(m, "containerimage.config.digest", json_string(config_digest));
    json_object_set_new(m, "containerimage.digest", json_string(md->digest));
    json_t *d = json_object();
    json_object_set_new(d, "mediaType", json_string(md->media_type));
    json_object_set_new(d, "digest", json_string(md->digest));
    json_object_set_new(d, "size", json_integer((json_int_t)md->size));
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

/* How the image outputs push: BuildKit's push-by-digest and insecure of any type=image output. */
typedef struct export_push {
    bool push;
    bool by_digest;
    bool insecure;
} export_push;

static export_push export_push_of(const output_spec *outs, size_t nout, bool push)
{
    export_push p = {.push = push};
    for (size_t i = 0; i < nout; i++)
        if (!strcmp(outs[i].type, "image")) {
            p.by_digest |= outs[i].push_by_digest;
            p.insecure |= outs[i].insecure;
        }
    return p;
}

/* oci-artifact=true: attestation manifests as OCI artifacts (bl_attest_manifest). */
static bool outputs_oci_artifact(const output_spec *outs, size_t nout)
{
    for (size_t i = 0; i < nout; i++)
        if (outs[i].oci_artifact == 1)
            return true;
    return false;
}

/* store=false on an image output: the store keeps the image by its digest only. */
static bool export_unstored(const output_spec *outs, size_t nout)
{
    for (size_t i = 0; i < nout; i++)
        if (!strcmp(outs[i].type, "image") && !outs[i].store)
            return true;
    return false;
}

static void export_unname(bl_build *b, const cb_strv *names)
{
    for (size_t i = 0; i < names->n; i++) {
        cb_err e = {0};
        (void)store_tag_remove(b->st, names->v[i], &e); /* -ENOENT: a name given twice */
    }
}

/* The result under every name (the first one is tagged by the commit), then pushed: by tag,
 * or with push-by-digest to NAME@DIGEST only; insecure adds the names' registries to the
 * plain-HTTP hosts as --insecure-registry would. */
static int name_and_push(bl_build *b, int pid, const cb_strv *names, const oci_descriptor *md, const export_push *p,
                         cb_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < names->n && rc == 0; i++) {
        if (i > 0)
            rc = store_tag_set(b->st, names->v[i], md, err);
        if (rc == 0)
            progress_status(b->prog, pid, "naming to %s done", names->v[i]);
    }
    if (rc < 0 || !p->push)
        return rc;
    oci_registry_opts ro;
    bl_registry_opts(b->opts, &ro);
    cb_strv hosts;
    cb_strv_init(&hosts);
    for (size_t i = 0; p->insecure && ro.insecure_registries && i < ro.insecure_registries->n; i++)
        cb_strv_push(&hosts, ro.insecure_registries->v[i]);
    for (size_t i = 0; i < names->n && rc == 0; i++) {
        oci_ref ref;
        if ((rc = oci_ref_parse(names->v[i], &ref, err)) < 0)
            break;
        if (p->insecure)
            cb_strv_push(&hosts, ref.registry);
        cleanup_free char *repo = oci_ref_name(&ref);
        oci_ref_free(&ref);
        cleanup_free char *dst = p->by_digest ? xasprintf("%s@%s", repo, md->digest) : NULL;
        if (p->insecure)
            ro.insecure_registries = &hosts;
        progress_status(b->prog, pid, "pushing %s", dst ? dst : names->v[i]);
        rc = store_push(b->st, names->v[i], dst, &ro, NULL, err);
    }
    cb_strv_free(&hosts);
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
    bl_attest_opts ao;
    int arc = bl_attest_parse(o->attests, &ao, err);
    if (arc < 0)
        return arc;
    bl_attest_opts_free(&ao);
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
    /* buildx passes -t to the image exporters only: with type=cacheonly alone nothing is named */
    bool cacheonly = nout > 0 && !o->push;
    for (size_t i = 0; i < nout; i++)
        cacheonly &= !strcmp(outs[i].type, "cacheonly");
    for (size_t i = 0; !cacheonly && o->tags && i < o->tags->n; i++) {
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

static void boot_record(cb_buf *b, const char *key, const char *value)
{
    cb_buf_puts(b, key);
    cb_buf_putc(b, '=');
    cb_buf_puts(b, value);
    cb_buf_putc(b, 0);
}

int builder_ext4_boot_write(const char *out_path, const char *const *tars, size_t ntars, const ext4_options *opts,
                            const oci_config *cfg, cb_err *err)
{
    if (cfg->entrypoint.n + cfg->cmd.n == 0)
        return cb_fail(err, "a bootable ext4 needs a command: the image has no ENTRYPOINT or CMD");
    cb_buf conf;
    cb_buf_init(&conf);
    for (size_t i = 0; i < cfg->entrypoint.n; i++)
        boot_record(&conf, "arg", cfg->entrypoint.v[i]);
    for (size_t i = 0; i < cfg->cmd.n; i++)
        boot_record(&conf, "arg", cfg->cmd.v[i]);
    for (size_t i = 0; i < cfg->env.n; i++)
        boot_record(&conf, "env", cfg->env.v[i]);
    if (cfg->user && *cfg->user)
        boot_record(&conf, "user", cfg->user);
    if (cfg->working_dir && *cfg->working_dir)
        boot_record(&conf, "cwd", cfg->working_dir);
    json_t *h = cfg->config_extra ? json_object_get(cfg->config_extra, "Hostname") : NULL;
    if (json_is_string(h) && *json_string_value(h))
        boot_record(&conf, "hostname", json_string_value(h));

    ext4_writer *w;
    int r = ext4_writer_new(out_path, opts, &w, err);
    if (r < 0) {
        cb_buf_free(&conf);
        return r;
    }
    for (size_t i = 0; i < ntars && r == 0; i++) {
        int fd = open(tars[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = cb_error(err, errno, "open `%s`", tars[i]);
            break;
        }
        r = ext4_writer_add_tar_fd(w, fd, tars[i], err);
        close(fd);
    }
    int64_t t = opts->source_date_epoch >= 0 ? opts->source_date_epoch : 0;
    ext4_entry e = {.mode = S_IFDIR | 0755, .mtime = {t, 0}};
    e.atime = e.ctime = e.mtime;
    /* the kernel mounts devtmpfs on /dev and opens /dev/console before init runs */
    e.path = "dev";
    if (r == 0)
        r = ext4_writer_add_dir(w, &e, NULL, 0, err);
    size_t vlen;
    const unsigned char *vminitd = guest_vminitd_binary(&vlen);
    e.path = "sbin/cbuild-init";
    e.mode = S_IFREG | 0755;
    if (r == 0)
        r = ext4_writer_add_file_buf(w, &e, vminitd, vlen, NULL, 0, err);
    e.path = "etc/cbuild-init.conf";
    e.mode = S_IFREG | 0644;
    if (r == 0)
        r = ext4_writer_add_file_buf(w, &e, conf.data, conf.len, NULL, 0, err);
    if (r == 0)
        r = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    cb_buf_free(&conf);
    return r < 0 ? cb_error_wrap(err, "bootable ext4 %s", out_path) : 0;
}

/* One non-image output (oci, docker, tar, local, ext4) of the committed image ref. */
static int export_one(bl_build *b, const output_spec *os, const char *ref, const oci_config *cfg,
                      const bl_chain *chain, cb_err *err)
{
    if (!strcmp(os->type, "cacheonly"))
        return 0; /* BuildKit's cacheonly exporter: the build and its --cache-to, nothing else */
    cleanup_free char *nm = xasprintf("exporting to %s %s", os->type, os->dest);
    int xp = bl_progress_add(b, nm);
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
        if (os->boot)
            rc = builder_ext4_boot_write(path, (const char *const *)tars.v, tars.n, &eo, cfg, err);
        else
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

/* The image exporters' epoch and rewrite-timestamp: the outputs' source-date-epoch (""
 * unsets it) else the build's SOURCE_DATE_EPOCH, as BuildKit's exporter takes the frontend's;
 * the outputs share one manifest, so they must agree. */
static int outputs_epoch(const builder_opts *o, int64_t build_epoch, bool *rewrite, int64_t *epoch, cb_err *err)
{
    *rewrite = false;
    *epoch = build_epoch;
    cleanup_free char *sde = NULL;
    int rw = -1, rc = 0;
    for (size_t i = 0; o->outputs && i < o->outputs->n && rc == 0; i++) {
        output_spec os;
        if ((rc = output_parse(o->outputs->v[i], &os, err)) < 0)
            break;
        if (os.rewrite_ts >= 0 && rw >= 0 && os.rewrite_ts != rw)
            rc = cb_fail(err, "outputs disagree on rewrite-timestamp: the image has one manifest");
        else if (os.sde && sde && strcmp(os.sde, sde))
            rc = cb_fail(err, "outputs disagree on source-date-epoch: the image has one manifest");
        if (os.rewrite_ts >= 0)
            rw = os.rewrite_ts;
        if (os.sde && !sde)
            sde = xstrdup(os.sde);
        output_free(&os);
    }
    if (sde)
        *epoch = *sde ? strtoll(sde, NULL, 10) : -1;
    *rewrite = rw == 1;
    return rc;
}

/* The image exporters' layer compression (one manifest, so the outputs that set it agree):
 * *any is false when no output asks for anything but the default. */
typedef struct export_compression {
    bool any, force, level_set;
    oci_compress_opts co;
} export_compression;

static int outputs_compression(const builder_opts *o, export_compression *ec, cb_err *err)
{
    memset(ec, 0, sizeof *ec);
    ec->co.algo = OCI_COMPRESSION_GZIP;
    int comp = -1, level = -1, force = -1, rc = 0;
    for (size_t i = 0; o->outputs && i < o->outputs->n && rc == 0; i++) {
        output_spec os;
        if ((rc = output_parse(o->outputs->v[i], &os, err)) < 0)
            break;
        bool image = !strcmp(os.type, "image") || !strcmp(os.type, "oci") || !strcmp(os.type, "docker");
        if (image && ((os.comp >= 0 && comp >= 0 && os.comp != comp) ||
                      (os.comp_level >= 0 && level >= 0 && os.comp_level != level) ||
                      (os.comp_force >= 0 && force >= 0 && os.comp_force != force)))
            rc = cb_fail(err, "outputs disagree on compression: the image has one manifest");
        if (image && os.comp >= 0)
            comp = os.comp;
        if (image && os.comp_level >= 0)
            level = os.comp_level;
        if (image && os.comp_force >= 0)
            force = os.comp_force;
        output_free(&os);
    }
    if (comp >= 0)
        ec->co.algo = (oci_compression)comp;
    ec->level_set = level >= 0;
    ec->co.level = level > 0 ? level : 0;
    ec->force = force == 1;
    ec->any = (comp >= 0 && comp != OCI_COMPRESSION_GZIP) || ec->level_set || ec->force;
    return rc;
}

static oci_compression layer_compression(const char *media_type)
{
    return cb_str_has_suffix(media_type, "zstd")   ? OCI_COMPRESSION_ZSTD
           : cb_str_has_suffix(media_type, "gzip") ? OCI_COMPRESSION_GZIP
                                                   : OCI_COMPRESSION_NONE;
}

/* compression=, compression-level=, force-compression=: the layers this build made are written
 * in the asked compression (at the asked level); the base image's layers keep theirs unless
 * force-compression=true, which converts every layer not already of that type (BuildKit's
 * Compression.Force and NeedsConversion). The diffIDs, hence the config, do not change. */
static int export_compress(bl_build *b, const export_compression *ec, size_t base_layers, bl_chain *chain,
                           cb_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < chain->n && rc == 0; i++) {
        bool own = i >= base_layers;
        bool other = layer_compression(chain->v[i].media_type) != ec->co.algo;
        if (!(other && (own || ec->force)) && !(own && ec->level_set && ec->co.algo != OCI_COMPRESSION_NONE))
            continue;
        rc = bl_layer_recompress(b->st, &chain->v[i], &ec->co, &chain->v[i], err);
    }
    return rc;
}

static int64_t time_parse(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return -1;
    return (int64_t)timegm(&tm);
}

static int export_rewrite(bl_build *b, int64_t epoch, size_t base_layers, oci_config *cfg, bl_chain *chain,
                          cb_err *err);

int bl_export_prepare(bl_build *b, size_t base_layers, size_t base_history, oci_config *cfg, bl_chain *chain,
                      cb_err *err)
{
    bool rewrite;
    int64_t epoch;
    int rc = outputs_epoch(b->opts, b->epoch, &rewrite, &epoch, err);
    if (rc < 0)
        return rc;
    /* patchImageConfig: the exporter's epoch clamps the times after the base image's */
    if (epoch >= 0) {
        char ts[32];
        bl_time_str(epoch, ts);
        for (size_t i = base_history; i < cfg->n_history; i++)
            if (!cfg->history[i].created || time_parse(cfg->history[i].created) > epoch) {
                free(cfg->history[i].created);
                cfg->history[i].created = xstrdup(ts);
            }
        if (cfg->created && time_parse(cfg->created) > epoch) {
            free(cfg->created);
            cfg->created = xstrdup(ts);
        }
    }
    export_compression ec;
    if ((rc = outputs_compression(b->opts, &ec, err)) < 0)
        return rc;
    if (rewrite && epoch < 0) {
        fprintf(b->opts->log ? b->opts->log : stderr,
                "WARNING: rewrite-timestamp is specified, but no source-date-epoch was found\n");
        rewrite = false;
    }
    if (rewrite && (rc = export_rewrite(b, epoch, base_layers, cfg, chain, err)) < 0)
        return rc;
    return ec.any ? export_compress(b, &ec, base_layers, chain, err) : 0;
}

/* rewrite-timestamp=true: the layers after the base image's rewritten with the epoch. */
static int export_rewrite(bl_build *b, int64_t epoch, size_t base_layers, oci_config *cfg, bl_chain *chain,
                          cb_err *err)
{
    int rc = 0;
    char ts[32];
    bl_time_str(epoch, ts);
    cleanup_free char *nm = xasprintf("rewriting layers with source-date-epoch %lld (%s)", (long long)epoch, ts);
    int pid = bl_progress_add(b, nm);
    progress_start(b->prog, pid);
    /* the base image's layers stay as they are (moby/buildkit#4614) */
    for (size_t i = base_layers; i < chain->n && rc == 0; i++) {
        bl_layer out;
        if ((rc = bl_layer_rewrite_timestamp(b->st, &chain->v[i], epoch, &out, err)) < 0)
            break;
        chain->v[i] = out;
        if (i < cfg->diff_ids.n) {
            free(cfg->diff_ids.v[i]);
            cfg->diff_ids.v[i] = xstrdup(out.diff_id);
        }
    }
    if (rc < 0)
        progress_error(b->prog, pid, err->msg);
    else
        progress_done(b->prog, pid);
    return rc;
}

/* A chain's layers as manifest descriptors (with buildkit/rewritten-timestamp when rewritten);
 * free with bl_export_layers_free. */
oci_descriptor *bl_export_layers(const bl_chain *c)
{
    oci_descriptor *ls = xcalloc(c->n ? c->n : 1, sizeof *ls);
    for (size_t i = 0; i < c->n; i++) {
        ls[i].media_type = (char *)c->v[i].media_type;
        memcpy(ls[i].digest, c->v[i].digest, sizeof ls[i].digest);
        ls[i].size = c->v[i].size;
        if (c->v[i].rewritten[0])
            oci_descriptor_set_annotation(&ls[i], "buildkit/rewritten-timestamp", c->v[i].rewritten);
    }
    return ls;
}

void bl_export_layers_free(oci_descriptor *ls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(ls[i].annotations);
    free(ls);
}

/* --annotation [TYPE[\[PLATFORM\]]:]KEY=VALUE as buildx passes them (BuildKit's exptypes): for this
 * single-manifest image only manifest annotations apply; *out is an object or NULL. */
static int annotations_parse(const char *platform, const cb_strv *annotations, json_t **out, cb_err *err)
{
    *out = NULL;
    const char *plat = platform ? platform : "linux/amd64";
    for (size_t i = 0; annotations && i < annotations->n; i++) {
        const char *a = annotations->v[i], *eq = strchr(a, '='), *colon = strchr(a, ':');
        if (!eq || eq == a) {
            json_decref(*out);
            return cb_fail(err, "invalid annotation %s: expected KEY=VALUE", a);
        }
        const char *key = a;
        if (colon && colon < eq) {
            size_t tl = strcspn(a, "[:");
            cleanup_free char *type = xstrndup(a, tl);
            bool known = !strcmp(type, "manifest") || !strcmp(type, "manifest-descriptor") ||
                         !strcmp(type, "index") || !strcmp(type, "index-descriptor");
            if (known) {
                key = colon + 1;
                if (a[tl] == '[') {
                    const char *close = strchr(a + tl, ']');
                    if (!close || close > colon || strlen(plat) != (size_t)(close - a - tl - 1) ||
                        strncmp(a + tl + 1, plat, strlen(plat))) {
                        json_decref(*out);
                        return cb_fail(err, "invalid annotation %s: no platform %.*s found in source", a,
                                       close ? (int)(close - a - tl - 1) : 0, a + tl + 1);
                    }
                }
                if (!strncmp(type, "index", 5)) {
                    json_decref(*out);
                    return cb_fail(err,
                                   "invalid annotation %s: index annotations not supported for single "
                                   "platform export",
                                   a);
                }
                if (!strcmp(type, "manifest-descriptor")) {
                    json_decref(*out);
                    return cb_fail(err,
                                   "invalid annotation %s: manifest-descriptor annotations need an index "
                                   "(a multi-platform build)",
                                   a);
                }
            }
        }
        if (!*out)
            *out = json_object();
        cleanup_free char *k = xstrndup(key, (size_t)(eq - key));
        json_object_set_new(*out, k, json_string(eq + 1));
    }
    return 0;
}

/* BuildKit's image writer with oci-mediatypes=false: docker schema2 manifest, config and layer types. */
static int docker_media_types(json_t *m, cb_err *err)
{
    json_object_set_new(m, "mediaType", json_string(DOCKER_MT_MANIFEST));
    json_object_set_new(json_object_get(m, "config"), "mediaType", json_string(DOCKER_MT_CONFIG));
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(m, "layers"), i, l)
    {
        const char *mt = json_string_value(json_object_get(l, "mediaType"));
        if (mt && !strcmp(mt, OCI_MT_LAYER_GZIP))
            json_object_set_new(l, "mediaType", json_string(DOCKER_MT_LAYER_GZIP));
        else if (mt && !strcmp(mt, OCI_MT_LAYER))
            json_object_set_new(l, "mediaType", json_string("application/vnd.docker.image.rootfs.diff.tar"));
        else if (mt && !strcmp(mt, OCI_MT_LAYER_ZSTD))
            return cb_fail(err, "layer %s is zstd: conflicts with \"oci-mediatypes=false\"",
                           json_string_value(json_object_get(l, "digest")));
    }
    return 0;
}

/* The committed OCI manifest rewritten with docker media types and/or annotations, tagged `tag`
 * (or NULL); *im reloaded from the new manifest. */
static int manifest_rewrite(bl_build *b, bool docker_types, json_t *annotations, const char *tag,
                            store_image *im, cb_err *err)
{
    json_error_t je;
    json_t *m = json_loadb(im->manifest_json, im->manifest_len, 0, &je);
    if (!m)
        return cb_fail(err, "manifest %s: %s", im->manifest_digest, je.text);
    int rc = docker_types ? docker_media_types(m, err) : 0;
    if (rc == 0 && annotations) {
        json_t *a = json_object_get(m, "annotations");
        if (!a)
            json_object_set_new(m, "annotations", a = json_object());
        json_object_update(a, annotations);
    }
    cleanup_free char *mj = rc == 0 ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (rc < 0)
        return rc;
    oci_descriptor md = {.media_type = docker_types ? (char *)DOCKER_MT_MANIFEST : (char *)OCI_MT_MANIFEST,
                         .size = (int64_t)strlen(mj)};
    if ((rc = store_blob_put_buf(b->st, mj, strlen(mj), NULL, md.digest, err)) < 0)
        return rc;
    if (tag && (rc = store_tag_set(b->st, tag, &md, err)) < 0)
        return rc;
    store_image_free(im);
    return store_image_resolve(b->st, md.digest, im, err);
}

/* One choice of media types for the image all outputs share: docker's when an output asks. */
static int outputs_docker_types(const output_spec *outs, size_t n, bool *docker, cb_err *err)
{
    bool oci = false;
    *docker = false;
    for (size_t i = 0; i < n; i++) {
        *docker |= outs[i].oci_types == 0;
        oci |= outs[i].oci_types == 1;
    }
    if (*docker && oci)
        return cb_fail(err, "outputs disagree on oci-mediatypes: the image has one manifest");
    return 0;
}

/* A docker archive holds one image and no attestations (docker load keeps none either). */
static int export_docker_unattested(bl_build *b, const output_spec *os, const store_image *im, const cb_strv *names,
                                    cb_err *err)
{
    fprintf(b->opts->log ? b->opts->log : stderr,
            "WARNING: attestations are not exported to a docker archive (type=docker, --load): the image alone is "
            "written; use --push or -o type=oci to keep them\n");
    output_spec one = *os;
    if (!os->name && names->n) {
        const char *refs[1] = {im->manifest_digest}, *as[1] = {names->v[0]};
        cleanup_free char *nm = xasprintf("exporting to %s %s", os->type, os->dest);
        int xp = progress_add(b->prog, nm);
        progress_start(b->prog, xp);
        bool to_stdout = !strcmp(os->dest, "-");
        cleanup_free char *tmp = bl_step_tmp(b, "export");
        int rc = store_save_as(b->st, refs, as, 1, false, to_stdout ? tmp : os->dest, err);
        if (rc == 0 && to_stdout)
            rc = copy_file_to_fd(tmp, STDOUT_FILENO, err);
        if (to_stdout)
            unlink(tmp);
        if (rc < 0)
            progress_error(b->prog, xp, err->msg);
        else
            progress_done(b->prog, xp);
        return rc;
    }
    return export_one(b, &one, im->manifest_digest, NULL, NULL, err);
}

static int bl_tar_dir(const char *dir, const char *dest, cb_err *err);
static int export_split(bl_build *b, const output_spec *os, const bl_platform_image *imgs, size_t n,
                        const bl_attest_opts *ao, cb_err *err);

/* type=tar with attestations: the filesystem and the statement files beside it, as BuildKit's
 * tar exporter (the files first into a folder, then one tar). */
static int export_tar_attested(bl_build *b, const bl_attest_opts *ao, const output_spec *os, const char *ref,
                               const oci_config *cfg, const bl_chain *chain, cb_err *err)
{
    cleanup_free char *dir = bl_step_tmp(b, "export-attest");
    output_spec one = {.type = (char *)"local", .dest = dir};
    int rc = export_one(b, &one, ref, cfg, chain, err);
    if (rc == 0)
        rc = bl_attest_files(b, ao, dir, NULL, chain, NULL, err);
    if (rc == 0)
        rc = bl_tar_dir(dir, os->dest, err);
    cb_err e;
    cb_rm_rf(dir, &e);
    return rc;
}

/* --attest on one image: an index of the image and its attestation manifest, tagged in the
 * image's place (BuildKit makes an index as soon as there are attestations). */
static int attest_single(bl_build *b, const bl_attest_opts *ao, const oci_descriptor *img, const oci_config *cfg,
                         const bl_chain *chain, const cb_strv *names, oci_descriptor *md, cb_err *err)
{
    oci_descriptor ms[2];
    memset(ms, 0, sizeof ms);
    oci_descriptor_copy(&ms[0], img);
    ms[0].platform = xcalloc(1, sizeof *ms[0].platform);
    ms[0].platform->os = xstrdup(cfg->os ? cfg->os : "linux");
    ms[0].platform->architecture = xstrdup(cfg->architecture ? cfg->architecture : "amd64");
    ms[0].platform->variant = cfg->variant && *cfg->variant ? xstrdup(cfg->variant) : NULL;
    ms[0].platform->os_version = cfg->os_version ? xstrdup(cfg->os_version) : NULL;
    cleanup_free char *plat = oci_platform_string(ms[0].platform);
    int rc = bl_attest_manifest(b, ao, img, plat, chain, names, &ms[1], err);
    size_t len = 0;
    memset(md, 0, sizeof *md);
    if (rc == 0)
        rc = store_index_commit(b->st, ms, 2, names->n ? names->v[0] : NULL, md->digest, &len, err);
    md->media_type = (char *)OCI_MT_INDEX;
    md->size = (int64_t)len;
    oci_descriptor_free(&ms[0]);
    oci_descriptor_free(&ms[1]);
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
    export_push ep = export_push_of(outs, nout, push);
    bool docker_types;
    json_t *annotations = NULL;
    /* --annotation and the image exporters' annotation.* keys: one parser */
    cb_strv all_annotations;
    cb_strv_init(&all_annotations);
    for (size_t i = 0; o->annotations && i < o->annotations->n; i++)
        cb_strv_push(&all_annotations, o->annotations->v[i]);
    for (size_t i = 0; i < nout; i++)
        for (size_t j = 0; j < outs[i].annotations.n; j++)
            cb_strv_push(&all_annotations, outs[i].annotations.v[j]);
    if ((rc = outputs_docker_types(outs, nout, &docker_types, err)) < 0 ||
        (rc = annotations_parse(o->platform, &all_annotations, &annotations, err)) < 0) {
        cb_strv_free(&names);
        cb_strv_free(&all_annotations);
        goto out;
    }
    cb_strv_free(&all_annotations);
    int pid = bl_progress_add(b, "exporting to image");
    progress_start(b->prog, pid);
    oci_descriptor *layers = bl_export_layers(chain);
    progress_status(b->prog, pid, "exporting layers done"); /* stored as blobs by the steps already */
    store_image im;
    memset(&im, 0, sizeof im);
    rc = store_image_commit(b->st, cfg, layers, chain->n, names.n ? names.v[0] : NULL, &im, err);
    bl_export_layers_free(layers, chain->n);
    if (rc == 0 && (docker_types || annotations))
        rc = manifest_rewrite(b, docker_types, annotations, names.n ? names.v[0] : NULL, &im, err);
    json_decref(annotations);
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
    memcpy(res->image_id, im.id, sizeof res->image_id);
    memcpy(res->manifest_digest, im.manifest_digest, sizeof res->manifest_digest);
    bl_attest_opts ao;
    oci_descriptor imd = md;
    rc = bl_attest_parse(o->attests, &ao, err);
    bool attested = rc == 0 && bl_attest_any(&ao);
    ao.oci_artifact = rc == 0 && outputs_oci_artifact(outs, nout);
    if (attested && docker_types)
        rc = cb_fail(err, "cannot export attestations with \"oci-mediatypes=false\"");
    else if (attested && (rc = attest_single(b, &ao, &imd, cfg, chain, &names, &md, err)) == 0) {
        progress_status(b->prog, pid, "exporting attestation manifest done");
        memcpy(res->manifest_digest, md.digest, sizeof res->manifest_digest);
    }
    if (rc == 0)
        rc = name_and_push(b, pid, &names, &md, &ep, err);
    if (rc < 0) {
        progress_error(b->prog, pid, err->msg);
    } else {
        progress_done(b->prog, pid);
    }
    /* an untagged image by its manifest digest: builds that differ only in their manifest
     * (media types, annotations, rewritten timestamps) share the config, the image ID */
    const char *ref = names.n ? names.v[0] : attested ? md.digest : im.manifest_digest;
    for (size_t i = 0; i < nout && rc == 0; i++) {
        if (outs[i].split == 1) { /* platform-split=true: DEST/<platform>/ even for one */
            bl_platform_image one = {.platform = (char *)b->platform, .chain = *chain, .config = *cfg};
            one.manifest.media_type = (char *)OCI_MT_MANIFEST;
            memcpy(one.manifest.digest, im.manifest_digest, sizeof one.manifest.digest);
            rc = export_split(b, &outs[i], &one, 1, attested ? &ao : NULL, err);
            continue;
        }
        if (!strcmp(outs[i].type, "docker") && attested)
            rc = export_docker_unattested(b, &outs[i], &im, &names, err);
        else if (!strcmp(outs[i].type, "tar") && attested)
            rc = export_tar_attested(b, &ao, &outs[i], ref, cfg, chain, err);
        else if (strcmp(outs[i].type, "image"))
            rc = export_one(b, &outs[i], ref, cfg, chain, err);
        if (rc == 0 && attested && !strcmp(outs[i].type, "local"))
            rc = bl_attest_files(b, &ao, outs[i].dest, NULL, chain, NULL, err);
    }
    bl_attest_opts_free(&ao);
    if (rc == 0 && o->iidfile)
        rc = cb_write_file_atomic(o->iidfile, im.id, strlen(im.id), 0644, err);
    if (rc == 0 && o->metadata_file)
        rc = write_metadata(o->metadata_file, im.id, &md, &names, err);
    if (rc == 0 && export_unstored(outs, nout))
        export_unname(b, &names);
    store_image_free(&im);
    cb_strv_free(&names);
out:
    for (size_t i = 0; i < parsed; i++)
        output_free(&outs[i]);
    free(outs);
    return rc;
}

/* "linux/arm" -> "linux_arm_v7": BuildKit's folder name per platform (platform-split), the
 * normalised platform the Dockerfile frontend keys its results by (platforms.FormatAll) */
static char *platform_dir(const char *platform)
{
    char *d = df_platform_canonical(platform);
    for (char *p = d; *p; p++)
        if (*p == '/')
            *p = '_';
    return d;
}

/* dir's contents (not dir itself) as a tar at dest ("-": stdout), owners and modes kept */
static int bl_tar_dir(const char *dir, const char *dest, cb_err *err)
{
    int fd = !strcmp(dest, "-") ? STDOUT_FILENO : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cb_error(err, errno, "create %s", dest);
    struct archive *w = archive_write_new();
    archive_write_set_format_pax_restricted(w);
    archive_write_open_fd(w, fd);
    struct archive *d = archive_read_disk_new();
    archive_read_disk_set_standard_lookup(d);
    archive_read_disk_set_behavior(d, ARCHIVE_READDISK_NO_XATTR);
    int rc = archive_read_disk_open(d, dir) == ARCHIVE_OK ? 0 : cb_fail(err, "read %s: %s", dir, archive_error_string(d));
    size_t dl = strlen(dir);
    while (rc == 0) {
        struct archive_entry *e = archive_entry_new();
        int r = archive_read_next_header2(d, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r < ARCHIVE_WARN) {
            rc = cb_fail(err, "read %s: %s", dir, archive_error_string(d));
            archive_entry_free(e);
            break;
        }
        archive_read_disk_descend(d);
        const char *full = archive_entry_pathname(e);
        if (strlen(full) <= dl + 1) { /* the folder itself */
            archive_entry_free(e);
            continue;
        }
        cleanup_free char *rel = xstrdup(full + dl + 1);
        archive_entry_set_pathname(e, rel);
        if (archive_write_header(w, e) != ARCHIVE_OK) {
            rc = cb_fail(err, "write %s: %s", dest, archive_error_string(w));
        } else if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            const char *src = archive_entry_sourcepath(e);
            int in = open(src ? src : full, O_RDONLY | O_CLOEXEC);
            if (in < 0) {
                rc = cb_error(err, errno, "open %s", full);
            } else {
                char buf[65536];
                ssize_t k;
                while (rc == 0 && (k = read(in, buf, sizeof buf)) > 0)
                    if (archive_write_data(w, buf, (size_t)k) != k)
                        rc = cb_fail(err, "write %s: %s", dest, archive_error_string(w));
                close(in);
            }
        }
        archive_entry_free(e);
    }
    archive_read_free(d);
    if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
        rc = cb_fail(err, "write %s: %s", dest, archive_error_string(w));
    archive_write_free(w);
    if (fd != STDOUT_FILENO && close(fd) < 0 && rc == 0)
        rc = cb_error(err, errno, "write %s", dest);
    return rc;
}

/* A per-platform output: local and ext4 into DEST/<os_arch>[/…], tar as one tar whose top
 * folders are the platforms (BuildKit's local/tar exporters with platform-split). */
static int export_split(bl_build *b, const output_spec *os, const bl_platform_image *imgs, size_t n,
                        const bl_attest_opts *ao, cb_err *err)
{
    if (!strcmp(os->type, "docker"))
        return cb_fail(err, "docker exporter does not currently support exporting manifest lists");
    bool to_stdout = !strcmp(os->dest, "-");
    if (!strcmp(os->type, "tar") || (!strcmp(os->type, "ext4") && to_stdout)) {
        if (!strcmp(os->type, "ext4"))
            return cb_fail(err, "type=ext4 of %zu platforms needs dest=DIR (one image per platform)", n);
        cleanup_free char *dir = bl_step_tmp(b, "export-split");
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            cleanup_free char *pd = platform_dir(imgs[i].platform);
            cleanup_free char *sub = cb_path_join(dir, pd);
            output_spec one = {.type = (char *)"local", .dest = sub};
            rc = export_one(b, &one, imgs[i].manifest.digest, &imgs[i].config, &imgs[i].chain, err);
            if (rc == 0 && ao && bl_attest_any(ao))
                rc = bl_attest_files(b, ao, sub, imgs[i].platform, &imgs[i].chain, NULL, err);
        }
        if (rc == 0)
            rc = bl_tar_dir(dir, os->dest, err);
        cb_err e;
        cb_rm_rf(dir, &e);
        return rc;
    }
    if (mkdir(os->dest, 0755) < 0 && errno != EEXIST)
        return cb_error(err, errno, "mkdir %s", os->dest);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cleanup_free char *pd = platform_dir(imgs[i].platform);
        cleanup_free char *sub =
            !strcmp(os->type, "ext4") ? xasprintf("%s/%s.img", os->dest, pd) : cb_path_join(os->dest, pd);
        output_spec one = *os;
        one.dest = sub;
        if (one.boot && strcmp(imgs[i].platform, "linux/amd64")) {
            rc = cb_fail(err, "boot=true for %s: the init cbuild embeds is an x86-64 vminitd", imgs[i].platform);
            break;
        }
        rc = export_one(b, &one, imgs[i].manifest.digest, &imgs[i].config, &imgs[i].chain, err);
        if (rc == 0 && ao && bl_attest_any(ao) && !strcmp(os->type, "local"))
            rc = bl_attest_files(b, ao, sub, imgs[i].platform, &imgs[i].chain, NULL, err);
    }
    return rc;
}

/* platform-split=false: every platform's files in DEST itself (a later platform's file wins), the
 * statements as provenance.<os_arch>.json beside them (BuildKit's local exporter). */
static int export_unsplit(bl_build *b, const output_spec *os, const bl_platform_image *imgs, size_t n,
                          const bl_attest_opts *ao, cb_err *err)
{
    bool tar = !strcmp(os->type, "tar");
    cleanup_free char *dir = tar ? bl_step_tmp(b, "export-unsplit") : xstrdup(os->dest);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        output_spec one = {.type = (char *)"local", .dest = dir};
        rc = export_one(b, &one, imgs[i].manifest.digest, &imgs[i].config, &imgs[i].chain, err);
        if (rc == 0 && ao && bl_attest_any(ao)) {
            cleanup_free char *pd = platform_dir(imgs[i].platform);
            rc = bl_attest_files(b, ao, dir, imgs[i].platform, &imgs[i].chain, pd, err);
        }
    }
    if (rc == 0 && tar)
        rc = bl_tar_dir(dir, os->dest, err);
    if (tar) {
        cb_err e;
        cb_rm_rf(dir, &e);
    }
    return rc;
}

/* Long: the index twin of bl_export (names, tags, push, every output type, iidfile, metadata). */
int bl_export_index(bl_build *b, const bl_platform_image *imgs, size_t n, builder_result *res, cb_err *err)
{
    const builder_opts *o = b->opts;
    size_t nout = o->outputs ? o->outputs->n : 0;
    output_spec *outs = xcalloc(nout + 1, sizeof *outs);
    int rc = 0;
    size_t parsed = 0;
    cb_strv names;
    cb_strv_init(&names);
    for (size_t i = 0; i < nout; i++, parsed++)
        if ((rc = output_parse(o->outputs->v[i], &outs[i], err)) < 0)
            goto out;
    bool push = o->push;
    if ((rc = output_names(o, outs, nout, &names, &push, err)) < 0)
        goto out;
    int pid = bl_progress_add(b, "exporting to image");
    progress_start(b->prog, pid);
    bl_attest_opts ao;
    if ((rc = bl_attest_parse(o->attests, &ao, err)) < 0)
        goto out;
    bool attested = bl_attest_any(&ao);
    ao.oci_artifact = outputs_oci_artifact(outs, nout);
    oci_descriptor *ms = xcalloc(2 * n, sizeof *ms);
    size_t nms = n;
    for (size_t i = 0; i < n; i++)
        ms[i] = imgs[i].manifest;
    /* each platform's attestation manifest after all the images, as BuildKit orders them */
    for (size_t i = 0; attested && i < n && rc == 0; i++)
        if ((rc = bl_attest_manifest(b, &ao, &imgs[i].manifest, imgs[i].platform, &imgs[i].chain, &names, &ms[nms],
                                     err)) == 0)
            nms++;
    char digest[CB_DIGEST_STR_LEN];
    size_t ilen = 0;
    if (rc == 0)
        rc = store_index_commit(b->st, ms, nms, names.n ? names.v[0] : NULL, digest, &ilen, err);
    for (size_t i = n; i < nms; i++)
        oci_descriptor_free(&ms[i]);
    free(ms);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            progress_status(b->prog, pid, "exporting manifest %s done", imgs[i].manifest.digest);
        progress_status(b->prog, pid, "exporting manifest list %s done", digest);
    }
    oci_descriptor md = {.media_type = (char *)OCI_MT_INDEX, .size = (int64_t)ilen};
    export_push ep_index = export_push_of(outs, nout, push);
    memcpy(md.digest, digest, sizeof md.digest);
    if (rc == 0)
        rc = name_and_push(b, pid, &names, &md, &ep_index, err);
    if (rc < 0)
        progress_error(b->prog, pid, err->msg);
    else
        progress_done(b->prog, pid);
    if (rc == 0) {
        memcpy(res->image_id, digest, sizeof res->image_id);
        memcpy(res->manifest_digest, digest, sizeof res->manifest_digest);
    }
    for (size_t i = 0; i < nout && rc == 0; i++) {
        if (!strcmp(outs[i].type, "image") || !strcmp(outs[i].type, "cacheonly"))
            continue;
        if (!strcmp(outs[i].type, "oci"))
            rc = export_one(b, &outs[i], names.n ? names.v[0] : digest, NULL, NULL, err);
        else if (outs[i].split == 0)
            rc = export_unsplit(b, &outs[i], imgs, n, &ao, err);
        else
            rc = export_split(b, &outs[i], imgs, n, &ao, err);
        if (rc < 0)
            cb_error_wrap(err, "exporting %s to %s", outs[i].type, outs[i].dest);
    }
    if (rc == 0 && o->iidfile)
        rc = cb_write_file_atomic(o->iidfile, digest, strlen(digest), 0644, err);
    if (rc == 0 && o->metadata_file)
        rc = write_metadata(o->metadata_file, NULL, &md, &names, err);
    if (rc == 0 && export_unstored(outs, nout))
        export_unname(b, &names);
    bl_attest_opts_free(&ao);
out:
    cb_strv_free(&names);
    for (size_t i = 0; i < parsed; i++)
        output_free(&outs[i]);
    free(outs);
    return rc;
}
