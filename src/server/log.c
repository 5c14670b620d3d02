/* JSON log lines on stderr. The level is set once at start-up, before any thread runs, and
 * read atomically afterwards. Each line goes out with one write so that lines from several
 * threads never interleave. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static atomic_int log_level = SRV_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void srv_log_set_level(int level) { atomic_store(&log_level, level); }

bool srv_log_enabled(int level) { return level <= atomic_load(&log_level); }

void srv_log(int level, const char *msg, json_t *fields)
{
    if (!srv_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    struct timespec now;
    struct tm tm;
    char ts[40];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
    json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "msg", msg);
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    if (fields != NULL)
        json_object_update_missing(line, fields);
    json_decref(fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: written with its length below */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w; /* nothing useful to do when stderr is gone */
    free(text);
}
