/* libFuzzer target: arbitrary bytes as a (possibly compressed) layer tar, applied in both
 * modes; when the writer accepts the input, the image is read back and exported, so the
 * reader also meets whatever the writer produced. Build: tests/fuzz/meson.build (-Dfuzz=true) or
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
 *     -Icommon -Iext4 tests/fuzz/ext4_tar_fuzz.c ext4/[a-z]*.c common/[a-z]*.c -larchive -lcrypto -lpthread
 */
#include "ext4.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int count_cb(void *ctx, const char *path, const ext4_stat *st)
{
    (void)path;
    (void)st;
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char img[64];
    if (!img[0])
        snprintf(img, sizeof img, "/tmp/ext4-fuzz-%d.img", (int)getpid());
    cb_log_set_level(CB_LOG_ERROR);
    for (int mode = 0; mode < 2; mode++) {
        int fd = memfd_create("tar", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        if (size && write(fd, data, size) != (ssize_t)size)
            abort();
        lseek(fd, 0, SEEK_SET);
        ext4_options o;
        ext4_options_init(&o);
        o.mode = mode ? EXT4_MODE_OVERLAY : EXT4_MODE_FLATTEN;
        o.seed = "fuzz";
        cb_err err = {0};
        ext4_writer *w;
        if (ext4_writer_new(img, &o, &w, &err) < 0)
            abort();
        int r = ext4_writer_add_tar_fd(w, fd, "fuzz", &err);
        if (r == 0)
            r = ext4_writer_finish(w, &err);
        ext4_writer_free(w);
        close(fd);
        if (r < 0) {
            if (!err.msg[0])
                abort(); /* every failure must explain itself */
            continue;
        }
        ext4_reader *rd;
        if (ext4_reader_open(img, &rd, &err) < 0)
            abort(); /* the writer's own output must open */
        size_t n = 0;
        if (ext4_reader_walk(rd, 2, count_cb, &n, &err) != 0)
            abort();
        int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        ext4_export_options eo;
        ext4_export_options_init(&eo);
        eo.oci_layer = mode == 1;
        eo.root_subdir = mode ? "upper" : NULL;
        if (ext4_reader_export_tar(rd, out, &eo, &err) < 0)
            abort();
        close(out);
        ext4_reader_free(rd);
    }
    unlink(img);
    return 0;
}
