/* Small pieces the integration test programs share (tests/http, durability, faults, hostile,
 * secrets, soak, timing, tls): the clock, response bodies, the files of a run, the
 * `jwtd user add` command, the command line, and the "ok N - ..." report. Part of the
 * jwtd_testserver library; see testserver.h for the server itself. */
#ifndef JWTD_TESTUTIL_H
#define JWTD_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "testserver.h"

#define TESTUTIL_MAX_SERVE_ARGS 40 /* --serve-arg values taken; the array has room for more */

/* ---- time ---- */

/* Milliseconds on the monotonic clock. */
long testutil_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void testutil_sleep_ms(long ms);

/* ---- a process, from /proc ---- */

/* The resident set size (VmRSS) of process pid in KiB, or -1 when it cannot be read. */
long testutil_proc_rss_kib(long pid);

/* The CPU time (user + system, all threads) of process pid in seconds, or -1. */
double testutil_proc_cpu_s(long pid);

/* ---- bodies ---- */

/* Appends n bytes of data to the heap buffer *buf of *len bytes and keeps it NUL-terminated:
 * the body-collecting part of a libcurl write callback. Returns false, leaving the buffer as it
 * was, when the result would exceed max bytes (then *too_big, if not NULL, is set) or memory
 * runs out; a write callback then returns 0 to stop the transfer. */
bool testutil_append(char **buf, size_t *len, size_t max, const void *data, size_t n,
                     bool *too_big);

/* ---- files ---- */

/* Removes path and everything below it (not following links); a missing path is fine. */
void testutil_remove_tree(const char *path);

/* Makes dir anew and empty (mode 0700), whatever an earlier run left in it. Returns false,
 * with "PROG: cannot create DIR: REASON" on stderr, when it cannot. */
bool testutil_fresh_dir(const char *dir, const char *prog);

/* Removes a SQLite database with its -wal and -shm files, and the log file (if not NULL),
 * left by an earlier run. */
void testutil_remove_db(const char *db, const char *log);

/* ---- jwtd commands ---- */

/* Runs `JWTD user add NAME --password-stdin --role ROLE --db DB` with "PASSWORD\n" on its
 * stdin; its output goes to out (see testserver_run). Returns its exit status (-1: did not
 * run). */
int testutil_user_add(const char *jwtd, const char *db, const char *name, const char *role,
                      const char *password, char *out, size_t outlen);

/* ---- the command line ---- */

/* The options every test program takes: --jwtd BIN, --tmp DIR (or --work DIR) and
 * --serve-arg ARG (repeated; the extra arguments of `jwtd serve`). */
typedef struct testutil_args {
    const char *jwtd;
    const char *dir; /* --tmp or --work */
    const char *serve[TESTSERVER_MAX_ARGS];
    size_t nserve; /* at most TESTUTIL_MAX_SERVE_ARGS from the command line */
} testutil_args;

/* If argv[*i] is one of the options of testutil_args and a value follows, stores the value,
 * moves *i onto it and returns true. False for any other argument, and for a --serve-arg
 * beyond TESTUTIL_MAX_SERVE_ARGS: the caller then tries its own options or prints its usage. */
bool testutil_take_arg(testutil_args *a, int argc, char **argv, int *i);

/* ---- the report ---- */
/* A program uses one of the two reporters, testutil_check or testutil_fail: they share the
 * failure count, and testutil_summary counts the checks of testutil_check only. */

/* Prints "ok N - MESSAGE" or "FAIL N - MESSAGE" (N counts the checks from 1) on stdout and
 * flushes it; counts the failures. */
void testutil_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The failures testutil_check and testutil_fail have counted. */
int testutil_failed(void);

/* Prints "P passed, F failed" for the testutil_check checks; returns the exit status of the
 * program: 0 when none failed, else 1. */
int testutil_summary(void);

/* Prints "PREFIX: FAIL: MESSAGE" on stderr and counts the failure: the reporter of the
 * programs that print only what goes wrong. */
void testutil_fail(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* JWTD_TESTUTIL_H */
