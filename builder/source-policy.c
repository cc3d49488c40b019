/* BuildKit source policies: the pb.Policy JSON (sourcepolicy/pb, field names in protojson's
 * camelCase or the proto's snake_case, enums by name or number) and the engine's semantics
 * (sourcepolicy/engine.go, matcher.go, mutate.go, formatter.go, util/wildcard). Where Go uses
 * RE2, this uses POSIX extended regular expressions: the syntax both share is what policies
 * are written in (`(.*)`, `[0-9]+`, anchors). */
#include "source-policy.h"

#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

enum sp_action { SP_ALLOW = 0, SP_DENY = 1, SP_CONVERT = 2 };
enum sp_match { SP_WILDCARD = 0, SP_EXACT = 1, SP_REGEX = 2 };
enum sp_condition { SP_EQUAL = 0, SP_NOTEQUAL = 1, SP_MATCHES = 2 };

typedef struct sp_constraint {
    char *key, *value;
    enum sp_condition condition;
    regex_t re; /* MATCHES */
    bool has_re;
} sp_constraint;

typedef struct sp_rule {
    enum sp_action action;
    char *identifier;
    enum sp_match match;
    regex_t re; /* REGEX, or the WILDCARD's translation */
    bool has_re;
    sp_constraint *constraints;
    size_t n_constraints;
    bool has_updates;
    char *update_identifier; /* "" keeps the selector's */
    cb_strv update_keys, update_values;
} sp_rule;

struct bl_source_policy {
    char *name;
    sp_rule *rules;
    size_t n_rules;
};

void bl_source_init(bl_source *s, const char *identifier)
{
    s->identifier = xstrdup(identifier);
    cb_strv_init(&s->attr_keys);
    cb_strv_init(&s->attr_values);
}

void bl_source_free(bl_source *s)
{
    free(s->identifier);
    s->identifier = NULL;
    cb_strv_free(&s->attr_keys);
    cb_strv_free(&s->attr_values);
}

const char *bl_source_attr(const bl_source *s, const char *key)
{
    for (size_t i = 0; i < s->attr_keys.n; i++)
        if (!strcmp(s->attr_keys.v[i], key))
            return s->attr_values.v[i];
    return NULL;
}

void bl_source_set_attr(bl_source *s, const char *key, const char *value)
{
    for (size_t i = 0; i < s->attr_keys.n; i++)
        if (!strcmp(s->attr_keys.v[i], key)) {
            free(s->attr_values.v[i]);
            s->attr_values.v[i] = xstrdup(value);
            return;
        }
    cb_strv_push(&s->attr_keys, key);
    cb_strv_push(&s->attr_values, value);
}

void bl_source_policy_free(bl_source_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++) {
        sp_rule *r = &p->rules[i];
        free(r->identifier);
        if (r->has_re)
            regfree(&r->re);
        for (size_t k = 0; k < r->n_constraints; k++) {
            free(r->constraints[k].key);
            free(r->constraints[k].value);
            if (r->constraints[k].has_re)
                regfree(&r->constraints[k].re);
        }
        free(r->constraints);
        free(r->update_identifier);
        cb_strv_free(&r->update_keys);
        cb_strv_free(&r->update_values);
    }
    free(p->rules);
    free(p->name);
    free(p);
}

/* ---------- parsing ---------- */

/* obj's member named camel or snake (protojson takes both), or NULL */
static json_t *member(json_t *obj, const char *camel, const char *snake)
{
    json_t *v = json_object_get(obj, camel);
    return v ? v : snake ? json_object_get(obj, snake) : NULL;
}

/* Only the members BuildKit's Policy has: a misspelt one would silently change what is allowed. */
static int check_members(const bl_source_policy *p, json_t *obj, const char *where, const char *const *known,
                         cb_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok)
            return cb_failc(err, EINVAL, "source policy %s: %s: unknown field \"%s\"", p->name, where, k);
    }
    return 0;
}

/* An enum member as protojson reads it: its name or its number; absent is the zero value. */
static int parse_enum(const bl_source_policy *p, json_t *v, const char *where, const char *field,
                      const char *const *names, int n_names, int *out, cb_err *err)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < n_names) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        for (int i = 0; i < n_names; i++)
            if (!strcmp(json_string_value(v), names[i])) {
                *out = i;
                return 0;
            }
    cb_buf list;
    cb_buf_init(&list);
    for (int i = 0; i < n_names; i++)
        cb_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    cleanup_free char *got = json_dumps(v, JSON_ENCODE_ANY);
    int rc = cb_failc(err, EINVAL, "source policy %s: %s: invalid %s %s (expected one of %s)", p->name, where,
                      field, got ? got : "?", list.data);
    cb_buf_free(&list);
    return rc;
}

static int parse_string(const bl_source_policy *p, json_t *v, const char *where, const char *field, char **out,
                        cb_err *err)
{
    *out = NULL;
    if (!v || json_is_null(v)) {
        *out = xstrdup("");
        return 0;
    }
    if (!json_is_string(v))
        return cb_failc(err, EINVAL, "source policy %s: %s: %s must be a string", p->name, where, field);
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int compile_regex(const bl_source_policy *p, const char *where, const char *pattern, regex_t *re,
                         cb_err *err)
{
    int rc = regcomp(re, pattern, REG_EXTENDED);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        return cb_failc(err, EINVAL, "source policy %s: %s: invalid regex \"%s\": %s", p->name, where, pattern, msg);
    }
    return 0;
}

/* util/wildcard: the pattern quoted, each `*` a group `(.*)`, anchored; `**` is refused. */
static int compile_wildcard(const bl_source_policy *p, const char *where, const char *pattern, regex_t *re,
                            cb_err *err)
{
    if (strstr(pattern, "**"))
        return cb_failc(err, EINVAL, "source policy %s: %s: failed to translate wildcard \"%s\" to regexp: "
                        "invalid wildcard: \"**\"", p->name, where, pattern);
    cb_buf b;
    cb_buf_init(&b);
    cb_buf_putc(&b, '^');
    for (const char *c = pattern; *c; c++) {
        if (*c == '*')
            cb_buf_puts(&b, "(.*)");
        else if (strchr("\\.+?()[]{}|^$", *c))
            cb_buf_printf(&b, "\\%c", *c);
        else
            cb_buf_putc(&b, *c);
    }
    cb_buf_putc(&b, '$');
    int rc = compile_regex(p, where, b.data, re, err);
    cb_buf_free(&b);
    return rc;
}

static int parse_constraint(bl_source_policy *p, json_t *j, const char *where, sp_constraint *c, cb_err *err)
{
    static const char *const known[] = {"key", "value", "condition", NULL};
    static const char *const conds[] = {"EQUAL", "NOTEQUAL", "MATCHES"};
    if (!json_is_object(j))
        return cb_failc(err, EINVAL, "source policy %s: %s: invalid nil constraint in policy", p->name, where);
    int cond, rc;
    if ((rc = check_members(p, j, where, known, err)) < 0 ||
        (rc = parse_string(p, json_object_get(j, "key"), where, "key", &c->key, err)) < 0 ||
        (rc = parse_string(p, json_object_get(j, "value"), where, "value", &c->value, err)) < 0 ||
        (rc = parse_enum(p, json_object_get(j, "condition"), where, "condition", conds, 3, &cond, err)) < 0)
        return rc;
    c->condition = (enum sp_condition)cond;
    if (c->condition == SP_MATCHES) {
        if ((rc = compile_regex(p, where, c->value, &c->re, err)) < 0)
            return rc;
        c->has_re = true;
    }
    return 0;
}

static int parse_selector(bl_source_policy *p, json_t *j, const char *where, sp_rule *r, cb_err *err)
{
    static const char *const known[] = {"identifier", "matchType", "match_type", "constraints", NULL};
    static const char *const types[] = {"WILDCARD", "EXACT", "REGEX"};
    if (!json_is_object(j))
        return cb_failc(err, EINVAL, "source policy %s: %s: invalid nil selector in policy", p->name, where);
    int mt, rc;
    if ((rc = check_members(p, j, where, known, err)) < 0 ||
        (rc = parse_string(p, json_object_get(j, "identifier"), where, "selector identifier", &r->identifier,
                           err)) < 0 ||
        (rc = parse_enum(p, member(j, "matchType", "match_type"), where, "matchType", types, 3, &mt, err)) < 0)
        return rc;
    r->match = (enum sp_match)mt;
    if (r->match == SP_REGEX)
        rc = compile_regex(p, where, r->identifier, &r->re, err);
    else if (r->match == SP_WILDCARD)
        rc = compile_wildcard(p, where, r->identifier, &r->re, err);
    if (rc < 0)
        return rc;
    r->has_re = r->match != SP_EXACT;
    json_t *cs = json_object_get(j, "constraints");
    if (cs && !json_is_null(cs) && !json_is_array(cs))
        return cb_failc(err, EINVAL, "source policy %s: %s: constraints must be an array", p->name, where);
    size_t n = cs ? json_array_size(cs) : 0;
    r->constraints = xcalloc(n ? n : 1, sizeof *r->constraints);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *w = xasprintf("%s constraint %zu", where, i + 1);
        r->n_constraints = i + 1;
        if ((rc = parse_constraint(p, json_array_get(cs, i), w, &r->constraints[i], err)) < 0)
            return rc;
    }
    return 0;
}

static int parse_updates(bl_source_policy *p, json_t *j, const char *where, sp_rule *r, cb_err *err)
{
    static const char *const known[] = {"identifier", "attrs", NULL};
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_object(j))
        return cb_failc(err, EINVAL, "source policy %s: %s: updates must be an object", p->name, where);
    int rc;
    if ((rc = check_members(p, j, where, known, err)) < 0 ||
        (rc = parse_string(p, json_object_get(j, "identifier"), where, "updates identifier",
                           &r->update_identifier, err)) < 0)
        return rc;
    r->has_updates = true;
    json_t *attrs = json_object_get(j, "attrs");
    if (attrs && !json_is_null(attrs) && !json_is_object(attrs))
        return cb_failc(err, EINVAL, "source policy %s: %s: attrs must be an object of strings", p->name, where);
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
        if (!json_is_string(v))
            return cb_failc(err, EINVAL, "source policy %s: %s: attr %s must be a string", p->name, where, k);
        cb_strv_push(&r->update_keys, k);
        cb_strv_push(&r->update_values, json_string_value(v));
    }
    return 0;
}

static int parse_rule(bl_source_policy *p, json_t *j, size_t index, sp_rule *r, cb_err *err)
{
    static const char *const known[] = {"action", "selector", "updates", NULL};
    static const char *const actions[] = {"ALLOW", "DENY", "CONVERT"};
    cleanup_free char *where = xasprintf("rule %zu", index + 1);
    cb_strv_init(&r->update_keys);
    cb_strv_init(&r->update_values);
    if (!json_is_object(j))
        return cb_failc(err, EINVAL, "source policy %s: %s: invalid nil rule in policy", p->name, where);
    int act, rc;
    if ((rc = check_members(p, j, where, known, err)) < 0 ||
        (rc = parse_enum(p, json_object_get(j, "action"), where, "action", actions, 3, &act, err)) < 0 ||
        (rc = parse_selector(p, json_object_get(j, "selector"), where, r, err)) < 0 ||
        (rc = parse_updates(p, json_object_get(j, "updates"), where, r, err)) < 0)
        return rc;
    r->action = (enum sp_action)act;
    if (r->action == SP_CONVERT && !r->has_updates)
        return cb_failc(err, EINVAL, "source policy %s: %s (CONVERT %s): missing destination for convert rule",
                        p->name, where, r->identifier);
    return 0;
}

int bl_source_policy_parse(const char *json, size_t len, const char *name, bl_source_policy **out, cb_err *err)
{
    *out = NULL;
    bl_source_policy *p = xcalloc(1, sizeof *p);
    p->name = xstrdup(name);
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    int rc = 0;
    if (!root)
        rc = cb_failc(err, EINVAL, "failed to parse source policy %s: %s (line %d, column %d)", name, je.text,
                      je.line, je.column);
    else if (!json_is_object(root))
        rc = cb_failc(err, EINVAL, "failed to parse source policy %s: not a JSON object", name);
    static const char *const known[] = {"version", "rules", NULL};
    if (rc == 0)
        rc = check_members(p, root, "policy", known, err);
    json_t *rules = rc == 0 ? json_object_get(root, "rules") : NULL;
    json_t *version = rc == 0 ? json_object_get(root, "version") : NULL;
    if (rc == 0 && version && !json_is_null(version) && !json_is_integer(version) &&
        !(json_is_string(version) && strspn(json_string_value(version), "0123456789") == strlen(json_string_value(version))))
        rc = cb_failc(err, EINVAL, "source policy %s: version must be a number", name);
    if (rc == 0 && rules && !json_is_null(rules) && !json_is_array(rules))
        rc = cb_failc(err, EINVAL, "source policy %s: rules must be an array", name);
    size_t n = rc == 0 && rules ? json_array_size(rules) : 0;
    if (rc == 0)
        p->rules = xcalloc(n ? n : 1, sizeof *p->rules);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        p->n_rules = i + 1;
        rc = parse_rule(p, json_array_get(rules, i), i, &p->rules[i], err);
    }
    json_decref(root);
    if (rc < 0) {
        bl_source_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int bl_source_policy_load(const char *path, bl_source_policy **out, cb_err *err)
{
    *out = NULL;
    cb_buf data;
    cb_buf_init(&data);
    int rc = cb_read_file(path, &data, err);
    if (rc < 0) {
        cb_buf_free(&data);
        return cb_error_wrap(err, "failed to read source policy %s", path);
    }
    rc = bl_source_policy_parse(data.data ? data.data : "", data.len, path, out, err);
    cb_buf_free(&data);
    return rc;
}

/* ---------- matching and conversion ---------- */

#define SP_MAX_GROUPS 10

/* Go's Regexp.Expand of template for one match of s: $N and ${N} are groups (an unknown or
 * unmatched one is empty, as is any name: POSIX groups have none), $$ is a dollar. */
static void expand(cb_buf *out, const char *tmpl, const char *s, const regmatch_t *m)
{
    for (const char *t = tmpl; *t;) {
        if (*t != '$') {
            cb_buf_putc(out, *t++);
            continue;
        }
        if (t[1] == '$') {
            cb_buf_putc(out, '$');
            t += 2;
            continue;
        }
        const char *name = t + 1, *end;
        bool braced = *name == '{';
        if (braced)
            name++;
        end = name;
        while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') || (*end >= '0' && *end <= '9') ||
               *end == '_')
            end++;
        if (end == name || (braced && *end != '}')) { /* not a reference: the dollar as it is */
            cb_buf_putc(out, *t++);
            continue;
        }
        bool number = true;
        for (const char *c = name; c < end; c++)
            number = number && *c >= '0' && *c <= '9';
        long g = number && end - name < 4 ? strtol(name, NULL, 10) : -1;
        if (g >= 0 && g < SP_MAX_GROUPS && m[g].rm_so >= 0)
            cb_buf_append(out, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
        t = braced ? end + 1 : end;
    }
}

/* Go's Regexp.ReplaceAllString: every leftmost match replaced by the expanded template, an
 * empty match right after a previous one left alone. */
static char *replace_all(const regex_t *re, const char *s, const char *tmpl)
{
    cb_buf out;
    cb_buf_init(&out);
    size_t len = strlen(s), search = 0, last_end = 0;
    while (search <= len) {
        regmatch_t m[SP_MAX_GROUPS];
        if (regexec(re, s + search, SP_MAX_GROUPS, m, search ? REG_NOTBOL : 0) != 0)
            break;
        for (size_t g = 0; g < SP_MAX_GROUPS; g++)
            if (m[g].rm_so >= 0) {
                m[g].rm_so += (regoff_t)search;
                m[g].rm_eo += (regoff_t)search;
            }
        size_t a0 = (size_t)m[0].rm_so, a1 = (size_t)m[0].rm_eo;
        cb_buf_append(&out, s + last_end, a0 - last_end);
        if (a1 > last_end || a0 == 0)
            expand(&out, tmpl, s, m);
        last_end = a1;
        search = search + 1 > a1 ? search + 1 : a1;
    }
    cb_buf_append(&out, s + last_end, len - last_end);
    return cb_buf_steal(&out);
}

/* matcher.go: the constraints on the attributes first, then the identifier: equal to the
 * selector's, or by the match type. */
static bool rule_matches(const sp_rule *r, const bl_source *src, const char *ident)
{
    for (size_t i = 0; i < r->n_constraints; i++) {
        const sp_constraint *c = &r->constraints[i];
        const char *v = bl_source_attr(src, c->key);
        if (!v)
            v = "";
        if (c->condition == SP_EQUAL && strcmp(v, c->value))
            return false;
        if (c->condition == SP_NOTEQUAL && !strcmp(v, c->value))
            return false;
        if (c->condition == SP_MATCHES && regexec(&c->re, v, 0, NULL, 0) != 0)
            return false;
    }
    if (!strcmp(r->identifier, ident))
        return true;
    if (r->match == SP_EXACT)
        return false;
    return regexec(&r->re, ident, 0, NULL, 0) == 0;
}

/* formatter.go: the destination with the selector's groups of ident substituted. */
static char *rule_format(const sp_rule *r, const char *ident, const char *dest)
{
    if (r->match == SP_EXACT)
        return xstrdup(dest);
    if (r->match == SP_REGEX)
        return replace_all(&r->re, ident, dest);
    regmatch_t m[SP_MAX_GROUPS];
    if (regexec(&r->re, ident, SP_MAX_GROUPS, m, 0) != 0)
        return xstrdup(ident);
    cb_buf out;
    cb_buf_init(&out);
    expand(&out, dest, ident, m);
    return cb_buf_steal(&out);
}

/* mutate.go: the new identifier (the selector's when the update has none) and attributes. */
static bool rule_convert(const sp_rule *r, bl_source *src, const char *ident)
{
    bool mutated = false;
    cleanup_free char *dest = rule_format(r, ident, *r->update_identifier ? r->update_identifier : r->identifier);
    if (*dest && strcmp(src->identifier, dest)) {
        free(src->identifier);
        src->identifier = dest;
        dest = NULL;
        mutated = true;
    }
    for (size_t i = 0; i < r->update_keys.n; i++) {
        const char *cur = bl_source_attr(src, r->update_keys.v[i]);
        if (!cur || strcmp(cur, r->update_values.v[i])) {
            bl_source_set_attr(src, r->update_keys.v[i], r->update_values.v[i]);
            mutated = true;
        }
    }
    return mutated;
}

/* engine.go evaluatePolicy: a CONVERT that changes the source ends the pass */
static int policy_pass(const bl_source_policy *p, bl_source *src, bool *mutated, cb_err *err)
{
    *mutated = false;
    cleanup_free char *ident = xstrdup(src->identifier);
    bool deny = false;
    for (size_t i = 0; i < p->n_rules; i++) {
        const sp_rule *r = &p->rules[i];
        if (!rule_matches(r, src, ident))
            continue;
        if (r->action == SP_ALLOW)
            deny = false;
        else if (r->action == SP_DENY)
            deny = true;
        else if (rule_convert(r, src, ident)) {
            *mutated = true;
            return 0;
        }
    }
    if (deny)
        return cb_failc(err, EACCES, "source \"%s\" denied by policy: source denied by policy", ident);
    return 0;
}

int bl_source_policy_evaluate(const bl_source_policy *p, bl_source *src, bool *mutated, cb_err *err)
{
    *mutated = false;
    if (!p || !p->n_rules)
        return 0;
    /* engine.go's bound on conversions of one source (a rule converting back and forth) */
    for (int i = 0;; i++) {
        if (i > 20)
            return cb_failc(err, ELOOP, "source policy %s: too many mutations on a single source: too many operations",
                            p->name);
        bool mut;
        int rc = policy_pass(p, src, &mut, err);
        if (rc < 0)
            return rc;
        if (!mut)
            return 0;
        *mutated = true;
    }
}

/* ---------- the build's sources ----------
 * Identifiers as BuildKit's sources write them: docker-image://docker.io/library/alpine:latest,
 * local://context (the build context), local://dockerfile, local://NAME (--build-context
 * NAME=DIR), the URL of an HTTP source with http.checksum, git://HOST/PATH#REF:SUBDIR with
 * git.fullurl (and git.checksum, git.keepgitdir), oci-layout://PATH[:TAG|@DIGEST]. */
#include "internal.h"
#include "git.h"

#include <limits.h>

int bl_policy_load(bl_build *b, cb_err *err)
{
    const char *path = b->opts->source_policy_file;
    if (!path || !*path)
        return 0;
    return bl_source_policy_load(path, &b->policy, err);
}

/* "host[:port]/path" of a git remote (scheme://[user@]host/path or user@host:path), as
 * llb.Git's identifier: the path cleaned, no trailing slash */
static char *git_host_path(const char *remote)
{
    const char *s = strstr(remote, "://");
    const char *host, *path;
    if (s) {
        host = s + 3;
        const char *slash = strchr(host, '/');
        const char *at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
        if (at)
            host = at + 1;
        path = slash ? slash : "";
    } else { /* scp-like user@host:path */
        const char *at = strchr(remote, '@');
        host = at ? at + 1 : remote;
        path = strchr(host, ':') ? strchr(host, ':') + 1 : "";
    }
    size_t hl = *path && s ? (size_t)(path - host) : strcspn(host, s ? "/" : ":");
    cleanup_free char *clean = bl_path_clean(path);
    if (!strcmp(clean, "/"))
        clean[0] = 0;
    return xasprintf("%.*s%s", (int)hl, host, clean);
}

static int git_source(const char *url, const char *checksum, bool keep_git_dir, bl_source *src, cb_err *err)
{
    bl_git_ref r;
    int rc = bl_git_ref_parse(url, &r, err);
    if (rc < 0)
        return rc;
    cleanup_free char *hp = git_host_path(r.remote);
    cb_buf id;
    cb_buf_init(&id);
    cb_buf_printf(&id, "git://%s", hp);
    if (r.ref || r.subdir)
        cb_buf_printf(&id, "#%s%s%s", r.ref ? r.ref : "", r.subdir ? ":" : "", r.subdir ? r.subdir : "");
    bl_source_init(src, id.data);
    cb_buf_free(&id);
    bl_source_set_attr(src, "git.fullurl", r.remote);
    if (checksum || r.checksum)
        bl_source_set_attr(src, "git.checksum", checksum ? checksum : r.checksum);
    if (keep_git_dir || r.keep_git_dir == 1)
        bl_source_set_attr(src, "git.keepgitdir", "true");
    bl_git_ref_free(&r);
    return 0;
}

/* A converted git source as a URL cbuild fetches: git.fullurl's remote (else https://HOST/PATH
 * of the identifier), the identifier's #REF:SUBDIR; *checksum from git.checksum. */
static int git_url(const bl_source *src, const char *orig, char **url, char **checksum, cb_err *err)
{
    const char *id = src->identifier + 6;
    const char *frag = strchr(id, '#');
    const char *full = bl_source_attr(src, "git.fullurl");
    cleanup_free char *remote = full ? xstrndup(full, strcspn(full, "#?"))
                                     : xasprintf("https://%.*s", (int)(frag ? (size_t)(frag - id) : strlen(id)), id);
    *url = xasprintf("%s%s", remote, frag ? frag : "");
    const char *ck = bl_source_attr(src, "git.checksum");
    *checksum = ck && *ck ? xstrdup(ck) : NULL;
    if (!bl_git_is_url(*url)) {
        int rc = cb_failc(err, ENOTSUP,
                          "source policy converts %s to %s: %s is not a git URL cbuild recognises (give a "
                          "git.fullurl attr ending in .git)",
                          orig, src->identifier, *url);
        free(*url);
        free(*checksum);
        *url = *checksum = NULL;
        return rc;
    }
    return 0;
}

static bool is_http(const char *s)
{
    return cb_str_has_prefix(s, "http://") || cb_str_has_prefix(s, "https://");
}

/* The attrs a conversion set (new, or changed from the source's own) must be ones cbuild
 * honours for the new source's kind: any other is refused rather than silently ignored. */
static int check_attrs(const bl_source *src, const bl_source *before, const char *const *allowed, cb_err *err)
{
    for (size_t i = 0; i < src->attr_keys.n; i++) {
        const char *was = bl_source_attr(before, src->attr_keys.v[i]);
        bool ok = was && !strcmp(was, src->attr_values.v[i]);
        for (size_t k = 0; allowed && allowed[k] && !ok; k++)
            ok = !strcmp(src->attr_keys.v[i], allowed[k]);
        if (!ok)
            return cb_failc(err, ENOTSUP, "source policy converts %s to %s: cbuild does not apply attr %s=%s",
                            before->identifier, src->identifier, src->attr_keys.v[i], src->attr_values.v[i]);
    }
    return 0;
}

static void source_copy(bl_source *dst, const bl_source *src)
{
    bl_source_init(dst, src->identifier);
    for (size_t i = 0; i < src->attr_keys.n; i++)
        bl_source_set_attr(dst, src->attr_keys.v[i], src->attr_values.v[i]);
}

int bl_policy_context(bl_build *b, cb_err *err)
{
    if (!b->policy)
        return 0;
    const char *ctx = b->opts->context;
    bl_source srcs[2];
    size_t n = 0;
    int rc = 0;
    if (ctx && bl_git_is_url(ctx)) {
        if ((rc = git_source(ctx, NULL, false, &srcs[n], err)) < 0)
            return rc;
        n++;
    } else if (ctx && bl_context_is_url(ctx)) {
        bl_source_init(&srcs[n++], ctx);
    } else if (ctx && strcmp(ctx, "-")) {
        bl_source_init(&srcs[n++], "local://context");
    }
    /* the Dockerfile is a local of its own unless it comes on stdin or inside a URL context */
    const char *df = b->opts->dockerfile;
    if (df ? strcmp(df, "-") != 0 : ctx && strcmp(ctx, "-") && !bl_context_is_url(ctx))
        bl_source_init(&srcs[n++], "local://dockerfile");
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *orig = xstrdup(srcs[i].identifier);
        bool mutated;
        if (rc == 0)
            rc = bl_source_policy_evaluate(b->policy, &srcs[i], &mutated, err);
        if (rc == 0 && mutated)
            rc = cb_failc(err, ENOTSUP, "source policy converts %s to %s: cbuild converts only image, HTTP and "
                          "git sources, and named contexts", orig, srcs[i].identifier);
        bl_source_free(&srcs[i]);
    }
    return rc;
}

void bl_policy_image_free(bl_policy_image *pi)
{
    free(pi->ref);
    free(pi->conv.name);
    free(pi->conv.value);
    free(pi->conv.select);
    memset(pi, 0, sizeof *pi);
}

/* The source a named context is, or docker-image://REF for a reference */
static int image_source(const bl_named *nc, const char *ref, bl_source *src, cb_err *err)
{
    if (nc && nc->kind == BL_NAMED_LOCAL) {
        cleanup_free char *id = xasprintf("local://%s", nc->name);
        bl_source_init(src, id);
        return 0;
    }
    if (nc && nc->kind == BL_NAMED_OCI) {
        cleanup_free char *id = xasprintf("oci-layout://%s%s%s", nc->value,
                                          !nc->select ? "" : cb_str_has_prefix(nc->select, "sha256:") ? "@" : ":",
                                          nc->select ? nc->select : "");
        bl_source_init(src, id);
        return 0;
    }
    if (nc && nc->kind == BL_NAMED_URL) {
        if (bl_git_is_url(nc->value))
            return git_source(nc->value, NULL, false, src, err);
        bl_source_init(src, nc->value);
        bl_source_set_attr(src, "http.filename", "context"); /* llb.HTTP(url, llb.Filename("context")) */
        return 0;
    }
    const char *r = nc ? nc->value : ref;
    cb_err e;
    cleanup_free char *norm = oci_ref_normalize(r, &e);
    cleanup_free char *id = xasprintf("docker-image://%s", norm ? norm : r);
    bl_source_init(src, id);
    return 0;
}

/* Where a converted image source comes from: another image, a local directory (a named
 * context of that name, or the build context for local://context), a git or HTTP(S) URL as
 * the named context of that kind would be. */
static int image_converted(bl_build *b, const bl_source *before, const char *name, const bl_source *src,
                           bl_policy_image *out, cb_err *err)
{
    const char *orig = before->identifier;
    const char *id = src->identifier;
    int rc;
    if (cb_str_has_prefix(id, "docker-image://")) {
        if ((rc = check_attrs(src, before, NULL, err)) < 0)
            return rc;
        out->ref = xstrdup(id + 15);
        return 0;
    }
    if (cb_str_has_prefix(id, "local://")) {
        const char *ln = id + 8;
        if ((rc = check_attrs(src, before, NULL, err)) < 0)
            return rc;
        if (!strcmp(ln, "context")) {
            if (!b->ctx.dir)
                return cb_failc(err, ENOENT, "source policy converts %s to %s: the build has no local context",
                                orig, id);
            out->conv = (bl_named){.name = xstrdup("context"), .kind = BL_NAMED_LOCAL, .value = xstrdup(b->ctx.dir)};
            out->named = &out->conv;
            return 0;
        }
        const bl_named *nc = bl_named_find(b, ln);
        if (!nc || nc->kind != BL_NAMED_LOCAL)
            return cb_failc(err, ENOENT,
                            "source policy converts %s to %s: no local named context %s (give --build-context "
                            "%s=DIR)",
                            orig, id, ln, ln);
        out->named = nc;
        return 0;
    }
    if (cb_str_has_prefix(id, "git://")) {
        static const char *const git_attrs[] = {"git.fullurl", NULL};
        if ((rc = check_attrs(src, before, git_attrs, err)) < 0)
            return rc;
        char *url, *checksum;
        if ((rc = git_url(src, orig, &url, &checksum, err)) < 0)
            return rc;
        free(checksum); /* not in git_attrs */
        out->conv = (bl_named){.name = xstrdup(name), .kind = BL_NAMED_URL, .value = url};
        out->named = &out->conv;
        return 0;
    }
    if (is_http(id)) {
        static const char *const http_attrs[] = {"http.filename", NULL};
        if ((rc = check_attrs(src, before, http_attrs, err)) < 0)
            return rc;
        out->conv = (bl_named){.name = xstrdup(name), .kind = BL_NAMED_URL, .value = xstrdup(id)};
        out->named = &out->conv;
        return 0;
    }
    return cb_failc(err, ENOTSUP,
                    "source policy converts %s to %s: cbuild takes docker-image://, local://, git:// or "
                    "http(s):// in place of an image",
                    orig, id);
}

int bl_policy_resolve_image(bl_build *b, const char *ref, bl_policy_image *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    const bl_named *nc = bl_named_find(b, ref);
    bool image = !nc || (nc->kind == BL_NAMED_IMAGE && strcmp(nc->value, "scratch"));
    if (!b->policy || (nc && nc->kind == BL_NAMED_IMAGE && !image)) {
        if (image)
            out->ref = xstrdup(nc ? nc->value : ref);
        else
            out->named = nc;
        return 0;
    }
    bl_source src;
    int rc = image_source(nc, ref, &src, err);
    if (rc < 0)
        return rc;
    bl_source before;
    source_copy(&before, &src);
    bool mutated;
    rc = bl_source_policy_evaluate(b->policy, &src, &mutated, err);
    if (rc < 0) /* BuildKit's resolveSourceMetadata wrap */
        cb_error_wrap(err, "could not resolve image due to policy");
    if (rc == 0 && !mutated) {
        if (image)
            out->ref = xstrdup(nc ? nc->value : ref);
        else
            out->named = nc;
    } else if (rc == 0) {
        rc = image_converted(b, &before, nc ? nc->name : ref, &src, out, err);
    }
    bl_source_free(&src);
    bl_source_free(&before);
    if (rc < 0)
        bl_policy_image_free(out);
    return rc;
}

/* One ADD source: the URL and --checksum it is fetched with after the policy. */
static int add_source(bl_build *b, df_cmd *cmd, size_t i, size_t n_urls, cb_err *err)
{
    const char *arg = cmd->args.v[i];
    bool git = bl_git_is_url(arg);
    bl_source src;
    int rc;
    if (git) {
        if ((rc = git_source(arg, cmd->checksum, cmd->keep_git_dir, &src, err)) < 0)
            return rc;
    } else {
        bl_source_init(&src, arg);
        if (cmd->checksum)
            bl_source_set_attr(&src, "http.checksum", cmd->checksum);
    }
    bl_source before;
    source_copy(&before, &src);
    cleanup_free char *orig = xstrdup(src.identifier);
    bool mutated;
    rc = bl_source_policy_evaluate(b->policy, &src, &mutated, err);
    char *url = NULL, *checksum = NULL;
    if (rc == 0 && mutated) {
        static const char *const git_attrs[] = {"git.fullurl", "git.checksum", "git.keepgitdir", NULL};
        static const char *const http_attrs[] = {"http.checksum", NULL};
        if (cb_str_has_prefix(src.identifier, "git://")) {
            if ((rc = check_attrs(&src, &before, git_attrs, err)) == 0)
                rc = git_url(&src, orig, &url, &checksum, err);
            const char *kg = bl_source_attr(&src, "git.keepgitdir");
            if (rc == 0)
                cmd->keep_git_dir = kg && !strcmp(kg, "true");
        } else if (is_http(src.identifier)) {
            if ((rc = check_attrs(&src, &before, http_attrs, err)) == 0) {
                url = xstrdup(src.identifier);
                const char *ck = bl_source_attr(&src, "http.checksum");
                checksum = ck && *ck ? xstrdup(ck) : NULL;
            }
        } else {
            rc = cb_failc(err, ENOTSUP,
                          "source policy converts %s to %s: an ADD source becomes a git:// or http(s):// one",
                          orig, src.identifier);
        }
    }
    bl_source_free(&src);
    bl_source_free(&before);
    if (rc < 0 || !mutated)
        return rc;
    bool checksum_changed = (checksum != NULL) != (cmd->checksum != NULL) ||
                            (checksum && strcmp(checksum, cmd->checksum));
    if (checksum_changed && n_urls > 1) {
        rc = cb_failc(err, ENOTSUP,
                      "source policy converts %s with a checksum, but this ADD has %zu URL sources: cbuild "
                      "keeps one --checksum per ADD",
                      orig, n_urls);
        free(url);
        free(checksum);
        return rc;
    }
    free(cmd->args.v[i]);
    cmd->args.v[i] = url;
    if (checksum_changed) {
        free(cmd->checksum);
        cmd->checksum = checksum;
    } else {
        free(checksum);
    }
    return 0;
}

int bl_policy_plan(bl_build *b, df_plan *plan, cb_err *err)
{
    if (!b->policy)
        return 0;
    for (size_t s = 0; s < plan->n_stages; s++) {
        df_stage *st = &plan->stages[s];
        for (size_t c = 0; c < st->n_cmds; c++) {
            df_cmd *cmd = &st->cmds[c];
            if (cmd->kind != DF_CMD_ADD || cmd->from || cmd->args.n < 2)
                continue;
            size_t n_urls = 0;
            for (size_t i = 0; i + 1 < cmd->args.n; i++)
                n_urls += bl_git_is_url(cmd->args.v[i]) || is_http(cmd->args.v[i]);
            for (size_t i = 0; i + 1 < cmd->args.n; i++) {
                if (!bl_git_is_url(cmd->args.v[i]) && !is_http(cmd->args.v[i]))
                    continue;
                int rc = add_source(b, cmd, i, n_urls, err);
                if (rc < 0)
                    return cb_error_wrap(err, "%s:%d", b->ctx.dockerfile_name ? b->ctx.dockerfile_name : "Dockerfile",
                                         cmd->instr ? cmd->instr->start_line : 0);
            }
        }
    }
    return 0;
}
