/* common/: errors, logging, buffers, digests, atomic files, thread pool.
 * Knows nothing about Dockerfiles, VMs or registries. */
#ifndef CB_COMMON_H
#define CB_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CB_VERSION "0.1.0"

/* ---------- errors ----------
 * Fallible functions return int (0 ok, negative errno-style) and take `cb_err *err` last.
 * The message names what is involved: file and line, path, image, digest or URL. */
typedef struct cb_err {
    int code;        /* positive errno-style code; 0 = no error */
    char msg[2048];
} cb_err;

/* Set err from a system errno: message becomes "<fmt>: <strerror(errnum)>".
 * Returns -errnum (or -EIO when errnum is 0). err may be NULL. */
int cb_error(cb_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Set err without a system errno (bad input, protocol errors). Returns -EINVAL. */
int cb_fail(cb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with an explicit code; returns -code. */
int cb_failc(cb_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add context on the way up: "<fmt>: <previous message>". Returns -err->code. */
int cb_error_wrap(cb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cb_err_clear(cb_err *err);

/* ---------- allocation: failure aborts ---------- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------- cleanup helpers ---------- */
void cb_freep(void *p);
void cb_closep(int *fd);
void cb_fclosep(FILE **f);
#define cleanup_free __attribute__((cleanup(cb_freep)))
#define cleanup_close __attribute__((cleanup(cb_closep)))
#define cleanup_file __attribute__((cleanup(cb_fclosep)))

/* ---------- logging ---------- */
enum cb_log_level { CB_LOG_ERROR = 0, CB_LOG_WARN = 1, CB_LOG_INFO = 2, CB_LOG_DEBUG = 3 };
void cb_log_set_level(enum cb_log_level lvl);
enum cb_log_level cb_log_get_level(void);
/* Colour on stderr: off when NO_COLOR is set or stderr is not a terminal. */
void cb_log_set_color(bool on);
bool cb_log_color(void);
void cb_log(enum cb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cb_debug(...) do { if (cb_log_get_level() >= CB_LOG_DEBUG) cb_log(CB_LOG_DEBUG, __VA_ARGS__); } while (0)
#define cb_info(...) cb_log(CB_LOG_INFO, __VA_ARGS__)
#define cb_warn(...) cb_log(CB_LOG_WARN, __VA_ARGS__)

/* ---------- growable byte buffer ---------- */
typedef struct cb_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} cb_buf;
void cb_buf_init(cb_buf *b);
void cb_buf_free(cb_buf *b);
void cb_buf_reserve(cb_buf *b, size_t extra);
void cb_buf_append(cb_buf *b, const void *data, size_t n);
void cb_buf_puts(cb_buf *b, const char *s);
void cb_buf_putc(cb_buf *b, char c);
void cb_buf_printf(cb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cb_buf_vprintf(cb_buf *b, const char *fmt, va_list ap);
void cb_buf_reset(cb_buf *b);
/* Hand the data over to the caller (never NULL) and reset the buffer. */
char *cb_buf_steal(cb_buf *b);

/* ---------- vector of owned strings ---------- */
typedef struct cb_strv {
    char **v; /* NULL-terminated */
    size_t n;
    size_t cap;
} cb_strv;
void cb_strv_init(cb_strv *s);
void cb_strv_free(cb_strv *s);
void cb_strv_push(cb_strv *s, const char *str);      /* copies */
void cb_strv_push_owned(cb_strv *s, char *str);      /* takes ownership */
bool cb_strv_contains(const cb_strv *s, const char *str);

/* ---------- sha256 (OpenSSL) ---------- */
#define CB_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define CB_DIGEST_STR_LEN (7 + CB_DIGEST_HEX_LEN + 1)
typedef struct cb_sha256 cb_sha256;
cb_sha256 *cb_sha256_new(void);
void cb_sha256_update(cb_sha256 *h, const void *data, size_t n);
/* Writes "sha256:<hex>" into out (CB_DIGEST_STR_LEN bytes). Frees h. */
void cb_sha256_final(cb_sha256 *h, char out[CB_DIGEST_STR_LEN]);
void cb_sha256_final_raw(cb_sha256 *h, uint8_t out[32]);
void cb_sha256_free(cb_sha256 *h);
void cb_sha256_buf(const void *data, size_t n, char out[CB_DIGEST_STR_LEN]);
int cb_sha256_file(const char *path, char out[CB_DIGEST_STR_LEN], cb_err *err);
/* True when s is "sha256:" followed by 64 lowercase hex digits. */
bool cb_digest_valid(const char *s);

/* ---------- files ---------- */
/* Streaming atomic write: data goes to a temp file beside `path`; commit fsyncs and renames. */
typedef struct cb_atomic_file {
    int fd;
    char *path;
    char *tmp;
} cb_atomic_file;
int cb_atomic_open(cb_atomic_file *af, const char *path, mode_t mode, cb_err *err);
int cb_atomic_commit(cb_atomic_file *af, cb_err *err);
void cb_atomic_abort(cb_atomic_file *af); /* removes the temp file; safe after commit */
int cb_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, cb_err *err);
int cb_read_file(const char *path, cb_buf *out, cb_err *err);
int cb_write_all(int fd, const void *data, size_t n);  /* 0 or -errno */
ssize_t cb_read_full(int fd, void *data, size_t n);    /* bytes read (short only at EOF) or -errno */
int cb_mkdir_p(const char *path, mode_t mode, cb_err *err);
int cb_rm_rf(const char *path, cb_err *err);
int cb_fsync_dir(const char *dir);
char *cb_path_join(const char *a, const char *b);
bool cb_path_exists(const char *path);
/* Parse "10", "4K", "512M", "2G", "1.5G" (binary units; B/KB/KiB/MiB suffixes accepted). */
int cb_parse_size(const char *s, uint64_t *out, cb_err *err);
void cb_format_size(uint64_t n, char *out, size_t outlen); /* "1.2GB" like docker */
double cb_now(void); /* monotonic seconds */

/* ---------- thread pool ---------- */
typedef struct cb_pool cb_pool;
typedef void (*cb_pool_fn)(void *arg);
cb_pool *cb_pool_new(int nthreads);
void cb_pool_submit(cb_pool *p, cb_pool_fn fn, void *arg);
void cb_pool_wait(cb_pool *p); /* until every submitted job has finished */
void cb_pool_free(cb_pool *p); /* waits, then joins */
int cb_ncpus(void);

/* ---------- strings ---------- */
size_t cb_levenshtein(const char *a, const char *b);
/* Closest candidate within a small edit distance, or NULL. */
const char *cb_suggest(const char *word, const char *const *candidates, size_t n);
bool cb_str_has_prefix(const char *s, const char *prefix);
bool cb_str_has_suffix(const char *s, const char *suffix);
/* Standard base64 (RFC 4648, padded) of n bytes, NUL-terminated, malloc'd: Go's []byte in JSON. */
char *cb_base64(const void *data, size_t n);

#endif
