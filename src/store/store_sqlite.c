/* The SQLite backend of src/store/store.h: one database file in WAL mode, opened by
 * store_sqlite_open and driven through the const table `sqlite_ops` below. Sections:
 * schema and migrations, statements, connections, error mapping, field codecs, then one
 * section per kind of row (users, refresh tokens, revocations, signing keys, audit).
 * store.c has checked every argument (lengths, roles, times) before a function here runs;
 * errors go to the store's log hook, never to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_backend.h"
#include "store/store_sqlite.h"

/* ---------------------------------------------------------------------------------------
 * Schema and migrations
 *
 * migrations[i] brings a database from version i to i + 1; schema_version holds one row
 * per applied migration. Never edit a released migration: append a new one.
 * Usernames and emails are unique without regard to ASCII case (NOCASE), which is what
 * people expect when they log in; an empty email means "none" and is not unique.
 * roles is the comma-joined list of roles; each role matches [a-z0-9_-]+.
 * A refresh family is one login's chain of rotations; revoking it revokes all its tokens.
 * AUTOINCREMENT: a user id (the tokens' sub) is never handed out twice.
 * ------------------------------------------------------------------------------------- */

static const char *const migrations[] = {
    /* 1: everything. */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  email TEXT NOT NULL DEFAULT '' COLLATE NOCASE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  roles TEXT NOT NULL DEFAULT '',"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX users_email ON users(email) WHERE email <> '';"
    "CREATE TABLE refresh_families ("
    "  family TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX refresh_families_user ON refresh_families(user_id);"
    "CREATE TABLE refresh_tokens ("
    "  jti TEXT PRIMARY KEY,"
    "  family TEXT NOT NULL REFERENCES refresh_families(family),"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  issued INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  spent INTEGER NOT NULL DEFAULT 0,"
    "  replaced_by TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires);"
    "CREATE TABLE revocations ("
    "  id INTEGER PRIMARY KEY,"
    "  jti TEXT NOT NULL DEFAULT '',"
    "  user_id INTEGER NOT NULL DEFAULT 0,"
    "  before INTEGER NOT NULL DEFAULT 0,"
    "  expires INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX revocations_jti ON revocations(jti) WHERE jti <> '';"
    "CREATE INDEX revocations_expires ON revocations(expires);"
    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  alg TEXT NOT NULL,"
    "  private_key TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  retired INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX signing_keys_created ON signing_keys(created);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  user_id INTEGER NOT NULL DEFAULT 0,"
    "  detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_user ON audit(user_id, at);",
    /* 2: what several processes on one database share: settings, the counters of the
     * limits, and a change counter that the watcher polls, bumped by triggers whenever
     * what verification depends on (signing keys, access-token revocations) changes. */
    "CREATE TABLE settings ("
    "  name TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE lockouts ("
    "  key TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL,"
    "  last INTEGER NOT NULL,"
    "  locked_until INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL);"
    "CREATE INDEX lockouts_expires ON lockouts(expires);"
    "CREATE TABLE hits ("
    "  key TEXT NOT NULL,"
    "  win INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (key, win));"
    "CREATE INDEX hits_expires ON hits(expires);"
    "CREATE TABLE changes ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL);"
    "INSERT INTO changes (id, seq) VALUES (1, 0);"
    "CREATE TRIGGER revocations_inserted AFTER INSERT ON revocations"
    " BEGIN UPDATE changes SET seq = seq + 1; END;"
    "CREATE TRIGGER revocations_updated AFTER UPDATE ON revocations"
    " BEGIN UPDATE changes SET seq = seq + 1; END;"
    "CREATE TRIGGER signing_keys_inserted AFTER INSERT ON signing_keys"
    " BEGIN UPDATE changes SET seq = seq + 1; END;"
    "CREATE TRIGGER signing_keys_updated AFTER UPDATE ON signing_keys"
    " BEGIN UPDATE changes SET seq = seq + 1; END;",
    /* 3: machine clients. Names compare exactly (BINARY), as RFC 6749's client_id does;
     * AUTOINCREMENT: an id is never handed out twice. */
    "CREATE TABLE clients ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  secret_hash TEXT NOT NULL,"
    "  roles TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SQLITE_SCHEMA_VERSION,
               "STORE_SQLITE_SCHEMA_VERSION counts the migrations");

/* ---------------------------------------------------------------------------------------
 * Statements: every query the backend runs, prepared once per connection and cached.
 * ------------------------------------------------------------------------------------- */

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
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
    ST_REFRESH_SPEND,
    ST_PURGE_REFRESH,
    ST_PURGE_FAMILIES,
    ST_PURGE_REVOCATIONS,
    ST_REVOCATION_INSERT,
    ST_REVOCATION_LIST,
    ST_KEY_INSERT,
    ST_KEY_LIST,
    ST_KEY_RETIRE,
    ST_KEY_NEWEST,
    ST_KEY_RETIRE_OTHERS,
    ST_AUDIT_INSERT,
    ST_SETTING_INSERT,
    ST_SETTING_GET,
    ST_LOCKOUT_GET,
    ST_LOCKOUT_PUT,
    ST_LOCKOUT_CLEAR,
    ST_HITS_ADD,
    ST_PRUNE_HITS,
    ST_PRUNE_LOCKOUTS,
    ST_CHANGES_SEQ,
    ST_PING,
    ST_COUNT
};

#define USER_COLUMNS "id, username, email, name, password_hash, roles, disabled, created, updated"
#define CLIENT_COLUMNS "id, name, secret_hash, roles, created, updated"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_USER_INSERT] = "INSERT INTO users (username, email, name, password_hash, roles, disabled,"
                       " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    [ST_USER_BY_ID] = "SELECT " USER_COLUMNS " FROM users WHERE id = ?1",
    [ST_USER_BY_USERNAME] = "SELECT " USER_COLUMNS " FROM users WHERE username = ?1",
    [ST_USER_BY_EMAIL] = "SELECT " USER_COLUMNS " FROM users WHERE email = ?1 AND email <> ''",
    [ST_USER_LIST] = "SELECT " USER_COLUMNS " FROM users WHERE id > ?1 ORDER BY id LIMIT ?2",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_USER_SET_HASH] = "UPDATE users SET password_hash = ?2, updated = ?3 WHERE id = ?1",
    [ST_USER_SET_ROLES] = "UPDATE users SET roles = ?2, updated = ?3 WHERE id = ?1",
    [ST_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2, updated = ?3 WHERE id = ?1",
    [ST_CLIENT_INSERT] = "INSERT INTO clients (name, secret_hash, roles, created, updated)"
                         " VALUES (?1, ?2, ?3, ?4, ?4)",
    [ST_CLIENT_GET] = "SELECT " CLIENT_COLUMNS " FROM clients WHERE name = ?1",
    [ST_CLIENT_LIST] = "SELECT " CLIENT_COLUMNS " FROM clients ORDER BY name",
    [ST_CLIENT_SET_SECRET] = "UPDATE clients SET secret_hash = ?2, updated = ?3 WHERE name = ?1",
    [ST_CLIENT_DELETE] = "DELETE FROM clients WHERE name = ?1",
    [ST_FAMILY_INSERT] = "INSERT INTO refresh_families (family, user_id, created)"
                         " VALUES (?1, ?2, ?3) ON CONFLICT (family) DO NOTHING",
    [ST_FAMILY_OWNER] = "SELECT user_id FROM refresh_families WHERE family = ?1",
    [ST_FAMILY_REVOKE] = "UPDATE refresh_families SET revoked = 1 WHERE family = ?1",
    [ST_USER_FAMILIES_REVOKE] =
        "UPDATE refresh_families SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
    [ST_REFRESH_INSERT] = "INSERT INTO refresh_tokens (jti, family, user_id, issued, expires,"
                          " spent, replaced_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_REFRESH_GET] = "SELECT t.jti, t.family, t.user_id, t.issued, t.expires, t.spent,"
                       " t.replaced_by, f.revoked FROM refresh_tokens t"
                       " JOIN refresh_families f ON f.family = t.family WHERE t.jti = ?1",
    [ST_REFRESH_SPEND] =
        "UPDATE refresh_tokens SET spent = ?2, replaced_by = ?3 WHERE jti = ?1 AND spent = 0",
    [ST_PURGE_REFRESH] = "DELETE FROM refresh_tokens WHERE expires < ?1",
    [ST_PURGE_FAMILIES] = "DELETE FROM refresh_families WHERE NOT EXISTS (SELECT 1 FROM"
                          " refresh_tokens t WHERE t.family = refresh_families.family)",
    [ST_PURGE_REVOCATIONS] = "DELETE FROM revocations WHERE expires < ?1",
    [ST_REVOCATION_INSERT] = "INSERT INTO revocations (jti, user_id, before, expires)"
                             " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jti) WHERE jti <> ''"
                             " DO UPDATE SET expires = max(expires, excluded.expires)",
    [ST_REVOCATION_LIST] = "SELECT jti, user_id, before, expires FROM revocations"
                           " WHERE expires > ?1 ORDER BY id",
    [ST_KEY_INSERT] = "INSERT INTO signing_keys (kid, alg, private_key, created, retired)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_KEY_LIST] = "SELECT kid, alg, private_key, created, retired FROM signing_keys"
                    " ORDER BY created, rowid",
    [ST_KEY_RETIRE] = "UPDATE signing_keys SET retired = CASE WHEN retired = 0 OR retired > ?2"
                      " THEN ?2 ELSE retired END WHERE kid = ?1",
    [ST_KEY_NEWEST] = "SELECT kid FROM signing_keys ORDER BY created DESC, rowid DESC LIMIT 1",
    [ST_KEY_RETIRE_OTHERS] = "UPDATE signing_keys SET retired = ?2"
                             " WHERE kid <> ?1 AND (retired = 0 OR retired > ?2)",
    [ST_SETTING_INSERT] =
        "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    [ST_SETTING_GET] = "SELECT value FROM settings WHERE name = ?1",
    [ST_LOCKOUT_GET] = "SELECT failures, last, locked_until FROM lockouts WHERE key = ?1",
    [ST_LOCKOUT_PUT] = "INSERT INTO lockouts (key, failures, last, locked_until, expires)"
                       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET"
                       " failures = excluded.failures, last = excluded.last,"
                       " locked_until = excluded.locked_until, expires = excluded.expires",
    [ST_LOCKOUT_CLEAR] = "DELETE FROM lockouts WHERE key = ?1",
    [ST_HITS_ADD] = "INSERT INTO hits (key, win, count, expires) VALUES (?1, ?2, 1, ?3)"
                    " ON CONFLICT (key, win) DO UPDATE SET count = count + 1,"
                    " expires = max(expires, excluded.expires) RETURNING count",
    [ST_PRUNE_HITS] = "DELETE FROM hits WHERE expires <= ?1",
    [ST_PRUNE_LOCKOUTS] = "DELETE FROM lockouts WHERE expires <= ?1",
    [ST_CHANGES_SEQ] = "SELECT seq FROM changes WHERE id = 1",
    [ST_PING] = "SELECT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (at, kind, user_id, detail) VALUES (?1, ?2, ?3, ?4)",
};

/* ---------------------------------------------------------------------------------------
 * Connections
 *
 * One writer connection behind write_lock, and STORE_SQLITE_READERS reader connections
 * handed out from a pool. Writers queue on a mutex instead of on SQLite's file lock, whose
 * busy handler sleeps 1-100 ms between retries; readers never wait for a writer (WAL).
 * Measured on this 2-core machine (8 threads for 3 s on a 200-user file, against a variant
 * where every call shares the writer connection under its mutex): with 4 threads reading by
 * username while 4 insert refresh tokens, the pool served 370-470k reads/s against 40-60k;
 * with 8 readers 1.2-1.9x; with 8 writers the same 6-9k writes/s. A thread per connection
 * (pthread_key) would add nothing over the pool but unbounded connections and a close that
 * races thread exit. Each connection is used by one thread at a time, so it is opened with
 * SQLITE_OPEN_NOMUTEX. Reader connections set query_only, so a slip cannot write there.
 *
 * Durability: synchronous=NORMAL in WAL mode writes each commit to the WAL file before
 * the call returns, without an fsync; the kernel keeps those pages when the process dies
 * (kill -9, crash), so only a power loss or kernel crash can lose the last commits. FULL
 * would fsync on every commit (a registration or a refresh) for that one case.
 * ------------------------------------------------------------------------------------- */

typedef struct conn {
    sqlite3 *db;
    const store_log *log;          /* the store's hook */
    sqlite3_stmt *stmts[ST_COUNT]; /* prepared on first use */
} conn;

typedef struct sqlite_store {
    store base; /* first, so a store * is a sqlite_store * */
    pthread_mutex_t write_lock;
    conn writer;
    unsigned refresh_inserts; /* under write_lock: when to purge */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    bool reader_busy[STORE_SQLITE_READERS]; /* under pool_lock */
    conn readers[STORE_SQLITE_READERS];
    conn watcher;        /* store_watch's own connection, opened on its first call */
    int64_t watch_seq;   /* the change counter it last saw; -1: none yet */
    char path[PATH_MAX]; /* for the watcher's connection */
    int flags;
    int64_t schema_at_open; /* the schema version migrate found (store_check) */
} sqlite_store;

static void log_msg(const conn *c, const char *what, const char *msg)
{
    store_log_emit(c->log, STORE_LOG_ERROR, what, msg);
}

/* The cached statement id of c, reset and unbound after its last use; NULL if it does not
 * prepare (logged). */
static sqlite3_stmt *stmt(conn *c, enum stmt_id id)
{
    if (c->stmts[id] == NULL) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            log_msg(c, "prepare", sqlite3_errmsg(c->db));
            c->stmts[id] = NULL;
            return NULL;
        }
    }
    return c->stmts[id];
}

/* Readies st for its next use and releases what it holds (locks, bound values). */
static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static conn *writer_acquire(sqlite_store *s)
{
    pthread_mutex_lock(&s->write_lock);
    return &s->writer;
}

static void writer_release(sqlite_store *s) { pthread_mutex_unlock(&s->write_lock); }

static conn *reader_acquire(sqlite_store *s)
{
    pthread_mutex_lock(&s->pool_lock);
    for (;;) {
        for (size_t i = 0; i < STORE_SQLITE_READERS; i++) {
            if (!s->reader_busy[i]) {
                s->reader_busy[i] = true;
                pthread_mutex_unlock(&s->pool_lock);
                return &s->readers[i];
            }
        }
        pthread_cond_wait(&s->pool_free, &s->pool_lock);
    }
}

static void reader_release(sqlite_store *s, conn *c)
{
    pthread_mutex_lock(&s->pool_lock);
    s->reader_busy[c - s->readers] = false;
    pthread_cond_signal(&s->pool_free);
    pthread_mutex_unlock(&s->pool_lock);
}

static void conn_close(conn *c)
{
    for (size_t i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    memset(c->stmts, 0, sizeof c->stmts);
    sqlite3_close(c->db);
    c->db = NULL;
}

/* ---------------------------------------------------------------------------------------
 * Error mapping: the one place where SQLite result codes become store_err.
 * ------------------------------------------------------------------------------------- */

/* The store_err for a failed SQLite call rc on c, logged unless it is an expected outcome
 * (a taken unique key, a missing referenced row). SQLite's messages name tables and
 * columns, never values, so no secret reaches the log. */
static store_err map_rc(conn *c, int rc, const char *what)
{
    store_err err = STORE_ERROR;

    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return STORE_OK;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return STORE_CONFLICT;
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return STORE_NOT_FOUND; /* the user (or family) it refers to does not exist */
        break;
    /* Conditions of the machine, not of the data: a full disk (SQLITE_FULL), a file or file
     * system turned read-only (SQLITE_READONLY_*, or SQLITE_IOERR_WRITE for EROFS), any I/O
     * error (every SQLITE_IOERR_* extended code), a file that cannot be opened now, a lock
     * held past the busy timeout. The caller answers 503 and the next call tries again:
     * tests/faults proves that the server recovers by itself once the condition ends. */
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR: err = STORE_UNAVAILABLE; break;
    default: break;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "%s (%s, code %d)", sqlite3_errmsg(c->db), store_err_name(err), rc);
    store_log_emit(c->log, err == STORE_UNAVAILABLE ? STORE_LOG_WARN : STORE_LOG_ERROR, what, msg);
    return err;
}

/* Runs the cached statement id of c that takes no parameters and returns no rows. */
static store_err exec_stmt(conn *c, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(c, id);
    if (st == NULL)
        return STORE_ERROR;
    int rc = sqlite3_step(st);
    stmt_done(st);
    return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, stmt_sql[id]);
}

/* Ends the transaction of c: commits when err is STORE_OK (the commit's own failure is
 * returned), else rolls back. A COMMIT that fails with SQLITE_FULL or SQLITE_IOERR leaves the
 * transaction open (SQLite keeps it so that the caller may retry): the ROLLBACK after any
 * failure is what keeps the writer connection usable; without it every later BEGIN would
 * fail with "cannot start a transaction within a transaction" (tests/faults shows it). */
static store_err tx_end(conn *c, store_err err)
{
    if (err == STORE_OK)
        err = exec_stmt(c, ST_COMMIT);
    if (!sqlite3_get_autocommit(c->db))
        exec_stmt(c, ST_ROLLBACK);
    return err;
}

/* Chains sqlite3_bind_* calls: the first failure sticks in rc. */
#define BIND(rc, call)                                                                             \
    do {                                                                                           \
        if ((rc) == SQLITE_OK)                                                                     \
            (rc) = (call);                                                                         \
    } while (0)

static int bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* Binds nothing more and runs st, which returns no rows; *changes gets the rows it changed.
 * rc is the result of the binds before. */
static store_err step_done(conn *c, sqlite3_stmt *st, int rc, const char *what, int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    stmt_done(st);
    if (changes != NULL)
        *changes = rc == SQLITE_DONE ? sqlite3_changes(c->db) : 0;
    return rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, what);
}

/* ---------------------------------------------------------------------------------------
 * Field codecs: bounded copies between C strings and columns (the roles list: store.c).
 * ------------------------------------------------------------------------------------- */

/* Copies text column col of st into dst (cap bytes with the NUL); false when it does not
 * fit, which only a database written by something else can cause. */
static bool column_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n >= cap)
        return false;
    if (n > 0)
        memcpy(dst, text, n);
    dst[n] = '\0';
    return true;
}

/* ---------------------------------------------------------------------------------------
 * Users
 * ------------------------------------------------------------------------------------- */

static sqlite_store *backend(store *s) { return (sqlite_store *)s; }

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

/* Fills u from a row of USER_COLUMNS. */
static store_err user_from_row(const conn *c, sqlite3_stmt *st, store_user *u)
{
    char roles[STORE_ROLES_TEXT];

    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    if (!column_copy(st, 1, u->username, sizeof u->username) ||
        !column_copy(st, 2, u->email, sizeof u->email) ||
        !column_copy(st, 3, u->name, sizeof u->name) ||
        !column_copy(st, 4, u->password_hash, sizeof u->password_hash) ||
        !column_copy(st, 5, roles, sizeof roles) ||
        !store_roles_split(roles, u->roles, &u->nroles)) {
        log_msg(c, "users", "a stored row does not fit the store_user limits");
        return STORE_ERROR;
    }
    u->disabled = sqlite3_column_int64(st, 6) != 0;
    u->created = sqlite3_column_int64(st, 7);
    u->updated = sqlite3_column_int64(st, 8);
    return STORE_OK;
}

/* Runs a one-row user query (its key bound in rc's binds) into out. */
static store_err user_query_one(conn *c, sqlite3_stmt *st, int rc, store_user *out)
{
    store_err err;

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = user_from_row(c, st, out);
    else if (rc == SQLITE_DONE)
        err = STORE_NOT_FOUND;
    else
        err = map_rc(c, rc, "user lookup");
    stmt_done(st);
    return err;
}

/* Looks a user up by the text key bound to statement id (username or email). */
static store_err user_get_by_text(store *base, enum stmt_id id, const char *key, store_user *out)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, id);
    store_err err = STORE_ERROR;
    if (st != NULL)
        err = user_query_one(c, st, bind_text(st, 1, key), out);
    reader_release(s, c);
    return err;
}

static store_err sq_user_create(store *base, store_user *u)
{
    char roles[STORE_ROLES_TEXT];

    store_roles_join((const char(*)[STORE_MAX_ROLE + 1]) u->roles, u->nroles, roles);

    sqlite_store *s = backend(base);
    int64_t now = now_seconds();
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_INSERT);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, u->username);
        BIND(rc, bind_text(st, 2, u->email));
        BIND(rc, bind_text(st, 3, u->name));
        BIND(rc, bind_text(st, 4, u->password_hash));
        BIND(rc, bind_text(st, 5, roles));
        BIND(rc, sqlite3_bind_int(st, 6, u->disabled ? 1 : 0));
        BIND(rc, sqlite3_bind_int64(st, 7, now));
        err = step_done(c, st, rc, "user_create", NULL);
        if (err == STORE_OK) {
            u->id = sqlite3_last_insert_rowid(c->db);
            u->created = u->updated = now;
        }
    }
    writer_release(s);
    return err;
}

static store_err sq_user_get_by_id(store *base, int64_t id, store_user *out)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_BY_ID);
    store_err err = STORE_ERROR;
    if (st != NULL)
        err = user_query_one(c, st, sqlite3_bind_int64(st, 1, id), out);
    reader_release(s, c);
    return err;
}

static store_err sq_user_get_by_username(store *base, const char *username, store_user *out)
{
    return user_get_by_text(base, ST_USER_BY_USERNAME, username, out);
}

static store_err sq_user_get_by_email(store *base, const char *email, store_user *out)
{
    return user_get_by_text(base, ST_USER_BY_EMAIL, email, out);
}

/* Counts the users with reader c (inside the caller's transaction, if any). */
static store_err user_count_on(conn *c, size_t *count)
{
    sqlite3_stmt *st = stmt(c, ST_USER_COUNT);
    if (st == NULL)
        return STORE_ERROR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (size_t)sqlite3_column_int64(st, 0);
    stmt_done(st);
    return rc == SQLITE_ROW ? STORE_OK : map_rc(c, rc, "user_count");
}

/* Streams the page of users after after_id to cb (see user_list). */
static store_err user_page_on(conn *c, int64_t after_id, size_t limit, store_user_cb cb, void *ctx)
{
    sqlite3_stmt *st = stmt(c, ST_USER_LIST);
    if (st == NULL)
        return STORE_ERROR;
    store_user *u = malloc(sizeof *u);
    if (u == NULL) {
        log_msg(c, "user_list", "out of memory");
        return STORE_ERROR;
    }
    int64_t lim = limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
    int rc = sqlite3_bind_int64(st, 1, after_id);
    BIND(rc, sqlite3_bind_int64(st, 2, lim));
    store_err err = STORE_OK;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        err = user_from_row(c, st, u);
        if (err != STORE_OK || !cb(ctx, u))
            break;
    }
    if (err == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = map_rc(c, rc, "user_list");
    stmt_done(st);
    free(u);
    return err;
}

/* Callbacks run while a connection is held: they must not call the store. */
static store_err sq_user_list(store *base, int64_t after_id, size_t limit, store_user_cb cb,
                              void *ctx, size_t *total)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    /* One read transaction, so the total and the page agree. */
    store_err err = exec_stmt(c, ST_BEGIN);
    if (err == STORE_OK && total != NULL)
        err = user_count_on(c, total);
    if (err == STORE_OK)
        err = user_page_on(c, after_id, limit, cb, ctx);
    err = tx_end(c, err);
    reader_release(s, c);
    return err;
}

/* Runs an UPDATE of one user (id bound as ?1, the value as ?2 by the caller, updated = now
 * as ?3): STORE_NOT_FOUND when no user has that id. */
static store_err user_update(sqlite_store *s, conn *c, sqlite3_stmt *st, int rc, int64_t id,
                             const char *what)
{
    int changes = 0;
    BIND(rc, sqlite3_bind_int64(st, 1, id));
    BIND(rc, sqlite3_bind_int64(st, 3, now_seconds()));
    store_err err = step_done(c, st, rc, what, &changes);
    writer_release(s);
    return err == STORE_OK && changes == 0 ? STORE_NOT_FOUND : err;
}

static store_err sq_user_set_password_hash(store *base, int64_t id, const char *hash)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_SET_HASH);
    if (st == NULL) {
        writer_release(s);
        return STORE_ERROR;
    }
    return user_update(s, c, st, bind_text(st, 2, hash), id, "user_set_password_hash");
}

static store_err sq_user_set_roles(store *base, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                                   size_t nroles)
{
    char text[STORE_ROLES_TEXT];

    store_roles_join(roles, nroles, text);
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_SET_ROLES);
    if (st == NULL) {
        writer_release(s);
        return STORE_ERROR;
    }
    return user_update(s, c, st, bind_text(st, 2, text), id, "user_set_roles");
}

static store_err sq_user_set_disabled(store *base, int64_t id, bool disabled)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_SET_DISABLED);
    if (st == NULL) {
        writer_release(s);
        return STORE_ERROR;
    }
    return user_update(s, c, st, sqlite3_bind_int(st, 2, disabled ? 1 : 0), id,
                       "user_set_disabled");
}

static store_err sq_user_count(store *base, size_t *count)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    store_err err = user_count_on(c, count);
    reader_release(s, c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Machine clients
 * ------------------------------------------------------------------------------------- */

/* Fills cl from a row of CLIENT_COLUMNS. */
static store_err client_from_row(const conn *c, sqlite3_stmt *st, store_client *cl)
{
    char roles[STORE_ROLES_TEXT];

    memset(cl, 0, sizeof *cl);
    cl->id = sqlite3_column_int64(st, 0);
    if (!column_copy(st, 1, cl->name, sizeof cl->name) ||
        !column_copy(st, 2, cl->secret_hash, sizeof cl->secret_hash) ||
        !column_copy(st, 3, roles, sizeof roles) ||
        !store_roles_split(roles, cl->roles, &cl->nroles)) {
        log_msg(c, "clients", "a stored row does not fit the store_client limits");
        return STORE_ERROR;
    }
    cl->created = sqlite3_column_int64(st, 4);
    cl->updated = sqlite3_column_int64(st, 5);
    return STORE_OK;
}

static store_err sq_client_create(store *base, store_client *cl)
{
    char roles[STORE_ROLES_TEXT];

    store_roles_join((const char(*)[STORE_MAX_ROLE + 1]) cl->roles, cl->nroles, roles);
    sqlite_store *s = backend(base);
    int64_t now = now_seconds();
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_CLIENT_INSERT);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, cl->name);
        BIND(rc, bind_text(st, 2, cl->secret_hash));
        BIND(rc, bind_text(st, 3, roles));
        BIND(rc, sqlite3_bind_int64(st, 4, now));
        err = step_done(c, st, rc, "client_create", NULL);
        if (err == STORE_OK) {
            cl->id = sqlite3_last_insert_rowid(c->db);
            cl->created = cl->updated = now;
        }
    }
    writer_release(s);
    return err;
}

static store_err sq_client_get(store *base, const char *name, store_client *out)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_CLIENT_GET);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, name);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            err = client_from_row(c, st, out);
        else
            err = rc == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c, rc, "client_get");
        stmt_done(st);
    }
    reader_release(s, c);
    return err;
}

/* Callbacks run while a connection is held: they must not call the store. */
static store_err sq_client_list(store *base, store_client_cb cb, void *ctx)
{
    store_client cl;

    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_CLIENT_LIST);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc;
        err = STORE_OK;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            err = client_from_row(c, st, &cl);
            if (err != STORE_OK || !cb(ctx, &cl))
                break;
        }
        if (err == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = map_rc(c, rc, "client_list");
        stmt_done(st);
    }
    reader_release(s, c);
    return err;
}

/* Runs a one-client write (name bound as ?1; the binds before in rc): STORE_NOT_FOUND when
 * no client has that name. */
static store_err client_write(sqlite_store *s, conn *c, sqlite3_stmt *st, int rc, const char *name,
                              const char *what)
{
    int changes = 0;
    BIND(rc, bind_text(st, 1, name));
    store_err err = step_done(c, st, rc, what, &changes);
    writer_release(s);
    return err == STORE_OK && changes == 0 ? STORE_NOT_FOUND : err;
}

static store_err sq_client_set_secret(store *base, const char *name, const char *secret_hash)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_CLIENT_SET_SECRET);
    if (st == NULL) {
        writer_release(s);
        return STORE_ERROR;
    }
    int rc = bind_text(st, 2, secret_hash);
    BIND(rc, sqlite3_bind_int64(st, 3, now_seconds()));
    return client_write(s, c, st, rc, name, "client_set_secret");
}

static store_err sq_client_delete(store *base, const char *name)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_CLIENT_DELETE);
    if (st == NULL) {
        writer_release(s);
        return STORE_ERROR;
    }
    return client_write(s, c, st, SQLITE_OK, name, "client_delete");
}

/* ---------------------------------------------------------------------------------------
 * Refresh tokens and their families
 * ------------------------------------------------------------------------------------- */

/* Reads the token jti with its family's revoked flag into out. */
static store_err refresh_read(conn *c, const char *jti, store_refresh *out)
{
    sqlite3_stmt *st = stmt(c, ST_REFRESH_GET);
    if (st == NULL)
        return STORE_ERROR;
    store_err err = STORE_OK;
    int rc = bind_text(st, 1, jti);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->user_id = sqlite3_column_int64(st, 2);
        out->issued = sqlite3_column_int64(st, 3);
        out->expires = sqlite3_column_int64(st, 4);
        out->spent = sqlite3_column_int64(st, 5);
        out->revoked = sqlite3_column_int64(st, 7) != 0;
        if (!column_copy(st, 0, out->jti, sizeof out->jti) ||
            !column_copy(st, 1, out->family, sizeof out->family) ||
            !column_copy(st, 6, out->replaced_by, sizeof out->replaced_by)) {
            log_msg(c, "refresh_tokens", "a stored row does not fit the store_refresh limits");
            err = STORE_ERROR;
        }
    } else if (rc == SQLITE_DONE) {
        err = STORE_NOT_FOUND;
    } else {
        err = map_rc(c, rc, "refresh lookup");
    }
    stmt_done(st);
    return err;
}

/* Inserts the row of token r (its family must exist). */
static store_err refresh_row_insert(conn *c, const store_refresh *r)
{
    sqlite3_stmt *st = stmt(c, ST_REFRESH_INSERT);
    if (st == NULL)
        return STORE_ERROR;
    int rc = bind_text(st, 1, r->jti);
    BIND(rc, bind_text(st, 2, r->family));
    BIND(rc, sqlite3_bind_int64(st, 3, r->user_id));
    BIND(rc, sqlite3_bind_int64(st, 4, r->issued));
    BIND(rc, sqlite3_bind_int64(st, 5, r->expires));
    BIND(rc, sqlite3_bind_int64(st, 6, r->spent));
    BIND(rc, bind_text(st, 7, r->replaced_by));
    return step_done(c, st, rc, "refresh_insert", NULL);
}

/* Creates r's family unless it exists; STORE_CONFLICT when it belongs to another user. */
static store_err family_ensure(conn *c, const store_refresh *r)
{
    sqlite3_stmt *st = stmt(c, ST_FAMILY_INSERT);
    if (st == NULL)
        return STORE_ERROR;
    int rc = bind_text(st, 1, r->family);
    BIND(rc, sqlite3_bind_int64(st, 2, r->user_id));
    BIND(rc, sqlite3_bind_int64(st, 3, r->issued));
    store_err err = step_done(c, st, rc, "refresh_insert family", NULL);
    if (err != STORE_OK)
        return err;

    st = stmt(c, ST_FAMILY_OWNER);
    if (st == NULL)
        return STORE_ERROR;
    rc = bind_text(st, 1, r->family);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = sqlite3_column_int64(st, 0) == r->user_id ? STORE_OK : STORE_CONFLICT;
    else
        err = map_rc(c, rc, "refresh_insert family owner");
    stmt_done(st);
    return err;
}

/* Deletes what expired before cutoff: refresh tokens, families left without tokens and
 * revocations. Runs on the writer, in its own transaction. */
static store_err purge_expired(conn *c, int64_t cutoff)
{
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    sqlite3_stmt *st;

    if (err == STORE_OK) {
        st = stmt(c, ST_PURGE_REFRESH);
        err = st == NULL ? STORE_ERROR
                         : step_done(c, st, sqlite3_bind_int64(st, 1, cutoff), "purge", NULL);
    }
    if (err == STORE_OK)
        err = exec_stmt(c, ST_PURGE_FAMILIES);
    if (err == STORE_OK) {
        st = stmt(c, ST_PURGE_REVOCATIONS);
        err = st == NULL ? STORE_ERROR
                         : step_done(c, st, sqlite3_bind_int64(st, 1, cutoff), "purge", NULL);
    }
    return tx_end(c, err);
}

/* Inserts r, creating its family on first use. r->revoked is ignored: it is the family's
 * state. Every STORE_SQLITE_PURGE_EVERY inserts, expired rows are purged (by r->issued, the
 * caller's clock); a failed purge is logged and does not fail the insert. */
static store_err sq_refresh_insert(store *base, const store_refresh *r)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    if (err == STORE_OK)
        err = family_ensure(c, r);
    if (err == STORE_OK)
        err = refresh_row_insert(c, r);
    err = tx_end(c, err);
    if (err == STORE_OK && ++s->refresh_inserts % STORE_SQLITE_PURGE_EVERY == 0)
        purge_expired(c, r->issued - STORE_SQLITE_PURGE_AGE);
    writer_release(s);
    return err;
}

static store_err sq_refresh_get(store *base, const char *jti, store_refresh *out)
{
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    store_err err = refresh_read(c, jti, out);
    reader_release(s, c);
    return err;
}

/* Marks old_jti spent at now, replaced by next_jti. */
static store_err refresh_spend(conn *c, const char *old_jti, int64_t now, const char *next_jti)
{
    sqlite3_stmt *st = stmt(c, ST_REFRESH_SPEND);
    if (st == NULL)
        return STORE_ERROR;
    int changes = 0;
    int rc = bind_text(st, 1, old_jti);
    BIND(rc, sqlite3_bind_int64(st, 2, now));
    BIND(rc, bind_text(st, 3, next_jti));
    store_err err = step_done(c, st, rc, "refresh_rotate", &changes);
    /* The row was read unspent in this same transaction. */
    return err == STORE_OK && changes != 1 ? STORE_ERROR : err;
}

/* The whole check-spend-insert runs under BEGIN IMMEDIATE, which takes the database's write
 * lock before the read: of two rotations of one token (here or in another process), the
 * second reads it spent. */
static store_err sq_refresh_rotate(store *base, const char *old_jti, int64_t now,
                                   const store_refresh *next, store_refresh *current)
{
    store_refresh old;

    memset(&old, 0, sizeof old);
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    if (err == STORE_OK)
        err = refresh_read(c, old_jti, &old);
    bool found = err == STORE_OK;
    if (err == STORE_OK && (old.spent != 0 || old.revoked)) {
        err = STORE_CONFLICT;
    } else if (err == STORE_OK &&
               (strcmp(old.family, next->family) != 0 || old.user_id != next->user_id)) {
        log_msg(c, "refresh_rotate", "the next token is not of the same family and user");
        err = STORE_ERROR;
    }
    if (err == STORE_OK)
        err = refresh_spend(c, old_jti, now, next->jti);
    if (err == STORE_OK)
        err = refresh_row_insert(c, next);
    err = tx_end(c, err);
    writer_release(s);
    if (current != NULL && found) {
        if (err == STORE_OK) {
            old.spent = now;
            memcpy(old.replaced_by, next->jti, strlen(next->jti) + 1);
        }
        *current = old;
    }
    return err;
}

static store_err sq_family_revoke(store *base, const char *family)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_FAMILY_REVOKE);
    store_err err = STORE_ERROR;
    int changes = 0;
    if (st != NULL)
        err = step_done(c, st, bind_text(st, 1, family), "family_revoke", &changes);
    writer_release(s);
    return err == STORE_OK && changes == 0 ? STORE_NOT_FOUND : err;
}

/* Revokes every family of the user; STORE_OK also when there is none. */
static store_err sq_user_families_revoke(store *base, int64_t user_id)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_USER_FAMILIES_REVOKE);
    store_err err = STORE_ERROR;
    if (st != NULL)
        err = step_done(c, st, sqlite3_bind_int64(st, 1, user_id), "user_families_revoke", NULL);
    writer_release(s);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Access-token revocations
 * ------------------------------------------------------------------------------------- */

/* Adding the same jti twice keeps one row with the later expiry. */
static store_err sq_revocation_add(store *base, const store_revocation *r)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_REVOCATION_INSERT);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, r->jti);
        BIND(rc, sqlite3_bind_int64(st, 2, r->user_id));
        BIND(rc, sqlite3_bind_int64(st, 3, r->before));
        BIND(rc, sqlite3_bind_int64(st, 4, r->expires));
        err = step_done(c, st, rc, "revocation_add", NULL);
    }
    writer_release(s);
    return err;
}

/* Callbacks run while a connection is held: they must not call the store. */
static store_err sq_revocation_list(store *base, int64_t now, store_revocation_cb cb, void *ctx)
{
    store_revocation r;

    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_REVOCATION_LIST);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = sqlite3_bind_int64(st, 1, now);
        err = STORE_OK;
        while (rc == SQLITE_OK || rc == SQLITE_ROW) {
            rc = sqlite3_step(st);
            if (rc != SQLITE_ROW)
                break;
            memset(&r, 0, sizeof r);
            r.user_id = sqlite3_column_int64(st, 1);
            r.before = sqlite3_column_int64(st, 2);
            r.expires = sqlite3_column_int64(st, 3);
            if (!column_copy(st, 0, r.jti, sizeof r.jti)) {
                log_msg(c, "revocations", "a stored jti is too long");
                err = STORE_ERROR;
                break;
            }
            if (!cb(ctx, &r))
                break;
        }
        if (err == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = map_rc(c, rc, "revocation_list");
        stmt_done(st);
    }
    reader_release(s, c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Signing keys. The private keys rest in this file, which is created 0600.
 * ------------------------------------------------------------------------------------- */

static store_err sq_key_insert(store *base, const store_signing_key *k)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_KEY_INSERT);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, k->kid);
        BIND(rc, bind_text(st, 2, k->alg));
        BIND(rc, bind_text(st, 3, k->private_key));
        BIND(rc, sqlite3_bind_int64(st, 4, k->created));
        BIND(rc, sqlite3_bind_int64(st, 5, k->retired));
        err = step_done(c, st, rc, "key_insert", NULL);
    }
    writer_release(s);
    return err;
}

/* Streams the keys, oldest first, through one heap record that is wiped before it is
 * freed. Callbacks run while a connection is held: they must not call the store. */
static store_err sq_key_list(store *base, store_key_cb cb, void *ctx)
{
    sqlite_store *s = backend(base);
    store_signing_key *k = malloc(sizeof *k);
    if (k == NULL) {
        store_log_emit(&base->log, STORE_LOG_ERROR, "key_list", "out of memory");
        return STORE_ERROR;
    }
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_KEY_LIST);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc;
        err = STORE_OK;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            memset(k, 0, sizeof *k);
            k->created = sqlite3_column_int64(st, 3);
            k->retired = sqlite3_column_int64(st, 4);
            if (!column_copy(st, 0, k->kid, sizeof k->kid) ||
                !column_copy(st, 1, k->alg, sizeof k->alg) ||
                !column_copy(st, 2, k->private_key, sizeof k->private_key)) {
                log_msg(c, "signing_keys",
                        "a stored row does not fit the store_signing_key limits");
                err = STORE_ERROR;
                break;
            }
            if (!cb(ctx, k))
                break;
        }
        if (err == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = map_rc(c, rc, "key_list");
        stmt_done(st);
    }
    reader_release(s, c);
    explicit_bzero(k, sizeof *k);
    free(k);
    return err;
}

/* A key retiring earlier keeps its time; one retiring later retires at `when`. */
static store_err sq_key_retire(store *base, const char *kid, int64_t when)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_KEY_RETIRE);
    store_err err = STORE_ERROR;
    int changes = 0;
    if (st != NULL) {
        int rc = bind_text(st, 1, kid);
        BIND(rc, sqlite3_bind_int64(st, 2, when));
        err = step_done(c, st, rc, "key_retire", &changes);
    }
    writer_release(s);
    return err == STORE_OK && changes == 0 ? STORE_NOT_FOUND : err;
}

/* The rotation runs under BEGIN IMMEDIATE, the database's write lock: of two processes
 * rotating from the same newest key, the second reads the first one's key as newest. */
static store_err sq_key_rotate(store *base, const store_signing_key *next,
                               const char *expect_newest, int64_t retire_at)
{
    char newest[STORE_MAX_KID + 1] = "";
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    sqlite3_stmt *st;

    if (err == STORE_OK && expect_newest != NULL) {
        st = stmt(c, ST_KEY_NEWEST);
        err = STORE_ERROR;
        if (st != NULL) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW)
                err = column_copy(st, 0, newest, sizeof newest) ? STORE_OK : STORE_ERROR;
            else
                err = map_rc(c, rc, "key_rotate");
            stmt_done(st);
        }
        if (err == STORE_OK && strcmp(newest, expect_newest) != 0)
            err = STORE_CONFLICT;
    }
    if (err == STORE_OK && (st = stmt(c, ST_KEY_INSERT)) != NULL) {
        int rc = bind_text(st, 1, next->kid);
        BIND(rc, bind_text(st, 2, next->alg));
        BIND(rc, bind_text(st, 3, next->private_key));
        BIND(rc, sqlite3_bind_int64(st, 4, next->created));
        BIND(rc, sqlite3_bind_int64(st, 5, next->retired));
        err = step_done(c, st, rc, "key_rotate insert", NULL);
    } else if (err == STORE_OK) {
        err = STORE_ERROR;
    }
    if (err == STORE_OK && (st = stmt(c, ST_KEY_RETIRE_OTHERS)) != NULL) {
        int rc = bind_text(st, 1, next->kid);
        BIND(rc, sqlite3_bind_int64(st, 2, retire_at));
        err = step_done(c, st, rc, "key_rotate retire", NULL);
    } else if (err == STORE_OK) {
        err = STORE_ERROR;
    }
    err = tx_end(c, err);
    writer_release(s);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Audit events
 * ------------------------------------------------------------------------------------- */

static store_err sq_audit_add(store *base, const char *kind, int64_t user_id, const char *detail)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_AUDIT_INSERT);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = sqlite3_bind_int64(st, 1, now_seconds());
        BIND(rc, bind_text(st, 2, kind));
        BIND(rc, sqlite3_bind_int64(st, 3, user_id));
        BIND(rc, bind_text(st, 4, detail));
        err = step_done(c, st, rc, "audit_add", NULL);
    }
    writer_release(s);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Settings and the counters of the limits
 * ------------------------------------------------------------------------------------- */

/* Reads the one text column of the row st returns into out; STORE_NOT_FOUND: no row. */
static store_err read_text(conn *c, sqlite3_stmt *st, int rc, const char *what, char *out,
                           size_t len)
{
    store_err err;

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        err = column_copy(st, 0, out, len) ? STORE_OK : STORE_ERROR;
        if (err != STORE_OK)
            log_msg(c, what, "the stored value does not fit");
    } else {
        err = rc == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c, rc, what);
    }
    stmt_done(st);
    return err;
}

static store_err sq_setting_get_or_init(store *base, const char *name, const char *value_if_new,
                                        char *out, size_t len)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    sqlite3_stmt *st;

    if (err == STORE_OK) {
        st = stmt(c, ST_SETTING_INSERT);
        if (st == NULL) {
            err = STORE_ERROR;
        } else {
            int rc = bind_text(st, 1, name);
            BIND(rc, bind_text(st, 2, value_if_new));
            err = step_done(c, st, rc, "setting_get_or_init", NULL);
        }
    }
    if (err == STORE_OK) {
        st = stmt(c, ST_SETTING_GET);
        err = st == NULL
                  ? STORE_ERROR
                  : read_text(c, st, bind_text(st, 1, name), "setting_get_or_init", out, len);
        if (err == STORE_NOT_FOUND) /* inserted or present a moment ago, in this transaction */
            err = STORE_ERROR;
    }
    err = tx_end(c, err);
    writer_release(s);
    return err;
}

/* The row of key: failures, last failure, lock end; all 0 when there is none. */
static store_err lockout_read(conn *c, const char *key, int64_t *failures, int64_t *last,
                              int64_t *until)
{
    sqlite3_stmt *st = stmt(c, ST_LOCKOUT_GET);
    store_err err;

    *failures = *last = *until = 0;
    if (st == NULL)
        return STORE_ERROR;
    int rc = bind_text(st, 1, key);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *failures = sqlite3_column_int64(st, 0);
        *last = sqlite3_column_int64(st, 1);
        *until = sqlite3_column_int64(st, 2);
        err = STORE_OK;
    } else {
        err = rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "lockout");
    }
    stmt_done(st);
    return err;
}

static store_err sq_lockout_get(store *base, const char *key, int64_t now, int64_t forget,
                                int64_t *failures, int64_t *locked_until)
{
    int64_t last;
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    store_err err = lockout_read(c, key, failures, &last, locked_until);
    reader_release(s, c);
    if (err != STORE_OK || store_lockout_forgotten(last, *locked_until, now, forget))
        *failures = *locked_until = 0;
    return err;
}

static store_err sq_lockout_fail(store *base, const char *key, int64_t now, int64_t forget,
                                 int64_t (*lock_for)(void *ctx, int64_t failures), void *ctx,
                                 int64_t *failures, int64_t *locked_until)
{
    int64_t last = 0, lock;
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    sqlite3_stmt *st;

    if (err == STORE_OK)
        err = lockout_read(c, key, failures, &last, locked_until);
    if (err == STORE_OK) {
        if (store_lockout_forgotten(last, *locked_until, now, forget))
            *failures = *locked_until = 0;
        *failures += 1;
        lock = lock_for(ctx, *failures);
        if (lock > 0 && now + lock > *locked_until)
            *locked_until = now + lock;
        st = stmt(c, ST_LOCKOUT_PUT);
        if (st == NULL) {
            err = STORE_ERROR;
        } else {
            int64_t expires = now + forget > *locked_until ? now + forget : *locked_until;
            int rc = bind_text(st, 1, key);
            BIND(rc, sqlite3_bind_int64(st, 2, *failures));
            BIND(rc, sqlite3_bind_int64(st, 3, now));
            BIND(rc, sqlite3_bind_int64(st, 4, *locked_until));
            BIND(rc, sqlite3_bind_int64(st, 5, expires));
            err = step_done(c, st, rc, "lockout_fail", NULL);
        }
    }
    err = tx_end(c, err);
    writer_release(s);
    return err;
}

static store_err sq_lockout_clear(store *base, const char *key)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_LOCKOUT_CLEAR);
    store_err err =
        st == NULL ? STORE_ERROR : step_done(c, st, bind_text(st, 1, key), "lockout_clear", NULL);
    writer_release(s);
    return err;
}

static store_err sq_hits_add(store *base, const char *key, int64_t window, int64_t expires,
                             int64_t *count)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_HITS_ADD);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = bind_text(st, 1, key);
        BIND(rc, sqlite3_bind_int64(st, 2, window));
        BIND(rc, sqlite3_bind_int64(st, 3, expires));
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *count = sqlite3_column_int64(st, 0);
            rc = sqlite3_step(st); /* runs the statement to its end */
        }
        err = rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, "hits_add");
        stmt_done(st);
    }
    writer_release(s);
    return err;
}

/* Runs the cached statement id, which takes one integer and returns no rows. */
static store_err exec_with_int(conn *c, enum stmt_id id, int64_t value, const char *what)
{
    sqlite3_stmt *st = stmt(c, id);
    return st == NULL ? STORE_ERROR
                      : step_done(c, st, sqlite3_bind_int64(st, 1, value), what, NULL);
}

static store_err sq_prune(store *base, int64_t now)
{
    sqlite_store *s = backend(base);
    conn *c = writer_acquire(s);
    store_err err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    if (err == STORE_OK)
        err = exec_with_int(c, ST_PRUNE_HITS, now, "prune");
    if (err == STORE_OK)
        err = exec_with_int(c, ST_PRUNE_LOCKOUTS, now, "prune");
    if (err == STORE_OK)
        err = exec_with_int(c, ST_PURGE_REVOCATIONS, now, "prune");
    err = tx_end(c, err);
    writer_release(s);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * Health and changes made by other connections
 * ------------------------------------------------------------------------------------- */

static store_err sq_ping(store *base)
{
    int64_t one;
    sqlite_store *s = backend(base);
    conn *c = reader_acquire(s);
    sqlite3_stmt *st = stmt(c, ST_PING);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = sqlite3_step(st);
        one = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        err = rc == SQLITE_ROW && one == 1 ? STORE_OK : map_rc(c, rc, "ping");
        stmt_done(st);
    }
    reader_release(s, c);
    return err == STORE_OK ? STORE_OK : STORE_UNAVAILABLE;
}

/* The change counter, read on the watcher's own connection. */
static store_err changes_seq(conn *c, int64_t *seq)
{
    sqlite3_stmt *st = stmt(c, ST_CHANGES_SEQ);
    store_err err = STORE_ERROR;
    if (st != NULL) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *seq = sqlite3_column_int64(st, 0);
            err = STORE_OK;
        } else {
            err = map_rc(c, rc, "watch");
        }
        stmt_done(st);
    }
    return err;
}

static store_err conn_open(conn *c, const store_log *log, const char *path, int flags, bool reader);

/* Polls the change counter (bumped by triggers, in every process's commits, ours too) every
 * STORE_SQLITE_WATCH_POLL_MS until it moves or the time is up. */
static store_err sq_watch(store *base, int timeout_ms, bool *changed)
{
    sqlite_store *s = backend(base);
    struct timespec start, now;
    int64_t seq = 0;
    store_err err = STORE_OK;

    if (s->watcher.db == NULL)
        err = conn_open(&s->watcher, &s->base.log, s->path, s->flags, true);
    if (err != STORE_OK) {
        conn_close(&s->watcher);
        return STORE_UNAVAILABLE;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if ((err = changes_seq(&s->watcher, &seq)) != STORE_OK)
            return err;
        /* No baseline (it could not be read at open): anything may have changed. */
        if (s->watch_seq < 0 || seq != s->watch_seq)
            *changed = true;
        s->watch_seq = seq;
        if (*changed)
            return STORE_OK;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t spent = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
                        (int64_t)(now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= timeout_ms)
            return STORE_OK;
        int64_t nap = timeout_ms - spent < STORE_SQLITE_WATCH_POLL_MS ? timeout_ms - spent
                                                                      : STORE_SQLITE_WATCH_POLL_MS;
        struct timespec ts = {(time_t)(nap / 1000), (long)(nap % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

/* ---------------------------------------------------------------------------------------
 * Opening, migrating and closing
 * ------------------------------------------------------------------------------------- */

/* Runs SQL text that returns no rows (pragmas, migrations) on c. */
static store_err exec_sql(conn *c, const char *sql, const char *what)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : map_rc(c, rc, what);
}

/* Runs a one-value query on c into *value (0 when it returns no row). */
static store_err query_int(conn *c, const char *sql, int64_t *value, char *text, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    *value = 0;
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_int64(st, 0);
        if (text != NULL && !column_copy(st, 0, text, cap))
            text[0] = '\0';
    }
    store_err err = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : map_rc(c, rc, sql);
    sqlite3_finalize(st);
    return err;
}

/* The applied schema version: 0 for a new file. */
static store_err schema_version(conn *c, int64_t *version)
{
    int64_t exists = 0;
    store_err err = query_int(c,
                              "SELECT count(*) FROM sqlite_master"
                              " WHERE type = 'table' AND name = 'schema_version'",
                              &exists, NULL, 0);
    *version = 0;
    if (err == STORE_OK && exists)
        err =
            query_int(c, "SELECT coalesce(max(version), 0) FROM schema_version", version, NULL, 0);
    return err;
}

/* Applies the missing migrations in one transaction. A database already current is only
 * read, so a read-only file opens when it needs no migration. *found: the version before. */
static store_err migrate(conn *c, int64_t *found)
{
    int64_t version;
    store_err err = schema_version(c, &version);
    *found = version;
    if (err != STORE_OK || version == STORE_SQLITE_SCHEMA_VERSION)
        return err;
    if (version > STORE_SQLITE_SCHEMA_VERSION) {
        log_msg(c, "open", "the database was written by a newer jwtd (schema version too high)");
        return STORE_ERROR;
    }
    err = exec_stmt(c, ST_BEGIN_IMMEDIATE);
    if (err == STORE_OK)
        err = exec_sql(c,
                       "CREATE TABLE IF NOT EXISTS schema_version ("
                       " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
                       "migrate");
    /* Read again under the write lock: another process may have migrated meanwhile. */
    if (err == STORE_OK)
        err = schema_version(c, &version);
    for (int64_t v = version; err == STORE_OK && v < STORE_SQLITE_SCHEMA_VERSION; v++) {
        char record[128];
        err = exec_sql(c, migrations[v], "migrate");
        snprintf(record, sizeof record,
                 "INSERT INTO schema_version (version, applied) VALUES (%lld, %lld)",
                 (long long)v + 1, (long long)now_seconds());
        if (err == STORE_OK)
            err = exec_sql(c, record, "migrate");
    }
    return tx_end(c, err);
}

/* Opens one connection to path with the per-connection settings. */
static store_err conn_open(conn *c, const store_log *log, const char *path, int flags, bool reader)
{
    memset(c, 0, sizeof *c);
    c->log = log;
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_msg(c, "open", c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return STORE_ERROR;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, STORE_SQLITE_BUSY_MS);
    store_err err = exec_sql(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "open");
    if (err == STORE_OK && reader)
        err = exec_sql(c, "PRAGMA query_only = ON", "open");
    return err;
}

/* Switches the file to WAL mode (a persistent setting). A read-only file keeps its mode. */
static store_err wal_enable(conn *c)
{
    char mode[16];
    int64_t ignored;
    store_err err = query_int(c, "PRAGMA journal_mode = WAL", &ignored, mode, sizeof mode);
    if (err != STORE_OK || strcmp(mode, "wal") == 0)
        return err;
    if (sqlite3_db_readonly(c->db, "main") == 1) {
        store_log_emit(c->log, STORE_LOG_WARN, "open", "read-only database not in WAL mode");
        return STORE_OK;
    }
    log_msg(c, "open", "cannot switch the database to WAL mode");
    return STORE_ERROR;
}

/* Creates path with mode 0600 if it does not exist yet: SQLite would create it 0644, and
 * it holds password hashes and private keys. SQLite gives its -wal and -shm files the
 * mode of the database file. */
static store_err file_create_private(const store_log *log, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return STORE_OK;
    }
    if (errno == EEXIST)
        return STORE_OK;
    int saved = errno;
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "cannot create %s: %s", path, strerror(saved));
    store_log_emit(log, saved == ENOSPC || saved == EROFS ? STORE_LOG_WARN : STORE_LOG_ERROR,
                   "open", msg);
    return saved == EACCES || saved == EROFS || saved == ENOSPC ? STORE_UNAVAILABLE : STORE_ERROR;
}

/* ---------------------------------------------------------------------------------------
 * Maintenance: integrity check and online backup (jwtd db)
 * ------------------------------------------------------------------------------------- */

static store_err sq_check(store *base, store_check_report *out)
{
    sqlite_store *s = backend(base);
    int64_t ignored;
    out->schema_at_open = s->schema_at_open;
    out->schema_latest = STORE_SQLITE_SCHEMA_VERSION;
    conn *c = reader_acquire(s);
    store_err err = schema_version(c, &out->schema);
    /* Its first row is "ok" or the first problem; one row is all the report keeps. */
    if (err == STORE_OK)
        err = query_int(c, "PRAGMA integrity_check(1)", &ignored, out->integrity,
                        sizeof out->integrity);
    reader_release(s, c);
    return err;
}

/* Copies the reader connection c's database into dest in one step (one read transaction:
 * the copy is the database as of one commit; writers go on meanwhile, WAL). */
static store_err backup_copy(conn *c, sqlite3 *dest)
{
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", c->db, "main");
    if (b == NULL) {
        log_msg(c, "backup", sqlite3_errmsg(dest));
        return STORE_ERROR;
    }
    int rc;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
        sqlite3_sleep(10);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        log_msg(c, "backup", sqlite3_errstr(rc));
        return rc == SQLITE_FULL || rc == SQLITE_READONLY ? STORE_UNAVAILABLE : STORE_ERROR;
    }
    return STORE_OK;
}

static store_err sq_backup(store *base, const char *path)
{
    sqlite_store *s = backend(base);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return STORE_CONFLICT; /* the answer itself says it: nothing to log */
    if (fd < 0) {
        char msg[PATH_MAX + 64];
        snprintf(msg, sizeof msg, "cannot create %s: %s", path, strerror(errno));
        store_log_emit(&base->log, STORE_LOG_ERROR, "backup", msg);
        return STORE_UNAVAILABLE;
    }
    close(fd);
    sqlite3 *dest = NULL;
    store_err err = STORE_ERROR;
    if (sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        conn *c = reader_acquire(s);
        err = backup_copy(c, dest);
        reader_release(s, c);
    } else {
        store_log_emit(&base->log, STORE_LOG_ERROR, "backup",
                       dest != NULL ? sqlite3_errmsg(dest) : "cannot open the copy");
    }
    if (sqlite3_close(dest) != SQLITE_OK && err == STORE_OK)
        err = STORE_ERROR;
    if (err != STORE_OK)
        unlink(path);
    return err;
}

static void sq_close(store *base)
{
    sqlite_store *s = backend(base);
    for (size_t i = 0; i < STORE_SQLITE_READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->watcher);
    conn_close(&s->writer); /* last: it checkpoints the WAL into the file */
    pthread_cond_destroy(&s->pool_free);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
}

static const store_ops sqlite_ops = {
    .name = "sqlite",
    .shared = false,
    .close = sq_close,
    .ping = sq_ping,
    .watch = sq_watch,
    .user_create = sq_user_create,
    .user_get_by_id = sq_user_get_by_id,
    .user_get_by_username = sq_user_get_by_username,
    .user_get_by_email = sq_user_get_by_email,
    .user_list = sq_user_list,
    .user_set_password_hash = sq_user_set_password_hash,
    .user_set_roles = sq_user_set_roles,
    .user_set_disabled = sq_user_set_disabled,
    .user_count = sq_user_count,
    .client_create = sq_client_create,
    .client_get = sq_client_get,
    .client_list = sq_client_list,
    .client_set_secret = sq_client_set_secret,
    .client_delete = sq_client_delete,
    .refresh_insert = sq_refresh_insert,
    .refresh_get = sq_refresh_get,
    .refresh_rotate = sq_refresh_rotate,
    .family_revoke = sq_family_revoke,
    .user_families_revoke = sq_user_families_revoke,
    .revocation_add = sq_revocation_add,
    .revocation_list = sq_revocation_list,
    .key_insert = sq_key_insert,
    .key_list = sq_key_list,
    .key_retire = sq_key_retire,
    .key_rotate = sq_key_rotate,
    .audit_add = sq_audit_add,
    .setting_get_or_init = sq_setting_get_or_init,
    .lockout_get = sq_lockout_get,
    .lockout_fail = sq_lockout_fail,
    .lockout_clear = sq_lockout_clear,
    .hits_add = sq_hits_add,
    .prune = sq_prune,
    .check = sq_check,
    .backup = sq_backup,
};

/* Opens path: a file path (created 0600 when missing), or a SQLite "file:" URI such as
 * "file:/var/lib/jwtd.db?mode=ro" for a file that must already exist. ":memory:" is
 * refused: each connection would see a database of its own. */
store_err store_sqlite_open(const char *path, const store_log *log, store **out)
{
    if (out == NULL)
        return STORE_ERROR;
    *out = NULL;
    if (path == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0) {
        store_log_emit(log, STORE_LOG_ERROR, "open", "a database file path is required");
        return STORE_ERROR;
    }
    if (!sqlite3_threadsafe()) {
        store_log_emit(log, STORE_LOG_ERROR, "open", "SQLite was built without thread support");
        return STORE_ERROR;
    }
    int flags = SQLITE_OPEN_READWRITE;
    if (strncmp(path, "file:", 5) == 0) {
        flags |= SQLITE_OPEN_URI;
    } else {
        store_err err = file_create_private(log, path);
        if (err != STORE_OK)
            return err;
    }

    sqlite_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return STORE_ERROR;
    s->base.ops = &sqlite_ops;
    if (log != NULL)
        s->base.log = *log;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_free, NULL);
    s->watch_seq = -1;
    s->flags = flags;
    if ((size_t)snprintf(s->path, sizeof s->path, "%s", path) >= sizeof s->path) {
        store_log_emit(log, STORE_LOG_ERROR, "open", "the database path is too long");
        sq_close(&s->base);
        return STORE_ERROR;
    }

    store_err err = conn_open(&s->writer, &s->base.log, path, flags, false);
    if (err == STORE_OK)
        err = wal_enable(&s->writer);
    if (err == STORE_OK)
        err = migrate(&s->writer, &s->schema_at_open);
    for (size_t i = 0; err == STORE_OK && i < STORE_SQLITE_READERS; i++)
        err = conn_open(&s->readers[i], &s->base.log, path, flags, true);
    /* The watch's baseline: every change committed after the open is one it reports. */
    if (err == STORE_OK && changes_seq(&s->writer, &s->watch_seq) != STORE_OK)
        s->watch_seq = -1;
    if (err != STORE_OK) {
        sq_close(&s->base);
        return err;
    }
    *out = &s->base;
    return STORE_OK;
}
