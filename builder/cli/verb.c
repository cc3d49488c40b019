/* The preamble and epilogue every verb shares: parse (help and usage errors end the verb with
 * their exit status), open the store, report, free. */
#include <string.h>

#include "cli.h"
#include "store.h"

int cli_call_begin(cli_call *v, cli_ctx *ctx, const cli_cmd_spec *spec, int argc, char **argv)
{
    memset(v, 0, sizeof *v);
    cb_strv_init(&v->pos);
    return cli_parse_exit(cli_parse(ctx, spec, argc, argv, &v->pos));
}

int cli_call_store(cli_call *v, cli_ctx *ctx)
{
    if (store_open(ctx->root, &v->st, &v->err) < 0) {
        v->st = NULL;
        return cli_report(&v->err);
    }
    return -1;
}

int cli_call_end(cli_call *v, int rc)
{
    if (v->st)
        store_close(v->st);
    v->st = NULL;
    cb_strv_free(&v->pos);
    return rc;
}
