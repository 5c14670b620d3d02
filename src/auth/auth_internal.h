/* State shared by the files of src/auth: the auth object, the immutable key and revocation
 * snapshots that verifying threads hold by reference, and the helpers the files call across.
 * Nothing here is visible outside src/auth. */
#ifndef JWTD_AUTH_INTERNAL_H
#define JWTD_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <sodium.h>

#include "auth/auth.h"
#include "store/store.h"

/* auth.h names the limits without including the store; they must be the store's. */
_Static_assert(AUTH_MAX_USERNAME == STORE_MAX_USERNAME, "username limit");
_Static_assert(AUTH_MAX_EMAIL == STORE_MAX_EMAIL, "email limit");
_Static_assert(AUTH_MAX_NAME == STORE_MAX_NAME, "name limit");
_Static_assert(AUTH_MAX_HASH == STORE_MAX_HASH, "hash limit");
_Static_assert(AUTH_MAX_ROLES == STORE_MAX_ROLES && AUTH_MAX_ROLE == STORE_MAX_ROLE, "role limits");
_Static_assert(AUTH_MAX_JTI == STORE_MAX_JTI && AUTH_MAX_KID == STORE_MAX_KID, "id limits");
_Static_assert(AUTH_MAX_ALG == STORE_MAX_ALG, "alg limit");
_Static_assert((int)AUTH_LOG_ERROR == (int)STORE_LOG_ERROR &&
                   (int)AUTH_LOG_WARN == (int)STORE_LOG_WARN,
               "log levels");

#define AUTH_TYP_ACCESS "at+jwt"
#define AUTH_TYP_REFRESH "refresh+jwt"
#define AUTH_GRACE_SLOTS 1024u                   /* rotations remembered for the grace window */
#define AUTH_MAX_TTL (INT64_C(10) * 366 * 86400) /* bounds every TTL: no overflow near 2^63 */
#define AUTH_JTI_CHARS 22u                       /* 128 random bits as base64url without padding */

/* The keys in use, built from the store's rows and never modified afterwards. Readers hold a
 * reference, so a rotation never frees a set under a verifying thread. */
typedef struct auth_keys {
    atomic_uint refs;
    jwtd_keyset *set; /* current + retired keys still inside their window */
    jwtd_key *signer; /* the newest current key */
    jwtd_alg signer_alg;
    char *jwks;                 /* public JWKS of set */
    jwtd_validation *v_access;  /* typ at+jwt, iss, aud, algs of set, leeway 0 */
    jwtd_validation *v_refresh; /* typ refresh+jwt, algs of set, leeway 0 */
    char *fingerprint;          /* the rows it was built from: auth_sync compares it */
} auth_keys;

/* Access-token revocations, immutable like auth_keys: two open-addressing tables. */
typedef struct auth_rev_jti {
    char jti[STORE_MAX_JTI + 1]; /* "" marks an empty slot */
    int64_t expires;
} auth_rev_jti;

typedef struct auth_rev_user {
    int64_t user_id; /* 0 marks an empty slot (ids start at 1) */
    int64_t before;  /* tokens with iat <= before are revoked */
    int64_t expires;
} auth_rev_user;

typedef struct auth_revs {
    atomic_uint refs;
    auth_rev_jti *jtis;
    size_t njtis, jcap; /* jcap: 0 or a power of two, at least twice njtis */
    auth_rev_user *users;
    size_t nusers, ucap;
} auth_revs;

/* One rotation, kept so that a second presentation of the old token inside the grace window
 * gets the same pair (two tabs refreshing at once). */
typedef struct auth_grace_entry {
    char old_jti[STORE_MAX_JTI + 1]; /* "" marks an empty slot */
    char new_jti[STORE_MAX_JTI + 1];
    int64_t until;
    auth_pair pair;
} auth_grace_entry;

typedef struct auth_thread auth_thread;

struct auth {
    auth_config cfg; /* issuer/audience point at the copies below; jwt_secret is not kept */
    char *issuer, *audience;
    bool hs256; /* signing with JWT_SECRET (HS256, HS384 or HS512): no stored keys, an empty
                 * JWKS */
    jwtd_alg secret_alg; /* with JWT_SECRET: auth_secret_alg of the configuration */
    jwtd_key *secret_key;
    store *s;
    bool lookup;       /* AUTH_OPEN_LOOKUP: only s is set up */
    auth_log *log_box; /* set by auth_open alone, when the service owns s: the hook s reports
                        * to, freed after s closes */
    char dummy_hash[crypto_pwhash_STRBYTES];           /* verified against when there is no user */
    unsigned char hash_key[crypto_shorthash_KEYBYTES]; /* table indexes: not attacker-steerable */

    pthread_mutex_t mu; /* guards the two pointers below and their generation counters */
    auth_keys *keys;
    auth_revs *revs;
    atomic_uint_fast64_t keys_gen, revs_gen; /* read without mu on every verify */

    pthread_mutex_t keys_mu; /* one key reload or rotation at a time */
    pthread_mutex_t revs_mu; /* one revocation snapshot writer at a time */

    pthread_key_t tkey; /* this auth's per-thread state (auth_thread) */
    pthread_mutex_t threads_mu;
    auth_thread *threads; /* every live per-thread state, for stats and auth_free */
    /* counters of exited threads (threads_mu) */
    uint64_t gone_ok, gone_failed, gone_hits, gone_cache_hits, gone_cache_misses;
    /* The verified-token cache's key: a keyed SipHash-128 of a token stands for its bytes. */
    unsigned char cache_key[crypto_shorthash_siphashx24_KEYBYTES];

    pthread_mutex_t grace_mu;
    auth_grace_entry *grace; /* AUTH_GRACE_SLOTS, a ring */
    size_t grace_next;

    atomic_uint_fast64_t logins_ok, logins_failed, registrations, refreshes, refresh_reuse, logouts;
    atomic_uint_fast64_t revocations[AUTH_REV_COUNT];
    atomic_uint_fast64_t pw_hashes[AUTH_PW_BUCKETS + 1], pw_hash_us; /* auth_stats */

    /* The sync thread (sync.c) and what it knows of the store. */
    atomic_int_fast64_t keys_next_event; /* when the key snapshot changes by itself (keys.c) */
    pthread_t sync_thread;
    bool sync_running;              /* the thread was started and not yet joined */
    atomic_bool sync_stop;          /* asks it to end */
    atomic_int_fast64_t down_since; /* 0: the store answered its last ping; else since when not */
    atomic_int_fast64_t last_sync;  /* when keys and revocations were last read in full */
    atomic_uint_fast64_t syncs, sync_failures, watch_wakeups;
    /* The database's key for the shared counters' names (shared.c): every instance of one
     * database derives the same counter from the same identifier or address. */
    unsigned char counter_key[crypto_generichash_KEYBYTES];
    bool counter_key_set;
    /* The database's key of the client secrets' hashes (clients.c), read on first use. */
    pthread_mutex_t client_key_mu;
    unsigned char client_key[crypto_generichash_KEYBYTES];
    bool client_key_set; /* under client_key_mu */
};

/* auth.c */
/* False (the caller answers AUTH_INTERNAL) for NULL and for an AUTH_OPEN_LOOKUP object. */
static inline bool auth_serving(const auth *a) { return a != NULL && !a->lookup; }
int64_t auth_now(const auth *a);
auth_err auth_from_store(store_err err);
/* 128 random bits, base64url: jti and family ids. */
void auth_random_id(char out[AUTH_JTI_CHARS + 1]);
/* The HMAC algorithm a JWT_SECRET signs with: cfg->key_alg when it is HS256, HS384 or HS512,
 * else HS256 (an asymmetric key_alg names generated keys, which a secret replaces). */
static inline jwtd_alg auth_secret_alg(const auth_config *cfg)
{
    return cfg->key_alg >= JWTD_ALG_HS256 && cfg->key_alg <= JWTD_ALG_HS512 ? cfg->key_alg
                                                                            : JWTD_ALG_HS256;
}
/* The shortest secret alg accepts: the length of its hash (32, 48, 64 bytes). */
static inline size_t auth_secret_min(jwtd_alg alg)
{
    return alg == JWTD_ALG_HS512 ? 64u : alg == JWTD_ALG_HS384 ? 48u : AUTH_MIN_SECRET;
}
/* The user id in a token's sub (decimal, positive). */
bool auth_parse_user_id(const char *s, int64_t *out);
/* A keyed 64-bit hash for the in-memory tables. */
uint64_t auth_hash(const auth *a, const void *data, size_t len);

/* users.c */
/* A store record as it leaves the service: everything but the password hash. */
void auth_user_of(const store_user *u, auth_user *out);

/* A user's or a client's name: 1..max bytes of [A-Za-z0-9._-]. */
bool auth_name_valid(const char *name, size_t max);
/* 0..STORE_MAX_ROLES distinct roles, each one the store accepts (store_role_valid). */
bool auth_roles_valid(const char *const *roles, size_t nroles);
/* Copies roles that auth_roles_valid accepted. */
void auth_roles_copy(char dst[][STORE_MAX_ROLE + 1], const char *const *roles, size_t n);
/* passwords.c */
auth_err auth_pw_hash(auth *a, const char *password, size_t len, char out[crypto_pwhash_STRBYTES]);
/* True when password matches hash (Argon2 PHC or bcrypt); *rehash when it should be
 * replaced by an Argon2id hash with the configured parameters. */
bool auth_pw_verify(auth *a, const char *password, size_t len, const char *hash, bool *rehash);
/* The same work as a verify, for a user that does not exist or may not log in. */
void auth_pw_dummy_verify(auth *a, const char *password, size_t len);
auth_err auth_pw_dummy_init(auth *a);
/* Argon2 PHC strings and bcrypt $2a$/$2b$/$2y$ hashes. */
bool auth_pw_hash_importable(const char *hash);

/* keys.c */
auth_err auth_keys_init(auth *a, const char **why);
auth_err auth_keys_sync(auth *a);
auth_keys *auth_keys_acquire(auth *a, uint64_t *gen);
void auth_keys_release(auth_keys *k);

/* revocation.c */
auth_err auth_revs_init(auth *a);
auth_err auth_revs_sync(auth *a);
auth_revs *auth_revs_acquire(auth *a, uint64_t *gen);
void auth_revs_release(auth_revs *r);
bool auth_revs_is_revoked(const auth *a, const auth_revs *r, const auth_principal *p);
/* The user's "revoked before" time, 0 when none. */
int64_t auth_revs_user_before(const auth *a, const auth_revs *r, int64_t user_id);
/* Revokes every access token of the user issued up to now, in the store and in memory, and
 * counts it under reason. */
auth_err auth_revoke_user_access(auth *a, int64_t user_id, auth_revocation_reason reason);
/* Ends every refresh family and access token of a user (logout-all, disable). */
auth_err auth_revoke_user(auth *a, int64_t user_id, auth_revocation_reason reason);

/* shared.c */
/* A random key of len bytes (<= crypto_generichash_KEYBYTES_MAX) kept in the database as
 * setting (hex), made by the first instance that asks: every instance gets the same. */
auth_err auth_db_key(auth *a, const char *setting, unsigned char *key, size_t len);
/* Reads (creating on first use) the database's key of the shared counters. */
auth_err auth_counter_key_init(auth *a);

/* clients.c */
/* The key under which a client's access tokens are revoked in the revocation set (as a user
 * id would be): negative, so that it never meets a user's id. */
int64_t auth_client_revocation_key(const char *name, size_t len);
/* sync.c */
/* Stops and joins the sync thread when it runs (auth_free calls it). */
void auth_sync_join(auth *a);

/* tokens.c */
/* A new pair in a new family for u, its refresh token recorded in the store. */
auth_err auth_issue_pair(auth *a, const store_user *u, auth_pair *pair);
void auth_grace_free(auth *a);
/* An access token for client c, dated after its revocation key's last revocation. */
auth_err auth_sign_client_access(auth *a, const store_client *c, int64_t key, auth_access *out);
/* Introspection of a refresh token: signature, claims and its state in the database. */
auth_err auth_refresh_introspect(auth *a, const char *token, size_t len, auth_introspection *out);
void auth_grace_prune(auth *a);

/* verify.c */
auth_err auth_threads_init(auth *a);
void auth_threads_free(auth *a);
void auth_threads_stats(auth *a, auth_stats *out);
/* The calling thread's libjwtd cache (made on first use), for signing and verifying on
 * this thread only; NULL when it could not be made (calls then run uncached). */
jwtd_cache *auth_thread_jwtd_cache(auth *a);

#endif /* JWTD_AUTH_INTERNAL_H */
