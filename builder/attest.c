/* Attestations as BuildKit attaches them (exporter/containerimage/writer.go,
 * solver/llbsolver/provenance): --attest parsing, the SLSA provenance predicate (v1 and v0.2),
 * in-toto statements, the attestation manifest of each platform image, and the statement
 * files of local/tar outputs. The SBOM predicate is attest-sbom.c's. */
#include "attest.h"
#include "attest-sbom.h"
#include "git.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROV_BUILD_TYPE_V1                                                                                   \
    "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"
#define PROV_BUILD_TYPE_V02 "https://mobyproject.org/buildkit@v1"
#define PROV_PREDICATE_V1 "https://slsa.dev/provenance/v1"
#define PROV_PREDICATE_V02 "https://slsa.dev/provenance/v0.2"
#define INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"

/* ---------- --attest ---------- */

void bl_attest_opts_free(bl_attest_opts *o)
{
    free(o->builder_id);
    free(o->prov_filename);
    free(o->sbom_generator);
    cb_strv_free(&o->sbom_params);
    memset(o, 0, sizeof *o);
}

static int parse_bool(const char *spec, const char *key, const char *v, bool *out, cb_err *err)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "TRUE") || !strcmp(v, "True"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") || !strcmp(v, "FALSE") ||
             !strcmp(v, "False"))
        *out = false;
    else
        return cb_fail(err, "invalid --attest %s: invalid value %s=%s (a boolean)", spec, key, v);
    return 0;
}

/* One spec's fields onto o (type already known: provenance or sbom). */
static int attest_field(bl_attest_opts *o, bool prov, const char *spec, const char *k, const char *v,
                        cb_err *err)
{
    if (prov && !strcmp(k, "mode")) {
        if (strcmp(v, "min") && strcmp(v, "max") && strcmp(v, "full"))
            return cb_fail(err, "invalid --attest %s: invalid mode \"%s\" (min or max)", spec, v);
        o->prov_max = strcmp(v, "min") != 0;
    } else if (prov && !strcmp(k, "version")) {
        if (strcmp(v, "v1") && strcmp(v, "v0.2"))
            return cb_fail(err, "invalid --attest %s: invalid provenance SLSA version: %s", spec, v);
        o->prov_v02 = !strcmp(v, "v0.2");
    } else if (prov && !strcmp(k, "builder-id")) {
        free(o->builder_id);
        o->builder_id = xstrdup(v);
    } else if (prov && !strcmp(k, "reproducible")) {
        return parse_bool(spec, k, v, &o->reproducible, err);
    } else if (prov && !strcmp(k, "inline-only")) {
        return parse_bool(spec, k, v, &o->prov_inline_only, err);
    } else if (prov && !strcmp(k, "filename")) {
        free(o->prov_filename);
        o->prov_filename = xstrdup(v);
    } else if (!prov && !strcmp(k, "generator")) {
        free(o->sbom_generator);
        o->sbom_generator = xstrdup(v);
    } else if (!prov) {
        /* a scanner image gets them as BUILDKIT_SCAN_<key> */
        cb_strv_push(&o->sbom_params, k);
        cb_strv_push(&o->sbom_params, v);
    }
    /* other provenance keys (capture-usage, complete-materials) change nothing here */
    return 0;
}

static int attest_spec(bl_attest_opts *o, const char *spec, cb_err *err)
{
    cleanup_free char *c = xstrdup(spec);
    const char *type = NULL;
    bool disabled = false;
    cb_strv kv;
    cb_strv_init(&kv);
    int rc = 0;
    char *save = NULL;
    for (char *f = strtok_r(c, ",", &save); f && rc == 0; f = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(f, '=');
        if (!eq) {
            rc = cb_fail(err, "invalid --attest %s: invalid value %s", spec, f);
            break;
        }
        *eq = 0;
        if (!strcmp(f, "type"))
            type = eq + 1;
        else if (!strcmp(f, "disabled"))
            rc = parse_bool(spec, f, eq + 1, &disabled, err);
        else {
            cb_strv_push(&kv, f);
            cb_strv_push(&kv, eq + 1);
        }
    }
    if (rc == 0 && (!type || !*type))
        rc = cb_fail(err, "invalid --attest %s: attestation type not specified", spec);
    bool prov = rc == 0 && !strcmp(type, "provenance");
    if (rc == 0 && !prov && strcmp(type, "sbom"))
        rc = cb_fail(err, "invalid --attest %s: unknown attestation type \"%s\" (provenance or sbom)", spec,
                     type);
    if (rc == 0 && prov) {
        free(o->builder_id);
        free(o->prov_filename);
        o->builder_id = o->prov_filename = NULL;
        o->provenance = !disabled;
        o->prov_max = true;
        o->prov_v02 = o->reproducible = o->prov_inline_only = false;
    } else if (rc == 0) {
        free(o->sbom_generator);
        o->sbom_generator = NULL;
        cb_strv_free(&o->sbom_params);
        cb_strv_init(&o->sbom_params);
        o->sbom = !disabled;
    }
    for (size_t i = 0; rc == 0 && i + 1 < kv.n; i += 2)
        rc = attest_field(o, prov, spec, kv.v[i], kv.v[i + 1], err);
    cb_strv_free(&kv);
    return rc;
}

int bl_attest_parse(const cb_strv *specs, bl_attest_opts *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    cb_strv_init(&out->sbom_params);
    for (size_t i = 0; specs && i < specs->n; i++) {
        int rc = attest_spec(out, specs->v[i], err);
        if (rc < 0) {
            bl_attest_opts_free(out);
            return rc;
        }
    }
    return 0;
}

/* ---------- small helpers ---------- */

/* Go's time.Time JSON: RFC 3339 with nanoseconds, trailing zeros dropped. */
static void time_nano_str(const struct timespec *ts, char out[48])
{
    struct tm tm;
    time_t s = ts->tv_sec;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 48, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts->tv_nsec) {
        char frac[16];
        snprintf(frac, sizeof frac, ".%09ld", ts->tv_nsec);
        for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
            frac[k - 1] = 0;
        snprintf(out + n, 48 - n, "%sZ", frac);
    } else {
        snprintf(out + n, 48 - n, "Z");
    }
}

/* BuildKit's identity.NewID: 25 base-36 characters. */
static void invocation_id(char out[26])
{
    static const char a[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char r[25];
    if (RAND_bytes(r, sizeof r) != 1)
        memset(r, 0, sizeof r);
    for (int i = 0; i < 25; i++)
        out[i] = a[r[i] % 36];
    out[25] = 0;
}

/* Go's url.PathEscape, which packageurl-go applies to each part of a purl. */
static void path_escape(cb_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~$&+:=@", *p))
            cb_buf_putc(b, (char)*p);
        else
            cb_buf_printf(b, "%%%02X", *p);
    }
}

/* purl.RefToPURL: pkg:docker/<namespace>/<name>@<tag>?digest=…&platform=… */
char *bl_attest_purl(const char *type, const char *ref, const char *platform)
{
    oci_ref r;
    cb_err e;
    cb_err_clear(&e);
    if (oci_ref_parse(ref, &r, &e) < 0)
        return xasprintf("pkg:%s/%s", type, ref);
    cleanup_free char *fam = oci_ref_familiar_name(&r);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_printf(&b, "pkg:%s/", type);
    char *last = strrchr(fam, '/');
    if (last) {
        *last = 0;
        cleanup_free char *ns = xstrdup(fam);
        char *save = NULL;
        for (char *seg = strtok_r(ns, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
            path_escape(&b, seg);
            cb_buf_putc(&b, '/');
        }
        path_escape(&b, last + 1);
    } else {
        path_escape(&b, fam);
    }
    const char *tag = r.tag ? r.tag : r.digest ? NULL : "latest";
    if (tag) {
        cb_buf_putc(&b, '@');
        path_escape(&b, tag);
    }
    char sep = '?';
    if (r.digest) {
        cb_buf_puts(&b, "?digest=");
        path_escape(&b, r.digest);
        sep = '&';
    }
    if (platform) {
        cb_buf_printf(&b, "%cplatform=", sep);
        path_escape(&b, platform);
    }
    oci_ref_free(&r);
    return cb_buf_steal(&b);
}

static json_t *digest_set(const char *digest)
{
    const char *colon = strchr(digest, ':');
    if (!colon)
        return json_pack("{ss}", "sha256", digest);
    cleanup_free char *alg = xstrndup(digest, (size_t)(colon - digest));
    return json_pack("{ss}", alg, colon + 1);
}

static void obj_setf(json_t *o, json_t *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void obj_setf(json_t *o, json_t *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf k;
    cb_buf_init(&k);
    cb_buf_vprintf(&k, fmt, ap);
    va_end(ap);
    json_object_set_new(o, k.data, v);
    cb_buf_free(&k);
}

static json_t *jstr_fmt(const char *fmt, const char *a)
{
    cleanup_free char *s = xasprintf(fmt, a);
    return json_string(s);
}

static json_t *base64_json(const void *data, size_t n)
{
    char *out = cb_base64(data, n);
    json_t *j = json_string(out);
    free(out);
    return j;
}

/* ---------- provenance ---------- */

void bl_attest_note_source(bl_build *b, const char *url, const char *digest)
{
    char *u = bl_url_redact(url);
    pthread_mutex_lock(&b->lock);
    if (cb_strv_contains(&b->src_urls, u)) {
        free(u);
    } else {
        cb_strv_push_owned(&b->src_urls, u);
        cb_strv_push(&b->src_digests, digest);
    }
    pthread_mutex_unlock(&b->lock);
}

/* A git commit as BuildKit's digestSetForCommit: sha256 for 64 hex digits, else sha1. */
static json_t *commit_digest_set(const char *commit)
{
    return json_pack("{ss}", strlen(commit) == 64 ? "sha256" : "sha1", commit);
}

/* The context's source identifier in the build definition: llb.Git's git://HOST/PATH#ref:subdir
 * (no scheme, no credentials), an HTTP context's URL, else local://context. */
static char *context_identifier(const bl_build *b)
{
    if (!b->ctx.url)
        return xstrdup("local://context");
    bl_git_ref r;
    cb_err e;
    cb_err_clear(&e);
    if (!b->ctx.git_commit[0] || bl_git_ref_parse(b->ctx.url, &r, &e) < 0)
        return bl_url_redact(b->ctx.url);
    const char *hp = strstr(r.remote, "://") ? strstr(r.remote, "://") + 3 : r.remote;
    size_t alen = strcspn(hp, "/");
    const char *at = memrchr(hp, '@', alen);
    if (at)
        hp = at + 1;
    char *id = r.ref || r.subdir ? xasprintf("git://%s#%s%s%s", hp, r.ref ? r.ref : "", r.subdir ? ":" : "",
                                             r.subdir ? r.subdir : "")
                                 : xasprintf("git://%s", hp);
    bl_git_ref_free(&r);
    return id;
}

/* A git context's URL as dfgitutil.FragmentFormat: remote#ref[:subdir] (with_subdir) or
 * remote#ref; NULL when the context is not a git repository. */
static char *git_context_url(const bl_build *b, bool with_subdir)
{
    if (!b->ctx.url || !b->ctx.git_commit[0])
        return NULL;
    bl_git_ref r;
    cb_err e;
    cb_err_clear(&e);
    if (bl_git_ref_parse(b->ctx.url, &r, &e) < 0)
        return NULL;
    cleanup_free char *sub = with_subdir && r.subdir ? bl_path_clean(r.subdir) : NULL;
    const char *subdir = sub && strcmp(sub, "/") ? sub + (sub[0] == '/') : NULL;
    char *u = r.ref || subdir ? xasprintf("%s#%s%s%s", r.remote, r.ref ? r.ref : "", subdir ? ":" : "", subdir ? subdir : "")
                              : xstrdup(r.remote);
    bl_git_ref_free(&r);
    return u;
}

/* A material's purl and digest for a resolved image: a docker-image:// context by its
 * reference, an oci-layout:// one as pkg:oci/NAME@DIGEST (BuildKit's local image source), a
 * local directory context none (it is a local source), a URL one none (noted as a source). */
static bool image_material(const bl_image *im, const char *platform, char **uri, char **digest)
{
    /* what the image was loaded from: a source policy may have converted the reference */
    const bl_named *nc = im->source_named;
    const char *plat = im->platform ? im->platform : platform;
    *digest = xstrdup(im->im.manifest_digest);
    if (im->source_kind == BL_NAMED_LOCAL || im->source_kind == BL_NAMED_URL) {
        free(*digest); /* a local source; a URL's material is its git commit or download */
        return false;
    }
    if (nc && nc->kind == BL_NAMED_OCI) {
        char pinned[CB_DIGEST_STR_LEN];
        cb_err e;
        cb_err_clear(&e);
        if (bl_named_oci_pick(nc, pinned, &e) == 0) {
            free(*digest);
            *digest = xstrdup(pinned);
        }
        cleanup_free char *ref = xasprintf("%s@%s", nc->name, *digest);
        *uri = bl_attest_purl("oci", ref, plat);
        return true;
    }
    if (im->source_kind == BL_NAMED_IMAGE) { /* docker-image://scratch */
        free(*digest);
        return false;
    }
    *uri = bl_attest_purl("docker", im->source ? im->source : im->ref, plat);
    return true;
}

/* resolvedDependencies: the images the build resolved for this platform (FROM, COPY --from,
 * RUN --mount from=), each once, with the manifest digest it used; then the git context and
 * the ADD sources (BuildKit's order: images, git, http). */
static json_t *prov_materials(bl_build *b, const char *platform)
{
    json_t *a = json_array();
    cb_strv seen;
    cb_strv_init(&seen);
    size_t n = bl_resolver_count(b->images);
    for (size_t i = 0; i < n; i++) {
        const bl_image *im = bl_resolver_at(b->images, i);
        if (!im || !im->ready || im->rc != 0)
            continue;
        if (b->n_platforms > 1 && platform && im->platform && strcmp(im->platform, platform))
            continue;
        char *uri, *digest;
        if (!image_material(im, platform, &uri, &digest))
            continue;
        if (cb_strv_contains(&seen, uri)) {
            free(uri);
            free(digest);
            continue;
        }
        cb_strv_push_owned(&seen, uri);
        json_array_append_new(a, json_pack("{ss so}", "uri", uri, "digest", digest_set(digest)));
        free(digest);
    }
    cb_strv_free(&seen);
    cleanup_free char *git = git_context_url(b, false);
    if (git) {
        cleanup_free char *red = bl_url_redact(git);
        json_array_append_new(a, json_pack("{ss so}", "uri", red, "digest", commit_digest_set(b->ctx.git_commit)));
    }
    if (b->ctx.url && b->ctx.http_digest[0]) { /* an HTTP context: its download */
        cleanup_free char *red = bl_url_redact(b->ctx.url);
        json_array_append_new(a, json_pack("{ss so}", "uri", red, "digest", digest_set(b->ctx.http_digest)));
    }
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->src_urls.n; i++)
        json_array_append_new(a, json_pack("{ss so}", "uri", b->src_urls.v[i], "digest",
                                           digest_set(b->src_digests.v[i])));
    pthread_mutex_unlock(&b->lock);
    return a;
}

/* The local sources BuildKit would list (request.locals): the context and the Dockerfile when
 * they come from the client, none for a URL context. */
static bool prov_has_locals(const bl_build *b)
{
    return !b->ctx.url;
}

/* A --build-context NAME=DIR the build used: a local source too. */
static bool named_local_used(bl_build *b)
{
    size_t n = bl_resolver_count(b->images);
    for (size_t i = 0; i < n; i++) {
        const bl_image *im = bl_resolver_at(b->images, i);
        if (im && im->ready && im->rc == 0 && im->source_kind == BL_NAMED_LOCAL)
            return true;
    }
    return false;
}

/* Did a RUN of the build (a needed stage's, cached or not) have network access? BuildKit's
 * provenance is hermetic only without (every RUN --network=none). */
static bool prov_network_access(const bl_build *b)
{
    for (size_t p = 0; p < b->n_solves; p++) {
        const df_plan *plan = b->solves[p].plan;
        for (size_t s = 0; plan && s < plan->n_stages; s++) {
            const df_stage *st = &plan->stages[s];
            for (size_t i = 0; st->needed && i < st->n_cmds; i++)
                if (st->cmds[i].kind == DF_CMD_RUN &&
                    (!st->cmds[i].network || strcmp(st->cmds[i].network, "none")))
                    return true;
        }
    }
    return false;
}

/* RUN --mount=type=secret|ssh of the Dockerfile: BuildKit's request.secrets and request.ssh
 * (what the build asks for, not what --secret passes). */
static void prov_mounts(const df_file *f, json_t *secrets, json_t *ssh)
{
    for (size_t i = 0; f && i < f->n_instrs; i++) {
        const df_instr *in = &f->instrs[i];
        for (size_t k = 0; k < in->n_flags; k++) {
            if (strcmp(in->flags[k].name, "mount") || !in->flags[k].value)
                continue;
            cleanup_free char *c = xstrdup(in->flags[k].value);
            const char *type = NULL, *id = NULL, *target = NULL;
            bool required = false;
            char *save = NULL;
            for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(t, '=');
                const char *v = eq ? eq + 1 : "true";
                if (eq)
                    *eq = 0;
                if (!strcmp(t, "type"))
                    type = v;
                else if (!strcmp(t, "id"))
                    id = v;
                else if (!strcmp(t, "target") || !strcmp(t, "dst") || !strcmp(t, "destination"))
                    target = v;
                else if (!strcmp(t, "required"))
                    required = !strcmp(v, "true");
            }
            bool is_ssh = type && !strcmp(type, "ssh");
            if (!type || (strcmp(type, "secret") && !is_ssh))
                continue;
            const char *base = target && strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
            const char *name = id ? id : is_ssh ? "default" : base;
            if (!name)
                continue;
            json_t *arr = is_ssh ? ssh : secrets;
            bool dup = false;
            size_t j;
            json_t *e;
            json_array_foreach(arr, j, e) dup |= !strcmp(json_string_value(json_object_get(e, "id")), name);
            if (dup)
                continue;
            json_t *o = json_pack("{ss}", "id", name);
            if (!required)
                json_object_set_new(o, "optional", json_true());
            json_array_append_new(arr, o);
        }
    }
}

/* request: frontend dockerfile.v0, the frontend args buildx sends (build-arg:K, label:K,
 * target, no-cache), the locals, the Dockerfile's secrets and ssh; *scrubbed: mode=min took
 * args away (completeness.request false), as scrubMinRequest. */
static json_t *prov_request(bl_build *b, const bl_attest_opts *ao, bool *scrubbed)
{
    const builder_opts *o = b->opts;
    json_t *args = json_object();
    *scrubbed = false;
    for (size_t i = 0; o->build_args && i < o->build_args->n; i++) {
        const char *a = o->build_args->v[i];
        const char *eq = strchr(a, '=');
        cleanup_free char *k = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
        const char *v = eq ? eq + 1 : getenv(k);
        if (!v)
            continue;
        *scrubbed |= !ao->prov_max;
        if (ao->prov_max)
            obj_setf(args, json_string(v), "build-arg:%s", k);
    }
    for (size_t i = 0; o->labels && i < o->labels->n; i++) {
        const char *a = o->labels->v[i];
        const char *eq = strchr(a, '=');
        cleanup_free char *k = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
        *scrubbed |= !ao->prov_max;
        if (ao->prov_max)
            obj_setf(args, json_string(eq ? eq + 1 : ""), "label:%s", k);
    }
    if (o->target)
        json_object_set_new(args, "target", json_string(o->target));
    if (o->no_cache)
        json_object_set_new(args, "no-cache", json_string(""));
    json_t *req = json_pack("{ss}", "frontend", "dockerfile.v0");
    if (json_object_size(args))
        json_object_set_new(req, "args", args);
    else
        json_decref(args);
    json_t *secrets = json_array(), *ssh = json_array();
    prov_mounts(b->file, secrets, ssh);
    if (ao->prov_max && json_array_size(secrets))
        json_object_set_new(req, "secrets", secrets);
    else
        json_decref(secrets);
    if (ao->prov_max && json_array_size(ssh))
        json_object_set_new(req, "ssh", ssh);
    else
        json_decref(ssh);
    if (prov_has_locals(b))
        json_object_set_new(req, "locals", json_pack("[{ss}{ss}]", "name", "context", "name", "dockerfile"));
    return req;
}

/* ---------- mode=max: the build definition and its source ---------- */

typedef struct prov_def {
    json_t *steps;     /* llbDefinition */
    json_t *locations; /* source.locations: step id -> lines */
    json_t *layers;    /* buildkit_metadata.layers: "stepN:0" -> [[descriptors]] */
    cb_strv stage_names;
    cb_strv stage_last; /* per stage: its last step id, "" when none (scratch) */
    char *context_step; /* the local://context source, once */
} prov_def;

static json_t *platform_json(const char *platform)
{
    oci_platform p;
    cb_err e;
    cb_err_clear(&e);
    if (!platform || oci_platform_parse(platform, &p, &e) < 0)
        return json_pack("{ssss}", "Architecture", "amd64", "OS", "linux");
    json_t *j = json_pack("{ssss}", "Architecture", p.architecture, "OS", p.os);
    if (p.variant)
        json_object_set_new(j, "Variant", json_string(p.variant));
    oci_platform_free(&p);
    return j;
}

static json_t *chain_json(const bl_chain *c, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && i < c->n; i++)
        json_array_append_new(a, json_pack("{sssssI}", "mediaType", c->v[i].media_type, "digest",
                                           c->v[i].digest, "size", (json_int_t)c->v[i].size));
    return json_pack("[o]", a);
}

static void def_locate(prov_def *d, const char *id, const df_instr *in)
{
    json_t *ranges = json_array();
    for (int l = in->start_line; l <= in->end_line; l++)
        json_array_append_new(ranges, json_pack("{s{si}s{si}}", "start", "line", l, "end", "line", l));
    json_object_set_new(d->locations, id, json_pack("{s[{so}]}", "locations", "ranges", ranges));
}

static char *def_step(prov_def *d, json_t *op, const char *platform, json_t *inputs)
{
    char *id = xasprintf("step%zu", json_array_size(d->steps));
    json_t *s = json_pack("{ss}", "id", id);
    if (op) {
        json_t *o = json_pack("{so}", "Op", op);
        json_object_set_new(o, "platform", platform_json(platform));
        json_object_set_new(o, "constraints", json_object());
        json_object_set_new(s, "op", o);
    }
    if (inputs && json_array_size(inputs))
        json_object_set_new(s, "inputs", inputs);
    else
        json_decref(inputs);
    json_array_append_new(d->steps, s);
    return id;
}

static const char *def_stage_step(prov_def *d, const char *name_or_index)
{
    for (size_t i = 0; i < d->stage_names.n; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        if (!strcasecmp(d->stage_names.v[i], name_or_index) || !strcmp(idx, name_or_index))
            return d->stage_last.v[i];
    }
    return NULL;
}

/* A FROM: a source step for an image (none for scratch or a stage); the stage's first input. */
static char *def_from(prov_def *d, bl_build *b, const df_instr *in, const char *platform, size_t *base_layers)
{
    const char *img = in->args.n ? in->args.v[0] : "scratch";
    *base_layers = 0;
    const char *stage = def_stage_step(d, img);
    if (stage)
        return *stage ? xstrdup(stage) : NULL;
    if (!strcmp(img, "scratch"))
        return NULL;
    cb_err e;
    cb_err_clear(&e);
    cleanup_free char *norm = oci_ref_normalize(img, &e);
    const bl_image *hit = NULL;
    for (size_t i = 0, n = bl_resolver_count(b->images); i < n && !hit; i++) {
        const bl_image *im = bl_resolver_at(b->images, i);
        cleanup_free char *rn = im && im->ready && im->rc == 0 ? oci_ref_normalize(im->ref, &e) : NULL;
        if (rn && norm && !strcmp(rn, norm) &&
            (!im->platform || !platform || !strcmp(im->platform, platform)))
            hit = im;
    }
    cleanup_free char *ident = hit ? xasprintf("docker-image://%s@%s", norm, hit->im.manifest_digest)
                                   : xasprintf("docker-image://%s", norm ? norm : img);
    char *id = def_step(d, json_pack("{s{ss}}", "source", "identifier", ident), platform, NULL);
    def_locate(d, id, in);
    if (hit) {
        obj_setf(d->layers, chain_json(&hit->chain, hit->chain.n), "%s:0", id);
        *base_layers = hit->chain.n;
    }
    return id;
}

static json_t *def_op(prov_def *d, const df_instr *in, const char *platform, json_t *inputs)
{
    (void)d;
    (void)platform;
    (void)inputs;
    json_t *args = json_array();
    for (size_t i = 0; i < in->args.n; i++)
        json_array_append_new(args, json_string(in->args.v[i]));
    if (!strcmp(in->keyword, "run"))
        return json_pack("{s{s{sos[]ss}}}", "exec", "meta", "args", args, "env", "cwd", "/");
    return json_pack("{s{s[{s{ssso}}]}}", "file", "actions", in->keyword, "instruction", in->original, "args",
                     args);
}

/* One step per FROM image and per RUN/COPY/ADD/WORKDIR (inputs: the stage's previous step,
 * the context, COPY --from stages), then the result step, as BuildKit's llbDefinition lists
 * them; the target's steps get their layer chains when the chain lines up with them. */
static void def_build(prov_def *d, bl_build *b, const char *platform, const bl_chain *chain)
{
    const df_file *f = b->file;
    const char *target = b->opts->target;
    char *prev = NULL;
    size_t base_layers = 0, nlayer_steps = 0;
    int stage = -1, target_stage = -1;
    cb_strv target_steps; /* the target stage's layer steps */
    cb_strv_init(&target_steps);
    for (size_t i = 0; f && i < f->n_instrs; i++) {
        const df_instr *in = &f->instrs[i];
        if (!strcmp(in->keyword, "from")) {
            if (stage >= 0) {
                free(d->stage_last.v[stage]);
                d->stage_last.v[stage] = xstrdup(prev ? prev : "");
            }
            free(prev);
            stage++;
            const char *name = in->args.n >= 3 ? in->args.v[2] : "";
            cb_strv_push(&d->stage_names, name);
            cb_strv_push(&d->stage_last, "");
            bool is_target = target ? !strcasecmp(name, target) : true;
            if (is_target && (target_stage < 0 || !target)) {
                target_stage = stage;
                cb_strv_free(&target_steps);
                cb_strv_init(&target_steps);
                nlayer_steps = 0;
            }
            prev = def_from(d, b, in, platform, &base_layers);
            if (target_stage == stage)
                cb_strv_push(&target_steps, prev ? prev : "");
            continue;
        }
        if (stage < 0 || (strcmp(in->keyword, "run") && strcmp(in->keyword, "copy") &&
                          strcmp(in->keyword, "add") && strcmp(in->keyword, "workdir")))
            continue;
        json_t *inputs = json_array();
        if (prev)
            json_array_append_new(inputs, jstr_fmt("%s:0", prev));
        const char *from = df_instr_flag(in, "from", NULL);
        if (from && def_stage_step(d, from) && *def_stage_step(d, from))
            json_array_append_new(inputs, jstr_fmt("%s:0", def_stage_step(d, from)));
        else if (!from && (!strcmp(in->keyword, "copy") || !strcmp(in->keyword, "add"))) {
            if (!d->context_step) {
                cleanup_free char *id = context_identifier(b);
                d->context_step = def_step(d, json_pack("{s{ss}}", "source", "identifier", id), platform, NULL);
            }
            json_array_append_new(inputs, jstr_fmt("%s:0", d->context_step));
        }
        json_t *op = def_op(d, in, platform, inputs);
        char *id = def_step(d, op, platform, inputs);
        def_locate(d, id, in);
        free(prev);
        prev = id;
        if (stage == target_stage && strcmp(in->keyword, "workdir")) {
            cb_strv_push(&target_steps, id);
            nlayer_steps++;
        }
    }
    if (stage >= 0) {
        free(d->stage_last.v[stage]);
        d->stage_last.v[stage] = xstrdup(prev ? prev : "");
    }
    free(prev);
    /* the target's layer steps line up with its chain: base layers, then one per step */
    size_t base_n = chain->n >= nlayer_steps ? chain->n - nlayer_steps : 0;
    for (size_t k = 1; k < target_steps.n && chain->n == base_n + nlayer_steps; k++)
        obj_setf(d->layers, chain_json(chain, base_n + k), "%s:0", target_steps.v[k]);
    const char *last = target_stage >= 0 ? d->stage_last.v[target_stage] : "";
    json_t *inputs = *last ? json_pack("[o]", jstr_fmt("%s:0", last)) : NULL;
    free(def_step(d, NULL, platform, inputs));
    cb_strv_free(&target_steps);
}

static const char *dockerfile_name(const bl_build *b)
{
    const char *df = b->opts->dockerfile;
    if (!df || !strcmp(df, "-"))
        return "Dockerfile";
    const char *slash = strrchr(df, '/');
    return slash ? slash + 1 : df;
}

/* SLSA v1 (NewPredicate, NewProvenanceCreator): what the build knows about itself. */
static json_t *prov_v1(bl_build *b, const bl_attest_opts *ao, const char *platform, const bl_chain *chain)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char started[48], finished[48], inv[26];
    time_nano_str(&b->started, started);
    time_nano_str(&now, finished);
    invocation_id(inv);
    bool scrubbed;
    json_t *req = prov_request(b, ao, &scrubbed);
    json_t *cs = json_pack("{ss}", "path", dockerfile_name(b));
    cleanup_free char *ctx_uri = git_context_url(b, true);
    if (ctx_uri || b->ctx.url) {
        /* RequestProvenance: the context's URL, with the commit when it names the material
         * (which it does not when the URL had credentials: the material's are redacted) */
        cleanup_free char *red = bl_url_redact(ctx_uri ? ctx_uri : b->ctx.url);
        json_object_set_new(cs, "uri", json_string(red));
        if (ctx_uri && !strcmp(red, ctx_uri))
            json_object_set_new(cs, "digest", commit_digest_set(b->ctx.git_commit));
        else if (!ctx_uri && b->ctx.http_digest[0] && !strcmp(red, b->ctx.url))
            json_object_set_new(cs, "digest", digest_set(b->ctx.http_digest));
    }
    json_t *ext = json_pack("{soso}", "configSource", cs, "request", req);
    json_t *internal = json_pack("{ss}", "builderPlatform", "linux/amd64");
    json_t *bkmeta = json_object();
    if (ao->prov_max) {
        prov_def d = {json_array(), json_object(), json_object(), {0}, {0}, NULL};
        cb_strv_init(&d.stage_names);
        cb_strv_init(&d.stage_last);
        def_build(&d, b, platform, chain);
        json_object_set_new(internal, "buildConfig", json_pack("{sO}", "llbDefinition", d.steps));
        json_t *info = json_pack("{ssssso}", "filename", dockerfile_name(b), "language", "Dockerfile", "data",
                                 base64_json(b->ctx.dockerfile.data, b->ctx.dockerfile.len));
        json_object_set_new(info, "llbDefinition", d.steps);
        json_object_set_new(bkmeta, "source", json_pack("{sos[o]}", "locations", d.locations, "infos", info));
        if (json_object_size(d.layers))
            json_object_set_new(bkmeta, "layers", d.layers);
        else
            json_decref(d.layers);
        cb_strv_free(&d.stage_names);
        cb_strv_free(&d.stage_last);
        free(d.context_step);
    }
    /* a local context is a material BuildKit cannot pin: resolvedDependencies incomplete;
     * complete materials and no network make the build hermetic */
    bool complete = !prov_has_locals(b) && !named_local_used(b);
    json_t *meta = json_pack("{sssssss{sbsb}so}", "invocationId", inv, "startedOn", started, "finishedOn",
                             finished, "buildkit_completeness", "request", !scrubbed, "resolvedDependencies",
                             complete, "buildkit_metadata", bkmeta);
    if (complete && !prov_network_access(b))
        json_object_set_new(meta, "buildkit_hermetic", json_true());
    if (ao->reproducible)
        json_object_set_new(meta, "buildkit_reproducible", json_true());
    return json_pack("{s{sssososo}s{s{ss}so}}", "buildDefinition", "buildType", PROV_BUILD_TYPE_V1,
                     "externalParameters", ext, "internalParameters", internal, "resolvedDependencies",
                     prov_materials(b, platform), "runDetails", "builder", "id",
                     ao->builder_id ? ao->builder_id : "", "metadata", meta);
}

/* ConvertToSLSA02 */
static json_t *prov_v02(json_t *v1)
{
    json_t *bd = json_object_get(v1, "buildDefinition"), *rd = json_object_get(v1, "runDetails");
    json_t *ext = json_object_get(bd, "externalParameters"), *in = json_object_get(bd, "internalParameters");
    json_t *md = json_object_get(rd, "metadata");
    json_t *cs = json_object();
    json_t *v1cs = json_object_get(ext, "configSource");
    if (json_object_get(v1cs, "uri"))
        json_object_set(cs, "uri", json_object_get(v1cs, "uri"));
    if (json_object_get(v1cs, "digest"))
        json_object_set(cs, "digest", json_object_get(v1cs, "digest"));
    json_t *path = json_object_get(v1cs, "path");
    if (path)
        json_object_set(cs, "entryPoint", path);
    json_t *env = json_pack("{sO}", "platform", json_object_get(in, "builderPlatform"));
    json_t *comp = json_object_get(md, "buildkit_completeness");
    json_t *meta = json_pack(
        "{sOsOsOs{sOsbsO}sbsO}", "buildInvocationID", json_object_get(md, "invocationId"), "buildStartedOn",
        json_object_get(md, "startedOn"), "buildFinishedOn", json_object_get(md, "finishedOn"),
        "completeness", "parameters", json_object_get(comp, "request"), "environment", 1, "materials",
        json_object_get(comp, "resolvedDependencies"), "reproducible",
        json_is_true(json_object_get(md, "buildkit_reproducible")),
        "https://mobyproject.org/buildkit@v1#metadata", json_object_get(md, "buildkit_metadata"));
    json_t *p = json_pack(
        "{s{sO}sssOs{sosOso}}", "builder", "id", json_object_get(json_object_get(rd, "builder"), "id"),
        "buildType", PROV_BUILD_TYPE_V02, "materials", json_object_get(bd, "resolvedDependencies"),
        "invocation", "configSource", cs, "parameters", json_object_get(ext, "request"), "environment", env);
    if (json_object_get(in, "buildConfig"))
        json_object_set(p, "buildConfig", json_object_get(in, "buildConfig"));
    if (json_is_true(json_object_get(md, "buildkit_hermetic")))
        json_object_set_new(meta, "https://mobyproject.org/buildkit@v1#hermetic", json_true());
    json_object_set_new(p, "metadata", meta);
    return p;
}

/* ---------- statements ---------- */

typedef struct attest_stmt {
    char *file; /* local/tar file name */
    json_t *stmt;
} attest_stmt;

static json_t *statement(const char *predicate_type, json_t *subjects, json_t *predicate)
{
    return json_pack("{sssssOso}", "_type", INTOTO_STATEMENT_V1, "predicateType", predicate_type, "subject",
                     subjects, "predicate", predicate);
}

static void statements_free(attest_stmt *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].file);
        json_decref(st[i].stmt);
    }
    free(st);
}

/* A scanner's statement as BuildKit's exporter remakes it: in-toto v1, its predicate type and
 * predicate (an image's core SBOM supplemented with layer IDs), its own subjects when it names
 * any, else the image's. */
static json_t *scanned_statement(bl_build *b, const bl_chain *chain, bool local, const json_t *scanned,
                                 json_t *subjects)
{
    const json_t *written = json_object_get(scanned, "statement");
    json_t *own = json_object_get(written, "subject");
    json_t *predicate = json_object_get(written, "predicate");
    if (!predicate)
        predicate = json_null();
    else if (local)
        json_incref(predicate);
    else
        predicate = bl_sbom_supplement(b, chain, json_string_value(json_object_get(scanned, "file")), predicate);
    return statement(json_string_value(json_object_get(written, "predicateType")),
                     json_is_array(own) && json_array_size(own) ? own : subjects, predicate);
}

/* The scanner's statements, as BuildKit's frontend attaches them (before the solver's
 * provenance). */
static void scanned_statements(bl_build *b, const bl_chain *chain, bool local, const json_t *scanned,
                               json_t *subjects, attest_stmt *st, size_t *n)
{
    size_t i;
    json_t *e;
    json_array_foreach(scanned, i, e) {
        st[*n].file = xstrdup(json_string_value(json_object_get(e, "file")));
        st[(*n)++].stmt = scanned_statement(b, chain, local, e, subjects);
    }
}

/* Every statement the options ask for, subjects given: the SBOM (a scanner image's, the core
 * first, or cbuild's own document), then the provenance, as BuildKit orders them (the frontend
 * attaches SBOMs, the solver adds provenance after). */
static int statements_make(bl_build *b, const bl_attest_opts *ao, const char *platform, const bl_chain *chain,
                           json_t *subjects, bool local, attest_stmt **out, size_t *n, cb_err *err)
{
    const json_t *scanned = ao->sbom && ao->sbom_generator ? bl_sbom_scanned(b, platform) : NULL;
    attest_stmt *st = xcalloc(2 + json_array_size(scanned), sizeof *st);
    *n = 0;
    *out = NULL;
    if (scanned)
        scanned_statements(b, chain, local, scanned, subjects, st, n);
    if (ao->sbom && !scanned) {
        json_t *doc = NULL;
        int rc = bl_sbom_document(b, chain, platform, &doc, err);
        if (rc < 0) {
            statements_free(st, *n);
            *n = 0;
            return rc;
        }
        st[*n].file = xstrdup("sbom.spdx.json");
        st[(*n)++].stmt = statement(BL_SBOM_PREDICATE, subjects, doc);
    }
    if (ao->provenance && !(local && ao->prov_inline_only)) {
        json_t *p = prov_v1(b, ao, platform, chain);
        if (ao->prov_v02) {
            json_t *old = p;
            p = prov_v02(old);
            json_decref(old);
        }
        st[*n].file = xstrdup(ao->prov_filename ? ao->prov_filename : "provenance.json");
        st[(*n)++].stmt = statement(ao->prov_v02 ? PROV_PREDICATE_V02 : PROV_PREDICATE_V1, subjects, p);
    }
    *out = st;
    return 0;
}

static int put_json(bl_build *b, json_t *j, size_t flags, oci_descriptor *d, cb_err *err)
{
    cleanup_free char *s = json_dumps(j, flags);
    d->size = (int64_t)strlen(s);
    return store_blob_put_buf(b->st, s, strlen(s), NULL, d->digest, err);
}

int bl_attest_manifest(bl_build *b, const bl_attest_opts *ao, const oci_descriptor *image,
                       const char *platform, const bl_chain *chain, const cb_strv *names, oci_descriptor *out,
                       cb_err *err)
{
    json_t *subjects = json_array();
    for (size_t i = 0; names && i < names->n; i++) {
        cleanup_free char *p = bl_attest_purl("docker", names->v[i], platform);
        json_array_append_new(subjects, json_pack("{ssso}", "name", p, "digest", digest_set(image->digest)));
    }
    if (!json_array_size(subjects))
        json_array_append_new(subjects,
                              json_pack("{ssso}", "name", "_", "digest", digest_set(image->digest)));
    attest_stmt *st = NULL;
    size_t n;
    int rc = statements_make(b, ao, platform, chain, subjects, false, &st, &n, err);
    json_decref(subjects);
    if (rc < 0)
        return rc;
    json_t *layers = json_array(), *diff_ids = json_array();
    for (size_t i = 0; i < n && rc == 0; i++) {
        oci_descriptor d = {0};
        if ((rc = put_json(b, st[i].stmt, JSON_COMPACT, &d, err)) == 0) {
            const char *pt = json_string_value(json_object_get(st[i].stmt, "predicateType"));
            json_array_append_new(layers, json_pack("{sssssIs{ss}}", "mediaType", BL_ATTEST_MT_INTOTO,
                                                    "digest", d.digest, "size", (json_int_t)d.size,
                                                    "annotations", BL_ATTEST_ANNOT_PREDICATE, pt));
            json_array_append_new(diff_ids, json_string(d.digest));
        }
    }
    statements_free(st, n);
    /* oci-artifact=false, BuildKit's default: a config of platform unknown/unknown; true: an OCI
     * artifact (writer.go) with the empty config "{}" and the image manifest as its subject */
    json_t *cfg = ao->oci_artifact ? json_object()
                                   : json_pack("{sssss{}s{ssso}}", "architecture", "unknown", "os", "unknown",
                                               "config", "rootfs", "type", "layers", "diff_ids", diff_ids);
    if (ao->oci_artifact)
        json_decref(diff_ids);
    oci_descriptor cd = {0};
    if (rc == 0)
        rc = put_json(b, cfg, JSON_COMPACT | JSON_PRESERVE_ORDER, &cd, err);
    json_decref(cfg);
    json_t *m = json_pack("{sisss{sssssI}so}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST, "config",
                          "mediaType", OCI_MT_CONFIG, "digest", cd.digest, "size", (json_int_t)cd.size, "layers",
                          layers);
    if (ao->oci_artifact) {
        /* ocispecs.DescriptorEmptyJSON carries its data: "{}" in base64 */
        json_t *ordered = json_pack("{sisssss{sssssIss}}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
                                    "artifactType", BL_ATTEST_MT_ARTIFACT, "config", "mediaType",
                                    BL_ATTEST_MT_EMPTY, "digest", cd.digest, "size", (json_int_t)cd.size, "data",
                                    "e30=");
        json_object_set(ordered, "layers", json_object_get(m, "layers"));
        json_object_set_new(ordered, "subject",
                            json_pack("{sssssI}", "mediaType",
                                      image->media_type ? image->media_type : OCI_MT_MANIFEST, "digest",
                                      image->digest, "size", (json_int_t)image->size));
        json_decref(m);
        m = ordered;
    }
    memset(out, 0, sizeof *out);
    if (rc == 0)
        rc = put_json(b, m, JSON_INDENT(2) | JSON_PRESERVE_ORDER, out, err);
    json_decref(m);
    if (rc < 0)
        return cb_error_wrap(err, "attestation manifest of %s", image->digest);
    out->media_type = xstrdup(OCI_MT_MANIFEST);
    out->platform = xcalloc(1, sizeof *out->platform);
    out->platform->os = xstrdup("unknown");
    out->platform->architecture = xstrdup("unknown");
    oci_descriptor_set_annotation(out, BL_ATTEST_ANNOT_REF_DIGEST, image->digest);
    oci_descriptor_set_annotation(out, BL_ATTEST_ANNOT_REF_TYPE, "attestation-manifest");
    return 0;
}

static int strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files below dir as in-toto subjects (path relative to dir, sha256). */
static int file_subjects(const char *dir, const char *rel, json_t *out, cb_err *err)
{
    cleanup_free char *path = *rel ? cb_path_join(dir, rel) : xstrdup(dir);
    DIR *d = opendir(path);
    if (!d)
        return cb_error(err, errno, "open %s", path);
    struct dirent *e;
    int rc = 0;
    cb_strv names;
    cb_strv_init(&names);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            cb_strv_push(&names, e->d_name);
    closedir(d);
    qsort(names.v, names.n, sizeof *names.v, strcmp_p);
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        cleanup_free char *r = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
        cleanup_free char *full = cb_path_join(dir, r);
        struct stat st;
        if (lstat(full, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = file_subjects(dir, r, out, err);
        } else if (S_ISREG(st.st_mode)) {
            char dg[CB_DIGEST_STR_LEN];
            if ((rc = cb_sha256_file(full, dg, err)) == 0)
                json_array_append_new(out, json_pack("{ssso}", "name", r, "digest", digest_set(dg)));
        }
    }
    cb_strv_free(&names);
    return rc;
}

int bl_attest_files(bl_build *b, const bl_attest_opts *ao, const char *dir, const char *platform,
                    const bl_chain *chain, const char *suffix, cb_err *err)
{
    json_t *subjects = json_array();
    int rc = file_subjects(dir, "", subjects, err);
    attest_stmt *st = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = statements_make(b, ao, platform, chain, subjects, true, &st, &n, err);
    json_decref(subjects);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *name = NULL;
        const char *dot = strrchr(st[i].file, '.');
        if (suffix && dot)
            name = xasprintf("%.*s.%s%s", (int)(dot - st[i].file), st[i].file, suffix, dot);
        else
            name = xstrdup(st[i].file);
        cleanup_free char *path = cb_path_join(dir, name);
        cleanup_free char *s = json_dumps(st[i].stmt, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (rc == 0)
            rc = cb_write_file_atomic(path, s, strlen(s), 0600, err);
    }
    statements_free(st, n);
    return rc;
}
