/* Shared helpers for the ext4 unit tests: temp dirs and the independent checkers. */
#ifndef TEST_EXT4_HELPERS_H
#define TEST_EXT4_HELPERS_H
#include "ext4.h"

/* A fresh temp dir (removed by rm_tmpdir). */
char *mk_tmpdir(void);
void rm_tmpdir(char *d);
/* Run a shell command; returns its exit status; *out (if given) gets stdout+stderr. */
int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* e2fsck -fn: 0 when clean; prints its output to stderr otherwise. */
int fsck_clean(const char *img);
/* Entry with the given path/mode and fixed times. */
ext4_entry ent(const char *path, mode_t mode);
#endif
