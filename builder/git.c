/* Git sources as BuildKit's (source/git, frontend/dockerfile/dfgitutil): the URL forms, the
 * ref resolution by `git ls-remote`, --checksum against the resolved commit, and a checkout
 * of that commit with the host's git. The error texts are BuildKit's. */
#include "git.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool scp_like(const char *s)
{
    /* user@host:path, as git's own scp syntax (gitutil's ParseURL) */
    const char *at = strchr(s, '@'), *colon = strchr(s, ':');
    if (!at || !colon || colon < at || strstr(s, "://"))
        return false;
    for (const char *p = s; p < at; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return colon > at + 1 && colon[1];
}

static bool is_ssh_remote(const char *s)
{
    return cb_str_has_prefix(s, "ssh://") || scp_like(s);
}

/* the agent of the checkout running on this thread (git_run's children inherit it) */
static __thread const char *tls_ssh_sock;

bool bl_git_is_url(const char *s)
{
    if (cb_str_has_prefix(s, "git://") || cb_str_has_prefix(s, "ssh://") || scp_like(s))
        return true;
    if (!cb_str_has_prefix(s, "http://") && !cb_str_has_prefix(s, "https://"))
        return false;
    /* an HTTP(S) URL is a git ref only when its path ends with ".git" */
    size_t n = strcspn(s, "?#");
    return n >= 4 && !strncmp(s + n - 4, ".git", 4);
}

static char *url_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = 0;
    return out;
}

static int parse_bool_opt(const char *key, const char *v, int *out, cb_err *err)
{
    if (!v || !strcmp(v, "1") || !strcasecmp(v, "t") || !strcasecmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "f") || !strcasecmp(v, "false"))
        *out = 0;
    else
        return cb_fail(err, "invalid %s value: \"%s\"", key, v);
    return 0;
}

static int set_ref(bl_git_ref *r, const char *v, cb_err *err)
{
    if (r->ref && strcmp(r->ref, v))
        return cb_fail(err, "ref conflicts: \"%s\" vs \"%s\"", r->ref, v);
    free(r->ref);
    r->ref = xstrdup(v);
    return 0;
}

/* dfgitutil's loadQuery: tag= and branch= become refs/tags/… and refs/heads/…. */
static int load_query(bl_git_ref *r, const char *q, cb_err *err)
{
    cleanup_free char *tag = NULL, *branch = NULL;
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        cleanup_free char *k = url_decode(q, eq ? (size_t)(eq - q) : n);
        cleanup_free char *v = eq ? url_decode(eq + 1, n - (size_t)(eq + 1 - q)) : NULL;
        q += n + (q[n] == '&');
        if (!*k)
            continue;
        bool valueless_ok = !strcmp(k, "submodules") || !strcmp(k, "keep-git-dir");
        if ((!v || !*v) && !valueless_ok)
            return cb_fail(err, "query \"%s\" has no value", k);
        const char *val = v && *v ? v : NULL;
        int rc = 0;
        if (!strcmp(k, "ref"))
            rc = set_ref(r, val, err);
        else if (!strcmp(k, "tag"))
            free(tag), tag = xstrdup(val);
        else if (!strcmp(k, "branch"))
            free(branch), branch = xstrdup(val);
        else if (!strcmp(k, "subdir")) {
            if (r->subdir && strcmp(r->subdir, val))
                return cb_fail(err, "subdir conflicts: \"%s\" vs \"%s\"", r->subdir, val);
            free(r->subdir);
            r->subdir = xstrdup(val);
        } else if (!strcmp(k, "checksum") || !strcmp(k, "commit")) {
            free(r->checksum);
            r->checksum = xstrdup(val);
        } else if (valueless_ok)
            rc = parse_bool_opt(k, val, !strcmp(k, "submodules") ? &r->submodules : &r->keep_git_dir, err);
        else
            return cb_fail(err, "unexpected query \"%s\"", k);
        if (rc < 0)
            return rc;
    }
    if (tag) {
        cleanup_free char *full =
            cb_str_has_prefix(tag, "refs/tags/") ? xstrdup(tag) : xasprintf("refs/tags/%s", tag);
        if (r->ref && strcmp(r->ref, full))
            return cb_fail(err, "ref conflicts: \"%s\" vs \"%s\"", r->ref, full);
        free(r->ref);
        r->ref = xstrdup(full);
    }
    if (branch) {
        if (tag)
            return cb_fail(err, "branch conflicts with tag");
        cleanup_free char *full =
            cb_str_has_prefix(branch, "refs/heads/") ? xstrdup(branch) : xasprintf("refs/heads/%s", branch);
        if (r->ref && strcmp(r->ref, full))
            return cb_fail(err, "ref conflicts: \"%s\" vs \"%s\"", r->ref, full);
        free(r->ref);
        r->ref = xstrdup(full);
    }
    return 0;
}

int bl_git_ref_parse(const char *s, bl_git_ref *out, cb_err *err)
{
    memset(out, 0, sizeof *out);
    out->keep_git_dir = out->submodules = -1;
    if (!bl_git_is_url(s))
        return cb_fail(err, "not a git repository URL: %s", s);
    const char *hash = strchr(s, '#');
    /* the query belongs to URLs only: scp-like remotes have none */
    const char *q = scp_like(s) ? NULL : strchr(s, '?');
    if (q && hash && q > hash)
        q = NULL;
    size_t rlen = q ? (size_t)(q - s) : hash ? (size_t)(hash - s) : strlen(s);
    out->remote = xstrndup(s, rlen);
    if (hash && hash[1]) {
        const char *colon = strchr(hash + 1, ':');
        cleanup_free char *ref = colon ? xstrndup(hash + 1, (size_t)(colon - hash - 1)) : xstrdup(hash + 1);
        if (*ref)
            out->ref = xstrdup(ref);
        if (colon && colon[1])
            out->subdir = xstrdup(colon + 1);
    }
    if (q) {
        cleanup_free char *qs = xstrndup(q + 1, hash ? (size_t)(hash - q - 1) : strlen(q + 1));
        int rc = load_query(out, qs, err);
        if (rc < 0) {
            bl_git_ref_free(out);
            return rc;
        }
    }
    return 0;
}

void bl_git_ref_free(bl_git_ref *r)
{
    free(r->remote);
    free(r->ref);
    free(r->subdir);
    free(r->checksum);
    memset(r, 0, sizeof *r);
}

/* ---------- running git ---------- */

static void read_all_fd(int fd, cb_buf *out)
{
    char buf[8192];
    lseek(fd, 0, SEEK_SET);
    for (ssize_t k; (k = read(fd, buf, sizeof buf)) > 0;)
        cb_buf_append(out, buf, (size_t)k);
}

/* Run git with argv (NULL-terminated, without "git") in dir; stdout into out when given.
 * A failure's message is git's stderr (its last line). */
static int git_run(const char *dir, const char *const *argv, cb_buf *out, cb_err *err)
{
    cleanup_close int ofd = memfd_create("git-out", MFD_CLOEXEC);
    cleanup_close int efd = memfd_create("git-err", MFD_CLOEXEC);
    if (ofd < 0 || efd < 0)
        return cb_error(err, errno, "memfd_create");
    size_t n = 0;
    while (argv[n])
        n++;
    const char **full = xcalloc(n + 8, sizeof *full);
    size_t k = 0;
    full[k++] = "git";
    full[k++] = "-c";
    full[k++] = "advice.detachedHead=false";
    full[k++] = "-c";
    full[k++] = "init.defaultBranch=master";
    for (size_t i = 0; i < n; i++)
        full[k++] = argv[i];
    pid_t pid = fork();
    if (pid < 0) {
        free(full);
        return cb_error(err, errno, "fork git");
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        if (dir && chdir(dir) < 0)
            _exit(126);
        setenv("GIT_TERMINAL_PROMPT", "0", 1);
        /* as BuildKit's gitutil: no ssh config, the host key trusted on first use (BuildKit
         * scans it) without touching known_hosts; IdentityFile=/dev/null keeps the user's own
         * ~/.ssh keys out: only the forwarded agent authenticates */
        setenv(
            "GIT_SSH_COMMAND",
            "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o IdentityFile=/dev/null",
            1);
        if (tls_ssh_sock)
            setenv("SSH_AUTH_SOCK", tls_ssh_sock, 1);
        else
            unsetenv("SSH_AUTH_SOCK");
        unsetenv("GIT_DIR");
        unsetenv("GIT_WORK_TREE");
        execvp("git", (char *const *)full);
        _exit(127);
    }
    free(full);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (out)
        read_all_fd(ofd, out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    cb_buf e;
    cb_buf_init(&e);
    read_all_fd(efd, &e);
    while (e.len && (e.data[e.len - 1] == '\n' || e.data[e.len - 1] == '\r'))
        e.len--;
    cb_buf_putc(&e, 0);
    int rc = WIFEXITED(st) && WEXITSTATUS(st) == 127 && !e.data[0]
                 ? cb_fail(err, "git is not installed on this host (Debian: apt-get install git)")
                 : cb_fail(err, "git %s: %s", argv[0], e.data);
    cb_buf_free(&e);
    return rc;
}

static bool is_hex(const char *s, size_t min)
{
    size_t n = strlen(s);
    if (n < min)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_commit_sha(const char *s)
{
    return (strlen(s) == 40 || strlen(s) == 64) && is_hex(s, 40);
}

/* Resolve ref (NULL: HEAD) to a commit with ls-remote; *refname: what to fetch. */
static int resolve_ref(const bl_git_ref *r, char commit[BL_GIT_COMMIT_MAX], char **refname, cb_err *err)
{
    const char *ref = r->ref ? r->ref : "HEAD";
    if (is_commit_sha(ref)) {
        snprintf(commit, BL_GIT_COMMIT_MAX, "%s", ref);
        *refname = xstrdup(ref);
        return 0;
    }
    cb_buf out;
    cb_buf_init(&out);
    const char *argv[] = {"ls-remote", "--", r->remote, NULL};
    int rc = git_run(NULL, argv, &out, err);
    if (rc < 0) {
        cb_buf_free(&out);
        return cb_error_wrap(err, "failed to fetch remote %s", r->remote);
    }
    cb_buf_putc(&out, 0);
    /* an exact name wins, then a tag (peeled), then a branch: as `git ls-remote origin ref` */
    const char *cands[3] = {ref, NULL, NULL};
    cleanup_free char *tag = xasprintf("refs/tags/%s", ref), *head = xasprintf("refs/heads/%s", ref);
    cands[1] = tag;
    cands[2] = head;
    int best = 99;
    for (char *line = out.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *tab = strchr(line, '\t');
        if (!tab || (size_t)(tab - line) >= BL_GIT_COMMIT_MAX)
            continue;
        *tab = 0;
        const char *name = tab + 1;
        size_t nl = strlen(name);
        bool peeled = nl > 3 && !strcmp(name + nl - 3, "^{}");
        for (int c = 0; c < 3; c++) {
            size_t cl = strlen(cands[c]);
            if (strncmp(name, cands[c], cl) || (name[cl] && !peeled) || (peeled && nl - 3 != cl))
                continue;
            int score = c * 2 + (peeled ? 0 : 1);
            if (score < best) {
                best = score;
                snprintf(commit, BL_GIT_COMMIT_MAX, "%s", line);
                free(*refname);
                *refname = xstrndup(name, cl);
            }
        }
    }
    cb_buf_free(&out);
    if (best == 99)
        return cb_failc(err, ENOENT, "repository does not contain ref %s, output: \"\"", ref);
    return 0;
}

static bool has_commit(const char *gitdir, const char *commit)
{
    cb_err e;
    cleanup_free char *obj = xasprintf("%s^{commit}", commit);
    const char *argv[] = {"--git-dir", gitdir, "cat-file", "-e", obj, NULL};
    return git_run(NULL, argv, NULL, &e) == 0;
}

/* Fetch commit (by refname) from remote into the repository gitdir, pinned under refs/cb/. A
 * shallow fetch first; dumb HTTP servers and some others refuse it, then everything. */
static int fetch_commit(const char *gitdir, const char *remote, const char *refname, const char *commit,
                        cb_err *err)
{
    cleanup_free char *spec = xasprintf("+%s:refs/cb/fetch", refname);
    const char *shallow[] = {"--git-dir", gitdir, "fetch", "-q", "--no-tags",
                             "--depth=1", "--",   remote,  spec, NULL};
    cb_err e;
    if (!has_commit(gitdir, commit) &&
        (git_run(NULL, shallow, NULL, &e) < 0 || !has_commit(gitdir, commit))) {
        const char *all[] = {"--git-dir",
                             gitdir,
                             "fetch",
                             "-q",
                             "--no-tags",
                             "--",
                             remote,
                             "+refs/heads/*:refs/cb/heads/*",
                             "+refs/tags/*:refs/cb/tags/*",
                             NULL};
        int rc = git_run(NULL, all, NULL, err);
        if (rc < 0)
            return cb_error_wrap(err, "failed to fetch remote %s", remote);
    }
    if (!has_commit(gitdir, commit))
        return cb_failc(err, ENOENT, "repository does not contain ref %s, output: \"\"", refname);
    cleanup_free char *pin = xasprintf("refs/cb/%s", commit);
    const char *upd[] = {"--git-dir", gitdir, "update-ref", pin, commit, NULL};
    return git_run(NULL, upd, NULL, err);
}

/* The object format of a remote decides the repository's (sha256 repositories need theirs). */
static const char *object_format(const char *commit)
{
    return strlen(commit) == 64 ? "--object-format=sha256" : "--object-format=sha1";
}

static int init_bare(const char *dir, const char *commit, cb_err *err)
{
    cleanup_free char *head = cb_path_join(dir, "HEAD");
    if (cb_path_exists(head))
        return 0;
    int rc = cb_mkdir_p(dir, 0700, err);
    const char *argv[] = {"init", "-q", "--bare", object_format(commit), dir, NULL};
    if (rc == 0)
        rc = git_run(NULL, argv, NULL, err);
    const char *cfg[] = {"--git-dir", dir, "config", "uploadpack.allowAnySHA1InWant", "true", NULL};
    return rc < 0 ? rc : git_run(NULL, cfg, NULL, err);
}

static int checkout_tree(const bl_git_ref *r, const char *refname, const char *cache_dir, const char *dest,
                         const char *commit, cb_err *err)
{
    const char *init[] = {"init", "-q", object_format(commit), dest, NULL};
    int rc = git_run(NULL, init, NULL, err);
    if (rc < 0)
        return rc;
    cleanup_free char *gitdir = cb_path_join(dest, ".git");
    if (cache_dir) {
        cleanup_free char *pin = xasprintf("refs/cb/%s", commit);
        rc = fetch_commit(gitdir, cache_dir, pin, commit, err);
    } else {
        rc = fetch_commit(gitdir, r->remote, refname, commit, err);
    }
    const char *co[] = {"checkout", "-q", commit, NULL};
    if (rc == 0)
        rc = git_run(dest, co, NULL, err);
    cleanup_free char *gm = cb_path_join(dest, ".gitmodules");
    if (rc == 0 && r->submodules != 0 && cb_path_exists(gm)) {
        const char *sub[] = {
            "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", "--recursive", NULL};
        rc = git_run(dest, sub, NULL, err);
        if (rc < 0)
            cb_error_wrap(err, "failed to update submodules for %s", r->remote);
    }
    return rc;
}

/* Without --keep-git-dir no .git is left, the submodules' included. */
static int strip_git(const char *dir, cb_err *err)
{
    cleanup_free char *g = cb_path_join(dir, ".git");
    return cb_rm_rf(g, err);
}

static int strip_submodule_gits(const char *dest, cb_err *err)
{
    cb_buf out;
    cb_buf_init(&out);
    const char *argv[] = {"submodule", "foreach", "--recursive", "-q", "echo $displaypath", NULL};
    int rc = git_run(dest, argv, &out, err);
    cb_buf_putc(&out, 0);
    for (char *line = out.data, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        cleanup_free char *sub = cb_path_join(dest, line);
        rc = strip_git(sub, err);
    }
    cb_buf_free(&out);
    return rc;
}

static int checkout(const bl_git_ref *r, bool keep_git_dir, const char *cache_dir, const char *dest,
                    char commit[BL_GIT_COMMIT_MAX], int64_t *commit_time, cb_err *err);

int bl_git_checkout(const bl_git_ref *r, bool keep_git_dir, const char *cache_dir, const char *dest,
                    char commit[BL_GIT_COMMIT_MAX], int64_t *commit_time, cb_err *err)
{
    if (r->checksum && !is_hex(r->checksum, 1))
        return cb_fail(err, "invalid checksum %s for Git URL, expected hex commit hash", r->checksum);
    if (is_ssh_remote(r->remote) && !r->ssh_sock)
        return cb_fail(err, "no SSH key \"default\" forwarded from the client");
    tls_ssh_sock = r->ssh_sock;
    int rc = checkout(r, keep_git_dir, cache_dir, dest, commit, commit_time, err);
    tls_ssh_sock = NULL;
    return rc;
}

/* The committer time of the commit checked out in dest (its .git still there). */
static int commit_time_read(const char *dest, const char *commit, int64_t *out, cb_err *err)
{
    cb_buf o;
    cb_buf_init(&o);
    const char *argv[] = {"show", "-s", "--format=%ct", commit, NULL};
    int rc = git_run(dest, argv, &o, err);
    cb_buf_putc(&o, 0);
    char *end = NULL;
    long long t = rc == 0 ? strtoll(o.data, &end, 10) : 0;
    if (rc == 0 && (end == o.data || (*end && *end != '\n')))
        rc = cb_fail(err, "git show %s: no committer time in \"%s\"", commit, o.data);
    cb_buf_free(&o);
    if (rc == 0)
        *out = (int64_t)t;
    return rc;
}

static int checkout(const bl_git_ref *r, bool keep_git_dir, const char *cache_dir, const char *dest,
                    char commit[BL_GIT_COMMIT_MAX], int64_t *commit_time, cb_err *err)
{
    cleanup_free char *refname = NULL;
    int rc = resolve_ref(r, commit, &refname, err);
    if (rc < 0)
        return rc;
    if (r->checksum && strncmp(commit, r->checksum, strlen(r->checksum)))
        return cb_fail(err, "expected checksum to match %s, got %s", r->checksum, commit);
    if (cache_dir) {
        if ((rc = init_bare(cache_dir, commit, err)) < 0 ||
            (rc = fetch_commit(cache_dir, r->remote, refname, commit, err)) < 0)
            return rc;
    }
    if ((rc = checkout_tree(r, refname, cache_dir, dest, commit, err)) < 0)
        return rc;
    if (commit_time && (rc = commit_time_read(dest, commit, commit_time, err)) < 0)
        return rc;
    if (keep_git_dir)
        return 0;
    cleanup_free char *gm = cb_path_join(dest, ".gitmodules");
    if (cb_path_exists(gm) && (rc = strip_submodule_gits(dest, err)) < 0)
        return rc;
    return strip_git(dest, err);
}

char *bl_url_redact(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return xstrdup(url);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    if (!at)
        return xstrdup(url);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    bool user = (colon ? colon : at) > auth, pass = colon != NULL;
    if (!user && !pass)
        return xstrdup(url);
    const char *mask = user && pass ? "xxxxx:xxxxx" : user ? "xxxxx" : ":xxxxx";
    return xasprintf("%.*s%s%s", (int)(auth - url), url, mask, at);
}
