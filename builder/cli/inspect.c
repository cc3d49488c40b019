/* cbuild inspect: not implemented yet. */
#include "cli.h"

int cli_cmd_inspect(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild inspect: not implemented yet\n");
    return 1;
}
