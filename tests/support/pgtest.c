/* See pgtest.h. */
#include "pgtest.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The state folder of state, or the fixture's. */
static const char *state_dir(const char *state)
{
    return state != NULL ? state : JWTD_PGTEST_STATE;
}

bool pgtest_base_url(const char *state, char *out, size_t len)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/url", state_dir(state));
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok && out[0] != '\0';
}

bool pgtest_sql(const char *url, const char *sql, int64_t *value)
{
    PGconn *pg = PQconnectdb(url);
    bool ok = PQstatus(pg) == CONNECTION_OK;
    if (!ok) {
        fprintf(stderr, "pgtest: connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return false;
    }
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "pgtest: %s: %s", sql, PQresultErrorMessage(r));
    if (value != NULL)
        *value = ok && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)
                     ? (int64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                     : -1;
    PQclear(r);
    PQfinish(pg);
    return ok;
}

bool pgtest_db_create(const char *state, char *url, size_t len, char name[64])
{
    static atomic_uint counter;
    char base[512], admin[600], sql[128];

    if (!pgtest_base_url(state, base, sizeof base)) {
        fprintf(stderr, "pgtest: no server URL in %s (is the fixture `postgres` set up?)\n",
                state_dir(state));
        return false;
    }
    snprintf(name, 64, "jwtd_t_%ld_%u", (long)getpid(), atomic_fetch_add(&counter, 1));
    snprintf(admin, sizeof admin, "%s/postgres", base);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (!pgtest_sql(admin, sql, NULL))
        return false;
    return (size_t)snprintf(url, len, "%s/%s", base, name) < len;
}

bool pgtest_db_drop(const char *state, const char *name)
{
    char base[512], admin[600], sql[128];

    if (!pgtest_base_url(state, base, sizeof base))
        return false;
    snprintf(admin, sizeof admin, "%s/postgres", base);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    return pgtest_sql(admin, sql, NULL);
}

int pgtest_script(const char *cmd, const char *state)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/bash", "bash", JWTD_PGTEST_SCRIPT, cmd, state, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
