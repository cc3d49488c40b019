/* parser/: Dockerfile -> AST -> stage plan, shell-word expansion, .dockerignore matching.
 * BuildKit semantics throughout (moby/buildkit frontend/dockerfile/{parser,shell,instructions},
 * moby/patternmatcher). No I/O beyond the buffers it is handed; knows nothing about images. */
#ifndef CB_DOCKERFILE_H
#define CB_DOCKERFILE_H

#include "common.h"

/* ======================================================================== AST (parser) */

typedef struct df_heredoc {
    char *name;    /* delimiter word with quotes removed ("EOF") */
    char *content; /* body lines, each ending in "\n"; not chomped, not expanded */
    bool expand;   /* false when any part of the delimiter was quoted (<<'EOF', <<"EOF") */
    bool chomp;    /* <<-EOF: leading tabs are stripped from body lines when used */
    int fd;        /* RUN 3<<EOF -> 3; 0 when not given */
} df_heredoc;

typedef struct df_flag {
    char *raw;   /* "--from=build" exactly as written (what `debug parse` prints) */
    char *name;  /* "from" */
    char *value; /* "build"; NULL for a bare "--link" (no '=') */
} df_flag;

typedef struct df_instr {
    char *keyword;  /* lower-case: "from", "run", ... (unknown keywords kept as written, lowered) */
    char *original; /* the instruction as one line: continuations joined, escape chars removed */
    int start_line; /* 1-based, first line of the instruction */
    int end_line;   /* last line, continuation and heredoc bodies included */
    df_flag *flags; /* leading --flags in order; repeats kept (several --mount) */
    size_t n_flags;
    cb_strv args;   /* arguments as in BuildKit's AST (before any variable expansion) */
    bool json;      /* exec (JSON array) form */
    df_heredoc *heredocs; /* RUN/COPY/ADD only, in order of appearance */
    size_t n_heredocs;
    struct df_instr *onbuild; /* ONBUILD: the wrapped instruction (args stays empty) */
    cb_strv comments; /* BuildKit's PrevComment: the "# ..." lines above it ("#" alone resets) */
} df_instr;

typedef struct df_warning {
    int line; /* 1-based; 0 when not tied to a line */
    char *msg;
} df_warning;

typedef struct df_warnings {
    df_warning *v;
    size_t n, cap;
} df_warnings;

typedef struct df_file {
    char *filename;   /* as given to df_parse, for messages */
    df_instr *instrs; /* in file order */
    size_t n_instrs;
    int start_line, end_line; /* span of all instructions */
    /* parser directives (only before anything else) */
    char *syntax; /* "# syntax=..." or NULL */
    int syntax_line; /* its line (1-based) when syntax is set */
    char *check;  /* "# check=..." or NULL */
    char escape;  /* '\\' (default) or '`' */
    df_warnings warnings; /* e.g. "Empty continuation line found in: RUN ..." */
} df_file;

/* Parse a Dockerfile. filename only labels messages ("Dockerfile:12: ..."). Rejects: no
 * instructions, lines > 65535 bytes, bad/repeated directives, ENV/LABEL without value, JSON
 * arrays with non-string elements, unterminated heredocs; an unknown keyword is kept in the
 * AST (`debug parse` prints it) and rejected by df_plan with a suggestion. */
int df_parse(const char *buf, size_t len, const char *filename, df_file **out, cb_err *err);
void df_file_free(df_file *f);

/* BuildKit's Node.Dump() format: one "(keyword [flags] "arg"...)\n" line per instruction,
 * exactly what parser/testfiles/<case>/result holds. */
void df_file_dump(const df_file *f, cb_buf *out);
void df_instr_dump(const df_instr *in, cb_buf *out);
/* Go strconv.Quote, appended to out. */
void df_go_quote(cb_buf *out, const char *s, size_t len);

/* Last value of flag `name` (e.g. "from"), NULL when absent; *present tells a bare --flag. */
const char *df_instr_flag(const df_instr *in, const char *name, bool *present);

/* Known instruction keywords (lower-case), for suggestions. */
extern const char *const df_keywords[];
extern const size_t df_n_keywords;

/* Heredoc helpers (exposed for tests): name of the heredoc in word ("<<EOF", "<<-'EOF'",
 * "3<<EOF"); *name = NULL when word is not a heredoc; error on unbalanced quotes. */
int df_heredoc_parse_word(const char *word, char **name, bool *expand, bool *chomp, int *fd, cb_err *err);
/* Heredocs announced on a full instruction line (BuildKit's heredocsFromLine); *out is an
 * array of *n heredocs with content NULL; the caller frees names and the array. */
int df_heredoc_from_line(const char *line, df_heredoc **out, size_t *n, cb_err *err);
/* A heredoc body with leading tabs removed from every line (<<- form). */
char *df_heredoc_chomp(const char *content);
/* Quote-aware whitespace word split used for ARG/ENV/heredoc detection (quotes kept). */
void df_split_words(const char *s, char escape, cb_strv *out);

/* BuildKit's lint rules (frontend/dockerfile/linter/ruleset.go). A lint warning's msg is
 * "RuleName: detail"; df_lint_rule_find(name) gives the rule's description and URL. */
typedef struct df_lint_rule {
    const char *name, *description, *url;
    bool experimental;
} df_lint_rule;
const df_lint_rule *df_lint_rule_find(const char *name);
/* The comment of comments describing name ("# name description" -> "description"), or NULL. */
const char *df_doc_comment(const cb_strv *comments, const char *name);

/* ============================================================ shell-word expansion */

/* Lexer options, mirroring shell.Lex. Zero-initialise then set escape. */
typedef struct df_lex {
    char escape;            /* '\\' or '`' (the file's escape directive) */
    bool raw_quotes;        /* keep quote characters in the output */
    bool raw_escapes;       /* keep escape characters in the output */
    bool skip_unset_env;    /* leave "$UNSET" as written instead of "" */
    bool skip_process_quotes; /* treat quotes as ordinary characters (heredoc bodies) */
} df_lex;

/* env: "KEY=VALUE" entries, the last one of a key wins; an entry without '=' is set and empty.
 * matched/unmatched (optional, may be NULL): names looked up that were set / unset, each
 * once, in first-use order. Errors carry shell-like messages ("FOO: message", "missing '}'"). */
int df_shell_word(const df_lex *lx, const char *word, const cb_strv *env, char **out,
                  cb_strv *matched, cb_strv *unmatched, cb_err *err);
/* Word-splitting mode (ProcessWords): unquoted whitespace, also from expansions, splits. */
int df_shell_words(const df_lex *lx, const char *word, const cb_strv *env, cb_strv *out, cb_err *err);

/* True for the instructions whose arguments BuildKit expands with ENV/ARG values (its
 * replaceEnvAllowed set): add, arg, copy, env, expose, label, stopsignal, user, volume,
 * workdir; plus from (global ARGs only) and onbuild (never). RUN/CMD/ENTRYPOINT/SHELL/
 * HEALTHCHECK are never expanded: the shell in the container does it. Flag values that
 * BuildKit expands (RUN --mount options, COPY --from/--chown/--chmod, ADD --checksum, FROM
 * --platform) are expanded by df_plan. */
bool df_keyword_expands(const char *keyword);

/* ================================================================ .dockerignore */

/* ignorefile.ReadAll: BOM, '#' comments at column 0, trim, "!" exclusion, filepath.Clean,
 * one leading '/' dropped. Appends the patterns (with "!" kept) to out. */
void df_ignore_read(const char *buf, size_t len, cb_strv *out);

typedef struct df_ignore df_ignore;
/* Compile patterns (as returned by df_ignore_read); errors name the bad pattern. */
int df_ignore_new(const char *const *patterns, size_t n, df_ignore **out, cb_err *err);
void df_ignore_free(df_ignore *m);
/* patternmatcher.MatchesOrParentMatches: is path (slash-separated, relative to the context
 * root, no leading "./") excluded from the context? */
bool df_ignore_matches(const df_ignore *m, const char *path);
/* The same question put to the patterns alone, "." included (the context's root is never left
 * out of a walk, but the CopyIgnoredFile lint asks whether "*" names it). */
bool df_ignore_patterns_match(const df_ignore *m, const char *path);
/* For walking: *excluded for the directory `dir` itself, and whether some entry below it can
 * still be included (an exclusion pattern "!..." could match beneath it). When the directory
 * is excluded and nothing below can be included, the walk may skip it entirely. */
void df_ignore_dir(const df_ignore *m, const char *dir, bool *excluded, bool *may_include_below);
bool df_ignore_has_exclusions(const df_ignore *m);
/* Some pattern excludes every entry of the context root: one star, two stars, or two stars,
 * a slash and a star (BuildKit's copySourceRootIgnored). */
bool df_ignore_excludes_root(const df_ignore *m);
/* Which ignore file applies (BuildKit/buildx): for a Dockerfile given with -f at DIR/NAME,
 * DIR/NAME.dockerignore is preferred when it exists, else CONTEXT/.dockerignore. Fills
 * first (NAME.dockerignore, or NULL when dockerfile is NULL) and second; caller frees both
 * and uses the first that exists. */
void df_ignore_candidates(const char *dockerfile, const char *context, char **first, char **second);

/* ===================================================================== stage plan */

typedef enum df_cmd_kind {
    DF_CMD_UNKNOWN = 0, DF_CMD_ADD, DF_CMD_ARG, DF_CMD_CMD, DF_CMD_COPY, DF_CMD_ENTRYPOINT,
    DF_CMD_ENV, DF_CMD_EXPOSE, DF_CMD_HEALTHCHECK, DF_CMD_LABEL, DF_CMD_MAINTAINER,
    DF_CMD_ONBUILD, DF_CMD_RUN, DF_CMD_SHELL, DF_CMD_STOPSIGNAL, DF_CMD_USER, DF_CMD_VOLUME,
    DF_CMD_WORKDIR,
} df_cmd_kind;

typedef enum df_mount_type { DF_MOUNT_BIND, DF_MOUNT_CACHE, DF_MOUNT_TMPFS, DF_MOUNT_SECRET, DF_MOUNT_SSH } df_mount_type;
typedef enum df_sharing { DF_SHARING_SHARED, DF_SHARING_PRIVATE, DF_SHARING_LOCKED } df_sharing;

/* RUN --mount=..., with BuildKit's defaults filled in. */
typedef struct df_mount {
    df_mount_type type;
    char *target;    /* target|dst|destination; secret default /run/secrets/<id>,
                        ssh default /run/buildkit/ssh_agent.<n> */
    char *source;    /* source|src; NULL = root of `from` (bind/cache) */
    char *from;      /* stage name, stage index or image ref; NULL = context (bind) / none */
    int from_stage;  /* resolved stage index, -1 when from is an image or absent */
    bool readonly;   /* bind: default true (rw/readwrite turn it off); cache: default false */
    char *id;        /* cache: default = target; secret: default basename(target); ssh: "default" */
    df_sharing sharing; /* cache only; default shared */
    uint32_t mode;   /* cache 0755, secret 0400, ssh 0600 by default */
    bool has_mode;   /* mode given explicitly */
    uint32_t uid, gid; /* default 0 */
    uint64_t size;   /* tmpfs size in bytes; 0 = unlimited */
    bool required;   /* secret/ssh: fail when missing */
    char *env;       /* secret: also expose as this environment variable (NULL = none) */
} df_mount;

typedef struct df_port {
    uint16_t start, end; /* end == start for a single port */
    char proto[4];       /* "tcp" (default), "udp", "sctp" */
} df_port;

/* RUN --device=NAME[,required[=BOOL]]: a CDI device request (BuildKit's dfrundevice). NAME is
 * "vendor.com/class=name", "vendor.com/class" (its first device), "vendor.com/class=*" (all of
 * them) or a device's class annotation. */
typedef struct df_device {
    char *name;
    bool required; /* a missing device fails the RUN instead of being skipped */
} df_device;

typedef struct df_kv {
    char *key;
    char *value; /* ARG without default: NULL */
} df_kv;

/* One instruction of a stage, after ARG/ENV expansion where BuildKit expands. */
typedef struct df_cmd {
    df_cmd_kind kind;
    const df_instr *instr; /* the AST node (line numbers, heredocs, original text) */
    cb_strv args;    /* expanded for expanding kinds; raw otherwise (RUN/CMD/ENTRYPOINT/SHELL:
                        exec-form array, or one shell-form string). COPY/ADD: source paths then
                        dest (heredoc sources are in inline_files). VOLUME: the volumes.
                        HEALTHCHECK: the test ("NONE" | "CMD" args... | "CMD-SHELL" cmd).
                        USER/WORKDIR/STOPSIGNAL/MAINTAINER/ONBUILD: one value (ONBUILD: the
                        trigger expression) */
    bool json;       /* exec form (RUN/CMD/ENTRYPOINT/SHELL) */
    /* RUN only: the state it runs in, built by the plan (empty for other kinds): */
    cb_strv build_args; /* "K=V" of the ARGs in scope with a value (incl. inherited from the
                           base stage), in declaration order: RUN's ARG environment */
    cb_strv env;        /* "K=V": the full environment BuildKit expands with and runs RUN in:
                           base image env (df_plan_opts.base_env) + ENV + ARG values, in order */

    /* ENV, LABEL, ARG (ARG: value NULL = no default and no --build-arg) */
    df_kv *kvs;
    size_t n_kvs;
    /* RUN */
    df_mount *mounts;
    size_t n_mounts;
    char *network;  /* "default" | "none" | "host"; NULL = not given */
    char *security; /* "sandbox" | "insecure"; NULL = not given */
    df_device *devices; /* --device, in order */
    size_t n_devices;
    /* COPY / ADD */
    char *from;     /* COPY --from: stage name/index or image ref, NULL = context */
    int from_stage; /* resolved stage index or -1 */
    char *chown, *chmod, *checksum;
    bool link, parents, keep_git_dir;
    int unpack; /* ADD --unpack: -1 not given (local archives extracted, URLs not), 0, 1 */
    cb_strv excludes; /* --exclude, repeatable */
    /* COPY/ADD heredoc sources (content chomped, expanded when df_heredoc.expand) and RUN
     * heredocs (content chomped, never expanded: the shell does it) */
    df_heredoc *inline_files;
    size_t n_inline_files;
    /* HEALTHCHECK durations in ns, 0 = default */
    int64_t hc_interval, hc_timeout, hc_start_period, hc_start_interval;
    int hc_retries;
    /* EXPOSE */
    df_port *ports;
    size_t n_ports;
} df_cmd;

typedef struct df_stage {
    int index;
    char *name;         /* AS name, lower-cased; NULL when unnamed */
    char *base;         /* FROM argument after global-ARG expansion ("alpine:3.19", "scratch", "build") */
    int base_stage;     /* index of the stage this one starts from, or -1 (image or scratch) */
    char *platform;     /* expanded --platform, or NULL */
    const df_instr *from; /* the FROM node */
    df_cmd *cmds;       /* instructions after FROM, in order */
    size_t n_cmds;
    int *deps;          /* stages this one needs: FROM stage, COPY --from, RUN --mount from=; sorted, unique */
    size_t n_deps;
    bool needed;        /* the target needs it (directly or transitively) */
    size_t n_triggers;  /* cmds[0..n_triggers) are ONBUILD triggers inherited from the base stage's
                           ONBUILD instructions or the base image's config (df_plan_opts.base_onbuild);
                           their instr line numbers are the FROM line's */
} df_stage;

typedef struct df_plan {
    df_stage *stages;
    size_t n_stages;
    int target;          /* index of the target stage (last stage by default) */
    df_kv *global_args;  /* ARGs before the first FROM, values after --build-arg overrides */
    size_t n_global_args;
    df_warnings warnings; /* e.g. "[Warning] One or more build-args [FOO] were not consumed" */
    char *lint_error;     /* df_plan_opts.lint_only: "lint violation found for rules: ..." or NULL */
    df_file **onbuild_files; /* owned: the parsed ONBUILD trigger expressions cmds point into */
    size_t n_onbuild_files;
} df_plan;

typedef struct df_plan_opts {
    const char *target;          /* stage name; NULL = last stage */
    const char *const *build_args; /* "K=V" (--build-arg); "K" alone takes the value from getenv */
    size_t n_build_args;
    const char *target_platform; /* default "linux/amd64" */
    const char *build_platform;  /* default "linux/amd64" */
    /* Optional: environment of an image (its config's Env) used as the base env of stages
     * built FROM it; called only for stages the target needs. NULL = empty env. */
    int (*base_env)(void *ud, const char *image_ref, const char *platform, cb_strv *env, cb_err *err);
    void *ud;
    /* Optional: the image config's OnBuild triggers (each an instruction line such as
     * "RUN make"), run first in stages built FROM that image; only for needed stages. */
    int (*base_onbuild)(void *ud, const char *image_ref, const char *platform, cb_strv *triggers, cb_err *err);
    /* Optional: "os/arch[/variant]" of the image base_env used (malloc'd; NULL unknown), for
     * InvalidBaseImagePlatform when its os or architecture is not the stage's. */
    char *(*base_platform)(void *ud, const char *image_ref, const char *platform);
    /* Optional: true when a named build context (--build-context NAME=…) stands for NAME; a
     * stage of that name is then replaced: `FROM NAME` with no instructions (base = its name). */
    bool (*named_context)(void *ud, const char *name);
    bool lint_only; /* --call=check: check=error=true sets lint_error instead of failing */
    const struct df_ignore *ignore; /* the context's .dockerignore, for CopyIgnoredFile; NULL = none */
} df_plan_opts;

/* Build the plan: stages, expansion, typed options, dependencies, needed set. Errors name
 * file:line and the offending text (unknown instruction: "did you mean ..."). An instruction that
 * does not parse leaves *out a plan of no stages with the warnings of the instructions before it
 * (freed by the caller); with lint_only it is no error: lint_error names it. */
int df_plan_new(const df_file *f, const df_plan_opts *opts, df_plan **out, cb_err *err);
/* containerd platforms.Parse + Normalize: "linux/arm64", "arm64", "x86_64" ... -> "os/arch[/variant]". */
int df_platform_normalize(const char *spec, char **out, cb_err *err);
/* containerd's platforms.Format(platforms.Normalize(p)) of a platform df_platform_normalize
 * gave: arm's default variant spelled out ("linux/arm" -> "linux/arm/v7"), arm64's v8 dropped.
 * BuildKit names a platform so where the frontend keys its results (local/tar folders). */
char *df_platform_canonical(const char *platform);
void df_plan_free(df_plan *p);
/* Stage by name (case-insensitive) or decimal index; -1 when none. */
int df_plan_find_stage(const df_plan *p, const char *name_or_index);

/* The argv BuildKit runs for a RUN (also what CMD/ENTRYPOINT store in the image config):
 * exec form as is; shell form prefixed with shell (the image config's SHELL, NULL = /bin/sh -c).
 * `ENTRYPOINT []` (json, no args) clears the entrypoint; `CMD []` sets an empty command. Heredocs follow dockerfile2llb: a RUN that is
 * just one heredoc runs its (chomped) body, or, when the body starts with "#!", runs the file
 * /dev/pipes/<name>: then *pipe_file is set (pointing into c) and the builder must provide
 * that file (mode 0755, chomped body) read-only at /dev/pipes/. Other heredoc forms are passed
 * to the shell whole. */
int df_cmd_run_argv(const df_cmd *c, const cb_strv *shell, cb_strv *argv, const df_heredoc **pipe_file,
                    cb_err *err);

/* Human-readable and JSON renderings used by `cbuild debug plan`. */
void df_plan_print(const df_plan *p, const df_file *f, cb_buf *out);
void df_plan_print_json(const df_plan *p, const df_file *f, cb_buf *out);

/* Go time.ParseDuration ("1m30s", "500ms", "1.5h"); nanoseconds. */
int df_parse_duration(const char *s, int64_t *ns, cb_err *err);

/* The predefined proxy ARGs (HTTP_PROXY, http_proxy, ..., ALL_PROXY, all_proxy). */
bool df_arg_is_predefined(const char *name);

/* --chmod: an octal mode, or chmod(1)'s symbolic form (u=rw,g=r,o=r; go-w; a+X), applied to a
 * file's or directory's own mode (parser/chmod.c). check: BuildKit's errors for a bad value. */
int df_chmod_check(const char *spec, cb_err *err);
int df_chmod_apply(const char *spec, mode_t mode, bool is_dir, mode_t *out, cb_err *err);

#endif
