/* The PostgreSQL backend of src/store/store.h over libpq, opened by store_postgres_open and
 * driven through the const table `pg_ops` below. Sections: schema and migrations,
 * statements, connections and the pool, error mapping, running a call (transactions and
 * their retries), field codecs, then one section per kind of row, the watcher, and opening.
 * store.c has checked every argument before a function here runs; errors go to the store's
 * log hook, never to stderr (libpq's notices are dropped). The connection URL may hold a
 * password: it is never logged, and a libpq message that would contain it is replaced. */
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_backend.h"
#include "store/store_postgres.h"

/* ---------------------------------------------------------------------------------------
 * Schema and migrations
 *
 * The same tables and meanings as the SQLite backend's migrations 1 and 2. Usernames and
 * emails are unique by lower() (the lookups compare lower() too); an empty email is "none"
 * and not unique. User ids come from an identity column, so none is handed out twice.
 * signing_keys.seq records the insertion order: "newest" is the largest created, then the
 * last inserted. Instead of SQLite's change counter, statement triggers on revocations and
 * signing_keys notify channel jwtd_changes, which store_watch LISTENs on.
 * migrations[i] brings a database from version i to i + 1. Never edit a released one.
 * ------------------------------------------------------------------------------------- */

static const char *const migrations[] = {
    /* 1: everything. */
    "CREATE TABLE users ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  username text NOT NULL,"
    "  email text NOT NULL DEFAULT '',"
    "  name text NOT NULL DEFAULT '',"
    "  password_hash text NOT NULL DEFAULT '',"
    "  roles text NOT NULL DEFAULT '',"
    "  disabled boolean NOT NULL DEFAULT false,"
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL);"
    "CREATE UNIQUE INDEX users_username ON users (lower(username));"
    "CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE email <> '';"
    "CREATE TABLE refresh_families ("
    "  family text PRIMARY KEY,"
    "  user_id bigint NOT NULL REFERENCES users(id),"
    "  revoked boolean NOT NULL DEFAULT false,"
    "  created bigint NOT NULL);"
    "CREATE INDEX refresh_families_user ON refresh_families(user_id);"
    "CREATE TABLE refresh_tokens ("
    "  jti text PRIMARY KEY,"
    "  family text NOT NULL REFERENCES refresh_families(family),"
    "  user_id bigint NOT NULL REFERENCES users(id),"
    "  issued bigint NOT NULL,"
    "  expires bigint NOT NULL,"
    "  spent bigint NOT NULL DEFAULT 0,"
    "  replaced_by text NOT NULL DEFAULT '');"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires);"
    "CREATE TABLE revocations ("
    "  id bigserial PRIMARY KEY,"
    "  jti text NOT NULL DEFAULT '',"
    "  user_id bigint NOT NULL DEFAULT 0,"
    "  before bigint NOT NULL DEFAULT 0,"
    "  expires bigint NOT NULL);"
    "CREATE UNIQUE INDEX revocations_jti ON revocations(jti) WHERE jti <> '';"
    "CREATE INDEX revocations_expires ON revocations(expires);"
    "CREATE TABLE signing_keys ("
    "  seq bigserial NOT NULL,"
    "  kid text PRIMARY KEY,"
    "  alg text NOT NULL,"
    "  private_key text NOT NULL,"
    "  created bigint NOT NULL,"
    "  retired bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX signing_keys_created ON signing_keys(created, seq);"
    "CREATE TABLE audit ("
    "  id bigserial PRIMARY KEY,"
    "  at bigint NOT NULL,"
    "  kind text NOT NULL,"
    "  user_id bigint NOT NULL DEFAULT 0,"
    "  detail text NOT NULL DEFAULT '');"
    "CREATE INDEX audit_user ON audit(user_id, at);",
    /* 2: what several instances on one database share: settings, the counters of the
     * limits, and a notification whenever what verification depends on changes. */
    "CREATE TABLE settings ("
    "  name text PRIMARY KEY,"
    "  value text NOT NULL);"
    "CREATE TABLE lockouts ("
    "  key text PRIMARY KEY,"
    "  failures bigint NOT NULL,"
    "  last bigint NOT NULL,"
    "  locked_until bigint NOT NULL,"
    "  expires bigint NOT NULL);"
    "CREATE INDEX lockouts_expires ON lockouts(expires);"
    "CREATE TABLE hits ("
    "  key text NOT NULL,"
    "  win bigint NOT NULL,"
    "  count bigint NOT NULL,"
    "  expires bigint NOT NULL,"
    "  PRIMARY KEY (key, win));"
    "CREATE INDEX hits_expires ON hits(expires);"
    "CREATE FUNCTION jwtd_notify_change() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN PERFORM pg_notify('" STORE_PG_CHANNEL "', ''); RETURN NULL; END$$;"
    "CREATE TRIGGER revocations_changed AFTER INSERT OR UPDATE ON revocations"
    " FOR EACH STATEMENT EXECUTE FUNCTION jwtd_notify_change();"
    "CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE ON signing_keys"
    " FOR EACH STATEMENT EXECUTE FUNCTION jwtd_notify_change();",
    /* 3: machine clients. Names compare exactly, as RFC 6749's client_id does (SQLite's
     * BINARY); an id is never handed out twice. */
    "CREATE TABLE clients ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  name text NOT NULL UNIQUE,"
    "  secret_hash text NOT NULL,"
    "  roles text NOT NULL DEFAULT '',"
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL);",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_PG_SCHEMA_VERSION,
               "STORE_PG_SCHEMA_VERSION counts the migrations");

/* ---------------------------------------------------------------------------------------
 * Statements: every query the backend runs, prepared once per connection (named "jwtd_N").
 * ------------------------------------------------------------------------------------- */

enum stmt_id {
    ST_USER_INSERT,
    ST_USER_BY_ID,
    ST_USER_BY_USERNAME,
    ST_USER_BY_EMAIL,
    ST_USER_LIST,
    ST_USER_COUNT,
    ST_USER_SET_HASH,
    ST_USER_SET_ROLES,
    ST_USER_SET_DISABLED,
    ST_CLIENT_INSERT,
    ST_CLIENT_GET,
    ST_CLIENT_LIST,
    ST_CLIENT_SET_SECRET,
    ST_CLIENT_DELETE,
    ST_FAMILY_INSERT,
    ST_FAMILY_OWNER,
    ST_FAMILY_REVOKE,
    ST_USER_FAMILIES_REVOKE,
    ST_REFRESH_INSERT,
    ST_REFRESH_GET,
    ST_REFRESH_LOCK,
    ST_REFRESH_SPEND,
    ST_PURGE_REFRESH,
    ST_PURGE_FAMILIES,
    ST_PURGE_REVOCATIONS,
    ST_REVOCATION_INSERT,
    ST_REVOCATION_LIST,
    ST_KEY_INSERT,
    ST_KEY_LIST,
    ST_KEY_RETIRE,
    ST_KEY_LOCK,
    ST_KEY_NEWEST,
    ST_KEY_RETIRE_OTHERS,
    ST_AUDIT_INSERT,
    ST_SETTING_INSERT,
    ST_SETTING_GET,
    ST_LOCKOUT_ENSURE,
    ST_LOCKOUT_GET,
    ST_LOCKOUT_LOCK,
    ST_LOCKOUT_PUT,
    ST_LOCKOUT_CLEAR,
    ST_HITS_ADD,
    ST_PRUNE_HITS,
    ST_PRUNE_LOCKOUTS,
    ST_PING,
    ST_COUNT
};

#define USER_COLUMNS "id, username, email, name, password_hash, roles, disabled, created, updated"
#define CLIENT_COLUMNS "id, name, secret_hash, roles, created, updated"
#define REFRESH_COLUMNS                                                                            \
    "t.jti, t.family, t.user_id, t.issued, t.expires, t.spent, t.replaced_by, f.revoked"           \
    " FROM refresh_tokens t JOIN refresh_families f ON f.family = t.family WHERE t.jti = $1"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_INSERT] = "INSERT INTO users (username, email, name, password_hash, roles, disabled,"
                       " created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    [ST_USER_BY_ID] = "SELECT " USER_COLUMNS " FROM users WHERE id = $1",
    [ST_USER_BY_USERNAME] = "SELECT " USER_COLUMNS " FROM users WHERE lower(username) = lower($1)",
    [ST_USER_BY_EMAIL] =
        "SELECT " USER_COLUMNS " FROM users WHERE lower(email) = lower($1) AND email <> ''",
    [ST_USER_LIST] = "SELECT " USER_COLUMNS " FROM users WHERE id > $1 ORDER BY id LIMIT $2",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_USER_SET_HASH] = "UPDATE users SET password_hash = $2, updated = $3 WHERE id = $1",
    [ST_USER_SET_ROLES] = "UPDATE users SET roles = $2, updated = $3 WHERE id = $1",
    [ST_USER_SET_DISABLED] = "UPDATE users SET disabled = $2, updated = $3 WHERE id = $1",
    [ST_CLIENT_INSERT] = "INSERT INTO clients (name, secret_hash, roles, created, updated)"
                         " VALUES ($1, $2, $3, $4, $4) RETURNING id",
    [ST_CLIENT_GET] = "SELECT " CLIENT_COLUMNS " FROM clients WHERE name = $1",
    [ST_CLIENT_LIST] = "SELECT " CLIENT_COLUMNS " FROM clients ORDER BY name COLLATE \"C\"",
    [ST_CLIENT_SET_SECRET] = "UPDATE clients SET secret_hash = $2, updated = $3 WHERE name = $1",
    [ST_CLIENT_DELETE] = "DELETE FROM clients WHERE name = $1",
    [ST_FAMILY_INSERT] = "INSERT INTO refresh_families (family, user_id, created)"
                         " VALUES ($1, $2, $3) ON CONFLICT (family) DO NOTHING",
    [ST_FAMILY_OWNER] = "SELECT user_id FROM refresh_families WHERE family = $1",
    [ST_FAMILY_REVOKE] = "UPDATE refresh_families SET revoked = true WHERE family = $1",
    [ST_USER_FAMILIES_REVOKE] =
        "UPDATE refresh_families SET revoked = true WHERE user_id = $1 AND NOT revoked",
    [ST_REFRESH_INSERT] = "INSERT INTO refresh_tokens (jti, family, user_id, issued, expires,"
                          " spent, replaced_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [ST_REFRESH_GET] = "SELECT " REFRESH_COLUMNS,
    [ST_REFRESH_LOCK] = "SELECT " REFRESH_COLUMNS " FOR UPDATE",
    [ST_REFRESH_SPEND] =
        "UPDATE refresh_tokens SET spent = $2, replaced_by = $3 WHERE jti = $1 AND spent = 0",
    [ST_PURGE_REFRESH] = "DELETE FROM refresh_tokens WHERE expires < $1",
    [ST_PURGE_FAMILIES] = "DELETE FROM refresh_families f WHERE NOT EXISTS (SELECT 1 FROM"
                          " refresh_tokens t WHERE t.family = f.family)",
    [ST_PURGE_REVOCATIONS] = "DELETE FROM revocations WHERE expires < $1",
    [ST_REVOCATION_INSERT] = "INSERT INTO revocations (jti, user_id, before, expires)"
                             " VALUES ($1, $2, $3, $4) ON CONFLICT (jti) WHERE jti <> ''"
                             " DO UPDATE SET expires = greatest(revocations.expires,"
                             " excluded.expires)",
    [ST_REVOCATION_LIST] = "SELECT jti, user_id, before, expires FROM revocations"
                           " WHERE expires > $1 ORDER BY id",
    [ST_KEY_INSERT] = "INSERT INTO signing_keys (kid, alg, private_key, created, retired)"
                      " VALUES ($1, $2, $3, $4, $5)",
    [ST_KEY_LIST] = "SELECT kid, alg, private_key, created, retired FROM signing_keys"
                    " ORDER BY created, seq",
    [ST_KEY_RETIRE] = "UPDATE signing_keys SET retired = CASE WHEN retired = 0 OR retired > $2"
                      " THEN $2 ELSE retired END WHERE kid = $1",
    [ST_KEY_LOCK] = "SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_KEY_ROTATE ")",
    [ST_KEY_NEWEST] = "SELECT kid FROM signing_keys ORDER BY created DESC, seq DESC LIMIT 1",
    [ST_KEY_RETIRE_OTHERS] = "UPDATE signing_keys SET retired = $2"
                             " WHERE kid <> $1 AND (retired = 0 OR retired > $2)",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (at, kind, user_id, detail) VALUES ($1, $2, $3, $4)",
    [ST_SETTING_INSERT] =
        "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    [ST_SETTING_GET] = "SELECT value FROM settings WHERE name = $1",
    [ST_LOCKOUT_ENSURE] = "INSERT INTO lockouts (key, failures, last, locked_until, expires)"
                          " VALUES ($1, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
    [ST_LOCKOUT_GET] = "SELECT failures, last, locked_until FROM lockouts WHERE key = $1",
    [ST_LOCKOUT_LOCK] =
        "SELECT failures, last, locked_until FROM lockouts WHERE key = $1 FOR UPDATE",
    [ST_LOCKOUT_PUT] = "UPDATE lockouts SET failures = $2, last = $3, locked_until = $4,"
                       " expires = $5 WHERE key = $1",
    [ST_LOCKOUT_CLEAR] = "DELETE FROM lockouts WHERE key = $1",
    [ST_HITS_ADD] = "INSERT INTO hits (key, win, count, expires) VALUES ($1, $2, 1, $3)"
                    " ON CONFLICT (key, win) DO UPDATE SET count = hits.count + 1,"
                    " expires = greatest(hits.expires, excluded.expires) RETURNING count",
    [ST_PRUNE_HITS] = "DELETE FROM hits WHERE expires <= $1",
    [ST_PRUNE_LOCKOUTS] = "DELETE FROM lockouts WHERE expires <= $1",
    [ST_PING] = "SELECT 1",
};

/* ---------------------------------------------------------------------------------------
 * Connections and the pool
 *
 * pool connections, handed out under a mutex and a condition variable; a call that finds no
 * free one within STORE_PG_POOL_WAIT_MS answers STORE_UNAVAILABLE. A connection is opened on
 * its first checkout and prepares every statement then. One found broken (by an error of
 * class 08 or 57P0x, a lost connection, or a socket that the server closed while it was
 * idle in the pool) is opened again on its next checkout, once per call: when the database
 * cannot be reached the call answers STORE_UNAVAILABLE, and the store recovers by itself
 * when it returns. store_watch has a connection of its own (not from the pool).
 * ------------------------------------------------------------------------------------- */

typedef struct pg_conn {
    PGconn *pg;
    bool prepared; /* every statement of stmt_sql prepared on pg */
    bool broken;   /* open it again before the next use */
} pg_conn;

typedef struct pg_store {
    store base;     /* first, so a store * is a pg_store * */
    char *url;      /* the connection URI as given (may hold a password) */
    char *password; /* the URI's password, if any, to keep it out of the log; NULL if none */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    unsigned npool;
    pg_conn *conns;         /* npool */
    bool *busy;             /* npool, under pool_lock */
    PGconn *watcher;        /* store_watch's LISTEN connection */
    int64_t schema_at_open; /* the schema version migrate found (store_check) */
} pg_store;

static pg_store *backend(store *s) { return (pg_store *)s; }

/* Logs msg (a libpq message, its trailing newline cut) unless it contains the URL's
 * password, which is then replaced by a message that names no value. */
static void log_pg(const pg_store *s, store_log_level level, const char *op, const char *msg)
{
    char text[512];
    size_t n;

    if (msg == NULL || msg[0] == '\0')
        msg = "unknown libpq error";
    if (s->password != NULL && s->password[0] != '\0' && strstr(msg, s->password) != NULL)
        msg = "libpq's message was withheld: it contained the password";
    snprintf(text, sizeof text, "%s", msg);
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    store_log_emit(&s->base.log, level, op, text);
}

/* Drops libpq's notices ("relation already exists, skipping"), which it would print to
 * stderr. */
static void notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Opens a new connection to s->url with jwtd's defaults (connect_timeout, application_name,
 * TCP keepalives), which the URL overrides: they come before the expanded dbname, and libpq
 * lets a later value win. NULL when it fails (logged as a warning). */
static PGconn *pg_connect(const pg_store *s, const char *op)
{
    static const char *const keys[] = {"connect_timeout",
                                       "application_name",
                                       "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "dbname",
                                       NULL};
    const char *values[] = {
        STORE_PG_CONNECT_TIMEOUT, "jwtd", "1", "30", "10", "3", "10000", s->url, NULL};
    char set[160];

    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (pg == NULL) {
        store_log_emit(&s->base.log, STORE_LOG_ERROR, op, "out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        log_pg(s, STORE_LOG_WARN, op, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, notice_drop, NULL);
    /* Bounded waits for row and advisory locks and for any one statement. */
    snprintf(set, sizeof set, "SET lock_timeout = %d; SET statement_timeout = %d",
             STORE_PG_LOCK_TIMEOUT_MS, STORE_PG_STATEMENT_TIMEOUT_MS);
    PGresult *res = PQexec(pg, set);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_pg(s, STORE_LOG_WARN, op, PQresultErrorMessage(res));
    PQclear(res);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Prepares every statement on c; false when one does not prepare (logged). */
static bool conn_prepare(const pg_store *s, pg_conn *c)
{
    char name[32];

    for (int i = 0; i < ST_COUNT; i++) {
        snprintf(name, sizeof name, "jwtd_%d", i);
        PGresult *res = PQprepare(c->pg, name, stmt_sql[i], 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            log_pg(s, PQstatus(c->pg) == CONNECTION_OK ? STORE_LOG_ERROR : STORE_LOG_WARN,
                   "prepare", PQresultErrorMessage(res));
        PQclear(res);
        if (!ok)
            return false;
    }
    c->prepared = true;
    return true;
}

static void conn_close(pg_conn *c)
{
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    c->prepared = false;
    c->broken = false;
}

/* Whether idle connection pg still stands: the server may have closed it while it sat in
 * the pool (a restart, an administrator's pg_terminate_backend), which shows as a readable
 * socket: an idle connection that LISTENs on nothing has nothing to read but the server's
 * farewell (FATAL 57P01, then end of file), so a readable one is opened again. No round
 * trip. */
static bool conn_alive(PGconn *pg)
{
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE)
        return false;
    struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
    return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

/* Readies c for a call: (re)opens it when it is new or broken, and prepares. */
static store_err conn_ready(pg_store *s, pg_conn *c, const char *op)
{
    if (c->pg != NULL && !c->broken && c->prepared && conn_alive(c->pg))
        return STORE_OK;
    conn_close(c);
    c->pg = pg_connect(s, op);
    if (c->pg == NULL)
        return STORE_UNAVAILABLE;
    if (!conn_prepare(s, c)) {
        store_err err = PQstatus(c->pg) == CONNECTION_OK ? STORE_ERROR : STORE_UNAVAILABLE;
        conn_close(c);
        return err;
    }
    return STORE_OK;
}

/* A deadline ms from now on the monotonic clock. */
static struct timespec deadline_in(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Milliseconds left until deadline (0 when it has passed). */
static int ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
                 (int64_t)(deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

static void pool_put(pg_store *s, pg_conn *c)
{
    pthread_mutex_lock(&s->pool_lock);
    s->busy[c - s->conns] = false;
    pthread_cond_signal(&s->pool_free);
    pthread_mutex_unlock(&s->pool_lock);
}

/* Checks a connection out of the pool, ready for use; NULL with *err set when none is free
 * in time or the database cannot be reached. An open connection is preferred. */
static pg_conn *pool_get(pg_store *s, const char *op, store_err *err)
{
    struct timespec deadline = deadline_in(STORE_PG_POOL_WAIT_MS);
    unsigned pick = s->npool;

    pthread_mutex_lock(&s->pool_lock);
    for (;;) {
        for (unsigned i = 0; i < s->npool; i++) {
            if (!s->busy[i] &&
                (pick == s->npool || (s->conns[pick].pg == NULL && s->conns[i].pg != NULL)))
                pick = i;
        }
        if (pick < s->npool)
            break;
        if (pthread_cond_timedwait(&s->pool_free, &s->pool_lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->pool_lock);
            store_log_emit(&s->base.log, STORE_LOG_WARN, op,
                           "no connection of the pool came free in time");
            *err = STORE_UNAVAILABLE;
            return NULL;
        }
    }
    s->busy[pick] = true;
    pthread_mutex_unlock(&s->pool_lock);
    pg_conn *c = &s->conns[pick];
    *err = conn_ready(s, c, op);
    if (*err != STORE_OK) {
        pool_put(s, c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------------------------------
 * Error mapping: the one place where libpq failures become store_err.
 * ------------------------------------------------------------------------------------- */

/* One call of the backend on one connection. */
typedef struct pg_call {
    pg_store *s;
    pg_conn *c;
    const char *op; /* the store call, for the log */
    bool retry;     /* the transaction hit a serialization failure or a deadlock */
} pg_call;

/* The store_err for failed result res (NULL: libpq had none) on k's connection. A unique
 * violation is STORE_CONFLICT and a foreign-key one STORE_NOT_FOUND (the user or family it
 * refers to does not exist), not logged; 40001/40P01 ask for a retry of the transaction;
 * a lost connection, class 08, 57P01-57P03 (shutdown), class 53 (resources), 25006
 * (read-only), 55P03 (lock timeout) and 57014 (statement timeout) are conditions of the
 * machine: STORE_UNAVAILABLE, logged as a warning; the rest is STORE_ERROR. Only the
 * primary message is logged: its DETAIL may quote a row. */
static store_err pg_map(pg_call *k, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    store_err err = STORE_ERROR;
    char text[400];

    if (state == NULL || PQstatus(k->c->pg) != CONNECTION_OK) {
        k->c->broken = true;
        log_pg(k->s, STORE_LOG_WARN, k->op,
               msg != NULL ? msg : PQerrorMessage(k->c->pg)); /* the connection's own */
        return STORE_UNAVAILABLE;
    }
    if (strcmp(state, "23505") == 0)
        return STORE_CONFLICT;
    if (strcmp(state, "23503") == 0)
        return STORE_NOT_FOUND;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        k->retry = true;
        return STORE_UNAVAILABLE;
    }
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
        k->c->broken = true;
        err = STORE_UNAVAILABLE;
    } else if (strncmp(state, "53", 2) == 0 || strcmp(state, "25006") == 0 ||
               strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0) {
        err = STORE_UNAVAILABLE;
    }
    snprintf(text, sizeof text, "%s (SQLSTATE %s, %s)", msg != NULL ? msg : "error", state,
             store_err_name(err));
    log_pg(k->s, err == STORE_UNAVAILABLE ? STORE_LOG_WARN : STORE_LOG_ERROR, k->op, text);
    return err;
}

/* Runs prepared statement id with n text parameters; the result (rows or command done) or
 * NULL with *err set. The caller PQclears it. */
static PGresult *run(pg_call *k, enum stmt_id id, int n, const char *const *params, store_err *err)
{
    char name[32];

    snprintf(name, sizeof name, "jwtd_%d", (int)id);
    PGresult *res = PQexecPrepared(k->c->pg, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return res;
    *err = pg_map(k, res);
    PQclear(res);
    return NULL;
}

/* Runs id, which returns no rows; *changed (may be NULL) gets the rows it changed. */
static store_err run_done(pg_call *k, enum stmt_id id, int n, const char *const *params,
                          long *changed)
{
    store_err err = STORE_OK;
    PGresult *res = run(k, id, n, params, &err);
    if (res == NULL)
        return err;
    if (changed != NULL)
        *changed = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return STORE_OK;
}

/* Runs plain SQL text that returns no rows (BEGIN, COMMIT, migrations). */
static store_err exec_text(pg_call *k, const char *sql)
{
    PGresult *res = PQexec(k->c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    store_err err = STORE_OK;
    if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK))
        err = pg_map(k, res);
    PQclear(res);
    return err;
}

/* Ends k's transaction: COMMIT when err is STORE_OK (its own failure is returned), else
 * ROLLBACK when one is still open, so the connection goes back to the pool idle. */
static store_err tx_end(pg_call *k, store_err err)
{
    if (err == STORE_OK)
        err = exec_text(k, "COMMIT");
    PGTransactionStatusType ts = PQtransactionStatus(k->c->pg);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PGresult *res = PQexec(k->c->pg, "ROLLBACK");
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            k->c->broken = true;
        PQclear(res);
    }
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Running a call: a pooled connection, a transaction when begin is not NULL, and the retry
 * of a transaction that lost a serialization race or a deadlock.
 * ------------------------------------------------------------------------------------- */

typedef store_err (*pg_body)(pg_call *k, void *arg);

/* Runs body on a pooled connection for the store call op, inside the transaction that
 * begin opens ("BEGIN", "BEGIN ISOLATION LEVEL ...") or, with NULL, as it is. A body must
 * set all its outputs afresh on each run: it may run STORE_PG_TX_TRIES times. */
static store_err pg_run(store *base, const char *op, const char *begin, pg_body body, void *arg)
{
    pg_store *s = backend(base);
    pg_call k = {s, NULL, op, false};
    store_err err;

    k.c = pool_get(s, op, &err);
    if (k.c == NULL)
        return err;
    for (int attempt = 1;; attempt++) {
        k.retry = false;
        err = begin != NULL ? exec_text(&k, begin) : STORE_OK;
        if (err == STORE_OK)
            err = body(&k, arg);
        if (begin != NULL)
            err = tx_end(&k, err);
        if (!k.retry || k.c->broken || attempt >= STORE_PG_TX_TRIES)
            break;
        struct timespec nap = {0, (long)(attempt * 5) * 1000000L}; /* 5, 10, 15 ms */
        nanosleep(&nap, NULL);
    }
    if (k.retry)
        store_log_emit(&s->base.log, STORE_LOG_WARN, op,
                       "serialization failure or deadlock on every try");
    pool_put(s, k.c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Field codecs: numbers as decimal text, bounded copies of text columns, the roles list.
 * ------------------------------------------------------------------------------------- */

typedef char num_text[24];

static const char *num(num_text buf, int64_t v)
{
    snprintf(buf, sizeof(num_text), "%lld", (long long)v);
    return buf;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool col_bool(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

/* Copies text column col into dst (cap bytes with the NUL); false when it does not fit,
 * which only a database written by something else can cause. */
static bool col_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    int len = PQgetlength(r, row, col);
    if (len < 0 || (size_t)len >= cap)
        return false;
    memcpy(dst, PQgetvalue(r, row, col), (size_t)len);
    dst[len] = '\0';
    return true;
}

/* Overwrites the text of column col in every row of r (private keys) before PQclear. */
static void col_wipe(PGresult *r, int col)
{
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        int len = PQgetlength(r, i, col);
        if (len > 0)
            explicit_bzero(PQgetvalue(r, i, col), (size_t)len);
    }
}

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

/* Logs that a stored row does not fit the limits of its struct. */
static store_err row_misfit(pg_call *k, const char *table)
{
    char msg[128];
    snprintf(msg, sizeof msg, "a stored row of %s does not fit the store limits", table);
    store_log_emit(&k->s->base.log, STORE_LOG_ERROR, k->op, msg);
    return STORE_ERROR;
}

/* ---------------------------------------------------------------------------------------
 * Users
 * ------------------------------------------------------------------------------------- */

/* Fills u from row `row` of USER_COLUMNS. */
static store_err user_from_row(pg_call *k, const PGresult *r, int row, store_user *u)
{
    char roles[STORE_ROLES_TEXT];

    memset(u, 0, sizeof *u);
    u->id = col_i64(r, row, 0);
    if (!col_copy(r, row, 1, u->username, sizeof u->username) ||
        !col_copy(r, row, 2, u->email, sizeof u->email) ||
        !col_copy(r, row, 3, u->name, sizeof u->name) ||
        !col_copy(r, row, 4, u->password_hash, sizeof u->password_hash) ||
        !col_copy(r, row, 5, roles, sizeof roles) ||
        !store_roles_split(roles, u->roles, &u->nroles))
        return row_misfit(k, "users");
    u->disabled = col_bool(r, row, 6);
    u->created = col_i64(r, row, 7);
    u->updated = col_i64(r, row, 8);
    return STORE_OK;
}

struct user_one {
    enum stmt_id id;
    const char *key;
    store_user *out;
};

/* Runs a one-row user query by its one parameter. */
static store_err user_one_body(pg_call *k, void *arg)
{
    struct user_one *a = arg;
    store_err err = STORE_OK;
    PGresult *r = run(k, a->id, 1, &a->key, &err);
    if (r == NULL)
        return err;
    err = PQntuples(r) == 0 ? STORE_NOT_FOUND : user_from_row(k, r, 0, a->out);
    PQclear(r);
    return err;
}

struct user_create {
    store_user *u;
    int64_t now;
};

static store_err user_create_body(pg_call *k, void *arg)
{
    struct user_create *a = arg;
    char roles[STORE_ROLES_TEXT];
    num_text now;
    store_err err = STORE_OK;

    store_roles_join((const char(*)[STORE_MAX_ROLE + 1]) a->u->roles, a->u->nroles, roles);
    const char *p[] = {a->u->username,      a->u->email, a->u->name,
                       a->u->password_hash, roles,       a->u->disabled ? "true" : "false",
                       num(now, a->now)};
    PGresult *r = run(k, ST_USER_INSERT, 7, p, &err);
    if (r == NULL)
        return err;
    a->u->id = PQntuples(r) == 1 ? col_i64(r, 0, 0) : 0;
    PQclear(r);
    return STORE_OK;
}

static store_err pg_user_create(store *base, store_user *u)
{
    struct user_create a = {u, now_seconds()};
    store_err err = pg_run(base, "user_create", NULL, user_create_body, &a);
    if (err == STORE_OK)
        u->created = u->updated = a.now;
    return err;
}

static store_err pg_user_get_by_id(store *base, int64_t id, store_user *out)
{
    num_text t;
    struct user_one a = {ST_USER_BY_ID, num(t, id), out};
    return pg_run(base, "user_get_by_id", NULL, user_one_body, &a);
}

static store_err pg_user_get_by_username(store *base, const char *username, store_user *out)
{
    struct user_one a = {ST_USER_BY_USERNAME, username, out};
    return pg_run(base, "user_get_by_username", NULL, user_one_body, &a);
}

static store_err pg_user_get_by_email(store *base, const char *email, store_user *out)
{
    struct user_one a = {ST_USER_BY_EMAIL, email, out};
    return pg_run(base, "user_get_by_email", NULL, user_one_body, &a);
}

/* Counts the users on k's connection (in its transaction, if any). */
static store_err user_count_on(pg_call *k, size_t *count)
{
    store_err err = STORE_OK;
    PGresult *r = run(k, ST_USER_COUNT, 0, NULL, &err);
    if (r == NULL)
        return err;
    *count = (size_t)col_i64(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

static store_err user_count_body(pg_call *k, void *arg) { return user_count_on(k, arg); }

static store_err pg_user_count(store *base, size_t *count)
{
    return pg_run(base, "user_count", NULL, user_count_body, count);
}

struct user_list {
    int64_t after_id;
    size_t limit;
    store_user_cb cb;
    void *ctx;
    size_t *total;
};

/* The total and the page, in the caller's REPEATABLE READ transaction; callbacks run while
 * the connection is held. */
static store_err user_list_body(pg_call *k, void *arg)
{
    struct user_list *a = arg;
    num_text after, lim;
    store_err err = STORE_OK;

    if (a->total != NULL && (err = user_count_on(k, a->total)) != STORE_OK)
        return err;
    const char *p[] = {num(after, a->after_id),
                       num(lim, a->limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)a->limit)};
    PGresult *r = run(k, ST_USER_LIST, 2, p, &err);
    if (r == NULL)
        return err;
    store_user *u = malloc(sizeof *u);
    if (u == NULL) {
        PQclear(r);
        store_log_emit(&k->s->base.log, STORE_LOG_ERROR, k->op, "out of memory");
        return STORE_ERROR;
    }
    for (int i = 0; i < PQntuples(r) && err == STORE_OK; i++) {
        err = user_from_row(k, r, i, u);
        if (err == STORE_OK && !a->cb(a->ctx, u))
            break;
    }
    free(u);
    PQclear(r);
    return err;
}

static store_err pg_user_list(store *base, int64_t after_id, size_t limit, store_user_cb cb,
                              void *ctx, size_t *total)
{
    struct user_list a = {after_id, limit, cb, ctx, total};
    return pg_run(base, "user_list", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                  user_list_body, &a);
}

struct user_update {
    enum stmt_id id;
    int64_t user_id;
    const char *value;
};

/* Updates one user ($1 id, $2 value, $3 updated = now); STORE_NOT_FOUND: no such id. */
static store_err user_update_body(pg_call *k, void *arg)
{
    struct user_update *a = arg;
    num_text id, now;
    long changed = 0;
    const char *p[] = {num(id, a->user_id), a->value, num(now, now_seconds())};
    store_err err = run_done(k, a->id, 3, p, &changed);
    return err == STORE_OK && changed == 0 ? STORE_NOT_FOUND : err;
}

static store_err pg_user_set_password_hash(store *base, int64_t id, const char *hash)
{
    struct user_update a = {ST_USER_SET_HASH, id, hash};
    return pg_run(base, "user_set_password_hash", NULL, user_update_body, &a);
}

static store_err pg_user_set_roles(store *base, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                                   size_t nroles)
{
    char text[STORE_ROLES_TEXT];
    store_roles_join(roles, nroles, text);
    struct user_update a = {ST_USER_SET_ROLES, id, text};
    return pg_run(base, "user_set_roles", NULL, user_update_body, &a);
}

static store_err pg_user_set_disabled(store *base, int64_t id, bool disabled)
{
    struct user_update a = {ST_USER_SET_DISABLED, id, disabled ? "true" : "false"};
    return pg_run(base, "user_set_disabled", NULL, user_update_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Machine clients
 * ------------------------------------------------------------------------------------- */

/* Fills cl from row `row` of CLIENT_COLUMNS. */
static store_err client_from_row(pg_call *k, const PGresult *r, int row, store_client *cl)
{
    char roles[STORE_ROLES_TEXT];

    memset(cl, 0, sizeof *cl);
    cl->id = col_i64(r, row, 0);
    if (!col_copy(r, row, 1, cl->name, sizeof cl->name) ||
        !col_copy(r, row, 2, cl->secret_hash, sizeof cl->secret_hash) ||
        !col_copy(r, row, 3, roles, sizeof roles) ||
        !store_roles_split(roles, cl->roles, &cl->nroles))
        return row_misfit(k, "clients");
    cl->created = col_i64(r, row, 4);
    cl->updated = col_i64(r, row, 5);
    return STORE_OK;
}

struct client_create {
    store_client *c;
    int64_t now;
};

static store_err client_create_body(pg_call *k, void *arg)
{
    struct client_create *a = arg;
    char roles[STORE_ROLES_TEXT];
    num_text now;
    store_err err = STORE_OK;

    store_roles_join((const char(*)[STORE_MAX_ROLE + 1]) a->c->roles, a->c->nroles, roles);
    const char *p[] = {a->c->name, a->c->secret_hash, roles, num(now, a->now)};
    PGresult *r = run(k, ST_CLIENT_INSERT, 4, p, &err);
    if (r == NULL)
        return err;
    a->c->id = PQntuples(r) == 1 ? col_i64(r, 0, 0) : 0;
    PQclear(r);
    return STORE_OK;
}

static store_err pg_client_create(store *base, store_client *c)
{
    struct client_create a = {c, now_seconds()};
    store_err err = pg_run(base, "client_create", NULL, client_create_body, &a);
    if (err == STORE_OK)
        c->created = c->updated = a.now;
    return err;
}

struct client_get {
    const char *name;
    store_client *out;
};

static store_err client_get_body(pg_call *k, void *arg)
{
    struct client_get *a = arg;
    store_err err = STORE_OK;
    PGresult *r = run(k, ST_CLIENT_GET, 1, &a->name, &err);
    if (r == NULL)
        return err;
    err = PQntuples(r) == 0 ? STORE_NOT_FOUND : client_from_row(k, r, 0, a->out);
    PQclear(r);
    return err;
}

static store_err pg_client_get(store *base, const char *name, store_client *out)
{
    struct client_get a = {name, out};
    return pg_run(base, "client_get", NULL, client_get_body, &a);
}

struct client_list {
    store_client_cb cb;
    void *ctx;
};

/* Callbacks run while the connection is held. */
static store_err client_list_body(pg_call *k, void *arg)
{
    struct client_list *a = arg;
    store_client cl;
    store_err err = STORE_OK;
    PGresult *r = run(k, ST_CLIENT_LIST, 0, NULL, &err);
    if (r == NULL)
        return err;
    for (int i = 0; i < PQntuples(r) && err == STORE_OK; i++) {
        err = client_from_row(k, r, i, &cl);
        if (err == STORE_OK && !a->cb(a->ctx, &cl))
            break;
    }
    PQclear(r);
    return err;
}

static store_err pg_client_list(store *base, store_client_cb cb, void *ctx)
{
    struct client_list a = {cb, ctx};
    return pg_run(base, "client_list", NULL, client_list_body, &a);
}

struct client_write {
    enum stmt_id id;
    int n;
    const char *params[3];
};

/* One write of one client by name ($1); STORE_NOT_FOUND: no such client. */
static store_err client_write_body(pg_call *k, void *arg)
{
    struct client_write *a = arg;
    long changed = 0;
    store_err err = run_done(k, a->id, a->n, a->params, &changed);
    return err == STORE_OK && changed == 0 ? STORE_NOT_FOUND : err;
}

static store_err pg_client_set_secret(store *base, const char *name, const char *secret_hash)
{
    num_text now;
    struct client_write a = {ST_CLIENT_SET_SECRET, 3, {name, secret_hash, num(now, now_seconds())}};
    return pg_run(base, "client_set_secret", NULL, client_write_body, &a);
}

static store_err pg_client_delete(store *base, const char *name)
{
    struct client_write a = {ST_CLIENT_DELETE, 1, {name, NULL, NULL}};
    return pg_run(base, "client_delete", NULL, client_write_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Refresh tokens and their families
 * ------------------------------------------------------------------------------------- */

/* Reads token jti with its family's revoked flag (id: ST_REFRESH_GET, or ST_REFRESH_LOCK,
 * which also locks both rows until the transaction ends). */
static store_err refresh_read(pg_call *k, enum stmt_id id, const char *jti, store_refresh *out)
{
    store_err err = STORE_OK;
    PGresult *r = run(k, id, 1, &jti, &err);
    if (r == NULL)
        return err;
    if (PQntuples(r) == 0) {
        err = STORE_NOT_FOUND;
    } else {
        memset(out, 0, sizeof *out);
        out->user_id = col_i64(r, 0, 2);
        out->issued = col_i64(r, 0, 3);
        out->expires = col_i64(r, 0, 4);
        out->spent = col_i64(r, 0, 5);
        out->revoked = col_bool(r, 0, 7);
        if (!col_copy(r, 0, 0, out->jti, sizeof out->jti) ||
            !col_copy(r, 0, 1, out->family, sizeof out->family) ||
            !col_copy(r, 0, 6, out->replaced_by, sizeof out->replaced_by))
            err = row_misfit(k, "refresh_tokens");
    }
    PQclear(r);
    return err;
}

/* Inserts the row of token r (its family must exist). */
static store_err refresh_row_insert(pg_call *k, const store_refresh *r)
{
    num_text uid, issued, expires, spent;
    const char *p[] = {r->jti,
                       r->family,
                       num(uid, r->user_id),
                       num(issued, r->issued),
                       num(expires, r->expires),
                       num(spent, r->spent),
                       r->replaced_by};
    return run_done(k, ST_REFRESH_INSERT, 7, p, NULL);
}

/* Creates r's family unless it exists; STORE_CONFLICT when it belongs to another user. */
static store_err family_ensure(pg_call *k, const store_refresh *r)
{
    num_text uid, issued;
    const char *p[] = {r->family, num(uid, r->user_id), num(issued, r->issued)};
    store_err err = run_done(k, ST_FAMILY_INSERT, 3, p, NULL);
    if (err != STORE_OK)
        return err;
    PGresult *res = run(k, ST_FAMILY_OWNER, 1, p, &err);
    if (res == NULL)
        return err;
    if (PQntuples(res) != 1)
        err = STORE_ERROR; /* created or present a moment ago, in this transaction */
    else
        err = col_i64(res, 0, 0) == r->user_id ? STORE_OK : STORE_CONFLICT;
    PQclear(res);
    return err;
}

static store_err refresh_insert_body(pg_call *k, void *arg)
{
    store_err err = family_ensure(k, arg);
    return err == STORE_OK ? refresh_row_insert(k, arg) : err;
}

/* Inserts r, creating its family on first use. Expired rows are deleted by store_prune. */
static store_err pg_refresh_insert(store *base, const store_refresh *r)
{
    return pg_run(base, "refresh_insert", "BEGIN", refresh_insert_body, (void *)r);
}

struct refresh_get {
    const char *jti;
    store_refresh *out;
};

static store_err refresh_get_body(pg_call *k, void *arg)
{
    struct refresh_get *a = arg;
    return refresh_read(k, ST_REFRESH_GET, a->jti, a->out);
}

static store_err pg_refresh_get(store *base, const char *jti, store_refresh *out)
{
    struct refresh_get a = {jti, out};
    return pg_run(base, "refresh_get", NULL, refresh_get_body, &a);
}

struct refresh_rotate {
    const char *old_jti;
    int64_t now;
    const store_refresh *next;
    store_refresh old;
    bool found;
};

/* The token row and its family row are locked FOR UPDATE before they are read: of two
 * rotations of one token (here or on another instance), the second waits for the first to
 * commit, then reads the token spent. */
static store_err refresh_rotate_body(pg_call *k, void *arg)
{
    struct refresh_rotate *a = arg;
    num_text now;

    memset(&a->old, 0, sizeof a->old);
    store_err err = refresh_read(k, ST_REFRESH_LOCK, a->old_jti, &a->old);
    a->found = err == STORE_OK;
    if (err != STORE_OK)
        return err;
    if (a->old.spent != 0 || a->old.revoked)
        return STORE_CONFLICT;
    if (strcmp(a->old.family, a->next->family) != 0 || a->old.user_id != a->next->user_id) {
        store_log_emit(&k->s->base.log, STORE_LOG_ERROR, k->op,
                       "the next token is not of the same family and user");
        return STORE_ERROR;
    }
    long changed = 0;
    const char *p[] = {a->old_jti, num(now, a->now), a->next->jti};
    err = run_done(k, ST_REFRESH_SPEND, 3, p, &changed);
    if (err == STORE_OK && changed != 1)
        err = STORE_ERROR; /* the row is locked and was read unspent */
    return err == STORE_OK ? refresh_row_insert(k, a->next) : err;
}

static store_err pg_refresh_rotate(store *base, const char *old_jti, int64_t now,
                                   const store_refresh *next, store_refresh *current)
{
    struct refresh_rotate a = {.old_jti = old_jti, .now = now, .next = next};
    store_err err = pg_run(base, "refresh_rotate", "BEGIN", refresh_rotate_body, &a);
    if (current != NULL && a.found) {
        if (err == STORE_OK) {
            a.old.spent = now;
            memcpy(a.old.replaced_by, next->jti, strlen(next->jti) + 1);
        }
        *current = a.old;
    }
    return err;
}

struct by_key {
    enum stmt_id id;
    const char *key;
    long changed;
};

/* Runs a statement of one text parameter that returns no rows. */
static store_err by_key_body(pg_call *k, void *arg)
{
    struct by_key *a = arg;
    a->changed = 0;
    return run_done(k, a->id, 1, &a->key, &a->changed);
}

static store_err pg_family_revoke(store *base, const char *family)
{
    struct by_key a = {ST_FAMILY_REVOKE, family, 0};
    store_err err = pg_run(base, "family_revoke", NULL, by_key_body, &a);
    return err == STORE_OK && a.changed == 0 ? STORE_NOT_FOUND : err;
}

static store_err pg_user_families_revoke(store *base, int64_t user_id)
{
    num_text t;
    struct by_key a = {ST_USER_FAMILIES_REVOKE, num(t, user_id), 0};
    return pg_run(base, "user_families_revoke", NULL, by_key_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Access-token revocations
 * ------------------------------------------------------------------------------------- */

static store_err revocation_add_body(pg_call *k, void *arg)
{
    const store_revocation *r = arg;
    num_text uid, before, expires;
    const char *p[] = {r->jti, num(uid, r->user_id), num(before, r->before),
                       num(expires, r->expires)};
    return run_done(k, ST_REVOCATION_INSERT, 4, p, NULL);
}

/* Adding the same jti twice keeps one row with the later expiry. */
static store_err pg_revocation_add(store *base, const store_revocation *r)
{
    return pg_run(base, "revocation_add", NULL, revocation_add_body, (void *)r);
}

struct revocation_list {
    int64_t now;
    store_revocation_cb cb;
    void *ctx;
};

static store_err revocation_list_body(pg_call *k, void *arg)
{
    struct revocation_list *a = arg;
    store_revocation rev;
    num_text now;
    store_err err = STORE_OK;
    const char *p[] = {num(now, a->now)};
    PGresult *r = run(k, ST_REVOCATION_LIST, 1, p, &err);
    if (r == NULL)
        return err;
    for (int i = 0; i < PQntuples(r); i++) {
        memset(&rev, 0, sizeof rev);
        rev.user_id = col_i64(r, i, 1);
        rev.before = col_i64(r, i, 2);
        rev.expires = col_i64(r, i, 3);
        if (!col_copy(r, i, 0, rev.jti, sizeof rev.jti)) {
            err = row_misfit(k, "revocations");
            break;
        }
        if (!a->cb(a->ctx, &rev))
            break;
    }
    PQclear(r);
    return err;
}

/* Callbacks run while a connection is held: they must not call the store. */
static store_err pg_revocation_list(store *base, int64_t now, store_revocation_cb cb, void *ctx)
{
    struct revocation_list a = {now, cb, ctx};
    return pg_run(base, "revocation_list", NULL, revocation_list_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Signing keys. The private keys rest in the database: its role and backups must be
 * guarded as the key files would be. Result buffers that held one are wiped.
 * ------------------------------------------------------------------------------------- */

static store_err key_insert_on(pg_call *k, const store_signing_key *key)
{
    num_text created, retired;
    const char *p[] = {key->kid, key->alg, key->private_key, num(created, key->created),
                       num(retired, key->retired)};
    return run_done(k, ST_KEY_INSERT, 5, p, NULL);
}

static store_err key_insert_body(pg_call *k, void *arg) { return key_insert_on(k, arg); }

static store_err pg_key_insert(store *base, const store_signing_key *k)
{
    return pg_run(base, "key_insert", NULL, key_insert_body, (void *)k);
}

struct key_list {
    store_key_cb cb;
    void *ctx;
    store_signing_key *k;
};

static store_err key_list_body(pg_call *k, void *arg)
{
    struct key_list *a = arg;
    store_err err = STORE_OK;
    PGresult *r = run(k, ST_KEY_LIST, 0, NULL, &err);
    if (r == NULL)
        return err;
    for (int i = 0; i < PQntuples(r); i++) {
        memset(a->k, 0, sizeof *a->k);
        a->k->created = col_i64(r, i, 3);
        a->k->retired = col_i64(r, i, 4);
        if (!col_copy(r, i, 0, a->k->kid, sizeof a->k->kid) ||
            !col_copy(r, i, 1, a->k->alg, sizeof a->k->alg) ||
            !col_copy(r, i, 2, a->k->private_key, sizeof a->k->private_key)) {
            err = row_misfit(k, "signing_keys");
            break;
        }
        if (!a->cb(a->ctx, a->k))
            break;
    }
    col_wipe(r, 2);
    PQclear(r);
    return err;
}

/* Streams the keys, oldest first, through one heap record that is wiped before it is
 * freed. Callbacks run while a connection is held: they must not call the store. */
static store_err pg_key_list(store *base, store_key_cb cb, void *ctx)
{
    struct key_list a = {cb, ctx, malloc(sizeof(store_signing_key))};
    if (a.k == NULL) {
        store_log_emit(&base->log, STORE_LOG_ERROR, "key_list", "out of memory");
        return STORE_ERROR;
    }
    store_err err = pg_run(base, "key_list", NULL, key_list_body, &a);
    explicit_bzero(a.k, sizeof *a.k);
    free(a.k);
    return err;
}

struct key_retire {
    const char *kid;
    int64_t when;
    long changed;
};

static store_err key_retire_body(pg_call *k, void *arg)
{
    struct key_retire *a = arg;
    num_text when;
    const char *p[] = {a->kid, num(when, a->when)};
    a->changed = 0;
    return run_done(k, ST_KEY_RETIRE, 2, p, &a->changed);
}

/* A key retiring earlier keeps its time; one retiring later retires at `when`. */
static store_err pg_key_retire(store *base, const char *kid, int64_t when)
{
    struct key_retire a = {kid, when, 0};
    store_err err = pg_run(base, "key_retire", NULL, key_retire_body, &a);
    return err == STORE_OK && a.changed == 0 ? STORE_NOT_FOUND : err;
}

struct key_rotate {
    const store_signing_key *next;
    const char *expect_newest;
    int64_t retire_at;
};

/* Under the rotation's advisory lock, so that of two instances rotating from the same
 * newest key, the second reads (in a snapshot taken after the lock) the first one's key. */
static store_err key_rotate_body(pg_call *k, void *arg)
{
    struct key_rotate *a = arg;
    char newest[STORE_MAX_KID + 1] = "";
    num_text at;
    store_err err = run_done(k, ST_KEY_LOCK, 0, NULL, NULL);

    if (err == STORE_OK && a->expect_newest != NULL) {
        PGresult *r = run(k, ST_KEY_NEWEST, 0, NULL, &err);
        if (r == NULL)
            return err;
        if (PQntuples(r) == 1 && !col_copy(r, 0, 0, newest, sizeof newest))
            err = row_misfit(k, "signing_keys");
        PQclear(r);
        if (err == STORE_OK && strcmp(newest, a->expect_newest) != 0)
            err = STORE_CONFLICT;
    }
    if (err == STORE_OK)
        err = key_insert_on(k, a->next);
    if (err == STORE_OK) {
        const char *p[] = {a->next->kid, num(at, a->retire_at)};
        err = run_done(k, ST_KEY_RETIRE_OTHERS, 2, p, NULL);
    }
    return err;
}

static store_err pg_key_rotate(store *base, const store_signing_key *next,
                               const char *expect_newest, int64_t retire_at)
{
    struct key_rotate a = {next, expect_newest, retire_at};
    return pg_run(base, "key_rotate", "BEGIN", key_rotate_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Audit events
 * ------------------------------------------------------------------------------------- */

struct audit_add {
    const char *kind;
    int64_t user_id;
    const char *detail;
};

static store_err audit_add_body(pg_call *k, void *arg)
{
    struct audit_add *a = arg;
    num_text at, uid;
    const char *p[] = {num(at, now_seconds()), a->kind, num(uid, a->user_id), a->detail};
    return run_done(k, ST_AUDIT_INSERT, 4, p, NULL);
}

static store_err pg_audit_add(store *base, const char *kind, int64_t user_id, const char *detail)
{
    struct audit_add a = {kind, user_id, detail};
    return pg_run(base, "audit_add", NULL, audit_add_body, &a);
}

/* ---------------------------------------------------------------------------------------
 * Settings and the counters of the limits
 * ------------------------------------------------------------------------------------- */

struct setting {
    const char *name, *value_if_new;
    char *out;
    size_t len;
};

/* INSERT ... DO NOTHING waits for a concurrent insert of the same name to end; the SELECT
 * after it (a new snapshot in READ COMMITTED) then sees the one value stored. */
static store_err setting_body(pg_call *k, void *arg)
{
    struct setting *a = arg;
    const char *p[] = {a->name, a->value_if_new};
    store_err err = run_done(k, ST_SETTING_INSERT, 2, p, NULL);
    if (err != STORE_OK)
        return err;
    PGresult *r = run(k, ST_SETTING_GET, 1, p, &err);
    if (r == NULL)
        return err;
    if (PQntuples(r) != 1) {
        err = STORE_ERROR; /* inserted or present a moment ago, in this transaction */
    } else if (!col_copy(r, 0, 0, a->out, a->len)) {
        store_log_emit(&k->s->base.log, STORE_LOG_ERROR, k->op, "the stored value does not fit");
        err = STORE_ERROR;
    }
    PQclear(r);
    return err;
}

static store_err pg_setting_get_or_init(store *base, const char *name, const char *value_if_new,
                                        char *out, size_t len)
{
    struct setting a = {name, value_if_new, out, len};
    return pg_run(base, "setting_get_or_init", "BEGIN", setting_body, &a);
}

struct lockout {
    const char *key;
    int64_t now, forget;
    int64_t (*lock_for)(void *ctx, int64_t failures);
    void *ctx;
    int64_t failures, last, until;
};

/* Reads key's row with statement id into a; all 0 when there is none. */
static store_err lockout_read(pg_call *k, enum stmt_id id, struct lockout *a)
{
    store_err err = STORE_OK;
    a->failures = a->last = a->until = 0;
    PGresult *r = run(k, id, 1, &a->key, &err);
    if (r == NULL)
        return err;
    if (PQntuples(r) == 1) {
        a->failures = col_i64(r, 0, 0);
        a->last = col_i64(r, 0, 1);
        a->until = col_i64(r, 0, 2);
    }
    PQclear(r);
    return STORE_OK;
}

static store_err lockout_get_body(pg_call *k, void *arg)
{
    return lockout_read(k, ST_LOCKOUT_GET, arg);
}

static store_err pg_lockout_get(store *base, const char *key, int64_t now, int64_t forget,
                                int64_t *failures, int64_t *locked_until)
{
    struct lockout a = {.key = key};
    store_err err = pg_run(base, "lockout_get", NULL, lockout_get_body, &a);
    if (err != STORE_OK || store_lockout_forgotten(a.last, a.until, now, forget))
        a.failures = a.until = 0;
    *failures = a.failures;
    *locked_until = a.until;
    return err;
}

/* The row is made to exist, then locked FOR UPDATE: concurrent failures of one key (on any
 * instance) count one after the other. lock_for runs inside the transaction. */
static store_err lockout_fail_body(pg_call *k, void *arg)
{
    struct lockout *a = arg;
    num_text failures, last, until, expires;
    store_err err = run_done(k, ST_LOCKOUT_ENSURE, 1, &a->key, NULL);
    if (err == STORE_OK)
        err = lockout_read(k, ST_LOCKOUT_LOCK, a);
    if (err != STORE_OK)
        return err;
    if (store_lockout_forgotten(a->last, a->until, a->now, a->forget))
        a->failures = a->until = 0;
    a->failures += 1;
    int64_t lock = a->lock_for(a->ctx, a->failures);
    if (lock > 0 && a->now + lock > a->until)
        a->until = a->now + lock;
    int64_t exp = a->now + a->forget > a->until ? a->now + a->forget : a->until;
    const char *p[] = {a->key, num(failures, a->failures), num(last, a->now), num(until, a->until),
                       num(expires, exp)};
    return run_done(k, ST_LOCKOUT_PUT, 5, p, NULL);
}

static store_err pg_lockout_fail(store *base, const char *key, int64_t now, int64_t forget,
                                 int64_t (*lock_for)(void *ctx, int64_t failures), void *ctx,
                                 int64_t *failures, int64_t *locked_until)
{
    struct lockout a = {key, now, forget, lock_for, ctx, 0, 0, 0};
    store_err err = pg_run(base, "lockout_fail", "BEGIN", lockout_fail_body, &a);
    if (err == STORE_OK) {
        if (failures != NULL)
            *failures = a.failures;
        if (locked_until != NULL)
            *locked_until = a.until;
    }
    return err;
}

static store_err pg_lockout_clear(store *base, const char *key)
{
    struct by_key a = {ST_LOCKOUT_CLEAR, key, 0};
    return pg_run(base, "lockout_clear", NULL, by_key_body, &a);
}

struct hits_add {
    const char *key;
    int64_t window, expires, count;
};

static store_err hits_add_body(pg_call *k, void *arg)
{
    struct hits_add *a = arg;
    num_text win, exp;
    store_err err = STORE_OK;
    const char *p[] = {a->key, num(win, a->window), num(exp, a->expires)};
    PGresult *r = run(k, ST_HITS_ADD, 3, p, &err);
    if (r == NULL)
        return err;
    if (PQntuples(r) == 1)
        a->count = col_i64(r, 0, 0);
    else
        err = STORE_ERROR;
    PQclear(r);
    return err;
}

static store_err pg_hits_add(store *base, const char *key, int64_t window, int64_t expires,
                             int64_t *count)
{
    struct hits_add a = {key, window, expires, 0};
    store_err err = pg_run(base, "hits_add", NULL, hits_add_body, &a);
    if (err == STORE_OK)
        *count = a.count;
    return err;
}

/* Deletes the hit windows, lockouts and revocations past their time, and the refresh
 * tokens that expired more than STORE_PG_PURGE_AGE before now with the families they
 * leave empty. */
static store_err prune_body(pg_call *k, void *arg)
{
    const int64_t *now = arg;
    num_text t, cutoff;
    const char *p[] = {num(t, *now)};
    const char *pc[] = {num(cutoff, *now - STORE_PG_PURGE_AGE)};
    store_err err = run_done(k, ST_PRUNE_HITS, 1, p, NULL);
    if (err == STORE_OK)
        err = run_done(k, ST_PRUNE_LOCKOUTS, 1, p, NULL);
    if (err == STORE_OK)
        err = run_done(k, ST_PURGE_REVOCATIONS, 1, p, NULL);
    if (err == STORE_OK)
        err = run_done(k, ST_PURGE_REFRESH, 1, pc, NULL);
    if (err == STORE_OK)
        err = run_done(k, ST_PURGE_FAMILIES, 0, NULL, NULL);
    return err;
}

static store_err pg_prune(store *base, int64_t now)
{
    return pg_run(base, "prune", "BEGIN", prune_body, &now);
}

/* ---------------------------------------------------------------------------------------
 * Health and changes made by other connections
 * ------------------------------------------------------------------------------------- */

static store_err ping_body(pg_call *k, void *arg)
{
    (void)arg;
    store_err err = STORE_OK;
    PGresult *r = run(k, ST_PING, 0, NULL, &err);
    if (r == NULL)
        return err;
    err = PQntuples(r) == 1 && col_i64(r, 0, 0) == 1 ? STORE_OK : STORE_ERROR;
    PQclear(r);
    return err;
}

static store_err pg_ping(store *base)
{
    return pg_run(base, "ping", NULL, ping_body, NULL) == STORE_OK ? STORE_OK : STORE_UNAVAILABLE;
}

/* Opens the watcher's connection and LISTENs; false when the database cannot be reached. */
static bool watcher_open(pg_store *s)
{
    if (s->watcher != NULL)
        PQfinish(s->watcher);
    s->watcher = pg_connect(s, "watch");
    if (s->watcher == NULL)
        return false;
    PGresult *r = PQexec(s->watcher, "LISTEN " STORE_PG_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        log_pg(s, STORE_LOG_WARN, "watch", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok) {
        PQfinish(s->watcher);
        s->watcher = NULL;
    }
    return ok;
}

/* Takes the notifications that arrived on the watcher; false when its connection broke. */
static bool watcher_drain(pg_store *s, bool *changed)
{
    PGnotify *n;

    if (!PQconsumeInput(s->watcher) || PQstatus(s->watcher) != CONNECTION_OK)
        return false;
    while ((n = PQnotifies(s->watcher)) != NULL) {
        *changed = true;
        PQfreemem(n);
    }
    return true;
}

/* Sleeps until deadline. */
static void sleep_until(const struct timespec *deadline)
{
    int ms = ms_left(deadline);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits on the watcher's socket for a notification of channel jwtd_changes. A (re)opened
 * connection reports a change at once: one may have been missed while there was none. */
static store_err pg_watch(store *base, int timeout_ms, bool *changed)
{
    pg_store *s = backend(base);
    struct timespec deadline = deadline_in(timeout_ms);

    for (;;) {
        if (s->watcher == NULL || PQstatus(s->watcher) != CONNECTION_OK) {
            if (!watcher_open(s)) {
                sleep_until(&deadline);
                return STORE_UNAVAILABLE;
            }
            *changed = true;
            return STORE_OK;
        }
        if (!watcher_drain(s, changed)) {
            log_pg(s, STORE_LOG_WARN, "watch", PQerrorMessage(s->watcher));
            PQfinish(s->watcher);
            s->watcher = NULL;
            continue; /* reopen once now */
        }
        if (*changed)
            return STORE_OK;
        int left = ms_left(&deadline);
        if (left == 0)
            return STORE_OK;
        struct pollfd p = {.fd = PQsocket(s->watcher), .events = POLLIN};
        int rc = poll(&p, 1, left);
        if (rc < 0 && errno != EINTR) {
            store_log_emit(&s->base.log, STORE_LOG_ERROR, "watch", strerror(errno));
            return STORE_ERROR;
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * Opening, migrating and closing
 * ------------------------------------------------------------------------------------- */

/* Runs a one-integer query on k's connection into *value (0: no row or NULL). */
static store_err query_int(pg_call *k, const char *sql, int64_t *value)
{
    PGresult *r = PQexec(k->c->pg, sql);
    store_err err = STORE_OK;
    *value = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        err = pg_map(k, r);
    else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        *value = col_i64(r, 0, 0);
    PQclear(r);
    return err;
}

/* The applied schema version: 0 for an empty database. */
static store_err schema_version(pg_call *k, int64_t *version)
{
    int64_t exists = 0;
    store_err err =
        query_int(k,
                  "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'schema_version'"
                  " AND schemaname = current_schema()",
                  &exists);
    *version = 0;
    if (err == STORE_OK && exists)
        err = query_int(k, "SELECT coalesce(max(version), 0) FROM schema_version", version);
    return err;
}

/* Refuses a database that a newer jwtd migrated. */
static store_err schema_too_new(pg_call *k, int64_t version)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "the database was written by a newer jwtd (schema version %lld, this build knows "
             "%d)",
             (long long)version, STORE_PG_SCHEMA_VERSION);
    store_log_emit(&k->s->base.log, STORE_LOG_ERROR, "open", msg);
    return STORE_ERROR;
}

/* Applies the missing migrations in one transaction under the migration's advisory lock,
 * so that instances started at the same moment apply each one once. A current database is
 * only read. */
static store_err migrate(pg_call *k)
{
    int64_t version;
    store_err err = schema_version(k, &version);
    k->s->schema_at_open = version;
    if (err != STORE_OK || version == STORE_PG_SCHEMA_VERSION)
        return err;
    if (version > STORE_PG_SCHEMA_VERSION)
        return schema_too_new(k, version);
    err = exec_text(k, "BEGIN");
    if (err == STORE_OK)
        err = exec_text(k, "SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_MIGRATE ")");
    if (err == STORE_OK)
        err = exec_text(k, "CREATE TABLE IF NOT EXISTS schema_version ("
                           " version bigint PRIMARY KEY, applied bigint NOT NULL)");
    /* Read again under the lock: another instance may have migrated meanwhile. */
    if (err == STORE_OK)
        err = schema_version(k, &version);
    if (err == STORE_OK && version > STORE_PG_SCHEMA_VERSION)
        err = schema_too_new(k, version);
    for (int64_t v = version; err == STORE_OK && v < STORE_PG_SCHEMA_VERSION; v++) {
        char record[128];
        err = exec_text(k, migrations[v]);
        snprintf(record, sizeof record,
                 "INSERT INTO schema_version (version, applied) VALUES (%lld, %lld)",
                 (long long)v + 1, (long long)now_seconds());
        if (err == STORE_OK)
            err = exec_text(k, record);
    }
    return tx_end(k, err);
}

/* ---------------------------------------------------------------------------------------
 * Maintenance (jwtd db): the schema versions and a round trip; backups are pg_dump's job
 * ------------------------------------------------------------------------------------- */

static store_err check_body(pg_call *k, void *arg)
{
    store_check_report *out = arg;
    store_err err = ping_body(k, NULL);
    if (err == STORE_OK)
        err = schema_version(k, &out->schema);
    return err;
}

static store_err pg_check(store *base, store_check_report *out)
{
    out->schema_at_open = backend(base)->schema_at_open;
    out->schema_latest = STORE_PG_SCHEMA_VERSION;
    store_err err = pg_run(base, "check", NULL, check_body, out);
    snprintf(out->integrity, sizeof out->integrity, "%s",
             err == STORE_OK ? "ok" : "the database did not answer");
    return err;
}

static store_err pg_backup(store *base, const char *path)
{
    (void)path;
    store_log_emit(&base->log, STORE_LOG_ERROR, "backup",
                   "not supported with PostgreSQL: use pg_dump (e.g. pg_dump -Fc DBNAME > FILE)");
    return STORE_UNSUPPORTED;
}

static void pg_close(store *base)
{
    pg_store *s = backend(base);
    for (unsigned i = 0; s->conns != NULL && i < s->npool; i++)
        conn_close(&s->conns[i]);
    if (s->watcher != NULL)
        PQfinish(s->watcher);
    free(s->conns);
    free(s->busy);
    if (s->url != NULL) {
        explicit_bzero(s->url, strlen(s->url));
        free(s->url);
    }
    if (s->password != NULL) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    pthread_cond_destroy(&s->pool_free);
    pthread_mutex_destroy(&s->pool_lock);
    free(s);
}

static const store_ops pg_ops = {
    .name = "postgres",
    .shared = true,
    .close = pg_close,
    .ping = pg_ping,
    .watch = pg_watch,
    .user_create = pg_user_create,
    .user_get_by_id = pg_user_get_by_id,
    .user_get_by_username = pg_user_get_by_username,
    .user_get_by_email = pg_user_get_by_email,
    .user_list = pg_user_list,
    .user_set_password_hash = pg_user_set_password_hash,
    .user_set_roles = pg_user_set_roles,
    .user_set_disabled = pg_user_set_disabled,
    .user_count = pg_user_count,
    .client_create = pg_client_create,
    .client_get = pg_client_get,
    .client_list = pg_client_list,
    .client_set_secret = pg_client_set_secret,
    .client_delete = pg_client_delete,
    .refresh_insert = pg_refresh_insert,
    .refresh_get = pg_refresh_get,
    .refresh_rotate = pg_refresh_rotate,
    .family_revoke = pg_family_revoke,
    .user_families_revoke = pg_user_families_revoke,
    .revocation_add = pg_revocation_add,
    .revocation_list = pg_revocation_list,
    .key_insert = pg_key_insert,
    .key_list = pg_key_list,
    .key_retire = pg_key_retire,
    .key_rotate = pg_key_rotate,
    .audit_add = pg_audit_add,
    .setting_get_or_init = pg_setting_get_or_init,
    .lockout_get = pg_lockout_get,
    .lockout_fail = pg_lockout_fail,
    .lockout_clear = pg_lockout_clear,
    .hits_add = pg_hits_add,
    .prune = pg_prune,
    .check = pg_check,
    .backup = pg_backup,
};

/* Keeps the URL's password (if any) to withhold log messages that would contain it; false
 * when libpq cannot parse the URL (logged without the URL). */
static bool password_note(pg_store *s)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(s->url, &errmsg);
    if (opts == NULL) {
        /* libpq's message quotes the URL, password included. */
        store_log_emit(&s->base.log, STORE_LOG_ERROR, "open",
                       "the connection URL does not parse as a libpq connection URI");
        if (errmsg != NULL)
            explicit_bzero(errmsg, strlen(errmsg));
        PQfreemem(errmsg);
        return false;
    }
    bool ok = true;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0') {
            s->password = strdup(o->val);
            ok = s->password != NULL;
        }
        if (o->val != NULL)
            explicit_bzero(o->val, strlen(o->val));
    }
    PQconninfoFree(opts);
    return ok;
}

/* Opens url (a libpq connection URI: "postgres://..." or "postgresql://..."), connects one
 * connection of the pool and migrates the schema; the others connect on first use. */
store_err store_postgres_open(const char *url, const store_log *log, const store_options *opts,
                              store **out)
{
    pthread_condattr_t attr;

    if (out == NULL)
        return STORE_ERROR;
    *out = NULL;
    if (url == NULL || url[0] == '\0' || strnlen(url, 4097) > 4096) {
        store_log_emit(log, STORE_LOG_ERROR, "open", "a connection URL of 1..4096 bytes");
        return STORE_ERROR;
    }
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return STORE_ERROR;
    s->base.ops = &pg_ops;
    if (log != NULL)
        s->base.log = *log;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->pool_free, &attr);
    pthread_condattr_destroy(&attr);
    s->npool = opts != NULL && opts->pool > 0 ? opts->pool : STORE_PG_POOL_DEFAULT;
    if (s->npool > STORE_PG_POOL_MAX)
        s->npool = STORE_PG_POOL_MAX;
    s->url = strdup(url);
    s->conns = calloc(s->npool, sizeof *s->conns);
    s->busy = calloc(s->npool, sizeof *s->busy);
    if (s->url == NULL || s->conns == NULL || s->busy == NULL) {
        store_log_emit(log, STORE_LOG_ERROR, "open", "out of memory");
        pg_close(&s->base);
        return STORE_ERROR;
    }
    if (!password_note(s)) {
        pg_close(&s->base);
        return STORE_ERROR;
    }

    pg_call k = {s, &s->conns[0], "open", false};
    store_err err = STORE_OK;
    k.c->pg = pg_connect(s, "open");
    if (k.c->pg == NULL)
        err = STORE_UNAVAILABLE;
    if (err == STORE_OK)
        err = migrate(&k);
    if (err == STORE_OK && !conn_prepare(s, k.c))
        err = STORE_ERROR;
    if (err != STORE_OK) {
        pg_close(&s->base);
        return err;
    }
    *out = &s->base;
    return STORE_OK;
}
