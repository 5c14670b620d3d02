/* A real `jwtd serve` for the integration tests (tests/http, tests/durability): started on
 * 127.0.0.1:0 with a SQLite file, its port read from the "listening on" line it prints, and
 * always stopped (SIGTERM, then SIGKILL after a bounded wait). Also runs other jwtd commands.
 * A server started with --tls-cert/--tls-key prints https:// and gets an https:// base. */
#ifndef JWTD_TESTSERVER_H
#define JWTD_TESTSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define TESTSERVER_START_TIMEOUT_MS 15000 /* until the "listening on" line appears */
#define TESTSERVER_STOP_TIMEOUT_MS 10000  /* after SIGTERM, before SIGKILL */
#define TESTSERVER_CMD_TIMEOUT_MS 60000   /* any other jwtd command (user add, keys rotate) */
#define TESTSERVER_MAX_ARGS 64

typedef struct testserver {
    pid_t pid; /* 0 when not running */
    int port;
    char base[64];       /* "http://127.0.0.1:PORT", or "https://..." when serving TLS */
    char log_path[4096]; /* the server's stdout and stderr, appended across restarts */
    long log_start;      /* where this run's output begins in the log */
} testserver;

/* Starts `JWTD serve --listen 127.0.0.1:0 --db DB ARGS...` with its output appended to LOG and
 * waits for its listening line. Returns false (with a reason in err) if it did not come up; the
 * process is then already stopped. The child dies with the calling process (PR_SET_PDEATHSIG). */
bool testserver_start(testserver *ts, const char *jwtd, const char *db, const char *log,
                      const char *const *args, size_t nargs, char *err, size_t errlen);

/* SIGTERM, a bounded wait, then SIGKILL. Returns true when the server exited by itself with
 * status 0 after SIGTERM; *how gets a short description of how it ended. */
bool testserver_stop(testserver *ts, char *how, size_t howlen);

/* kill -9 and reap: the crash the durability test simulates. */
void testserver_kill9(testserver *ts);

/* Copies the end of this run's log (at most max bytes) to out, for failure reports. */
void testserver_print_log(const testserver *ts, FILE *out, size_t max);

/* Prints "# server log (PATH), this run's end:" and the end of this run's log (at most max
 * bytes) on stdout: the failure report of the durability, faults and soak tests. */
void testserver_print_log_end(const testserver *ts, size_t max);

/* Runs argv (argv[0] is the program path) with stdin_data on its stdin and its stdout and
 * stderr captured into out (NUL-terminated, truncated to outlen). Returns the exit status, or
 * -1 if it could not run or was killed after TESTSERVER_CMD_TIMEOUT_MS. */
int testserver_run(const char *const *argv, const char *stdin_data, char *out, size_t outlen);

#endif /* JWTD_TESTSERVER_H */
