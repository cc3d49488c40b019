/* cbuild imagetools create: merge images already in a registry into one index (buildx
 * imagetools create), the way CI joins per-platform images pushed by digest. Sources are refs,
 * bare digests (in the one repository named) or descriptor JSON; an index source gives all its
 * manifests, a manifest source one entry whose platform comes from its config. Whatever lives
 * in another repository is copied into each tag's repository before the index is pushed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "oci.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

typedef struct it_source {
    const char *arg; /* as given, for messages */
    oci_ref ref;
    bool has_ref;
    json_t *desc; /* mediaType, digest, size, annotations, platform */
    cb_buf body;  /* the manifest or index bytes */
} it_source;

typedef struct it_clients {
    cli_registry_flags *rf;
    char *host[16];
    oci_registry *reg[16];
    size_t n;
} it_clients;

static int client_for(it_clients *c, const oci_ref *ref, oci_registry **out, cb_err *err)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->host[i], ref->registry)) {
            *out = c->reg[i];
            return 0;
        }
    if (c->n == sizeof c->reg / sizeof c->reg[0])
        return cb_fail(err, "imagetools create: more than %zu registries", c->n);
    oci_registry_opts ro;
    cli_registry_flags_apply(c->rf, &ro);
    int rc = oci_registry_new(ref, &ro, out, err);
    if (rc < 0)
        return rc;
    c->host[c->n] = xstrdup(ref->registry);
    c->reg[c->n++] = *out;
    return 0;
}

static void clients_free(it_clients *c)
{
    for (size_t i = 0; i < c->n; i++) {
        oci_registry_free(c->reg[i]);
        free(c->host[i]);
    }
}

static bool is_index_mt(const char *mt)
{
    return mt && (!strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

static bool is_manifest_mt(const char *mt)
{
    return mt && (!strcmp(mt, OCI_MT_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

static bool same_repo(const oci_ref *a, const oci_ref *b)
{
    return !strcmp(a->registry, b->registry) && !strcmp(a->repository, b->repository);
}

/* One argument: a digest, a reference, or a descriptor's JSON (as buildx's parseSource). */
#define BAD_SOURCE "failed to parse source \"%s\", valid sources are digests, references and descriptors: "
static int parse_source(const char *arg, it_source *s, cb_err *err)
{
    memset(s, 0, sizeof *s);
    s->arg = arg;
    cb_buf_init(&s->body);
    if (cb_digest_valid(arg)) {
        s->desc = json_pack("{s:s}", "digest", arg);
        return 0;
    }
    if (!strncmp(arg, "sha256", 6))
        return cb_fail(err, BAD_SOURCE "invalid checksum digest format", arg);
    if (arg[0] == '{') {
        json_error_t je;
        json_t *j = json_loads(arg, 0, &je);
        if (!json_is_object(j)) {
            json_decref(j);
            return cb_fail(err, BAD_SOURCE "line %d column %d: %s", arg, je.line, je.column, je.text);
        }
        const char *d = json_string_value(json_object_get(j, "digest"));
        if (!d || !cb_digest_valid(d)) {
            json_decref(j);
            return cb_fail(err, BAD_SOURCE "\"digest\" is not a sha256 digest", arg);
        }
        s->desc = j;
        return 0;
    }
    cb_err e = {0};
    if (oci_ref_parse(arg, &s->ref, &e) < 0)
        return cb_fail(err, BAD_SOURCE "%s", arg, e.msg);
    s->has_ref = true;
    s->desc = json_object();
    return 0;
}

static void source_free(it_source *s)
{
    if (s->has_ref)
        oci_ref_free(&s->ref);
    json_decref(s->desc);
    cb_buf_free(&s->body);
}

/* A manifest's platform from its config blob: os, architecture, variant, os.version, os.features. */
static int load_platform(it_clients *c, it_source *s, cb_err *err)
{
    json_t *m = json_loadb(s->body.data, s->body.len, 0, NULL);
    const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
    if (!cd || !cb_digest_valid(cd)) {
        json_decref(m);
        return cb_fail(err, "%s: the manifest has no config digest", s->arg);
    }
    oci_registry *reg;
    cb_buf cfg;
    cb_buf_init(&cfg);
    int rc = client_for(c, &s->ref, &reg, err);
    if (rc == 0)
        rc = oci_registry_fetch_blob(reg, s->ref.repository, cd, 0, oci_sink_buf(&cfg), err);
    char got[CB_DIGEST_STR_LEN];
    if (rc == 0) {
        cb_sha256_buf(cfg.data ? cfg.data : "", cfg.len, got);
        if (strcmp(got, cd))
            rc = cb_fail(err, "%s: config %s: digest mismatch: got %s", s->arg, cd, got);
    }
    json_t *j = rc == 0 ? json_loadb(cfg.data, cfg.len, 0, NULL) : NULL;
    if (rc == 0 && !json_is_object(j))
        rc = cb_fail(err, "%s: config %s is not a JSON object", s->arg, cd);
    if (rc == 0) {
        json_t *p = json_object_get(s->desc, "platform");
        if (!json_is_object(p)) {
            p = json_object();
            json_object_set_new(s->desc, "platform", p);
        }
        static const char *const keys[] = {"architecture", "os", "os.version", "os.features", "variant"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(j, keys[i]);
            if (v && !json_object_get(p, keys[i]))
                json_object_set(p, keys[i], v);
        }
    }
    json_decref(j);
    json_decref(m);
    cb_buf_free(&cfg);
    return rc;
}

/* Fetch the source's manifest and complete its descriptor (buildx's Resolve + mergeDesc). */
static int resolve_source(it_clients *c, it_source *s, cb_err *err)
{
    oci_registry *reg;
    int rc = client_for(c, &s->ref, &reg, err);
    if (rc < 0)
        return rc;
    char *mt = NULL;
    char digest[CB_DIGEST_STR_LEN];
    cb_err e = {0};
    rc = oci_registry_get_manifest(reg, s->ref.repository, s->ref.digest ? s->ref.digest : s->ref.tag,
                                   &s->body, &mt, digest, &e);
    if (rc < 0) {
        cleanup_free char *name = oci_ref_string(&s->ref);
        if (e.code == ENOENT)
            return cb_failc(err, ENOENT, "%s: not found", name);
        return cb_failc(err, e.code, "%s: %s", name, e.msg);
    }
    json_t *d = s->desc;
    json_int_t want = json_integer_value(json_object_get(d, "size"));
    if (want && want != (json_int_t)s->body.len) {
        free(mt);
        return cb_fail(err, "invalid size mismatch for %s, %lld != %zu", digest, (long long)want,
                       s->body.len);
    }
    if (!json_string_value(json_object_get(d, "mediaType")))
        json_object_set_new(d, "mediaType", json_string(mt ? mt : OCI_MT_MANIFEST));
    free(mt);
    json_object_set_new(d, "digest", json_string(digest));
    json_object_set_new(d, "size", json_integer((json_int_t)s->body.len));
    const char *dmt = json_string_value(json_object_get(d, "mediaType"));
    if (!strcmp(dmt, MT_DOCKER_SCHEMA1) || !strcmp(dmt, MT_DOCKER_SCHEMA1_SIGNED))
        return cb_fail(err, "schema1 manifests are not allowed in manifest lists");
    if (is_manifest_mt(dmt)) {
        json_t *p = json_object_get(d, "platform");
        if (!json_string_value(json_object_get(p, "os")) ||
            !json_string_value(json_object_get(p, "architecture")))
            return load_platform(c, s, err);
    }
    return 0;
}

/* An object with its keys sorted, as Go marshals a map. */
static json_t *sorted_object(const json_t *o)
{
    const char *keys[256];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (n < sizeof keys / sizeof keys[0])
            keys[n++] = k;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set(out, keys[i], json_object_get(o, keys[i]));
    return out;
}

/* A descriptor in the OCI spec's field order (what ocispec.Descriptor marshals to). */
static json_t *ordered_desc(const json_t *d)
{
    json_t *o = json_object();
    static const char *const keys[] = {"mediaType",   "digest", "size",     "urls",
                                       "annotations", "data",   "platform", "artifactType"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(d, keys[i]);
        if (!v || (json_is_object(v) && !json_object_size(v)))
            continue;
        if (!strcmp(keys[i], "annotations")) {
            json_object_set_new(o, keys[i], sorted_object(v));
        } else if (!strcmp(keys[i], "platform")) {
            json_t *p = json_object();
            static const char *const pk[] = {"architecture", "os", "os.version", "os.features", "variant"};
            for (size_t j = 0; j < sizeof pk / sizeof pk[0]; j++)
                if (json_object_get(v, pk[j]))
                    json_object_set(p, pk[j], json_object_get(v, pk[j]));
            json_object_set_new(o, keys[i], p);
        } else {
            json_object_set(o, keys[i], v);
        }
    }
    return o;
}

static char *platform_string(const json_t *p)
{
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *var = json_string_value(json_object_get(p, "variant"));
    return xasprintf("%s/%s%s%s", os ? os : "unknown", arch ? arch : "unknown", var ? "/" : "",
                     var ? var : "");
}

/* Adds d, or merges it into the entry with the same digest (buildx's addDesc). */
static void add_desc(json_t *descs, const json_t *d)
{
    const char *dg = json_string_value(json_object_get(d, "digest"));
    size_t i;
    json_t *old;
    json_array_foreach(descs, i, old)
    {
        if (!dg || strcmp(dg, json_string_value(json_object_get(old, "digest"))))
            continue;
        if (!json_string_value(json_object_get(old, "mediaType")) && json_object_get(d, "mediaType"))
            json_object_set(old, "mediaType", json_object_get(d, "mediaType"));
        if (json_object_get(d, "platform"))
            json_object_set(old, "platform", json_object_get(d, "platform"));
        json_t *a = json_object_get(old, "annotations");
        if (!json_is_object(a)) {
            a = json_object();
            json_object_set_new(old, "annotations", a);
        }
        json_t *da = json_object_get(d, "annotations");
        if (json_is_object(da))
            json_object_update(a, da);
        return;
    }
    json_array_append_new(descs, json_deep_copy(d));
}

/* --annotation TYPE[PLATFORM]:KEY=VALUE into the index (index:) or its descriptors
 * (manifest-descriptor:, optionally for one platform), as buildx's Combine. */
static int apply_annotation(const char *arg, json_t *index_ann, json_t *descs, cb_err *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return cb_fail(err, "failed to parse annotations: invalid annotation %s, expected key=value", arg);
    cleanup_free char *lhs = xstrndup(arg, (size_t)(eq - arg));
    const char *value = eq + 1;
    char *colon = strchr(lhs, ':');
    const char *key = lhs;
    cleanup_free char *type = NULL, *plat = NULL;
    static const char *const types[] = {"manifest", "index", "manifest-descriptor", "index-descriptor"};
    if (colon) {
        cleanup_free char *t = xstrndup(lhs, (size_t)(colon - lhs));
        char *br = strchr(t, '[');
        if (br) {
            char *end = strchr(br, ']');
            if (!end || end[1])
                return cb_fail(
                    err, "failed to parse annotations: invalid annotation %s: unterminated platform", arg);
            *end = 0;
            plat = xstrdup(br + 1);
            *br = 0;
        }
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcmp(t, types[i]))
                type = xstrdup(t);
        if (type)
            key = colon + 1;
    }
    if (!*key)
        return cb_fail(err, "failed to parse annotations: invalid annotation %s: empty key", arg);
    if (!type || !strcmp(type, "manifest"))
        return cb_fail(err, "\"%s\" annotations are not supported yet", type ? type : "");
    if (!strcmp(type, "index-descriptor"))
        return cb_fail(err, "\"%s\" annotations are invalid while creating an image", type);
    if (!strcmp(type, "index")) {
        json_object_set_new(index_ann, key, json_string(value));
        return 0;
    }
    size_t i;
    json_t *d;
    json_array_foreach(descs, i, d)
    {
        cleanup_free char *p = platform_string(json_object_get(d, "platform"));
        if (plat && strcmp(plat, p))
            continue;
        json_t *a = json_object_get(d, "annotations");
        if (!json_is_object(a)) {
            a = json_object();
            json_object_set_new(d, "annotations", a);
        }
        json_object_set_new(a, key, json_string(value));
    }
    return 0;
}

/* The index to push (or, for one source and nothing to add, that source's own bytes). */
static int combine(it_source *srcs, size_t n, const cb_strv *annotations, bool prefer_index, char **body,
                   char **media_type, cb_err *err)
{
    if (n == 1 && annotations->n == 0) {
        const char *mt = json_string_value(json_object_get(srcs[0].desc, "mediaType"));
        if (is_index_mt(mt) || (is_manifest_mt(mt) && !prefer_index)) {
            *body = xstrndup(srcs[0].body.data ? srcs[0].body.data : "", srcs[0].body.len);
            *media_type = xstrdup(mt);
            return 0;
        }
    }
    json_t *descs = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *mt = json_string_value(json_object_get(srcs[i].desc, "mediaType"));
        if (!is_index_mt(mt)) {
            add_desc(descs, srcs[i].desc);
            continue;
        }
        json_t *idx = json_loadb(srcs[i].body.data, srcs[i].body.len, 0, NULL);
        json_t *ms = json_object_get(idx, "manifests");
        size_t k;
        json_t *m;
        json_array_foreach(ms, k, m)
        {
            add_desc(descs, m);
        }
        json_decref(idx);
    }
    size_t docker = 0, k;
    json_t *d;
    json_array_foreach(descs, k, d)
    {
        const char *mt = json_string_value(json_object_get(d, "mediaType"));
        if (mt && !strncmp(mt, "application/vnd.docker.", 23))
            docker++;
    }
    const char *mt = docker == json_array_size(descs) ? MT_DOCKER_LIST : OCI_MT_INDEX;
    json_t *index_ann = json_object();
    /* annotations only exist on OCI indexes */
    for (size_t i = 0; !strcmp(mt, OCI_MT_INDEX) && i < annotations->n; i++)
        if (apply_annotation(annotations->v[i], index_ann, descs, err) < 0) {
            json_decref(index_ann);
            json_decref(descs);
            return -EINVAL;
        }
    json_t *out_descs = json_array();
    json_array_foreach(descs, k, d)
    {
        json_array_append_new(out_descs, ordered_desc(d));
    }
    json_t *idx = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", mt, "manifests", out_descs);
    if (json_object_size(index_ann))
        json_object_set_new(idx, "annotations", sorted_object(index_ann));
    *body = json_dumps(idx, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    *media_type = xstrdup(mt);
    json_decref(idx);
    json_decref(index_ann);
    json_decref(descs);
    return 0;
}

/* One blob into dst's repository: present already, mounted from the source repository on the
 * same registry, else fetched and uploaded. */
static int copy_blob(it_clients *c, const oci_ref *src, const oci_ref *dst, const char *digest, cb_err *err)
{
    oci_registry *sr, *dr;
    int rc = client_for(c, src, &sr, err);
    if (rc == 0)
        rc = client_for(c, dst, &dr, err);
    if (rc < 0)
        return rc;
    int64_t size = 0;
    if ((rc = oci_registry_blob_exists(dr, dst->repository, digest, &size, err)) != 0)
        return rc < 0 ? rc : 0;
    if (!strcmp(src->registry, dst->registry)) {
        if ((rc = oci_registry_mount_blob(dr, dst->repository, digest, src->repository, err)) != 0)
            return rc < 0 ? rc : 0;
    }
    char path[] = "/tmp/cbuild-imagetools-XXXXXX";
    cleanup_close int fd = mkstemp(path);
    if (fd < 0)
        return cb_error(err, errno, "copy blob %s: create a temporary file", digest);
    unlink(path);
    if ((rc = oci_registry_fetch_blob(sr, src->repository, digest, 0, oci_sink_fd(fd), err)) < 0)
        return rc;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return cb_error(err, errno, "copy blob %s: size of the temporary file", digest);
    lseek(fd, 0, SEEK_SET);
    char got[CB_DIGEST_STR_LEN];
    cb_sha256 *h = cb_sha256_new();
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        cb_sha256_update(h, buf, (size_t)r);
    cb_sha256_final(h, got);
    if (r < 0)
        return cb_error(err, errno, "copy blob %s: read the temporary file", digest);
    if (strcmp(got, digest))
        return cb_fail(err, "copy blob %s from %s/%s: digest mismatch: got %s", digest, src->registry,
                       src->repository, got);
    return oci_registry_push_blob(dr, dst->repository, digest, (int64_t)end, fd, NULL, err);
}

/* A manifest or index (by digest) and everything it refers to, from src's repository into
 * dst's (buildx's Copy); the manifest itself last so the registry accepts it. */
static int copy_manifest(it_clients *c, const oci_ref *src, const oci_ref *dst, const char *digest, int depth,
                         cb_err *err)
{
    if (depth > 4)
        return cb_fail(err, "copy %s: indexes nested too deep", digest);
    oci_registry *sr, *dr;
    int rc = client_for(c, src, &sr, err);
    if (rc == 0)
        rc = client_for(c, dst, &dr, err);
    if (rc < 0)
        return rc;
    cb_buf body;
    cb_buf_init(&body);
    char *mt = NULL;
    char got[CB_DIGEST_STR_LEN];
    if ((rc = oci_registry_get_manifest(sr, src->repository, digest, &body, &mt, got, err)) < 0) {
        cb_buf_free(&body);
        return rc;
    }
    json_t *j = json_loadb(body.data, body.len, 0, NULL);
    if (is_index_mt(mt)) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(j, "manifests"), i, m)
        {
            const char *d = json_string_value(json_object_get(m, "digest"));
            if (rc == 0 && d)
                rc = copy_manifest(c, src, dst, d, depth + 1, err);
        }
    } else {
        const char *cd = json_string_value(json_object_get(json_object_get(j, "config"), "digest"));
        if (cd)
            rc = copy_blob(c, src, dst, cd, err);
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(j, "layers"), i, l)
        {
            const char *d = json_string_value(json_object_get(l, "digest"));
            /* foreign layers (with urls) stay where their urls say */
            if (rc == 0 && d && !json_object_get(l, "urls"))
                rc = copy_blob(c, src, dst, d, err);
        }
    }
    if (rc == 0)
        rc = oci_registry_put_manifest(dr, dst->repository, digest, mt, body.data, body.len, err);
    json_decref(j);
    free(mt);
    cb_buf_free(&body);
    return rc;
}

static int run_create(cli_registry_flags *rf, cb_strv *tag_args, cb_strv *files, cb_strv *annotations,
                      bool dry_run, bool append, bool prefer_index, const cb_strv *pos, cb_err *err)
{
    if (pos->n == 0 && files->n == 0)
        return cb_fail(err, "no sources specified");
    if (!dry_run && tag_args->n == 0)
        return cb_fail(err, "can't push with no tags specified, please set --tag or --dry-run");
    int rc = 0;
    cb_strv args;
    cb_strv_init(&args);
    size_t ntags = tag_args->n;
    oci_ref *tags = calloc(ntags ? ntags : 1, sizeof *tags);
    size_t nparsed = 0;
    it_source *srcs = NULL;
    size_t nsrcs = 0;
    it_clients clients = {.rf = rf};
    char *body = NULL, *mt = NULL;

    for (size_t i = 0; i < files->n && rc == 0; i++) {
        cb_buf fb;
        cb_buf_init(&fb);
        if ((rc = cb_read_file(files->v[i], &fb, err)) == 0) {
            char *s = xstrndup(fb.data ? fb.data : "", fb.len);
            size_t l = strlen(s);
            while (l && (s[l - 1] == '\n' || s[l - 1] == ' ' || s[l - 1] == '\r' || s[l - 1] == '\t'))
                s[--l] = 0;
            cb_strv_push_owned(&args, s);
        }
        cb_buf_free(&fb);
    }
    for (; nparsed < ntags && rc == 0; nparsed++) {
        cb_err e = {0};
        if (oci_ref_parse(tag_args->v[nparsed], &tags[nparsed], &e) < 0) {
            rc = cb_fail(err, "invalid tag %s: %s", tag_args->v[nparsed], e.msg);
            break;
        }
    }
    if (rc < 0)
        goto out;
    /* order as buildx: the appended tag, then files, then arguments; files were read first */
    cb_strv ordered;
    cb_strv_init(&ordered);
    if (append && ntags > 0)
        cb_strv_push(&ordered, tag_args->v[0]);
    for (size_t i = 0; i < files->n && i < args.n; i++)
        cb_strv_push(&ordered, args.v[i]);
    for (size_t i = 0; i < pos->n; i++)
        cb_strv_push(&ordered, pos->v[i]);
    cb_strv_free(&args);
    args = ordered;

    srcs = calloc(args.n, sizeof *srcs);
    for (; nsrcs < args.n; nsrcs++)
        if ((rc = parse_source(args.v[nsrcs], &srcs[nsrcs], err)) < 0) {
            nsrcs++;
            goto out;
        }
    /* the repositories named: a source without one uses the only one there is */
    const oci_ref *repo = NULL;
    bool several = false;
    for (size_t i = 0; i < ntags + nsrcs; i++) {
        const oci_ref *r = i < ntags ? &tags[i] : srcs[i - ntags].has_ref ? &srcs[i - ntags].ref : NULL;
        if (!r)
            continue;
        if (!repo)
            repo = r;
        else if (!same_repo(repo, r))
            several = true;
    }
    for (size_t i = 0; i < nsrcs; i++) {
        if (srcs[i].has_ref)
            continue;
        if (!repo) {
            rc = cb_fail(err, "no repositories specified, please set a reference in tag or source");
            goto out;
        }
        if (several) {
            rc = cb_fail(err, "multiple repositories specified, cannot infer repository for \"%s\"",
                         srcs[i].arg);
            goto out;
        }
        const char *d = json_string_value(json_object_get(srcs[i].desc, "digest"));
        cleanup_free char *name = xasprintf("%s/%s@%s", repo->registry, repo->repository, d);
        if ((rc = oci_ref_parse(name, &srcs[i].ref, err)) < 0)
            goto out;
        srcs[i].has_ref = true;
    }
    for (size_t i = 0; i < nsrcs; i++)
        if ((rc = resolve_source(&clients, &srcs[i], err)) < 0)
            goto out;
    if ((rc = combine(srcs, nsrcs, annotations, prefer_index, &body, &mt, err)) < 0)
        goto out;
    if (dry_run) {
        printf("%s\n", body);
        goto out;
    }
    char digest[CB_DIGEST_STR_LEN];
    cb_sha256_buf(body, strlen(body), digest);
    for (size_t t = 0; t < ntags && rc == 0; t++) {
        cleanup_free char *tname = oci_ref_string(&tags[t]);
        for (size_t i = 0; i < nsrcs && rc == 0; i++) {
            if (same_repo(&srcs[i].ref, &tags[t]))
                continue;
            const char *d = json_string_value(json_object_get(srcs[i].desc, "digest"));
            cleanup_free char *sname = oci_ref_string(&srcs[i].ref);
            fprintf(stderr, "copying %s from %s to %s\n", d, sname, tname);
            rc = copy_manifest(&clients, &srcs[i].ref, &tags[t], d, 0, err);
        }
        if (rc < 0)
            break;
        oci_registry *reg;
        fprintf(stderr, "pushing %s to %s\n", digest, tname);
        if ((rc = client_for(&clients, &tags[t], &reg, err)) == 0)
            rc = oci_registry_put_manifest(reg, tags[t].repository, tags[t].tag ? tags[t].tag : digest, mt,
                                           body, strlen(body), err);
    }
out:
    free(body);
    free(mt);
    for (size_t i = 0; i < nsrcs; i++)
        source_free(&srcs[i]);
    free(srcs);
    for (size_t i = 0; i < nparsed; i++)
        oci_ref_free(&tags[i]);
    free(tags);
    cb_strv_free(&args);
    clients_free(&clients);
    return rc;
}

int cli_cmd_imagetools_create(cli_ctx *ctx, int argc, char **argv)
{
    bool dry_run = false, append = false, prefer_index = true;
    cb_strv tags, files, annotations;
    cb_strv_init(&tags);
    cb_strv_init(&files);
    cb_strv_init(&annotations);
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    const cli_opt opts[] = {
        {"tag", 't', CLI_STRINGS, &tags, "NAME", "set a reference for the new image (repeatable)"},
        {"file", 'f', CLI_STRINGS, &files, "FILE", "read a source descriptor from a file (repeatable)"},
        {"dry-run", 0, CLI_BOOL, &dry_run, NULL, "print the index to stdout instead of pushing it"},
        {"append", 0, CLI_BOOL, &append, NULL, "add the manifests of the first tag's existing image"},
        {"annotation", 0, CLI_STRINGS, &annotations, "TYPE:KEY=VALUE",
         "add an annotation (index: or manifest-descriptor[PLATFORM]:)"},
        {"prefer-index", 0, CLI_BOOL, &prefer_index, NULL,
         "one manifest source: make an index of it (default true) rather than tag it as is"},
        CLI_REGISTRY_OPTS(&rf),
        CLI_CREDS_OPT(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "imagetools create",
        "[OPTIONS] [SOURCE...]",
        "Create a multi-platform image from images in a registry (as buildx imagetools create)",
        opts,
        false,
        0,
        -1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc < 0) {
        cb_err err = {0};
        rc = run_create(&rf, &tags, &files, &annotations, dry_run, append, prefer_index, &v.pos, &err) < 0
                 ? cli_report(&err)
                 : 0;
    }
    cb_strv_free(&tags);
    cb_strv_free(&files);
    cb_strv_free(&annotations);
    cli_registry_flags_free(&rf);
    return cli_call_end(&v, rc);
}
