/* --ssh as buildx takes it: `default` (the user's $SSH_AUTH_SOCK), `ID=SOCKET`, or
 * `ID=KEY[,KEY…]`: key files go into a private ssh-agent that cbuild starts for the build and
 * stops after it. RUN --mount=type=ssh reaches only an agent's socket (guest/vm-ssh.c), never a
 * key file. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct bl_ssh_agent {
    char *id;
    char *sock;
    pid_t pid; /* a private agent's, else 0 */
} bl_ssh_agent;

static pid_t spawn(char *const argv[], const char *auth_sock)
{
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        if (auth_sock)
            setenv("SSH_AUTH_SOCK", auth_sock, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* A private agent on a socket in the build's tmpdir holding keys (comma-separated paths). */
static int agent_with_keys(bl_build *b, bl_ssh_agent *a, const char *keys, cb_err *err)
{
    a->sock = xasprintf("%s/ssh-agent-%zu.sock", b->tmpdir, b->n_ssh);
    char *agent_argv[] = {"ssh-agent", "-D", "-a", a->sock, NULL};
    a->pid = spawn(agent_argv, NULL);
    if (a->pid < 0)
        return cb_error(err, errno, "starting ssh-agent");
    for (int i = 0; i < 500 && !cb_path_exists(a->sock); i++)
        usleep(10000);
    if (!cb_path_exists(a->sock))
        return cb_fail(err, "ssh-agent did not start (is openssh-client installed?)");
    cleanup_free char *list = xstrdup(keys);
    for (char *k = strtok(list, ","); k; k = strtok(NULL, ",")) {
        if (!cb_path_exists(k))
            return cb_failc(err, ENOENT, "failed to parse ssh key %s: open %s: no such file or directory", k,
                            k);
        char *add_argv[] = {"ssh-add", "-q", k, NULL};
        pid_t p = spawn(add_argv, a->sock);
        int st = 0;
        if (p < 0 || waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return cb_fail(err, "failed to load ssh key %s into the agent (ssh-add failed)", k);
    }
    return 0;
}

static int parse_one(bl_build *b, const char *spec, cb_err *err)
{
    const char *eq = strchr(spec, '=');
    bl_ssh_agent *a = &b->ssh[b->n_ssh];
    memset(a, 0, sizeof *a);
    a->id = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
    int rc = 0;
    if (!*a->id)
        rc = cb_fail(err, "invalid --ssh %s: an ID is required", spec);
    else if (!eq) {
        const char *env = getenv("SSH_AUTH_SOCK");
        if (!env || !*env)
            rc = cb_fail(err, "invalid --ssh %s: make sure SSH_AUTH_SOCK is set", spec);
        else
            a->sock = xstrdup(env);
    } else {
        struct stat st;
        if (!strchr(eq + 1, ',') && stat(eq + 1, &st) == 0 && S_ISSOCK(st.st_mode))
            a->sock = xstrdup(eq + 1);
        else
            rc = agent_with_keys(b, a, eq + 1, err);
    }
    b->n_ssh++;
    return rc;
}

int bl_ssh_start(bl_build *b, cb_err *err)
{
    if (!b->opts->ssh || !b->opts->ssh->n)
        return 0;
    b->ssh = xcalloc(b->opts->ssh->n, sizeof *b->ssh);
    for (size_t i = 0; i < b->opts->ssh->n; i++) {
        int rc = parse_one(b, b->opts->ssh->v[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const char *bl_ssh_socket(const bl_build *b, const char *id)
{
    /* a later --ssh with the same ID wins, as buildx's map */
    for (size_t i = b->n_ssh; i-- > 0;)
        if (!strcmp(b->ssh[i].id, id))
            return b->ssh[i].sock;
    return NULL;
}

void bl_ssh_stop(bl_build *b)
{
    for (size_t i = 0; i < b->n_ssh; i++) {
        if (b->ssh[i].pid > 0) {
            kill(b->ssh[i].pid, SIGTERM);
            waitpid(b->ssh[i].pid, NULL, 0);
        }
        free(b->ssh[i].id);
        free(b->ssh[i].sock);
    }
    free(b->ssh);
    b->ssh = NULL;
    b->n_ssh = 0;
}
