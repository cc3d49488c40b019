/* cbuild load: import an OCI archive or a `docker save` tar into the store. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

int cli_cmd_load(cli_ctx *ctx, int argc, char **argv)
{
    const char *input = NULL;
    bool quiet = false;
    const cli_opt opts[] = {
        {"input", 'i', CLI_STRING, &input, "FILE", "read from FILE instead of stdin"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "suppress the load output"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"load", "[OPTIONS]", "Load images from an OCI archive or a docker save tar", opts,
                               false, 0, 0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        return cli_call_end(&v, rc);
    cb_err err = {0};
    if (!input && isatty(STDIN_FILENO)) {
        fprintf(stderr, "error: requested load from stdin, but stdin is empty; use -i FILE\n");
        return cli_call_end(&v, 1);
    }
    if ((rc = cli_call_store(&v, ctx)) >= 0)
        return cli_call_end(&v, rc);
    store *s = v.st;
    cleanup_free char *tmp = NULL;
    if (!input) {
        tmp = xasprintf("%s/ingest/load-%d.tar", store_root(s), (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        char buf[1 << 16];
        ssize_t k;
        rc = fd < 0 ? cb_error(&err, errno, "create `%s`", tmp) : 0;
        while (rc == 0 && (k = read(STDIN_FILENO, buf, sizeof buf)) > 0)
            if (cb_write_all(fd, buf, (size_t)k) < 0)
                rc = cb_error(&err, errno, "write `%s`", tmp);
        if (fd >= 0)
            close(fd);
        if (rc < 0) {
            unlink(tmp);
            return cli_call_end(&v, cli_report(&err));
        }
        input = tmp;
    }
    cb_strv loaded;
    cb_strv_init(&loaded);
    rc = 0;
    if (store_load(s, input, &loaded, &err) < 0)
        rc = cli_report(&err);
    else if (!quiet)
        for (size_t i = 0; i < loaded.n; i++) {
            oci_ref r;
            if (!cb_str_has_prefix(loaded.v[i], "sha256:") && oci_ref_parse(loaded.v[i], &r, NULL) == 0) {
                cleanup_free char *fam = oci_ref_familiar_name(&r);
                printf("Loaded image: %s:%s\n", fam, r.tag ? r.tag : "latest");
                oci_ref_free(&r);
            } else
                printf("Loaded image ID: %s\n", loaded.v[i]);
        }
    if (tmp)
        unlink(tmp);
    cb_strv_free(&loaded);
    return cli_call_end(&v, rc);
}
