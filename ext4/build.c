/* One-call builders on top of the writer. */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ext4_build_from_tars(const char *out_path, const char *const *tars, size_t ntars, const ext4_options *opts,
                         cb_err *err)
{
    ext4_writer *w;
    int r = ext4_writer_new(out_path, opts, &w, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ntars && r == 0; i++) {
        bool in = strcmp(tars[i], "-") == 0;
        int fd = in ? STDIN_FILENO : open(tars[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = cb_error(err, errno, "open `%s`", tars[i]);
            break;
        }
        r = ext4_writer_add_tar_fd(w, fd, in ? "stdin" : tars[i], err);
        if (!in)
            close(fd);
    }
    if (r == 0)
        r = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    return r;
}

int ext4_build_overlay_layer_fd(const char *out_path, int tar_fd, const ext4_options *opts, cb_err *err)
{
    ext4_options o;
    if (opts)
        o = *opts;
    else
        ext4_options_init(&o);
    o.mode = EXT4_MODE_OVERLAY;
    ext4_writer *w;
    int r = ext4_writer_new(out_path, &o, &w, err);
    if (r < 0)
        return r;
    r = ext4_writer_add_tar_fd(w, tar_fd, "layer", err);
    if (r == 0)
        r = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    return r;
}

int ext4_create_empty(const char *out_path, uint64_t size, const char *const *dirs, const ext4_options *opts,
                      cb_err *err)
{
    ext4_options o;
    if (opts)
        o = *opts;
    else
        ext4_options_init(&o);
    o.size = size;
    o.mode = EXT4_MODE_FLATTEN;
    o.root_subdir = "";
    if (!o.seed)
        o.seed = "empty";
    ext4_writer *w;
    int r = ext4_writer_new(out_path, &o, &w, err);
    if (r < 0)
        return r;
    struct timespec t = {o.source_date_epoch >= 0 ? o.source_date_epoch : 0, 0};
    for (size_t i = 0; dirs && dirs[i] && r == 0; i++) {
        ext4_entry e = {.path = dirs[i], .mode = S_IFDIR | 0755, .atime = t, .mtime = t, .ctime = t};
        r = ext4_writer_add_dir(w, &e, NULL, 0, err);
    }
    if (r == 0)
        r = ext4_writer_finish(w, err);
    ext4_writer_free(w);
    return r;
}
