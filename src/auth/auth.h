/* The authentication service of jwtd serve, with no HTTP in it: passwords (Argon2id, bcrypt
 * import), token pairs, refresh rotation with reuse detection, logout and revocation, roles,
 * signing keys and the JWKS, and the reads of users and keys that the admin routes and the
 * command line need. It is the one way to the store: it talks to storage only through
 * src/store/store.h, and this header includes no store header, so nothing above src/auth
 * sees a store type (or a password hash). It can be tested directly against a SQLite file
 * and reused behind another front end.
 * Which calls block: auth_login, auth_register, auth_user_add, auth_refresh, auth_logout*,
 * auth_set_*, auth_keys_rotate (password hashing or store writes: run them on workers), and
 * the store reads auth_user_*, auth_keys_list (run them on workers too).
 * auth_verify_access and auth_jwks_copy never block and never touch the store. */
#ifndef JWTD_AUTH_H
#define JWTD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwtd/jwtd.h"

/* The limits of what the service keeps about a user and a key (equal to the store's). */
#define AUTH_MAX_USERNAME 64 /* bytes, without NUL */
#define AUTH_MAX_EMAIL 254
#define AUTH_MAX_NAME 128
#define AUTH_MAX_HASH 256 /* an imported password hash (PHC string or bcrypt) */
#define AUTH_MAX_ROLES 8
#define AUTH_MAX_ROLE 32
#define AUTH_MAX_JTI 64
#define AUTH_MAX_KID 64
#define AUTH_MAX_ALG 15

#define AUTH_MIN_PASSWORD 8
#define AUTH_MAX_PASSWORD 1024
#define AUTH_MIN_SECRET 32 /* JWT_SECRET bytes */
#define AUTH_MAX_TOKEN 4096
#define AUTH_MAX_CLIENT 64               /* a client's name, its client_id: [A-Za-z0-9._-] */
#define AUTH_MIN_CLIENT_SECRET 16        /* bytes of a secret an operator chooses */
#define AUTH_MAX_CLIENT_SECRET 256       /* bytes */
#define AUTH_CLIENT_SECRET_CHARS 43      /* a generated secret: 256 random bits, base64url */
#define AUTH_CLIENT_SUB_PREFIX "client:" /* a client token's sub is "client:" NAME */
/* An access token's sub: a user id, or "client:" and a client's name (it was 64, and a client
 * named with more than 57 bytes was issued tokens that never verified). */
#define AUTH_MAX_SUB (sizeof AUTH_CLIENT_SUB_PREFIX - 1 + AUTH_MAX_CLIENT)

typedef enum auth_err {
    AUTH_OK = 0,
    AUTH_BAD_CREDENTIALS, /* 401: unknown user, wrong password, disabled user (indistinguishable) */
    AUTH_INVALID_TOKEN,   /* 401: bad signature, expired, revoked, wrong type, malformed */
    AUTH_TOKEN_REUSED,    /* 401: a spent refresh token came back: its family is now revoked */
    AUTH_FORBIDDEN,       /* 403: authenticated but lacking the role */
    AUTH_CONFLICT,        /* 409: username or email taken */
    AUTH_INVALID_INPUT,   /* 400: e.g. password too short, bad username */
    AUTH_NOT_FOUND,       /* 404: no such user (admin calls) */
    AUTH_UNAVAILABLE,     /* 503: the store cannot write now */
    AUTH_INTERNAL         /* 500 */
} auth_err;

/* A stable, public message for {"error": ...}; never contains secrets or user input. */
const char *auth_err_message(auth_err err);

/* The log hook: what the store has to say that its errors do not (a failed statement, a
 * refused argument, a disk turned read-only). what names the operation; msg never holds a
 * password, token, hash or key. */
typedef enum auth_log_level {
    AUTH_LOG_ERROR, /* a bug, a corrupt row, an unexpected failure */
    AUTH_LOG_WARN   /* a condition of the machine: disk full, read-only, busy */
} auth_log_level;

typedef struct auth_log {
    void (*fn)(void *ctx, auth_log_level level, const char *what, const char *msg);
    void *ctx;
} auth_log;

typedef struct auth_config {
    int64_t access_ttl;    /* seconds, default 900 */
    int64_t refresh_ttl;   /* seconds, default 604800 (7 days) */
    int64_t refresh_grace; /* seconds two concurrent refreshes may share a rotation, default 10 */
    const char *issuer;    /* iss of access tokens, default "jwtd" */
    const char *audience;  /* aud of access tokens, default "jwtd" */
    unsigned long long pwhash_opslimit; /* Argon2id t; default 2 (OWASP minimum: m=19 MiB, t=2) */
    size_t pwhash_memlimit;             /* bytes; default 19 MiB */
    const unsigned char *jwt_secret;    /* HS256 signing when set (>= AUTH_MIN_SECRET bytes) */
    size_t jwt_secret_len;
    jwtd_alg key_alg; /* algorithm of generated signing keys, default RS256 */
    /* The clock (Unix seconds); NULL: time(). Tests move it forward. It dates what the
     * service issues and decides rotation, grace, revocation and lockout; the exp check inside
     * libjwtd's verification still reads the real clock, so a test clock must never run
     * behind real time (tokens would be seen as expired). */
    int64_t (*now)(void);
    auth_log log; /* where the store's errors go (auth_open); {NULL}: nowhere */
    /* Automatic key rotation: a new signing key every key_rotation seconds (0: off, the
     * default), published key_prepublish seconds (< key_rotation) before it signs. The
     * sync thread (auth_sync_start) does it; with several instances exactly one does. */
    int64_t key_rotation;
    int64_t key_prepublish;
    unsigned store_pool; /* database connections (PostgreSQL); 0: the store's default */
    /* Verified access tokens remembered per verifying thread (0: no cache), at most
     * AUTH_TOKEN_CACHE_MAX; rounded up to a multiple of AUTH_TOKEN_CACHE_WAYS. Each slot takes
     * auth_token_cache_slot_bytes() of memory, allocated on a thread's first verify. */
    size_t token_cache;
} auth_config;

#define AUTH_TOKEN_CACHE_DEFAULT 8192u /* docs/BENCHMARKS.md, "Many distinct tokens" */
#define AUTH_TOKEN_CACHE_MAX 262144u
#define AUTH_TOKEN_CACHE_WAYS 4u
/* The bytes one slot of the verified-token cache takes. */
size_t auth_token_cache_slot_bytes(void);

/* Defaults above. */
void auth_config_defaults(auth_config *cfg);

typedef struct auth auth;
struct store;

/* What auth_open sets up. */
typedef enum auth_open_mode {
    /* The whole service: signing keys loaded (the first one generated and stored when there
     * is none and no jwt_secret), the access-token revocations, the password machinery. */
    AUTH_OPEN_SERVICE,
    /* The database only, for the reads an operator's listing needs: auth_user_get,
     * auth_user_find, auth_user_list, auth_user_count and auth_keys_list. Nothing is
     * generated or written; every other call answers AUTH_INTERNAL. */
    AUTH_OPEN_LOOKUP
} auth_open_mode;

/* Opens the database db_url names ("sqlite:PATH", a plain SQLite PATH, later a PostgreSQL
 * URL) with cfg->log as its log hook, then the service (mode). On failure returns the error
 * with a message (no secrets: a URL shows only its scheme) in why: "cannot open the database
 * '...': Kind" or "cannot
 * start the auth service: reason"; nothing stays open. auth_free closes the database. */
auth_err auth_open(const auth_config *cfg, const char *db_url, auth_open_mode mode, auth **out,
                   char *why, size_t whylen);
/* The service over a store the caller opened and keeps owning (tests, embedding): as
 * AUTH_OPEN_SERVICE. *why gets a static reason. */
auth_err auth_new(const auth_config *cfg, struct store *s, auth **out, const char **why);
void auth_free(auth *a);
/* Whether db_url names a database file on this machine, and which (copied into path): the
 * store's answer, for start-up lines and the file-mode check. Opens nothing. */
bool auth_db_local_file(const char *db_url, char *path, size_t len);
/* db_url as a message or log line may show it (the store's answer): a URL shows only its
 * scheme, since the rest may hold a password. */
void auth_db_location_safe(const char *db_url, char *out, size_t len);
/* Re-reads keys and revocations written by other processes (jwtd keys rotate, other
 * instances), and rotates the signing key when automatic rotation is due; cheap when
 * nothing changed. The sync thread calls it. */
auth_err auth_sync(auth *a);

/* The sync thread keeps a serving auth in step with its database: it waits for changes
 * that other processes commit (the store's watch: LISTEN/NOTIFY on PostgreSQL, a change
 * counter on SQLite) and calls auth_sync within AUTH_SYNC_WAKE_MS of one; it also calls it
 * every AUTH_RESYNC_SECONDS anyway (a safety net for a missed notification), when the key
 * snapshot changes by itself (a planned key starts signing) and after the database comes
 * back; it pings the database every AUTH_SYNC_WAKE_MS for auth_health, and prunes the shared
 * counters every AUTH_PRUNE_SECONDS. auth_free stops it. */
#define AUTH_SYNC_WAKE_MS 1000
#define AUTH_RESYNC_SECONDS 30
#define AUTH_PRUNE_SECONDS 60
auth_err auth_sync_start(auth *a);

/* What the sync thread last saw of the database. */
typedef struct auth_health {
    bool store_up;      /* the last ping was answered */
    int64_t down_since; /* when it stopped answering (0: up) */
    int64_t last_sync;  /* when keys and revocations were last read in full (0: never) */
    uint64_t syncs, sync_failures,
        watch_wakeups;   /* full syncs; failed ones; wake-ups by a change */
    const char *backend; /* "sqlite", "postgres" */
    bool shared;         /* other machines may share the database (shared limits are on) */
} auth_health;
void auth_health_get(auth *a, auth_health *out);

typedef struct auth_pair {
    char *access_token; /* owned: auth_pair_clear frees */
    char *refresh_token;
    int64_t expires_in; /* access TTL seconds */
    int64_t refresh_expires_in;
} auth_pair;
void auth_pair_clear(auth_pair *p);

/* What a verified access token says. A machine client's token (RFC 9068: sub "client:" NAME
 * and a client_id claim) has client set, its name in client_id, user_id its (negative)
 * revocation key and username "". */
typedef struct auth_principal {
    int64_t user_id;
    char username[AUTH_MAX_USERNAME + 1];
    char sub[AUTH_MAX_SUB + 1]; /* the sub claim as it is */
    bool client;
    char client_id[AUTH_MAX_CLIENT + 1]; /* "" for a user's token */
    char roles[AUTH_MAX_ROLES][AUTH_MAX_ROLE + 1];
    size_t nroles;
    char jti[AUTH_MAX_JTI + 1];
    int64_t iat, exp;
} auth_principal;

bool auth_principal_has_role(const auth_principal *p, const char *role);
/* Whether role has the syntax of a role name (1 to AUTH_MAX_ROLE of a-z 0-9 _ -). */
bool auth_role_valid(const char *role, size_t len);

/* Which input auth_register, auth_user_add, auth_login or auth_set_roles refused as
 * AUTH_INVALID_INPUT, and why, for an answer people can act on. Both static strings. */
typedef struct auth_input_fault {
    const char *field;  /* "username", "password", "email", "name", "roles"; NULL: none */
    const char *detail; /* e.g. "8 to 1024 bytes" */
} auth_input_fault;

/* The rules auth_register (min_password AUTH_MIN_PASSWORD) and auth_user_add (min_password 1)
 * apply, checked in that order: username, password, email, name, roles (roles NULL and
 * nroles 0: not checked). true when all pass; else false and *fault names the first field
 * that does not. Touches nothing: callers use it to explain an AUTH_INVALID_INPUT. */
bool auth_user_input_check(const char *username, const char *password, const char *email,
                           const char *name, const char *const *roles, size_t nroles,
                           size_t min_password, auth_input_fault *fault);
/* auth_set_roles' rule: 1 to AUTH_MAX_ROLES distinct valid role names. */
bool auth_roles_check(const char *const *roles, size_t nroles, auth_input_fault *fault);
/* auth_login's rule: the password no longer than AUTH_MAX_PASSWORD. */
bool auth_login_input_check(const char *password, auth_input_fault *fault);

/* ---- Users ---- */
/* A user as the service shows it: there is no password hash in it, by construction. */
typedef struct auth_user {
    int64_t id;
    char username[AUTH_MAX_USERNAME + 1];
    char email[AUTH_MAX_EMAIL + 1]; /* "" when none */
    char name[AUTH_MAX_NAME + 1];
    char roles[AUTH_MAX_ROLES][AUTH_MAX_ROLE + 1];
    size_t nroles;
    bool disabled;
    int64_t created, updated;
} auth_user;

/* For listings: return false to stop early. Runs while the store holds a connection: it must
 * not call the service. */
typedef bool (*auth_user_cb)(void *ctx, const auth_user *u);

auth_err auth_user_get(auth *a, int64_t id, auth_user *out);
/* By username (case-insensitive); AUTH_NOT_FOUND when there is none. */
auth_err auth_user_find(auth *a, const char *username, auth_user *out);
/* Users by id ascending after after_id, at most limit; *total (may be NULL): all users. */
auth_err auth_user_list(auth *a, int64_t after_id, size_t limit, auth_user_cb cb, void *ctx,
                        size_t *total);
auth_err auth_user_count(auth *a, size_t *count);

/* ---- The database's maintenance (jwtd db; db.c), in either open mode ---- */
#define AUTH_DB_MAX_REPORT 255
/* What auth_db_check reports. */
typedef struct auth_db_report {
    char backend[16];       /* "sqlite", "postgres" */
    int64_t schema_at_open; /* the schema version found at auth_open (0: a new database);
                               auth_open migrates, so schema_at_open < schema says it did */
    int64_t schema;         /* the version now */
    int64_t schema_latest;  /* the version this build knows */
    char integrity[AUTH_DB_MAX_REPORT + 1]; /* "ok", or the first problem the check found */
} auth_db_report;
/* The schema versions and the backend's integrity check (SQLite: PRAGMA integrity_check;
 * PostgreSQL: a round trip). AUTH_OK also when a problem was found: out->integrity. */
auth_err auth_db_check(auth *a, auth_db_report *out);
/* A consistent copy of the database in path (a new file, mode 0600) while it stays in use
 * (SQLite's online backup). Fails with a reason in why: path exists (AUTH_CONFLICT), the
 * backend cannot (PostgreSQL: "not supported: use pg_dump", AUTH_INVALID_INPUT), or the
 * store's error (the store's log hook has the details). */
auth_err auth_db_backup(auth *a, const char *path, char *why, size_t whylen);

/* Self-registration: role "user". Validates username (1..64 of [A-Za-z0-9._-]), password
 * length, email shape. On success *user and *pair are filled. */
auth_err auth_register(auth *a, const char *username, const char *password, const char *email,
                       const char *name, auth_user *user, auth_pair *pair);
/* Administrative creation (jwtd user add): given roles, no tokens. */
auth_err auth_user_add(auth *a, const char *username, const char *password, const char *email,
                       const char *name, const char *const *roles, size_t nroles, auth_user *user);
/* ident is a username or an email. Unknown users, disabled users and wrong passwords take
 * the same time (a dummy Argon2id verify) and all return AUTH_BAD_CREDENTIALS. Rehashes
 * when the stored hash has other parameters or is bcrypt. */
auth_err auth_login(auth *a, const char *ident, const char *password, auth_user *user,
                    auth_pair *pair);
/* Store an imported hash (Argon2id PHC or bcrypt $2b$/$2a$/$2y$), verified on next login. */
auth_err auth_import_hash(auth *a, const char *username, const char *hash);
auth_err auth_set_roles(auth *a, int64_t user_id, const char *const *roles, size_t nroles);
/* Disabling also revokes every refresh family and every access token issued before now. */
auth_err auth_set_disabled(auth *a, int64_t user_id, bool disabled);

/* ---- Tokens ---- */
/* Rotation: spends the presented refresh token and returns a new pair in the same family.
 * A spent token presented again: within refresh_grace of its rotation, the same new pair is
 * returned again (two tabs refreshing at once); later, the whole family is revoked, an audit
 * event "refresh.reuse" written, and AUTH_TOKEN_REUSED returned. Access tokens are refused. */
auth_err auth_refresh(auth *a, const char *refresh_token, size_t len, auth_pair *pair);
/* Revokes the token's family. Invalid tokens are ignored (AUTH_OK): logout always succeeds. */
auth_err auth_logout(auth *a, const char *refresh_token, size_t len);
/* Revokes every family of the user and every access token issued before now; for a
 * machine client's principal (user_id < 0), every access token it holds. */
auth_err auth_logout_all(auth *a, int64_t user_id);
/* Verifies an access token: signature, typ at+jwt, iss, aud, exp, and the in-memory
 * revocation set (O(1)). Refresh tokens are refused. Thread-safe, lock-free on the hot path:
 * a per-thread cache of verified tokens keyed by their exact bytes skips the signature
 * (expiry and revocation are still checked on every call). */
auth_err auth_verify_access(auth *a, const char *token, size_t len, auth_principal *out);

/* Why an access token was refused: what an RFC 6750 error_description may tell its holder.
 * Every signature and claim failure is the one AUTH_FAULT_INVALID on purpose (which check
 * failed is not said); expiry and revocation are only reported for a token whose signature
 * and claims verified. */
typedef enum auth_token_fault {
    AUTH_FAULT_NONE = 0,
    AUTH_FAULT_INVALID, /* malformed, bad signature, wrong type, issuer, audience, claims */
    AUTH_FAULT_EXPIRED, /* genuine, past its exp */
    AUTH_FAULT_REVOKED  /* genuine, revoked (logout-all, a disabled user, a change of roles) */
} auth_token_fault;
/* auth_verify_access that also says why it refused (*fault: AUTH_FAULT_NONE on success or
 * when the error is not AUTH_INVALID_TOKEN). */
auth_err auth_verify_access_why(auth *a, const char *token, size_t len, auth_principal *out,
                                auth_token_fault *fault);

/* ---- Machine clients (client credentials, RFC 6749 section 4.4) ----
 * A client is named by its client_id (auth_client_name_valid), exactly (case-sensitive);
 * its access tokens have sub "client:" NAME and a client_id claim, so they can never be
 * mistaken for a user's (whose sub is a decimal id). Secrets are kept as a keyed hash. */
typedef struct auth_client {
    char name[AUTH_MAX_CLIENT + 1];
    char roles[AUTH_MAX_ROLES][AUTH_MAX_ROLE + 1];
    size_t nroles;
    int64_t created, updated;
} auth_client;
typedef bool (*auth_client_cb)(void *ctx, const auth_client *c);

/* An access token without a refresh token (the client credentials grant). */
typedef struct auth_access {
    char *access_token; /* owned: auth_access_clear frees */
    int64_t expires_in;
} auth_access;
void auth_access_clear(auth_access *t);

/* 1..AUTH_MAX_CLIENT bytes of [A-Za-z0-9._-]. */
bool auth_client_name_valid(const char *name);
/* Registers a client with 0..AUTH_MAX_ROLES roles. secret (secret_len bytes,
 * AUTH_MIN_CLIENT_SECRET..AUTH_MAX_CLIENT_SECRET, else AUTH_INVALID_INPUT) or, when NULL,
 * a generated one copied into generated (AUTH_CLIENT_SECRET_CHARS + 1 bytes) to be shown
 * once. AUTH_CONFLICT: the name is taken. */
auth_err auth_client_add(auth *a, const char *name, const char *const *roles, size_t nroles,
                         const char *secret, size_t secret_len,
                         char generated[AUTH_CLIENT_SECRET_CHARS + 1], auth_client *out);
auth_err auth_client_get(auth *a, const char *name, auth_client *out);
/* Every client by name; never a secret (an auth_client has no field for it). */
auth_err auth_client_list(auth *a, auth_client_cb cb, void *ctx);
/* Removes the client and revokes every access token it holds. */
auth_err auth_client_remove(auth *a, const char *name);
/* A new generated secret (into secret, shown once); the old one stops working and every
 * access token the client holds is revoked. */
auth_err auth_client_rotate_secret(auth *a, const char *name,
                                   char secret[AUTH_CLIENT_SECRET_CHARS + 1]);
/* Checks a client's credentials in constant time: AUTH_BAD_CREDENTIALS for an unknown
 * client, a wrong secret or malformed input, alike. */
auth_err auth_client_authenticate(auth *a, const char *id, size_t id_len, const char *secret,
                                  size_t secret_len, auth_client *out);
/* An access token for an authenticated client (auth_client_authenticate first). */
auth_err auth_client_issue(auth *a, const auth_client *c, auth_access *out);

/* ---- Introspection (RFC 7662) ---- */
typedef struct auth_introspection {
    bool active;  /* false: everything below is empty */
    bool refresh; /* a refresh token, else an access token */
    bool client;  /* a machine client's access token */
    char sub[sizeof AUTH_CLIENT_SUB_PREFIX + AUTH_MAX_CLIENT];
    char username[AUTH_MAX_USERNAME + 1]; /* users' tokens */
    char client_id[AUTH_MAX_CLIENT + 1];  /* clients' tokens */
    char roles[AUTH_MAX_ROLES][AUTH_MAX_ROLE + 1];
    size_t nroles; /* access tokens */
    int64_t iat, exp;
} auth_introspection;
/* Whether token is currently valid, reading the database: an access token must verify
 * (signature, claims, revocations) and its user be enabled (its client exist); a refresh
 * token must verify and be unspent, unexpired, of an unrevoked family and an enabled user.
 * Anything else is out->active false with AUTH_OK. prefer_refresh: try it as a refresh
 * token first (token_type_hint). */
auth_err auth_introspect(auth *a, const char *token, size_t len, bool prefer_refresh,
                         auth_introspection *out);

/* ---- Keys ---- */
/* The public JWKS (current and still-valid retired keys); a string owned by a, valid until
 * the next auth_sync/auth_keys_rotate on any thread: copy it (auth_jwks_copy). */
auth_err auth_jwks_copy(auth *a, char **json_out);
/* A new current key (alg JWTD_ALG_UNKNOWN: cfg->key_alg); the previous one is retired but
 * stays in the JWKS and keeps verifying until every token it signed has expired. */
auth_err auth_keys_rotate(auth *a, jwtd_alg alg, char kid_out[AUTH_MAX_KID + 1]);

/* A signing key as listings show it: never the private key. */
typedef struct auth_key_info {
    char kid[AUTH_MAX_KID + 1];
    char alg[AUTH_MAX_ALG + 1];
    int64_t created;
    int64_t retired; /* 0: current */
} auth_key_info;
typedef bool (*auth_key_cb)(void *ctx, const auth_key_info *k);
/* Every stored signing key, oldest first (with JWT_SECRET there are none). */
auth_err auth_keys_list(auth *a, auth_key_cb cb, void *ctx);

/* Counters for /metrics and /admin/metrics. */
/* The upper bounds (seconds) of the password-hash time histogram: every Argon2id hash and
 * verification (the dummy one of unknown users too), bcrypt excluded. */
#define AUTH_PW_BUCKETS 10
extern const double auth_pw_bucket_bounds[AUTH_PW_BUCKETS];

/* Why this instance revoked tokens (jwtd_revocations_total{reason}): a logout ends one refresh
 * family, a detected reuse another; logout-all, a disable, a role change and a client's removal
 * or new secret revoke every access token of the principal. */
typedef enum auth_revocation_reason {
    AUTH_REV_LOGOUT,
    AUTH_REV_REUSE,
    AUTH_REV_LOGOUT_ALL,
    AUTH_REV_DISABLED,
    AUTH_REV_ROLES,
    AUTH_REV_CLIENT,
    AUTH_REV_COUNT
} auth_revocation_reason;
/* "logout", "reuse", "logout_all", "disabled", "roles", "client". */
const char *auth_revocation_reason_name(auth_revocation_reason r);

typedef struct auth_stats {
    uint64_t pw_hashes[AUTH_PW_BUCKETS + 1]; /* per bucket (not cumulative); last: above all */
    uint64_t pw_hash_us;                     /* their total time, microseconds */
    uint64_t logins_ok, logins_failed, registrations, refreshes, refresh_reuse, logouts, verify_ok,
        verify_failed, verify_cache_hits;
    uint64_t revocations[AUTH_REV_COUNT]; /* made by this instance, by reason */
    /* The verified-token cache: lookups that found the token (whatever expiry and revocation
     * then said), and verifications that ran the signature check (every one when it is off). */
    uint64_t token_cache_hits, token_cache_misses;
    size_t token_cache_slots; /* per verifying thread */
    size_t revoked_jtis, revoked_users, signing_keys;
} auth_stats;
void auth_stats_get(auth *a, auth_stats *out);

#endif /* JWTD_AUTH_H */
