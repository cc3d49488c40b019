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

#endif
