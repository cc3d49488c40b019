/* cbuild ext4: not implemented yet. */
#include "cli.h"

int cli_cmd_ext4(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild ext4: not implemented yet\n");
    return 1;
}
