/* builder/cli/containers.h: the VMs `cbuild run -d` leaves running, as docker's containers.
 * Each lives in <root>/containers/<id>/ (container.json, container.log, console.log, lock);
 * <root>/containers/names/<name> is a symlink to its id, made atomically to reserve the name.
 * A running container's monitor process (the detached cbuild that owns the VM) holds an
 * flock on `lock`: a lock that can be taken means no VM, whatever container.json says. */
#ifndef CB_CLI_CONTAINERS_H
#define CB_CLI_CONTAINERS_H

#include "cli.h"
#include "guest.h"

typedef struct cli_container_spec {
    const char *name;   /* NULL: a docker-style random name */
    const char *image;  /* as the user wrote it (or the --ext4 file) */
    char *const *argv;  /* the command */
    char *const *ports; /* "127.0.0.1:8080->80/tcp" strings, NULL-terminated, or NULL */
    bool auto_remove;   /* --rm */
} cli_container_spec;

/* Create the container, start the VM in a detached monitor process and print the ID once the
 * command runs. Returns the exit status for `cbuild run -d`. */
int cli_container_run_detached(cli_ctx *ctx, const cli_container_spec *spec, guest_run_config *cfg);

/* The images of every container, running or stopped, as their users wrote them. */
void cli_containers_images(const char *root, cb_strv *out);
/* Remove the stopped containers as `docker container prune` (prints "Deleted Containers:" and
 * their IDs); returns how many. */
size_t cli_containers_prune(const char *root);

int cli_cmd_ps(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_logs(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_stop(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_rm(cli_ctx *ctx, int argc, char **argv);

#endif
