/* cbuild login logout: not implemented yet. */
#include "cli.h"

int cli_cmd_login(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild login: not implemented yet\n");
    return 1;
}

int cli_cmd_logout(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    fprintf(stderr, "cbuild logout: not implemented yet\n");
    return 1;
}
