/* Secret files as the real `jwtd serve` sees them at start-up (issue 4, "Timing and secrets"):
 *  1. --jwt-secret-file with mode 0644 (and a database file of mode 0644): the server starts,
 *     and its output has exactly one warning line for each, naming the file and "(mode 0644)",
 *     and never the secret;
 *  2. the same files chmod 600: the server starts and prints no warning at all;
 *  3. a 31-byte secret (JWT_SECRET, then a 31-byte --jwt-secret-file): `jwtd serve` refuses to
 *     start, exit status 2 (a configuration error), with the exact message and without the
 *     secret; 32 bytes start (runs 1 and 2 use a 32-byte secret file).
 *
 * Usage: filecheck_serve --jwtd PATH --tmp DIR [--serve-arg ARG]... */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testserver.h"
#include "testutil.h"

#define SECRET32 "filecheck-secret-0123456789abcde" /* 32 bytes */
#define SECRET31 "filecheck-secret-0123456789abcd"  /* 31 bytes */
#define HINT "at least 32 are needed (generate one with: openssl rand -base64 48)"

#define NAME "filecheck" /* the prefix of its FAIL lines */

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        testutil_fail(NAME, "cannot write %s: %s", path, strerror(errno));
        return;
    }
    if (chmod(path, mode) != 0)
        testutil_fail(NAME, "chmod %s: %s", path, strerror(errno));
}

/* This run's part of the log (from ts->log_start), NUL-terminated, or NULL. */
static char *run_output(const testserver *ts)
{
    FILE *f = fopen(ts->log_path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = 0;
    if (buf != NULL && fseek(f, ts->log_start, SEEK_SET) == 0)
        n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Starts the server, returns its output up to the listening line, stops it. */
static char *start_stop(const char *jwtd, const char *db, const char *log, const char *const *args,
                        size_t nargs, const char *what)
{
    testserver ts;
    char err[512], how[128];
    if (!testserver_start(&ts, jwtd, db, log, args, nargs, err, sizeof err)) {
        testutil_fail(NAME, "%s: %s", what, err);
        testserver_print_log(&ts, stderr, 4096);
        return NULL;
    }
    char *out = run_output(&ts);
    if (!testserver_stop(&ts, how, sizeof how))
        testutil_fail(NAME, "%s: the server did not stop cleanly: %s", what, how);
    return out;
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    for (int i = 1; i < argc; i++)
        if (!testutil_take_arg(&opt, argc, argv, &i))
            opt.jwtd = NULL, i = argc;
    const char *jwtd = opt.jwtd, *tmp = opt.dir, *const *extra = opt.serve;
    size_t nextra = opt.nserve;
    if (jwtd == NULL || tmp == NULL) {
        fprintf(stderr, "usage: filecheck_serve --jwtd PATH --tmp DIR [--serve-arg ARG]...\n");
        return 2;
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "filecheck: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    umask(022); /* new files 0644, as on most systems */
    unsetenv("JWT_SECRET");
    unsetenv("JWTD_JWT_SECRET");
    unsetenv("JWTD_JWT_SECRET_FILE");
    char db[4096], log[4096], secret[4096], short_secret[4096], want[8192];
    snprintf(db, sizeof db, "%s/filecheck.db", tmp);
    snprintf(log, sizeof log, "%s/filecheck.log", tmp);
    snprintf(secret, sizeof secret, "%s/jwt-secret", tmp);
    snprintf(short_secret, sizeof short_secret, "%s/jwt-secret-31", tmp);
    testutil_remove_db(db, log);

    const char *args[TESTSERVER_MAX_ARGS];
    size_t nargs = 0;
    args[nargs++] = "--jwt-secret-file";
    args[nargs++] = secret;
    for (size_t i = 0; i < nextra; i++)
        args[nargs++] = extra[i];

    /* 1. Readable by group and others: one line per file. The database is created by the
     * first start (0644 under umask 022), so it is checked from the second start on. */
    write_file(secret, SECRET32 "\n", 0644);
    free(start_stop(jwtd, db, log, args, nargs, "first start"));
    chmod(db, 0644);
    char *out = start_stop(jwtd, db, log, args, nargs, "0644 files");
    if (out != NULL) {
        snprintf(want, sizeof want,
                 "jwtd: warning: jwt-secret-file %s is readable by group and others (mode "
                 "0644); chmod 600 it\n",
                 secret);
        if (count(out, want) != 1)
            testutil_fail(NAME, "0644 secret file: no (or more than one) line \"%.*s\"",
                          (int)strlen(want) - 1, want);
        snprintf(want, sizeof want, "jwtd: warning: db %s is readable by group and others", db);
        if (count(out, want) != 1)
            testutil_fail(NAME, "0644 database: no (or more than one) line \"%s ...\"", want);
        if (count(out, "warning") != 2)
            testutil_fail(NAME, "0644 files: %zu warnings, 2 expected", count(out, "warning"));
        if (strstr(out, SECRET32) != NULL)
            testutil_fail(NAME, "the secret is in the server's output");
        printf("filecheck: 0644: %zu warning lines\n", count(out, "jwtd: warning:"));
        free(out);
    }

    /* 2. chmod 600 (the database's WAL files follow the database's mode): no warning. */
    const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        chmod(p, 0600);
    }
    chmod(secret, 0600);
    out = start_stop(jwtd, db, log, args, nargs, "0600 files");
    if (out != NULL) {
        if (strstr(out, "warning") != NULL)
            testutil_fail(NAME, "0600 files: a warning: %s", out);
        printf("filecheck: 0600: %zu warning lines\n", count(out, "jwtd: warning:"));
        free(out);
    }

    /* 3. 31 bytes: refused, from the environment and from a file. */
    char cmd_out[8192];
    const char *serve_env[] = {jwtd, "serve", "--listen", "127.0.0.1:0", "--db", db, NULL};
    setenv("JWT_SECRET", SECRET31, 1);
    int rc = testserver_run(serve_env, NULL, cmd_out, sizeof cmd_out);
    unsetenv("JWT_SECRET");
    snprintf(want, sizeof want,
             "jwtd: invalid value for jwt-secret (JWT_SECRET): the secret is 31 bytes; " HINT);
    if (rc != 2 || strstr(cmd_out, want) == NULL || strstr(cmd_out, SECRET31) != NULL)
        testutil_fail(NAME, "JWT_SECRET of 31 bytes: status %d, output: %s", rc, cmd_out);
    write_file(short_secret, SECRET31 "\n", 0600);
    const char *serve_file[] = {jwtd,   "serve", "--listen",          "127.0.0.1:0",
                                "--db", db,      "--jwt-secret-file", short_secret,
                                NULL};
    rc = testserver_run(serve_file, NULL, cmd_out, sizeof cmd_out);
    snprintf(
        want, sizeof want,
        "jwtd: invalid value for jwt-secret (jwt-secret-file %s): the secret is 31 bytes; " HINT,
        short_secret);
    if (rc != 2 || strstr(cmd_out, want) == NULL || strstr(cmd_out, SECRET31) != NULL)
        testutil_fail(NAME, "jwt-secret-file of 31 bytes: status %d, output: %s", rc, cmd_out);
    unlink(short_secret);

    if (testutil_failed() != 0) {
        fprintf(stderr, "filecheck: %d failure(s); the log is %s\n", testutil_failed(), log);
        return 1;
    }
    printf("filecheck: warnings for 0644 files only; 31-byte secrets refused\n");
    return 0;
}
