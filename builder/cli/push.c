/* cbuild push: not implemented yet. */
#include "cli.h"

int cli_cmd_push(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild push: not implemented yet\n");
    return 1;
}
