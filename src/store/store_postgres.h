/* Private tuning constants of the PostgreSQL backend (store_postgres.c), in one place so that
 * its tests can check the behaviour they name. Not part of the store interface. */
#ifndef JWTD_STORE_POSTGRES_H
#define JWTD_STORE_POSTGRES_H

/* The schema version that the migrations of store_postgres.c bring a database to. */
#define STORE_PG_SCHEMA_VERSION 3

/* Connections of the pool when store_options.pool is 0, and the most it may ask for. */
#define STORE_PG_POOL_DEFAULT 8
#define STORE_PG_POOL_MAX 256

/* How long a call waits for a free connection of the pool before STORE_UNAVAILABLE. */
#define STORE_PG_POOL_WAIT_MS 10000

/* connect_timeout (seconds) added to the URL unless it sets its own. */
#define STORE_PG_CONNECT_TIMEOUT "3"

/* Per-session bounds: a lock wait (a row FOR UPDATE, an advisory lock) and a statement. */
#define STORE_PG_LOCK_TIMEOUT_MS 10000
#define STORE_PG_STATEMENT_TIMEOUT_MS 30000

/* How many times a transaction that failed with a serialization failure or a deadlock
 * (SQLSTATE 40001, 40P01) is run in all before STORE_UNAVAILABLE. */
#define STORE_PG_TX_TRIES 4

/* store_prune deletes refresh tokens that expired more than this many seconds before now
 * (the slack keeps a just-expired token recognisable as spent), and families left empty. */
#define STORE_PG_PURGE_AGE 86400

/* The advisory lock keys (pg_advisory_xact_lock) of the migrations and of key_rotate. */
#define STORE_PG_LOCK_MIGRATE "7022139505640001"
#define STORE_PG_LOCK_KEY_ROTATE "7022139505640002"

/* The LISTEN/NOTIFY channel that triggers notify on a change of signing keys or
 * revocations. */
#define STORE_PG_CHANNEL "jwtd_changes"

#endif /* JWTD_STORE_POSTGRES_H */
