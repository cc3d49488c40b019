/* builder/progress: BuildKit-style progress (plain, tty, quiet, rawjson). Thread-safe. */
#ifndef CB_BUILDER_PROGRESS_H
#define CB_BUILDER_PROGRESS_H
#include "builder.h"

typedef struct progress progress;

/* mode AUTO resolves to TTY when log is a terminal (and TERM is not dumb), else PLAIN. */
progress *progress_new(enum builder_progress_mode mode, FILE *log);
void progress_free(progress *p); /* stops the tty ticker and prints the final view */
enum builder_progress_mode progress_mode(const progress *p);

/* A vertex gets its #N when it is added; name like "[stage-1 2/4] RUN make". */
int progress_add(progress *p, const char *name);
void progress_start(progress *p, int id);
void progress_cached(progress *p, int id);
/* Output of a running step (stream 1 = stdout, 2 = stderr); split into lines. */
void progress_output(progress *p, int id, int stream, const char *data, size_t n);
/* A status line of the vertex, e.g. "transferring context: 1.2kB done" or VM figures. */
void progress_status(progress *p, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A finished transfer of the vertex as BuildKit's local source reports it: the status
 * "transferring WHAT:" (action "transferring", bytes as current), shown in plain/tty as
 * "transferring context: 4.10MB 0.2s done" and in rawjson as a "statuses" entry. */
void progress_transfer_done(progress *p, int id, const char *what, uint64_t bytes);
/* Bytes as BuildKit's progress prints them (tonistiigi/units' %.2f): "3B", "1.23kB", "4.10MB". */
void progress_format_bytes(uint64_t n, char *out, size_t outlen);
void progress_done(progress *p, int id);
void progress_error(progress *p, int id, const char *msg);
/* Last output lines of a vertex (up to n), joined with '\n'; caller frees. */
char *progress_tail(progress *p, int id, int n);

#endif
