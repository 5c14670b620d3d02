/* cli.db.pg: `jwtd db check|migrate|backup` on a PostgreSQL database of the fixture's server
 * (tests/support/pgtest.sh). check opens (and so migrates) a fresh database and reports the
 * backend, the schema version and "integrity: ok"; migrate then says "already at N"; backup
 * refuses with the pointer to pg_dump and creates no file; an unreachable server and a schema
 * newer than the build are refused with their exact messages, the URL's password never shown,
 * and the data is the same afterwards (a user added before is still there, the newer schema
 * version untouched). Usage: db_pg --jwtd BIN --tmp DIR */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pgtest.h"
#include "testserver.h"
#include "testutil.h"

#define OUT_MAX 8192

static const char *jwtd;
static char out[OUT_MAX];

/* Runs `jwtd db SUB [ARG] --db URL`; its exit status, its output in `out`. */
static int db(const char *sub, const char *arg, const char *url)
{
    const char *argv[8] = {jwtd, "db", sub};
    size_t n = 3;
    if (arg != NULL)
        argv[n++] = arg;
    argv[n++] = "--db";
    argv[n++] = url;
    argv[n] = NULL;
    return testserver_run(argv, NULL, out, sizeof out);
}

static bool matches(const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
        return false;
    bool ok = regexec(&re, out, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static int64_t sql_value(const char *url, const char *sql)
{
    int64_t v = -1;
    return pgtest_sql(url, sql, &v) ? v : -1;
}

int main(int argc, char **argv)
{
    testutil_args a = {0};
    for (int i = 1; i < argc; i++)
        if (!testutil_take_arg(&a, argc, argv, &i)) {
            fprintf(stderr, "usage: db_pg --jwtd BIN --tmp DIR\n");
            return 2;
        }
    if (a.jwtd == NULL || a.dir == NULL || !testutil_fresh_dir(a.dir, "db_pg"))
        return 2;
    jwtd = a.jwtd;

    char url[1024], name[64];
    if (!pgtest_db_create(NULL, url, sizeof url, name)) {
        testutil_check(false, "a fresh database on the fixture's server");
        return testutil_summary();
    }

    int rc = testutil_user_add(jwtd, url, "alice", "user", "alice-password-1", out, sizeof out);
    testutil_check(rc == 0, "jwtd user add on the fresh database (exit %d: %s)", rc, out);

    rc = db("check", NULL, url);
    testutil_check(rc == 0 && matches("^backend: postgres$") &&
                       matches("^schema: ([0-9]+) \\(this build: \\1\\)$") &&
                       matches("^integrity: ok$"),
                   "db check: backend postgres, schema at this build's version, integrity ok "
                   "(exit %d: %s)",
                   rc, out);

    rc = db("migrate", NULL, url);
    testutil_check(rc == 0 && matches("^already at [1-9][0-9]*$"),
                   "db migrate on a current database: already at N (exit %d: %s)", rc, out);

    char file[4096];
    snprintf(file, sizeof file, "%s/backup.db", a.dir);
    rc = db("backup", file, url);
    struct stat st;
    testutil_check(
        rc == 1 &&
            matches("^BackupFailed: not supported with the postgres backend: use pg_dump$") &&
            stat(file, &st) != 0,
        "db backup refuses with the pointer to pg_dump and creates no file (exit %d: %s)", rc, out);

    const char *argv_list[] = {jwtd, "user", "list", "--db", url, NULL};
    rc = testserver_run(argv_list, NULL, out, sizeof out);
    testutil_check(rc == 0 && strstr(out, "alice") != NULL &&
                       sql_value(url, "SELECT count(*) FROM users") == 1,
                   "alice is still the one user after check, migrate and backup (exit %d: %s)", rc,
                   out);

    /* Port 1 of loopback: nothing listens there. The password must not be printed. */
    rc = db("check", NULL, "postgres://postgres:sekret-pass-1@127.0.0.1:1/nothing");
    testutil_check(
        rc == 1 && matches("^Unavailable: cannot open the database 'postgres://\\.\\.\\.'") &&
            strstr(out, "sekret-pass-1") == NULL,
        "an unreachable server: Unavailable, the password never shown (exit %d: %s)", rc, out);

    /* A database a newer jwtd wrote: refused as it is, nothing migrated or changed. */
    bool newer =
        pgtest_sql(url, "INSERT INTO schema_version (version, applied) VALUES (99, 0)", NULL);
    rc = db("check", NULL, url);
    testutil_check(newer && rc == 1 &&
                       matches("written by a newer jwtd \\(schema version 99, this build knows "
                               "[0-9]+\\)") &&
                       matches("^Unavailable: cannot open the database 'postgres://\\.\\.\\.'"),
                   "db check on a newer schema: refused, naming both versions (exit %d: %s)", rc,
                   out);
    rc = db("migrate", NULL, url);
    testutil_check(rc == 1 && matches("written by a newer jwtd \\(schema version 99"),
                   "db migrate on a newer schema: refused too (exit %d: %s)", rc, out);
    testutil_check(sql_value(url, "SELECT max(version) FROM schema_version") == 99 &&
                       sql_value(url, "SELECT count(*) FROM users") == 1,
                   "the newer schema version and the user are untouched");

    pgtest_db_drop(NULL, name);
    return testutil_summary();
}
