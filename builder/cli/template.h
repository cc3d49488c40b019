/* builder/cli/template: Go's text/template language over JSON data, as docker's --format
 * takes it (docker's functions json, join, split, upper, lower, title, pad, truncate beside
 * Go's builtins). Errors read like Go's: "template: :1:2: executing "" at <foo>: …". */
#ifndef CB_CLI_TEMPLATE_H
#define CB_CLI_TEMPLATE_H

#include <jansson.h>

#include "common.h"

typedef struct cli_template cli_template;

/* Parse src; a syntax error, an unknown or unsupported function or an undefined variable
 * fails here, naming the line and column. */
int cli_template_parse(const char *src, cli_template **out, cb_err *err);
/* Execute against data (the template's dot); appends to out. */
int cli_template_exec(const cli_template *t, json_t *data, cb_buf *out, cb_err *err);
void cli_template_free(cli_template *t);
/* Objects of data that stand for Go structs: a field they lack is an error, as docker's typed
 * data makes it ("can't evaluate field X in type T"; type NULL: its JSON fallback's "map has no
 * entry for key"), where a map's missing key is <no value>. */
typedef struct cli_template_struct {
    const json_t *obj;
    const char *type;
} cli_template_struct;
int cli_template_exec_structs(const cli_template *t, json_t *data, const cli_template_struct *structs,
                              size_t n, cb_buf *out, cb_err *err);
/* Parse and execute in one call. */
int cli_template_render(const char *src, json_t *data, cb_buf *out, cb_err *err);
/* Go's fmt %v of a JSON value: strings raw, map[k:v] with sorted keys, [a b], <nil>. */
void cli_template_format_value(const json_t *v, cb_buf *out);

#endif
