/* cbuild login / logout: credentials in ~/.docker/config.json, checked against the registry. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* "https://host:5000/v2/" -> "host:5000"; empty -> docker.io */
static char *server_host(const char *arg)
{
    if (!arg || !*arg)
        return xstrdup("docker.io");
    const char *p = arg;
    if (cb_str_has_prefix(p, "https://"))
        p += 8;
    else if (cb_str_has_prefix(p, "http://"))
        p += 7;
    size_t n = strcspn(p, "/");
    char *h = xstrndup(p, n);
    if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
        free(h);
        h = xstrdup("docker.io");
    }
    return h;
}

static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int cli_cmd_login(cli_ctx *ctx, int argc, char **argv)
{
    const char *username = NULL, *password = NULL;
    bool password_stdin = false;
    cli_registry_flags rf;
    cli_registry_flags_init(&rf);
    cleanup_free char *host = NULL, *user = NULL, *pass = NULL;
    const cli_opt opts[] = {
        {"username", 'u', CLI_STRING, &username, "USER", "username"},
        {"password", 'p', CLI_STRING, &password, "PASSWORD", "password (prefer --password-stdin)"},
        {"password-stdin", 0, CLI_BOOL, &password_stdin, NULL, "take the password from stdin"},
        CLI_REGISTRY_OPTS(&rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"login", "[OPTIONS] [SERVER]",
                               "Log in to a registry (default docker.io); credentials go to ~/.docker/config.json",
                               opts, false, 0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        goto out;
    rc = 1;
    host = server_host(v.pos.n ? v.pos.v[0] : NULL);
    user = username ? xstrdup(username) : NULL;
    pass = password ? xstrdup(password) : NULL;
    if (password && password_stdin) {
        fprintf(stderr, "error: --password and --password-stdin are mutually exclusive\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (password)
        fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    if (password_stdin) {
        if (!user) {
            fprintf(stderr, "error: must provide --username with --password-stdin\n");
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        pass = read_line(stdin);
        if (!pass)
            pass = xstrdup("");
    }
    if (!user) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "error: cannot prompt for a username: stdin is not a terminal; use -u\n");
            goto out;
        }
        fprintf(stderr, "Username: ");
        user = read_line(stdin);
        if (!user || !*user) {
            fprintf(stderr, "error: username is required\n");
            goto out;
        }
    }
    if (!pass) {
        char *p = isatty(STDIN_FILENO) ? getpass("Password: ") : NULL;
        if (!p) {
            fprintf(stderr, "error: cannot prompt for a password: use --password-stdin\n");
            goto out;
        }
        pass = xstrdup(p);
    }
    if (!*pass) {
        fprintf(stderr, "error: password is required\n");
        goto out;
    }
    cb_err err = {0};
    oci_registry_opts ro;
    cli_registry_flags_apply(&rf, &ro);
    ro.username = user;
    ro.password = pass;
    ro.retries = 2;
    oci_ref ref = {.registry = host, .repository = (char *)"library/x", .tag = (char *)"latest"};
    oci_registry *reg;
    if (oci_registry_new(&ref, &ro, &reg, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    int r = oci_registry_ping(reg, &err);
    oci_registry_free(reg);
    if (r < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (oci_auth_set(rf.authfile, host, user, pass, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    printf("Login Succeeded\n");
    rc = 0;
out:
    cli_call_end(&v, 0);
    cli_registry_flags_free(&rf);
    return rc;
}

int cli_cmd_logout(cli_ctx *ctx, int argc, char **argv)
{
    const char *authfile = NULL;
    const cli_opt opts[] = {
        {"authfile", 0, CLI_STRING, &authfile, "FILE", "credentials file (default ~/.docker/config.json)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"logout", "[OPTIONS] [SERVER]", "Log out from a registry (default docker.io)", opts,
                               false, 0, 1};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        return cli_call_end(&v, rc);
    }
    cleanup_free char *host = server_host(v.pos.n ? v.pos.v[0] : NULL);
    cli_call_end(&v, 0);
    cb_err err = {0};
    int r = oci_auth_remove(authfile, host, &err);
    if (r == -ENOENT) {
        printf("Not logged in to %s\n", host);
        return 0;
    }
    if (r < 0)
        return cli_report(&err);
    printf("Removing login credentials for %s\n", host);
    return 0;
}
