/* cbuild rmi: not implemented yet. */
#include "cli.h"

int cli_cmd_rmi(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild rmi: not implemented yet\n");
    return 1;
}
