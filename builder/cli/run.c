/* cbuild run: not implemented yet. */
#include "cli.h"

int cli_cmd_run(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild run: not implemented yet\n");
    return 1;
}
