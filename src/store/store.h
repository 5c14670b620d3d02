/* The storage interface of jwtd serve: users, refresh-token families, access-token
 * revocations, signing keys and audit events, behind one table of functions per backend
 * (SQLite now, PostgreSQL next) in the manner of Redis's rio.c. src/auth is the only layer
 * that includes this header. Every call is a store_* function of store.c, which checks its
 * arguments (the rules every backend shares) before the backend's table (store_backend.h)
 * sees them. Every call returns a store_err and never aborts; every store is safe to call
 * from several threads at once. Times are Unix seconds. The store writes nothing to stderr:
 * what it has to say goes to the log hook given at open. */
#ifndef JWTD_STORE_H
#define JWTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_USERNAME 64 /* bytes, without NUL */
#define STORE_MAX_EMAIL 254
#define STORE_MAX_NAME 128
#define STORE_MAX_HASH 256 /* PHC string or bcrypt hash */
#define STORE_MAX_ROLES 8
#define STORE_MAX_ROLE 32
#define STORE_MAX_JTI 64
#define STORE_MAX_KID 64
#define STORE_MAX_KEY_BYTES 16384 /* a private key as PEM or JWK text */
#define STORE_MAX_ALG 15
#define STORE_MAX_AUDIT_KIND 64     /* audit_add's kind, bytes */
#define STORE_MAX_AUDIT_DETAIL 4096 /* audit_add's detail, bytes */
#define STORE_MAX_COUNTER_KEY 64    /* a shared counter's key (a hash in hex), bytes */
#define STORE_MAX_SETTING 128       /* a setting's name and value, bytes */
#define STORE_MAX_WATCH_MS 60000    /* store_watch's longest wait */
#define STORE_MAX_CLIENT 64         /* a client's name (its client_id), bytes */
#define STORE_MAX_CLIENT_HASH 64    /* a client secret's keyed hash, hex */

typedef enum store_err {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* no such row */
    STORE_CONFLICT,    /* unique key taken (username, email, jti, kid) or state changed */
    STORE_UNAVAILABLE, /* cannot write now: read-only, disk full, busy past the timeout */
    STORE_ERROR,       /* anything else (corrupt, bad argument); details go to the log */
    STORE_UNSUPPORTED  /* the backend does not do this (a backup of PostgreSQL: pg_dump) */
} store_err;

const char *store_err_name(store_err err);

typedef struct store_user {
    int64_t id;
    char username[STORE_MAX_USERNAME + 1];
    char email[STORE_MAX_EMAIL + 1]; /* "" when none */
    char name[STORE_MAX_NAME + 1];
    char password_hash[STORE_MAX_HASH + 1];
    char roles[STORE_MAX_ROLES][STORE_MAX_ROLE + 1];
    size_t nroles;
    bool disabled;
    int64_t created, updated;
} store_user;

/* One refresh token (jti) of a family (fam). A family is one login's chain of rotations. */
typedef struct store_refresh {
    char jti[STORE_MAX_JTI + 1];
    char family[STORE_MAX_JTI + 1];
    int64_t user_id;
    int64_t issued, expires;
    int64_t spent;                       /* 0: not yet rotated */
    char replaced_by[STORE_MAX_JTI + 1]; /* jti of the token that replaced it, "" if none */
    bool revoked;                        /* the whole family was revoked */
} store_refresh;

typedef struct store_signing_key {
    char kid[STORE_MAX_KID + 1];
    char alg[STORE_MAX_ALG + 1];
    char private_key[STORE_MAX_KEY_BYTES]; /* PEM (asymmetric) */
    int64_t created;
    int64_t retired; /* 0: current or usable; else when it stopped signing */
} store_signing_key;

/* An access-token revocation: one jti (until exp), or all of a user's tokens issued before
 * `before` (user_id != 0, jti ""). */
typedef struct store_revocation {
    char jti[STORE_MAX_JTI + 1];
    int64_t user_id;
    int64_t before;
    int64_t expires;
} store_revocation;

/* A machine client (client credentials): its name is its client_id, case-sensitive as
 * RFC 6749 has it; secret_hash is a keyed hash of its secret (src/auth/clients.c), never
 * the secret. */
typedef struct store_client {
    int64_t id;
    char name[STORE_MAX_CLIENT + 1];
    char secret_hash[STORE_MAX_CLIENT_HASH + 1];
    char roles[STORE_MAX_ROLES][STORE_MAX_ROLE + 1];
    size_t nroles;
    int64_t created, updated;
} store_client;

/* The log hook: where a store reports what its callers' errors do not say (SQLite's
 * message for a failed statement, a refused argument, a row that does not fit). op names
 * the operation ("user_create", "COMMIT", "open"); msg never holds a value of a row. */
typedef enum store_log_level {
    STORE_LOG_ERROR, /* a bug, a corrupt row, an unexpected failure */
    STORE_LOG_WARN   /* a condition of the machine: disk full, read-only, busy */
} store_log_level;

typedef struct store_log {
    void (*fn)(void *ctx, store_log_level level, const char *op, const char *msg); /* NULL: drop */
    void *ctx;
} store_log;

typedef struct store store;

/* Callbacks for listings: return false to stop early. They run while the backend holds a
 * connection: they must not call the store. */
typedef bool (*store_user_cb)(void *ctx, const store_user *u);
typedef bool (*store_key_cb)(void *ctx, const store_signing_key *k);
typedef bool (*store_revocation_cb)(void *ctx, const store_revocation *r);
typedef bool (*store_client_cb)(void *ctx, const store_client *c);

/* Opens "sqlite:PATH", a plain PATH (SQLite), or "postgres://..." / "postgresql://..." (any
 * libpq connection URI; PostgreSQL). Creates and migrates the schema. log (may be NULL:
 * nothing is reported) is copied. opts (may be NULL: defaults) tunes what a backend has to
 * tune. */
typedef struct store_options {
    unsigned pool; /* PostgreSQL: connections of the pool; 0: the default (8) */
} store_options;
store_err store_open(const char *url, const store_log *log, store **out);
store_err store_open_with(const char *url, const store_log *log, const store_options *opts,
                          store **out);
/* The SQLite backend directly (store_sqlite.c). */
store_err store_sqlite_open(const char *path, const store_log *log, store **out);
/* The PostgreSQL backend directly (store_postgres.c): url is any libpq connection URI; the
 * password comes from it, PGPASSWORD or ~/.pgpass and is never logged. */
store_err store_postgres_open(const char *url, const store_log *log, const store_options *opts,
                              store **out);
void store_close(store *s);
/* The backend's name: "sqlite" or "postgres". */
const char *store_backend_name(const store *s);
/* Whether other machines may share this store (PostgreSQL): the server then keeps the
 * counters of its limits in it, so that every instance counts the same. */
bool store_shared(const store *s);
/* A cheap round trip: STORE_OK when the database answers now, else STORE_UNAVAILABLE. */
store_err store_ping(store *s);
/* Waits up to timeout_ms (0..STORE_MAX_WATCH_MS) for a change that another connection or
 * process committed to what verification depends on (signing keys, access-token
 * revocations, a user disabled). *changed: true when there may have been one (also after
 * the backend lost and regained its connection, since a change may have been missed),
 * false on a plain timeout. SQLite polls PRAGMA data_version; PostgreSQL LISTENs on channel
 * "jwtd_changes", which triggers notify. One watcher per store at a time (not reentrant);
 * it never holds a connection other calls need. STORE_UNAVAILABLE when the database cannot
 * be reached (after waiting out the timeout: a caller may loop on it). */
store_err store_watch(store *s, int timeout_ms, bool *changed);

/* Whether url names a database file on this machine (a SQLite path or "sqlite:PATH"; not a
 * "file:" URI, ":memory:" or a server URL), and which: the path, copied into path. false
 * also when it does not fit in len bytes. Opens nothing. */
bool store_local_file(const char *url, char *path, size_t len);
/* The database location as a message may show it, into out (always terminated): a SQLite
 * path as given, else only a URL's scheme ("postgres://..."): the rest of a URL may hold a
 * password. */
void store_location_safe(const char *url, char *out, size_t len);

/* ---- Users ---- */
/* username 1..STORE_MAX_USERNAME bytes, email, name and password_hash within their limits
 * (may be empty), roles valid (store_role_valid); sets u->id, created, updated.
 * STORE_CONFLICT: username or email taken. */
store_err store_user_create(store *s, store_user *u);
store_err store_user_get_by_id(store *s, int64_t id, store_user *out);
/* A key no row can have (empty or too long) is STORE_NOT_FOUND; case-insensitive. */
store_err store_user_get_by_username(store *s, const char *username, store_user *out);
store_err store_user_get_by_email(store *s, const char *email, store_user *out);
/* Users by id ascending, starting after after_id, at most limit. *total (may be NULL): all
 * users, read in the same transaction as the page. */
store_err store_user_list(store *s, int64_t after_id, size_t limit, store_user_cb cb, void *ctx,
                          size_t *total);
store_err store_user_set_password_hash(store *s, int64_t id, const char *hash);
store_err store_user_set_roles(store *s, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                               size_t nroles);
store_err store_user_set_disabled(store *s, int64_t id, bool disabled);
store_err store_user_count(store *s, size_t *count);
/* A role: 1..STORE_MAX_ROLE bytes of [a-z0-9_-] (',' stays free as a separator). */
bool store_role_valid(const char *role, size_t len);

/* ---- Machine clients ---- */
/* name 1..STORE_MAX_CLIENT bytes, secret_hash 1..STORE_MAX_CLIENT_HASH, roles valid; sets
 * c->id, created, updated. STORE_CONFLICT: the name is taken (names compare exactly). */
store_err store_client_create(store *s, store_client *c);
/* STORE_NOT_FOUND also for a name no row can have (empty or too long). */
store_err store_client_get(store *s, const char *name, store_client *out);
/* Every client, by name (byte order). */
store_err store_client_list(store *s, store_client_cb cb, void *ctx);
/* A new secret hash (1..STORE_MAX_CLIENT_HASH bytes); STORE_NOT_FOUND: no such client. */
store_err store_client_set_secret(store *s, const char *name, const char *secret_hash);
/* STORE_NOT_FOUND: no such client. */
store_err store_client_delete(store *s, const char *name);

/* ---- Refresh tokens ---- */
/* Inserts r, creating its family on first use (STORE_CONFLICT: the family is another
 * user's). r->revoked is ignored: it is the family's state. */
store_err store_refresh_insert(store *s, const store_refresh *r);
store_err store_refresh_get(store *s, const char *jti, store_refresh *out);
/* In one transaction: if old_jti is unspent and its family not revoked, mark it spent at
 * `now` (> 0), replaced by next->jti, and insert next: STORE_OK. Otherwise change nothing
 * and return STORE_CONFLICT with *current (may be NULL) filled (spent or revoked), or
 * STORE_NOT_FOUND. */
store_err store_refresh_rotate(store *s, const char *old_jti, int64_t now,
                               const store_refresh *next, store_refresh *current);
store_err store_family_revoke(store *s, const char *family);
/* Every family of the user; STORE_OK also when there is none. */
store_err store_user_families_revoke(store *s, int64_t user_id);

/* ---- Access-token revocations ---- */
store_err store_revocation_add(store *s, const store_revocation *r);
/* Every revocation not yet expired at `now` (to rebuild the in-memory set at start). */
store_err store_revocation_list(store *s, int64_t now, store_revocation_cb cb, void *ctx);

/* ---- Signing keys ---- */
store_err store_key_insert(store *s, const store_signing_key *k);
store_err store_key_list(store *s, store_key_cb cb, void *ctx); /* oldest first */
/* when > 0: the key signs nothing from `when` on. A key already retiring earlier keeps its
 * time; one retiring later (a rotation planned ahead) retires at `when`. */
store_err store_key_retire(store *s, const char *kid, int64_t when);
/* A rotation, in one transaction that several instances cannot run at once (PostgreSQL: an
 * advisory lock; SQLite: the write lock): when the newest key (the last one store_key_list
 * lists: largest created, then the last inserted) is expect_newest (NULL: whichever it is, or
 * none), insert next and retire every other key at retire_at (> 0) as store_key_retire does;
 * STORE_CONFLICT (nothing changed) when the newest key is another one: someone rotated first.
 * next->created may lie in the future: the key is then published before it signs. */
store_err store_key_rotate(store *s, const store_signing_key *next, const char *expect_newest,
                           int64_t retire_at);

/* ---- Settings of the database ---- */
/* The value of name (1..STORE_MAX_SETTING bytes) copied into out (len bytes, NUL
 * included). When there is none, value_if_new (1..STORE_MAX_SETTING bytes) is stored first,
 * atomically: concurrent callers with different proposals all get the one stored.
 * STORE_ERROR when the value does not fit in out. */
store_err store_setting_get_or_init(store *s, const char *name, const char *value_if_new, char *out,
                                    size_t len);

/* ---- Counters shared by the instances of one database (the limits) ----
 * key: 1..STORE_MAX_COUNTER_KEY bytes. Callers pass a keyed hash in hex, never a user
 * name or an address. */
/* An account lockout counter: its failures and the end of its lock at `now`; both 0 when
 * there is none, or when it was forgotten (its last failure was `forget` or more seconds
 * before now and the lock is over). */
store_err store_lockout_get(store *s, const char *key, int64_t now, int64_t forget,
                            int64_t *failures, int64_t *locked_until);
/* Counts one failure at now, atomically (from 0 again when the counter was forgotten as
 * above), and sets the lock end to max(its lock end, now + lock_for(ctx, failures)) where
 * failures is the new count (lock_for may return 0: no lock). The new count and lock end go
 * to *failures and *locked_until (either may be NULL). */
store_err store_lockout_fail(store *s, const char *key, int64_t now, int64_t forget,
                             int64_t (*lock_for)(void *ctx, int64_t failures), void *ctx,
                             int64_t *failures, int64_t *locked_until);
/* Forgets key's failures and lock (STORE_OK also when there were none). */
store_err store_lockout_clear(store *s, const char *key);
/* Adds one hit to key's fixed window starting at window (seconds), kept until expires, and
 * returns the window's count after it, atomically, in *count. */
store_err store_hits_add(store *s, const char *key, int64_t window, int64_t expires,
                         int64_t *count);
/* Deletes what no longer counts at now: hit windows past their expiry, lockout counters
 * forgotten and unlocked (last failure + forget, lock end), access-token revocations past
 * theirs. */
store_err store_prune(store *s, int64_t now);

/* ---- Maintenance (jwtd db) ---- */
#define STORE_MAX_INTEGRITY 255 /* bytes of store_check_report.integrity, without NUL */
/* What store_check reports. */
typedef struct store_check_report {
    int64_t schema_at_open; /* the schema version found when this store was opened (before
                               store_open migrated it; 0: a new database) */
    int64_t schema;         /* the version now */
    int64_t schema_latest;  /* the version this build migrates to */
    char integrity[STORE_MAX_INTEGRITY + 1]; /* "ok", or the first problem found */
} store_check_report;
/* The schema versions and an integrity check: SQLite's PRAGMA integrity_check (every page
 * read: seconds on a large file, on a reader connection, so writers go on); PostgreSQL: a
 * round trip (its own checks are the server's business). STORE_OK also when the check found
 * a problem: out->integrity says which. */
store_err store_check(store *s, store_check_report *out);
/* Copies the database into path, a file that must not exist yet (created 0600), while the
 * store stays in use: SQLite's online backup API over one read transaction, so the copy is
 * the database as of one commit. STORE_CONFLICT: path exists; STORE_UNSUPPORTED with
 * PostgreSQL (use pg_dump; logged). A failed backup leaves no file behind. */
store_err store_backup(store *s, const char *path);

/* ---- Audit ---- */
/* kind: "login.failed", "refresh.reuse", ... (1..STORE_MAX_AUDIT_KIND bytes); detail
 * (NULL: ""): short JSON without secrets, at most STORE_MAX_AUDIT_DETAIL bytes. */
store_err store_audit_add(store *s, const char *kind, int64_t user_id, const char *detail);

#endif /* JWTD_STORE_H */
