#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static enum cb_log_level log_level = CB_LOG_INFO;
static int log_color = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void cb_log_set_level(enum cb_log_level lvl) { log_level = lvl; }
enum cb_log_level cb_log_get_level(void) { return log_level; }
void cb_log_set_color(bool on) { log_color = on; }

bool cb_log_color(void)
{
    if (log_color < 0) {
        const char *nc = getenv("NO_COLOR");
        log_color = !(nc && *nc) && isatty(STDERR_FILENO);
    }
    return log_color;
}

void cb_log(enum cb_log_level lvl, const char *fmt, ...)
{
    if (lvl > log_level)
        return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    static const char *colors[] = {"\033[31m", "\033[33m", "\033[36m", "\033[90m"};
    bool color = cb_log_color();
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    if (lvl == CB_LOG_INFO)
        ; /* info lines are plain output */
    else if (color)
        fprintf(stderr, "%s%s:\033[0m ", colors[lvl], names[lvl]);
    else
        fprintf(stderr, "%s: ", names[lvl]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
