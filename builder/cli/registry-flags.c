/* Registry flags shared by build, pull, push and login. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"

void cli_registry_flags_init(cli_registry_flags *rf)
{
    memset(rf, 0, sizeof *rf);
    cb_strv_init(&rf->insecure);
    rf->tls_verify = true;
}

void cli_registry_flags_free(cli_registry_flags *rf)
{
    cb_strv_free(&rf->insecure);
    free(rf->user);
    rf->user = NULL;
}

void cli_registry_flags_apply(cli_registry_flags *rf, struct oci_registry_opts *ro)
{
    oci_registry_opts_default(ro);
    ro->insecure_registries = &rf->insecure;
    ro->tls_verify = rf->tls_verify;
    ro->cert_dir = rf->cert_dir;
    ro->auth_file = rf->authfile;
    if (rf->creds) {
        free(rf->user);
        rf->user = xstrdup(rf->creds);
        char *c = strchr(rf->user, ':');
        if (c)
            *c++ = '\0';
        ro->username = rf->user;
        ro->password = c ? c : "";
    }
}
