/* cbuild debug: not implemented yet. */
#include "cli.h"

int cli_cmd_debug(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild debug: not implemented yet\n");
    return 1;
}
