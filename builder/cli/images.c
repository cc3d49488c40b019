/* cbuild images: list the local store's images like `docker images` (filters, Go templates,
 * docker's table layout). */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store.h"
#include "template.h"

typedef struct row {
    char *repo, *tag, *id, *digest;
    const char *created;
    int64_t created_ns;
    int64_t size;
    bool dangling;
    json_t *labels; /* borrowed from cfg */
    json_t *cfg;    /* the parsed config, owned */
} row;

/* RFC 3339 with fractions, to nanoseconds: before=/since= compare images built in one second. */
static int64_t parse_rfc3339_ns(const char *s)
{
    if (!s)
        return 0;
    struct tm tm = {0};
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e)
        return 0;
    int64_t ns = 0;
    if (*e == '.') {
        int64_t mul = 100000000;
        for (e++; *e >= '0' && *e <= '9'; e++, mul /= 10)
            ns += (*e - '0') * mul;
    }
    int64_t off = 0;
    if (*e == '+' || *e == '-') {
        int hh = 0, mm = 0;
        sscanf(e + 1, "%d:%d", &hh, &mm);
        off = (hh * 3600 + mm * 60) * (*e == '-' ? -1 : 1);
    }
    return ((int64_t)timegm(&tm) - off) * 1000000000 + ns;
}

/* go-units HumanDuration + " ago", as docker prints CREATED */
static char *human_since(int64_t t)
{
    if (!t)
        return xstrdup("N/A");
    int64_t d = (int64_t)time(NULL) - t;
    if (d < 1)
        return xstrdup("Less than a second ago");
    if (d == 1)
        return xstrdup("1 second ago");
    if (d < 60)
        return xasprintf("%lld seconds ago", (long long)d);
    int64_t m = d / 60;
    if (m == 1)
        return xstrdup("About a minute ago");
    if (m < 60)
        return xasprintf("%lld minutes ago", (long long)m);
    int64_t h = (d + 1800) / 3600;
    if (h == 1)
        return xstrdup("About an hour ago");
    if (h < 48)
        return xasprintf("%lld hours ago", (long long)h);
    if (h < 24 * 7 * 2)
        return xasprintf("%lld days ago", (long long)(h / 24));
    if (h < 24 * 30 * 2)
        return xasprintf("%lld weeks ago", (long long)(h / 24 / 7));
    if (h < 24 * 365 * 2)
        return xasprintf("%lld months ago", (long long)(h / 24 / 30));
    return xasprintf("%lld years ago", (long long)(h / 24 / 365));
}

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->created_ns != y->created_ns)
        return x->created_ns > y->created_ns ? -1 : 1;
    int c = strcmp(x->repo, y->repo);
    return c ? c : strcmp(x->tag, y->tag);
}

/* docker's image formatter context: what {{.Field}} and {{json .}} see. */
static json_t *row_json(const row *r, bool no_trunc)
{
    char sz[32], at[64] = "";
    cb_format_size((uint64_t)r->size, sz, sizeof sz);
    cleanup_free char *since = human_since(r->created_ns / 1000000000);
    if (r->created_ns) {
        /* Go's time.Time.String() of the local time */
        time_t t = (time_t)(r->created_ns / 1000000000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    }
    char shortid[13];
    snprintf(shortid, sizeof shortid, "%.12s", r->id + 7);
    json_t *o = json_object();
    json_object_set_new(o, "Containers", json_string("N/A"));
    json_object_set_new(o, "CreatedAt", json_string(at));
    json_object_set_new(o, "CreatedSince", json_string(since));
    json_object_set_new(o, "Digest", json_string(r->digest));
    json_object_set_new(o, "ID", json_string(no_trunc ? r->id : shortid));
    json_object_set_new(o, "Repository", json_string(r->repo));
    json_object_set_new(o, "SharedSize", json_string("N/A"));
    json_object_set_new(o, "Size", json_string(sz));
    json_object_set_new(o, "Tag", json_string(r->tag));
    json_object_set_new(o, "UniqueSize", json_string("N/A"));
    json_object_set_new(o, "VirtualSize", json_string(sz));
    json_object_set_new(o, "SizeBytes", json_integer(r->size));
    return o;
}

/* The header row docker renders a table template against. */
static json_t *header_json(void)
{
    static const char *const h[][2] = {
        {"Containers", "CONTAINERS"},
        {"CreatedAt", "CREATED AT"},
        {"CreatedSince", "CREATED"},
        {"Digest", "DIGEST"},
        {"ID", "IMAGE ID"},
        {"Repository", "REPOSITORY"},
        {"SharedSize", "SHARED SIZE"},
        {"Size", "SIZE"},
        {"Tag", "TAG"},
        {"UniqueSize", "UNIQUE SIZE"},
        {"VirtualSize", "VIRTUAL SIZE"},
        {"SizeBytes", "SIZE"},
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        json_object_set_new(o, h[i][0], json_string(h[i][1]));
    return o;
}

/* Go's text/tabwriter as docker's formatter sets it up: minwidth 10, padding 3, spaces. A cell
 * is text ended by a tab; the text after a line's last tab is not aligned. */
static void tabwriter_flush(const char *text, FILE *out)
{
    size_t widths[64] = {0};
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        size_t col = 0, cell = 0;
        for (size_t i = 0; i < len; i++) {
            if (line[i] == '\t') {
                if (col < 64 && cell + 3 > widths[col])
                    widths[col] = cell + 3 < 10 ? 10 : cell + 3;
                col++;
                cell = 0;
            } else if (((unsigned char)line[i] & 0xC0) != 0x80)
                cell++;
        }
        line += len + (eol ? 1 : 0);
    }
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        size_t col = 0, cell = 0, start = 0;
        for (size_t i = 0; i < len; i++) {
            if (line[i] == '\t') {
                fwrite(line + start, 1, i - start, out);
                for (size_t k = cell; k < (col < 64 ? widths[col] : cell + 3); k++)
                    fputc(' ', out);
                col++;
                cell = 0;
                start = i + 1;
            } else if (((unsigned char)line[i] & 0xC0) != 0x80)
                cell++;
        }
        fwrite(line + start, 1, len - start, out);
        fputc('\n', out);
        line += len + (eol ? 1 : 0);
    }
}

typedef struct images_filter {
    int dangling; /* -1 any, 0 false, 1 true */
    cb_strv refs, labels;
    int64_t before_ns, since_ns;
} images_filter;

static int resolve_created(store *s, const char *ref, int64_t *ns, cb_err *err)
{
    store_image im;
    if (store_image_resolve(s, ref, &im, err) < 0)
        return cb_failc(err, ENOENT, "No such image: %s", ref);
    *ns = parse_rfc3339_ns(im.config.created);
    store_image_free(&im);
    return 0;
}

/* docker's image filters: dangling, reference (globs, OR), label (AND), before, since. */
static int filter_parse(store *s, const cb_strv *in, images_filter *f, cb_err *err)
{
    for (size_t i = 0; i < in->n; i++) {
        const char *eq = strchr(in->v[i], '=');
        if (!eq)
            return cb_fail(err, "bad format of filter (expected name=value)");
        cleanup_free char *key = xstrndup(in->v[i], (size_t)(eq - in->v[i]));
        const char *val = eq + 1;
        if (!strcmp(key, "dangling")) {
            if (strcasecmp(val, "true") && strcmp(val, "1") && strcasecmp(val, "false") && strcmp(val, "0"))
                return cb_fail(err, "invalid filter 'dangling=%s'", val);
            f->dangling = !strcasecmp(val, "true") || !strcmp(val, "1");
        } else if (!strcmp(key, "reference")) {
            cb_strv_push(&f->refs, val);
        } else if (!strcmp(key, "label")) {
            cb_strv_push(&f->labels, val);
        } else if (!strcmp(key, "before") || !strcmp(key, "since")) {
            if (resolve_created(s, val, key[0] == 'b' ? &f->before_ns : &f->since_ns, err) < 0)
                return -ENOENT;
        } else
            return cb_fail(err, "invalid filter '%s'", key);
    }
    return 0;
}

/* reference.FamiliarMatch: path.Match on "eco/app:1", then on "eco/app". */
static bool ref_matches(const char *pattern, const row *r)
{
    cleanup_free char *full = xasprintf("%s:%s", r->repo, r->tag);
    if (fnmatch(pattern, full, FNM_PATHNAME) == 0 || fnmatch(pattern, r->repo, FNM_PATHNAME) == 0)
        return true;
    /* a plain reference also matches in its normalised form ("docker.io/library/alpine") */
    cleanup_free char *np = oci_ref_normalize(pattern, NULL);
    cleanup_free char *nr = oci_ref_normalize(full, NULL);
    if (!np || !nr)
        return false;
    const char *last = strrchr(pattern, '/');
    bool tagged = strchr(last ? last : pattern, ':') != NULL;
    if (tagged)
        return !strcmp(np, nr);
    size_t n = strlen(np) - strlen(":latest");
    return !strncmp(np, nr, n) && nr[n] == ':';
}

static bool label_matches(const char *want, json_t *labels)
{
    const char *eq = strchr(want, '=');
    cleanup_free char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    json_t *v = json_object_get(labels, k);
    if (!v)
        return false;
    return !eq || (json_is_string(v) && !strcmp(json_string_value(v), eq + 1));
}

static bool row_passes(const images_filter *f, const row *r)
{
    if (f->dangling == 1 && !r->dangling)
        return false;
    if (f->dangling == 0 && r->dangling)
        return false;
    if (f->refs.n) {
        if (r->dangling)
            return false;
        bool any = false;
        for (size_t i = 0; i < f->refs.n && !any; i++)
            any = ref_matches(f->refs.v[i], r);
        if (!any)
            return false;
    }
    for (size_t i = 0; i < f->labels.n; i++)
        if (!label_matches(f->labels.v[i], r->labels))
            return false;
    if (f->before_ns && !(r->created_ns < f->before_ns))
        return false;
    if (f->since_ns && !(r->created_ns > f->since_ns))
        return false;
    return true;
}

static void row_free(row *r)
{
    free(r->repo);
    free(r->tag);
    free(r->id);
    free(r->digest);
    json_decref(r->cfg);
}

static void rows_free(row *rows, size_t nr)
{
    for (size_t i = 0; i < nr; i++)
        row_free(&rows[i]);
    free(rows);
}

/* One row per tag (docker's REPOSITORY:TAG lines); an entry without a name is <none>:<none>. */
static int rows_load(store *s, row **out, size_t *n, cb_err *err)
{
    store_tag *tags;
    size_t nt;
    if (store_tag_list(s, &tags, &nt, err) < 0)
        return -EIO;
    row *rows = xcalloc(nt + 1, sizeof *rows);
    size_t nr = 0;
    for (size_t i = 0; i < nt; i++) {
        store_image im;
        cb_err e = {0};
        if (store_image_resolve(s, tags[i].desc.digest, &im, &e) < 0)
            continue;
        row *r = &rows[nr++];
        oci_ref pr = {0};
        if (tags[i].name && oci_ref_parse(tags[i].name, &pr, &e) == 0) {
            r->repo = oci_ref_familiar_name(&pr);
            r->tag = xstrdup(pr.tag ? pr.tag : "<none>");
            oci_ref_free(&pr);
        } else {
            r->repo = xstrdup("<none>");
            r->tag = xstrdup("<none>");
            r->dangling = true;
        }
        r->id = xstrdup(im.id);
        r->digest = xstrdup(tags[i].desc.digest);
        r->cfg = json_loadb(im.config_json, im.config_len, 0, NULL);
        json_t *created = json_object_get(r->cfg, "created");
        r->created = json_string_value(created);
        r->created_ns = parse_rfc3339_ns(r->created);
        r->labels = json_object_get(json_object_get(r->cfg, "config"), "Labels");
        r->size = im.size;
        store_image_free(&im);
    }
    store_tags_free(tags, nt);
    qsort(rows, nr, sizeof *rows, row_cmp);
    *out = rows;
    *n = nr;
    return 0;
}

/* Render every row (a table gets its header row first and goes through the tabwriter). */
static int images_print(const row *rows, size_t nr, const char *format, bool quiet, bool no_trunc,
                        cb_err *err)
{
    bool table = !strncmp(format, "table", 5) && (!format[5] || format[5] == ' ');
    const char *body = table ? format + 5 : format;
    if (!strcmp(format, "json"))
        body = "{{json .}}";
    /* docker's formatter: trim spaces, then the two characters \t and \n are a tab and a newline */
    while (*body == ' ')
        body++;
    cb_buf fb;
    cb_buf_init(&fb);
    cb_buf_puts(&fb, "");
    for (const char *p = body; *p; p++) {
        if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
            cb_buf_putc(&fb, p[1] == 't' ? '\t' : '\n');
            p++;
        } else
            cb_buf_putc(&fb, *p);
    }
    while (fb.len && fb.data[fb.len - 1] == ' ')
        fb.data[--fb.len] = '\0';
    cli_template *t;
    int prc = cli_template_parse(fb.data, &t, err);
    cb_buf_free(&fb);
    if (prc < 0)
        return -EINVAL;
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_puts(&b, "");
    int rc = 0;
    if (table && !quiet) {
        json_t *h = header_json();
        cli_template_struct st = {h, "*formatter.imageContext"};
        rc = cli_template_exec_structs(t, h, &st, 1, &b, err);
        json_decref(h);
        cb_buf_putc(&b, '\n');
    }
    cb_strv seen;
    cb_strv_init(&seen);
    for (size_t i = 0; i < nr && rc == 0; i++) {
        if (quiet) {
            /* -q: each image ID once */
            if (!cb_strv_contains(&seen, rows[i].id))
                cb_buf_printf(&b, "%.*s\n", no_trunc ? 71 : 12, no_trunc ? rows[i].id : rows[i].id + 7);
            cb_strv_push(&seen, rows[i].id);
            continue;
        }
        json_t *o = row_json(&rows[i], no_trunc);
        /* docker's image context is a struct: an unknown field is an error, not <no value> */
        cli_template_struct st = {o, "*formatter.imageContext"};
        rc = cli_template_exec_structs(t, o, &st, 1, &b, err);
        json_decref(o);
        cb_buf_putc(&b, '\n');
    }
    cb_strv_free(&seen);
    cli_template_free(t);
    if (rc == 0) {
        if (table && !quiet)
            tabwriter_flush(b.data, stdout);
        else
            fputs(b.data, stdout);
    }
    cb_buf_free(&b);
    return rc;
}

int cli_cmd_images(cli_ctx *ctx, int argc, char **argv)
{
    const char *format = NULL;
    bool quiet = false, digests = false, no_trunc = false, all = false;
    cb_strv filters;
    cb_strv_init(&filters);
    const cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "show all images (the store keeps no intermediate images: same list)"},
        {"filter", 'f', CLI_STRINGS, &filters, "FILTER",
         "dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE (repeatable)"},
        {"format", 0, CLI_STRING, &format, "FORMAT",
         "`table` (default), `json`, `table TEMPLATE` or a Go TEMPLATE ({{.Repository}}, {{.Tag}}, {{.ID}}, "
         "{{.Digest}}, {{.CreatedSince}}, {{.CreatedAt}}, {{.Size}}, {{json .}})"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "only show image IDs"},
        {"digests", 0, CLI_BOOL, &digests, NULL, "show manifest digests"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL, "don't truncate output"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {
        "images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images in the local store", opts, false, 0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc < 0)
        rc = cli_call_store(&v, ctx);
    if (rc >= 0) {
        cb_strv_free(&filters);
        return cli_call_end(&v, rc);
    }
    (void)all;
    images_filter f = {.dangling = -1};
    cb_strv_init(&f.refs);
    cb_strv_init(&f.labels);
    /* `docker images REPO[:TAG]` is a reference filter */
    if (v.pos.n)
        cb_strv_push(&f.refs, v.pos.v[0]);
    row *rows = NULL;
    size_t nr = 0;
    if (filter_parse(v.st, &filters, &f, &v.err) < 0 || rows_load(v.st, &rows, &nr, &v.err) < 0)
        rc = cli_report(&v.err);
    else {
        size_t k = 0;
        for (size_t i = 0; i < nr; i++) {
            if (row_passes(&f, &rows[i]))
                rows[k++] = rows[i];
            else
                row_free(&rows[i]);
        }
        nr = k;
        const char *fmt =
            format && strcmp(format, "table") ? format
            : digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                      : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
        if (images_print(rows, nr, fmt, quiet, no_trunc, &v.err) < 0) {
            fprintf(stderr, "error: template parsing error: %s\n", v.err.msg);
            rc = 1;
        } else
            rc = 0;
    }
    rows_free(rows, nr);
    cb_strv_free(&f.refs);
    cb_strv_free(&f.labels);
    cb_strv_free(&filters);
    return cli_call_end(&v, rc);
}
