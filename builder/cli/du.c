/* cbuild du: not implemented yet. */
#include "cli.h"

int cli_cmd_du(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild du: not implemented yet\n");
    return 1;
}
