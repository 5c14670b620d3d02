/* Private tuning constants of the SQLite backend (store_sqlite.c), in one place so that its
 * tests can check the behaviour they name. Not part of the store interface. */
#ifndef JWTD_STORE_SQLITE_H
#define JWTD_STORE_SQLITE_H

/* The schema version that the migrations of store_sqlite.c bring a database to. */
#define STORE_SQLITE_SCHEMA_VERSION 3

/* Reader connections beside the one writer connection (see "Connections" in store_sqlite.c). */
#define STORE_SQLITE_READERS 3

/* How long a connection waits for another process's lock before STORE_UNAVAILABLE. */
#define STORE_SQLITE_BUSY_MS 5000

/* Every this many refresh_insert calls, rows that expired more than STORE_SQLITE_PURGE_AGE
 * seconds before the new token's issue time are deleted (refresh tokens, empty families,
 * access-token revocations). The slack keeps a just-expired token recognisable as spent. */
#define STORE_SQLITE_PURGE_EVERY 256
#define STORE_SQLITE_PURGE_AGE 86400

/* How often store_watch reads the change counter while it waits. */
#define STORE_SQLITE_WATCH_POLL_MS 100

#endif /* JWTD_STORE_SQLITE_H */
