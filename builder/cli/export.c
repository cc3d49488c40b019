/* cbuild export: not implemented yet. */
#include "cli.h"

int cli_cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild export: not implemented yet\n");
    return 1;
}
