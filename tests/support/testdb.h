/* The database of one run of the durability and soak programs: a SQLite file in the run's
 * folder (the default), or, with `--store postgres`, a fresh database on a throwaway
 * PostgreSQL server (tests/support/pgtest.sh): the CTest fixture `postgres`'s, or, with
 * `--pg-state DIR`, a server of the program's own that it starts in DIR and stops at the end
 * (`make soak`, which runs without CTest's fixtures). One parametrised program, not a copy. */
#ifndef JWTD_TESTS_TESTDB_H
#define JWTD_TESTS_TESTDB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct testdb {
    bool pg;           /* PostgreSQL, else a SQLite file */
    bool own_server;   /* started by testdb_open (--pg-state), stopped by testdb_close */
    const char *state; /* the pgtest state folder (NULL: the fixture's) */
    char name[64];     /* the PostgreSQL database's name */
    char url[4200];    /* what `jwtd serve --db` gets: the file's path or the postgres:// URL */
} testdb;

/* The options of the store: --store sqlite|postgres and --pg-state DIR. */
typedef struct testdb_args {
    const char *store;    /* "sqlite" (default) or "postgres" */
    const char *pg_state; /* NULL: the fixture's server */
} testdb_args;

/* If argv[*i] is --store or --pg-state and a value follows, stores it, moves *i onto the
 * value and returns true; false for anything else. */
bool testdb_take_arg(testdb_args *a, int argc, char **argv, int *i);

/* Makes the run's database: WORK/jwtd.db (work must exist and be empty), or a new PostgreSQL
 * database (starting the server of args->pg_state first when given). Prints what it uses as
 * a "# " line; false (with the reason on stderr, prefixed by prog) when it cannot, or when
 * args->store is neither value. */
bool testdb_open(testdb *db, const testdb_args *args, const char *work, const char *prog);

/* Drops the PostgreSQL database and stops the server testdb_open started (nothing for a
 * SQLite file, which stays in the work folder for a look after a failure). Call it after
 * every `jwtd serve` on it has stopped. */
void testdb_close(testdb *db);

#endif /* JWTD_TESTS_TESTDB_H */
