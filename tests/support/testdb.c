/* See testdb.h: the SQLite file or the PostgreSQL database of a durability or soak run. */
#include "testdb.h"

#include <stdio.h>
#include <string.h>

#include "pgtest.h"

/* Takes --store and --pg-state with their values. */
bool testdb_take_arg(testdb_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    if (*i + 1 >= argc)
        return false;
    if (strcmp(o, "--store") == 0)
        a->store = argv[*i + 1];
    else if (strcmp(o, "--pg-state") == 0)
        a->pg_state = argv[*i + 1];
    else
        return false;
    ++*i;
    return true;
}

/* The SQLite file in work, or a fresh PostgreSQL database (see testdb.h). */
bool testdb_open(testdb *db, const testdb_args *args, const char *work, const char *prog)
{
    memset(db, 0, sizeof *db);
    const char *store = args->store != NULL ? args->store : "sqlite";
    if (strcmp(store, "sqlite") == 0) {
        if ((size_t)snprintf(db->url, sizeof db->url, "%s/jwtd.db", work) >= sizeof db->url) {
            fprintf(stderr, "%s: the work folder's path is too long\n", prog);
            return false;
        }
        printf("# store: SQLite file %s\n", db->url);
        return true;
    }
    if (strcmp(store, "postgres") != 0) {
        fprintf(stderr, "%s: --store takes sqlite or postgres, not %s\n", prog, store);
        return false;
    }
    db->pg = true;
    db->state = args->pg_state;
    if (db->state != NULL) {
        if (pgtest_script("start", db->state) != 0) {
            fprintf(stderr,
                    "%s: cannot start a PostgreSQL server in %s (tests/support/pgtest.sh)\n", prog,
                    db->state);
            pgtest_script("stop", db->state);
            return false;
        }
        db->own_server = true;
    }
    if (!pgtest_db_create(db->state, db->url, sizeof db->url, db->name)) {
        fprintf(stderr, "%s: cannot create a PostgreSQL database\n", prog);
        testdb_close(db);
        return false;
    }
    /* The URL holds no password (the throwaway server trusts 127.0.0.1). */
    printf("# store: PostgreSQL database %s (%s), server of %s\n", db->name, db->url,
           db->own_server ? "this run" : "the CTest fixture `postgres`");
    return true;
}

/* Drops the database, then stops a server of the run's own. */
void testdb_close(testdb *db)
{
    if (!db->pg)
        return;
    if (db->name[0] != '\0' && !pgtest_db_drop(db->state, db->name))
        fprintf(stderr, "testdb: could not drop database %s\n", db->name);
    db->name[0] = '\0';
    if (db->own_server && pgtest_script("stop", db->state) != 0)
        fprintf(stderr, "testdb: pgtest.sh stop %s failed\n", db->state);
    db->own_server = false;
}
