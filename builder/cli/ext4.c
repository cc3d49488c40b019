/* cbuild ext4 create|ls|cat|export: thin front ends over ext4/. */
#include "cli.h"
#include "ext4.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int source_date_epoch(int64_t *out, cb_err *err)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    *out = -1;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return cb_fail(err, "SOURCE_DATE_EPOCH=`%s` is not a non-negative integer", s);
    *out = v;
    return 0;
}

static int ext4_create(cli_ctx *ctx, int argc, char **argv)
{
    cb_strv tars;
    cb_strv_init(&tars);
    const char *dir = NULL, *size = NULL, *free_space = NULL, *label = NULL;
    long free_inodes = 0;
    bool overlay = false;
    const cli_opt opts[] = {
        {"tar", 0, CLI_STRINGS, &tars, "FILE", "layer tar (plain, gzip or zstd; - = stdin); repeat to apply in order"},
        {"dir", 0, CLI_STRING, &dir, "DIR", "copy this directory tree"},
        {"size", 0, CLI_STRING, &size, "N[K|M|G]", "image size (default: fit the content)"},
        {"free-space", 0, CLI_STRING, &free_space, "N[K|M|G]", "extra free space with the automatic size"},
        {"free-inodes", 0, CLI_INT, &free_inodes, "N", "extra free inodes with the automatic size"},
        {"overlay", 0, CLI_BOOL, &overlay, NULL, "keep one layer as an overlayfs layer (whiteouts as 0:0 devices) under /upper"},
        {"label", 'L', CLI_STRING, &label, "LABEL", "volume label (up to 16 bytes)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"ext4 create", "[OPTIONS] OUT.img (--tar FILE ... | --dir DIR)",
                               "Create an ext4 image from layer tars or a directory", opts, false, 1, 1};
    cb_err err = {0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0)
        goto out;
    rc = 1;
    if ((tars.n == 0) == (dir == NULL)) {
        fprintf(stderr, "error: give either --tar FILE (repeatable) or --dir DIR\n"
                        "See 'cbuild ext4 create --help'.\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (overlay && tars.n > 1) {
        fprintf(stderr, "error: --overlay keeps one layer: give exactly one --tar\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (free_inodes < 0) {
        fprintf(stderr, "error: --free-inodes must not be negative\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    ext4_options o;
    ext4_options_init(&o);
    o.mode = overlay ? EXT4_MODE_OVERLAY : EXT4_MODE_FLATTEN;
    o.label = label;
    o.extra_free_inodes = (uint64_t)free_inodes;
    if (size && cb_parse_size(size, &o.size, &err) < 0) {
        cb_error_wrap(&err, "--size");
        rc = cli_report(&err);
        goto out;
    }
    if (free_space && cb_parse_size(free_space, &o.extra_free_space, &err) < 0) {
        cb_error_wrap(&err, "--free-space");
        rc = cli_report(&err);
        goto out;
    }
    if (source_date_epoch(&o.source_date_epoch, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    ext4_writer *w;
    if (ext4_writer_new(v.pos.v[0], &o, &w, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    int r = 0;
    if (dir) {
        r = ext4_writer_add_host_dir(w, dir, &err);
    } else {
        for (size_t i = 0; i < tars.n && r == 0; i++) {
            bool in = strcmp(tars.v[i], "-") == 0;
            int fd = in ? STDIN_FILENO : open(tars.v[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                r = cb_error(&err, errno, "open `%s`", tars.v[i]);
                break;
            }
            r = ext4_writer_add_tar_fd(w, fd, in ? "stdin" : tars.v[i], &err);
            if (!in)
                close(fd);
        }
    }
    if (r == 0)
        r = ext4_writer_finish(w, &err);
    ext4_writer_free(w);
    rc = r < 0 ? cli_report(&err) : 0;
out:
    cli_call_end(&v, 0);
    cb_strv_free(&tars);
    return rc;
}

static void mode_string(mode_t m, char out[11])
{
    const char *t = "?";
    switch (m & S_IFMT) {
    case S_IFREG: t = "-"; break;
    case S_IFDIR: t = "d"; break;
    case S_IFLNK: t = "l"; break;
    case S_IFCHR: t = "c"; break;
    case S_IFBLK: t = "b"; break;
    case S_IFIFO: t = "p"; break;
    case S_IFSOCK: t = "s"; break;
    }
    snprintf(out, 11, "%s%c%c%c%c%c%c%c%c%c", t, m & 0400 ? 'r' : '-', m & 0200 ? 'w' : '-',
             m & 04000 ? (m & 0100 ? 's' : 'S') : (m & 0100 ? 'x' : '-'), m & 040 ? 'r' : '-', m & 020 ? 'w' : '-',
             m & 02000 ? (m & 010 ? 's' : 'S') : (m & 010 ? 'x' : '-'), m & 04 ? 'r' : '-', m & 02 ? 'w' : '-',
             m & 01000 ? (m & 01 ? 't' : 'T') : (m & 01 ? 'x' : '-'));
}

typedef struct ls_ctx {
    ext4_reader *r;
    bool recursive;
    cb_err *err;
} ls_ctx;

static int ls_print(ls_ctx *c, const char *name, const ext4_stat *st)
{
    char m[11], tbuf[32];
    mode_string(st->mode, m);
    time_t t = st->mtime.tv_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(tbuf, sizeof tbuf, "%Y-%m-%d %H:%M", &tm);
    if (S_ISCHR(st->mode) || S_ISBLK(st->mode))
        printf("%s %3u %5u %5u %4u, %4u %s %s", m, st->nlink, st->uid, st->gid, major(st->rdev), minor(st->rdev), tbuf, name);
    else
        printf("%s %3u %5u %5u %10llu %s %s", m, st->nlink, st->uid, st->gid, (unsigned long long)st->size, tbuf, name);
    if (S_ISLNK(st->mode)) {
        char *t2;
        if (ext4_reader_readlink(c->r, st->ino, &t2, c->err) < 0)
            return -EIO;
        printf(" -> %s", t2);
        free(t2);
    }
    putchar('\n');
    return 0;
}

static int ls_walk_cb(void *vc, const char *path, const ext4_stat *st) { return ls_print(vc, path, st); }

static int ls_dir_cb(void *vc, const char *name, uint32_t ino, unsigned ft)
{
    (void)ft;
    ls_ctx *c = vc;
    ext4_stat st;
    if (ext4_reader_stat(c->r, ino, &st, c->err) < 0)
        return -EIO;
    return ls_print(c, name, &st);
}

typedef struct name_list {
    cb_strv names;
    uint32_t *inos;
} name_list;

static int collect_cb(void *vc, const char *name, uint32_t ino, unsigned ft)
{
    (void)ft;
    name_list *l = vc;
    l->inos = xrealloc(l->inos, (l->names.n + 1) * sizeof(uint32_t));
    l->inos[l->names.n] = ino;
    cb_strv_push(&l->names, name);
    return 0;
}

static int ext4_ls(cli_ctx *ctx, int argc, char **argv)
{
    bool recursive = false;
    const cli_opt opts[] = {
        {"recursive", 'R', CLI_BOOL, &recursive, NULL, "list the whole tree below PATH"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"ext4 ls", "[OPTIONS] IMG [PATH]", "List a directory in an ext4 image", opts, false, 1, 2};
    cb_err err = {0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        return cli_call_end(&v, rc);
    }
    ext4_reader *r = NULL;
    uint32_t ino;
    ext4_stat st;
    rc = 0;
    if (ext4_reader_open(v.pos.v[0], &r, &err) < 0 || ext4_reader_lookup(r, v.pos.n > 1 ? v.pos.v[1] : "/", &ino, &err) < 0 ||
        ext4_reader_stat(r, ino, &st, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    ls_ctx c = {r, recursive, &err};
    if (!S_ISDIR(st.mode)) {
        if (ls_print(&c, v.pos.v[1], &st) < 0)
            rc = cli_report(&err);
        goto out;
    }
    if (recursive) {
        if (ext4_reader_walk(r, ino, ls_walk_cb, &c, &err) != 0)
            rc = cli_report(&err);
        goto out;
    }
    /* sorted like ls */
    name_list l;
    cb_strv_init(&l.names);
    l.inos = NULL;
    if (ext4_reader_readdir(r, ino, collect_cb, &l, &err) != 0) {
        rc = cli_report(&err);
    } else {
        size_t *idx = xmalloc((l.names.n + 1) * sizeof(size_t));
        for (size_t i = 0; i < l.names.n; i++)
            idx[i] = i;
        for (size_t i = 1; i < l.names.n; i++)
            for (size_t j = i; j > 0 && strcmp(l.names.v[idx[j - 1]], l.names.v[idx[j]]) > 0; j--) {
                size_t t = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = t;
            }
        for (size_t i = 0; i < l.names.n && rc == 0; i++)
            if (ls_dir_cb(&c, l.names.v[idx[i]], l.inos[idx[i]], 0) < 0)
                rc = cli_report(&err);
        free(idx);
    }
    cb_strv_free(&l.names);
    free(l.inos);
out:
    ext4_reader_free(r);
    return cli_call_end(&v, rc);
}

static int ext4_cat(cli_ctx *ctx, int argc, char **argv)
{
    const cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    const cli_cmd_spec spec = {"ext4 cat", "IMG PATH", "Print a file from an ext4 image", opts, false, 2, 2};
    cb_err err = {0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        return cli_call_end(&v, rc);
    }
    ext4_reader *r = NULL;
    uint32_t ino;
    rc = 0;
    if (ext4_reader_open(v.pos.v[0], &r, &err) < 0 || ext4_reader_lookup(r, v.pos.v[1], &ino, &err) < 0 ||
        ext4_reader_copy_to_fd(r, ino, STDOUT_FILENO, &err) < 0) {
        cb_error_wrap(&err, "cat `%s`", v.pos.v[1]);
        rc = cli_report(&err);
    }
    ext4_reader_free(r);
    return cli_call_end(&v, rc);
}

static int ext4_export(cli_ctx *ctx, int argc, char **argv)
{
    bool oci = false;
    const char *subdir = NULL;
    const cli_opt opts[] = {
        {"oci-layer", 0, CLI_BOOL, &oci, NULL, "convert an overlay upper image (below /upper) into an OCI layer tar"},
        {"root", 0, CLI_STRING, &subdir, "DIR", "export the tree below DIR of the image (default: / or upper with --oci-layer)"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const cli_cmd_spec spec = {"ext4 export", "[OPTIONS] IMG OUT.tar|-", "Export an ext4 image's tree as a tar", opts,
                               false, 2, 2};
    cb_err err = {0};
    cli_call v;
    int rc = cli_call_begin(&v, ctx, &spec, argc, argv);
    if (rc >= 0) {
        return cli_call_end(&v, rc);
    }
    ext4_export_options o;
    ext4_export_options_init(&o);
    o.oci_layer = oci;
    o.root_subdir = subdir ? subdir : (oci ? EXT4_OVERLAY_UPPER_DIR : NULL);
    ext4_reader *r = NULL;
    cb_atomic_file af = {.fd = -1};
    bool to_stdout = strcmp(v.pos.v[1], "-") == 0;
    rc = 0;
    if (source_date_epoch(&o.source_date_epoch, &err) < 0 || ext4_reader_open(v.pos.v[0], &r, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (!to_stdout && cb_atomic_open(&af, v.pos.v[1], 0644, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (ext4_reader_export_tar(r, to_stdout ? STDOUT_FILENO : af.fd, &o, &err) < 0 ||
        (!to_stdout && cb_atomic_commit(&af, &err) < 0)) {
        rc = cli_report(&err);
        if (!to_stdout)
            cb_atomic_abort(&af);
    }
out:
    ext4_reader_free(r);
    return cli_call_end(&v, rc);
}

int cli_cmd_ext4(cli_ctx *ctx, int argc, char **argv)
{
    static const char *const subs[] = {"create", "ls", "cat", "export"};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "Usage:  cbuild ext4 COMMAND\n\nCreate and inspect ext4 images\n\nCommands:\n"
                     "  create   Create an ext4 image from layer tars or a directory\n"
                     "  ls       List a directory in an ext4 image\n"
                     "  cat      Print a file from an ext4 image\n"
                     "  export   Export an ext4 image's tree as a tar (or an OCI layer)\n");
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "create"))
        return ext4_create(ctx, argc - 1, argv + 1);
    if (!strcmp(argv[1], "ls"))
        return ext4_ls(ctx, argc - 1, argv + 1);
    if (!strcmp(argv[1], "cat"))
        return ext4_cat(ctx, argc - 1, argv + 1);
    if (!strcmp(argv[1], "export"))
        return ext4_export(ctx, argc - 1, argv + 1);
    const char *s = cb_suggest(argv[1], subs, 4);
    fprintf(stderr, "cbuild ext4: unknown command `%s`%s%s%s\nSee 'cbuild ext4 --help'.\n", argv[1],
            s ? " (did you mean `" : "", s ? s : "", s ? "`?)" : "");
    return CLI_EXIT_USAGE;
}
