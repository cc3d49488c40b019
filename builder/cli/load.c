/* cbuild load: not implemented yet. */
#include "cli.h"

int cli_cmd_load(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild load: not implemented yet\n");
    return 1;
}
