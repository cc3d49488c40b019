/* parser/ internals shared between its files. */
#ifndef CB_PARSER_INTERNAL_H
#define CB_PARSER_INTERNAL_H

#include <stdlib.h>

#include "dockerfile.h"

#define DF_RUNE_ERROR 0xFFFD
#define DF_EOF (-1)

/* Decode one UTF-8 rune at s[0..n) like Go's utf8.DecodeRune: invalid input gives
 * U+FFFD with width 1; n == 0 gives DF_EOF with width 0. */
int32_t df_utf8_decode(const char *s, size_t n, int *width);
void df_utf8_put(cb_buf *b, int32_t r);
/* Go's unicode.IsSpace, unicode.IsLetter (approximation outside Latin-1), unicode.IsDigit. */
bool df_go_isspace(int32_t r);
bool df_go_isletter(int32_t r);
bool df_go_isdigit(int32_t r);
/* Go strings.TrimSpace / TrimLeftFunc(IsSpace) on a byte range; results point into s. */
void df_trim_space(const char **s, size_t *n);
void df_trim_left_space(const char **s, size_t *n);

/* Minimal JSON (Go encoding/json Decoder.Decode into []interface{}) for exec forms.
 * Returns 1 = array of strings (out filled), 0 = not JSON (fall back), -1 = valid JSON array
 * with a non-string element. */
int df_json_string_array(const char *s, size_t n, cb_strv *out);
/* Parse a JSON string literal starting at s[0] == '"'; used by tests and the plan. */

/* Shell lexer core with an explicit env view. */
typedef struct df_env_view {
    const cb_strv *env;
} df_env_view;

/* Regex-free shell pattern matcher used by ${v#p} ${v%p} ${v/p/r}. */


void df_warnings_add(df_warnings *w, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void df_warnings_free(df_warnings *w);

void df_instr_free_fields(df_instr *in);

/* plan.c: helpers shared by the plan's files. */
void df_strv_copy(cb_strv *dst, const cb_strv *src);
char *df_str_lower(const char *s);
/* Prefix err's message with file:line and quote the instruction; returns the error code. */
int df_err_at(cb_err *err, const df_file *f, const df_instr *in);

/* instr.c: BuildKit BFlags and typed options. */
enum { DF_F_BOOL, DF_F_STRING, DF_F_STRINGS };
typedef struct df_fspec {
    const char *name;
    int type;
} df_fspec;

typedef struct df_fval {
    bool set;
    char *value; /* DF_F_BOOL: "true"/"false"; DF_F_STRING: value */
    cb_strv values;
} df_fval;

typedef char *(*df_expand_fn)(void *ud, const char *word, cb_err *err, int *rc);

int df_flags_parse(const df_instr *in, const df_fspec *specs, size_t n, df_fval *vals, cb_err *err);
void df_flags_free(df_fval *v, size_t n);
char *df_flag_str(const df_fval *v);
int df_parse_uint(const char *v, int base, uint64_t max, uint64_t *out);
/* One RUN --device value (BuildKit's instructions.ParseDevice). */
int df_device_parse(const char *value, df_device *d, cb_err *err);
int df_mount_parse(const char *value, df_mount *m, df_expand_fn ex, void *ud, int ssh_index, cb_err *err);
int df_cmd_add_port(df_cmd *c, const char *raw_in, cb_err *err);
int df_cmd_parse_typed(const df_instr *in, df_cmd *c, cb_err *err);
void df_cmd_free(df_cmd *c);

/* platform.c */
void df_platform_split(const char *p, char **os, char **arch, char **variant);
/* The "(version)" of a platform's OS ("windows(10.0.1)/amd64" -> "10.0.1"), "" when none. */
char *df_platform_os_version(const char *p);


/* A stage while planning: its typed commands before expansion. */
typedef struct df_pstage {
    df_stage *st;
    df_cmd *cmds; /* typed, unexpanded */
    size_t n;
    size_t n_triggers;
    const df_instr *from;
    char *raw_base;
    char *raw_platform;
} df_pstage;


/* lint.c */
void df_lint_file(df_plan *p, const df_file *f);
/* The rules BuildKit checks while it parses instructions (MaintainerDeprecated, FromAsCasing,
 * StageNameCasing, InvalidDefinitionDescription) over the first n instructions: what a parse
 * error at instruction n still reports. */
void df_lint_parsed(df_plan *p, const df_file *f, size_t n);
void df_lint_stages(df_plan *p, const df_file *f, df_pstage *ps, size_t nps);
/* reference.ParseNormalizedNamed would accept it (a base image name) */
bool df_lint_ref_valid(const char *ref);
void df_lint_ignored(df_plan *p, const df_ignore *ig);
int df_lint_apply_check(df_plan *p, const df_file *f, const char *cfg, cb_err *err);

#endif
