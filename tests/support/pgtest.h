/* The tests' side of the throwaway PostgreSQL server that tests/support/pgtest.sh starts (the
 * CTest fixture `postgres`): its URL, a fresh uniquely named database per test case (so that
 * tests run in parallel), a query's one value, and a server of a test's own that it may stop
 * and start again. */
#ifndef JWTD_TESTS_PGTEST_H
#define JWTD_TESTS_PGTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fixture's server URL without a database (postgres://postgres@127.0.0.1:PORT) into out;
 * false when the fixture did not start one. state: the script's STATE_DIR, NULL for the
 * fixture's (JWTD_PGTEST_STATE). */
bool pgtest_base_url(const char *state, char *out, size_t len);
/* Creates a new database on the server of state (NULL: the fixture's); its URL into url and
 * its name into name (64 bytes). false on failure (printed to stderr). */
bool pgtest_db_create(const char *state, char *url, size_t len, char name[64]);
/* Drops database name (closing its connections). */
bool pgtest_db_drop(const char *state, const char *name);
/* Runs sql on url; *value (may be NULL) gets the first column of its first row as an
 * integer (-1 when there is none). false when it fails (printed to stderr). */
bool pgtest_sql(const char *url, const char *sql, int64_t *value);
/* Runs `pgtest.sh cmd state` (start, stop, pause, resume); its exit status. */
int pgtest_script(const char *cmd, const char *state);

#endif /* JWTD_TESTS_PGTEST_H */
