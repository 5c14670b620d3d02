/* The storage interface of jwtd serve: users, refresh-token families, access-token
 * revocations, signing keys and audit events, behind one table of functions per backend
 * (SQLite now, PostgreSQL next) in the manner of Redis's rio.c. src/auth uses only this
 * header. Every call returns a store_err and never aborts; every store is safe to call from
 * several threads at once. Times are Unix seconds. */
#ifndef JWTD_STORE_H
#define JWTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_USERNAME 64   /* bytes, without NUL */
#define STORE_MAX_EMAIL 254
#define STORE_MAX_NAME 128
#define STORE_MAX_HASH 256      /* PHC string or bcrypt hash */
#define STORE_MAX_ROLES 8
#define STORE_MAX_ROLE 32
#define STORE_MAX_JTI 64
#define STORE_MAX_KID 64
#define STORE_MAX_KEY_BYTES 16384 /* a private key as PEM or JWK text */

typedef enum store_err {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* no such row */
    STORE_CONFLICT,    /* unique key taken (username, email, jti, kid) or state changed */
    STORE_UNAVAILABLE, /* cannot write now: read-only, disk full, busy past the timeout */
    STORE_ERROR        /* anything else (corrupt, bad argument); details go to the log */
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
    int64_t spent;                         /* 0: not yet rotated */
    char replaced_by[STORE_MAX_JTI + 1];   /* jti of the token that replaced it, "" if none */
    bool revoked;                          /* the whole family was revoked */
} store_refresh;

typedef struct store_signing_key {
    char kid[STORE_MAX_KID + 1];
    char alg[16];
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

typedef struct store store;

/* Callbacks for listings: return false to stop early. */
typedef bool (*store_user_cb)(void *ctx, const store_user *u);
typedef bool (*store_key_cb)(void *ctx, const store_signing_key *k);
typedef bool (*store_revocation_cb)(void *ctx, const store_revocation *r);

/* The backend table. Each function is required. */
typedef struct store_ops {
    const char *name; /* "sqlite" */
    void (*close)(store *s);

    store_err (*user_create)(store *s, store_user *u); /* sets u->id, created, updated */
    store_err (*user_get_by_id)(store *s, int64_t id, store_user *out);
    store_err (*user_get_by_username)(store *s, const char *username, store_user *out);
    store_err (*user_get_by_email)(store *s, const char *email, store_user *out);
    /* Users by id ascending, starting after after_id, at most limit. *total: all users. */
    store_err (*user_list)(store *s, int64_t after_id, size_t limit, store_user_cb cb, void *ctx,
                           size_t *total);
    store_err (*user_set_password_hash)(store *s, int64_t id, const char *hash);
    store_err (*user_set_roles)(store *s, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                                size_t nroles);
    store_err (*user_set_disabled)(store *s, int64_t id, bool disabled);
    store_err (*user_count)(store *s, size_t *count);

    store_err (*refresh_insert)(store *s, const store_refresh *r);
    store_err (*refresh_get)(store *s, const char *jti, store_refresh *out);
    /* In one transaction: if old_jti is unspent and its family not revoked, mark it spent at
     * `now`, replaced by next->jti, and insert next: STORE_OK. Otherwise change nothing and
     * return STORE_CONFLICT with *current filled (spent or revoked), or STORE_NOT_FOUND. */
    store_err (*refresh_rotate)(store *s, const char *old_jti, int64_t now,
                                const store_refresh *next, store_refresh *current);
    store_err (*family_revoke)(store *s, const char *family);
    store_err (*user_families_revoke)(store *s, int64_t user_id);

    store_err (*revocation_add)(store *s, const store_revocation *r);
    /* Every revocation not yet expired at `now` (to rebuild the in-memory set at start). */
    store_err (*revocation_list)(store *s, int64_t now, store_revocation_cb cb, void *ctx);

    store_err (*key_insert)(store *s, const store_signing_key *k);
    store_err (*key_list)(store *s, store_key_cb cb, void *ctx); /* oldest first */
    store_err (*key_retire)(store *s, const char *kid, int64_t when);

    /* kind: "login.failed", "refresh.reuse", ...; detail: short JSON without secrets. */
    store_err (*audit_add)(store *s, const char *kind, int64_t user_id, const char *detail);
} store_ops;

struct store {
    const store_ops *ops;
};

/* Opens "sqlite:PATH", a plain PATH (SQLite), or later "postgres://...". Creates and
 * migrates the schema. */
store_err store_open(const char *url, store **out);
/* The SQLite backend directly (store_sqlite.c). */
store_err store_sqlite_open(const char *path, store **out);

static inline void store_close(store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

#endif /* JWTD_STORE_H */
