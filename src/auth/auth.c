/* The auth service's life cycle: configuration and its checks, auth_new/auth_free/auth_sync,
 * error messages, counters, and the small helpers (clock, random ids, keyed hash) that the
 * other files of src/auth share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_internal.h"

const char *auth_err_message(auth_err err)
{
    switch (err) {
    case AUTH_OK: return "ok";
    case AUTH_BAD_CREDENTIALS: return "invalid credentials";
    case AUTH_INVALID_TOKEN: return "invalid token";
    case AUTH_TOKEN_REUSED: return "refresh token reuse detected";
    case AUTH_FORBIDDEN: return "forbidden";
    case AUTH_CONFLICT: return "username or email already registered";
    case AUTH_INVALID_INPUT: return "invalid input";
    case AUTH_NOT_FOUND: return "not found";
    case AUTH_UNAVAILABLE: return "service unavailable";
    case AUTH_INTERNAL: break;
    }
    return "internal error";
}

void auth_config_defaults(auth_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->access_ttl = 900;
    cfg->refresh_ttl = 604800;
    cfg->refresh_grace = 10;
    cfg->issuer = "jwtd";
    cfg->audience = "jwtd";
    cfg->pwhash_opslimit = 2; /* OWASP: Argon2id m=19 MiB, t=2, p=1 */
    cfg->pwhash_memlimit = 19u * 1024 * 1024;
    /* RS256: every common verifier accepts it and it is the cheapest to verify; EdDSA is not
     * accepted by several gateways and libraries (docs/BENCHMARKS.md, "Default algorithm"). */
    cfg->key_alg = JWTD_ALG_RS256;
    cfg->token_cache = AUTH_TOKEN_CACHE_DEFAULT;
}

int64_t auth_now(const auth *a) { return a->cfg.now != NULL ? a->cfg.now() : (int64_t)time(NULL); }

auth_err auth_from_store(store_err err)
{
    switch (err) {
    case STORE_OK: return AUTH_OK;
    case STORE_NOT_FOUND: return AUTH_NOT_FOUND;
    case STORE_CONFLICT: return AUTH_CONFLICT;
    case STORE_UNAVAILABLE: return AUTH_UNAVAILABLE;
    case STORE_UNSUPPORTED: return AUTH_INVALID_INPUT;
    case STORE_ERROR: break;
    }
    return AUTH_INTERNAL;
}

void auth_random_id(char out[AUTH_JTI_CHARS + 1])
{
    unsigned char bin[16];

    randombytes_buf(bin, sizeof bin);
    sodium_bin2base64(out, AUTH_JTI_CHARS + 1, bin, sizeof bin,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool auth_parse_user_id(const char *s, int64_t *out)
{
    char *end;
    long long v;

    /* Digits only, no sign, no leading zero: one spelling per id. */
    if (s == NULL || s[0] < '1' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return false;
    *out = (int64_t)v;
    return true;
}

uint64_t auth_hash(const auth *a, const void *data, size_t len)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;

    crypto_shorthash(out, data, len, a->hash_key);
    memcpy(&h, out, sizeof h);
    return h;
}

/* A reason for every configuration auth_new refuses; NULL when cfg is usable. */
static const char *config_problem(const auth_config *cfg)
{
    if (cfg->access_ttl < 1 || cfg->access_ttl > AUTH_MAX_TTL)
        return "access_ttl must be between 1 second and 10 years";
    if (cfg->refresh_ttl < 1 || cfg->refresh_ttl > AUTH_MAX_TTL)
        return "refresh_ttl must be between 1 second and 10 years";
    if (cfg->refresh_grace < 0 || cfg->refresh_grace > 3600)
        return "refresh_grace must be between 0 and 3600 seconds";
    if (cfg->issuer == NULL || cfg->issuer[0] == '\0' || strlen(cfg->issuer) > 256)
        return "issuer must be 1 to 256 bytes";
    if (cfg->audience == NULL || cfg->audience[0] == '\0' || strlen(cfg->audience) > 256)
        return "audience must be 1 to 256 bytes";
    if (cfg->pwhash_opslimit < crypto_pwhash_OPSLIMIT_MIN ||
        cfg->pwhash_opslimit > crypto_pwhash_OPSLIMIT_MAX)
        return "password hash opslimit out of range";
    if (cfg->pwhash_memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        cfg->pwhash_memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return "password hash memlimit out of range";
    /* RFC 7518 3.2: an HMAC key at least as long as the hash. */
    if (cfg->jwt_secret != NULL && cfg->jwt_secret_len < auth_secret_min(auth_secret_alg(cfg)))
        return auth_secret_alg(cfg) == JWTD_ALG_HS512   ? "JWT_SECRET must be at least 64 bytes"
               : auth_secret_alg(cfg) == JWTD_ALG_HS384 ? "JWT_SECRET must be at least 48 bytes"
                                                        : "JWT_SECRET must be at least 32 bytes";
    if (cfg->jwt_secret != NULL && cfg->jwt_secret_len > JWTD_MAX_KEY_BYTES)
        return "JWT_SECRET is too long";
    /* Generated keys are stored as PEM, which HMAC secrets have not: HS* comes from
     * JWT_SECRET only. */
    if (cfg->jwt_secret == NULL && cfg->key_alg != JWTD_ALG_UNKNOWN &&
        (cfg->key_alg < JWTD_ALG_RS256 || cfg->key_alg >= JWTD_ALG_COUNT))
        return "key_alg must be an asymmetric algorithm (HS256, HS384, HS512 need JWT_SECRET)";
    if (cfg->key_rotation < 0 || cfg->key_rotation > AUTH_MAX_TTL)
        return "key_rotation must be between 0 (off) and 10 years";
    if (cfg->key_rotation > 0 &&
        (cfg->key_prepublish < 0 || cfg->key_prepublish >= cfg->key_rotation))
        return "key_prepublish must be at least 0 and shorter than key_rotation";
    if (cfg->key_rotation > 0 && cfg->jwt_secret != NULL)
        return "key rotation needs generated keys: JWT_SECRET cannot rotate";
    if (cfg->token_cache > AUTH_TOKEN_CACHE_MAX)
        return "token_cache must be between 0 (off) and 262144 slots";
    return NULL;
}

static void mutexes_destroy(auth *a)
{
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->keys_mu);
    pthread_mutex_destroy(&a->revs_mu);
    pthread_mutex_destroy(&a->threads_mu);
    pthread_mutex_destroy(&a->grace_mu);
    pthread_mutex_destroy(&a->client_key_mu);
}

auth_err auth_new(const auth_config *cfg, store *s, auth **out, const char **why)
{
    const char *problem, *dummy_why = NULL;
    auth_err rc;
    auth *a;

    if (why == NULL)
        why = &dummy_why;
    *why = NULL;
    if (out == NULL || cfg == NULL || s == NULL) {
        *why = "missing argument";
        return AUTH_INVALID_INPUT;
    }
    *out = NULL;
    if ((problem = config_problem(cfg)) != NULL) {
        *why = problem;
        return AUTH_INVALID_INPUT;
    }
    if (sodium_init() < 0) {
        *why = "libsodium failed to initialise";
        return AUTH_INTERNAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL || (a->grace = calloc(AUTH_GRACE_SLOTS, sizeof *a->grace)) == NULL) {
        free(a);
        *why = "out of memory";
        return AUTH_INTERNAL;
    }
    a->cfg = *cfg;
    a->cfg.jwt_secret = NULL;
    a->cfg.jwt_secret_len = 0;
    if (a->cfg.key_alg == JWTD_ALG_UNKNOWN)
        a->cfg.key_alg = JWTD_ALG_RS256;
    a->s = s;
    a->hs256 = cfg->jwt_secret != NULL;
    a->secret_alg = a->hs256 ? auth_secret_alg(cfg) : JWTD_ALG_UNKNOWN;
    atomic_init(&a->keys_next_event, INT64_MAX);
    randombytes_buf(a->hash_key, sizeof a->hash_key);
    randombytes_buf(a->cache_key, sizeof a->cache_key);
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->keys_mu, NULL);
    pthread_mutex_init(&a->revs_mu, NULL);
    pthread_mutex_init(&a->threads_mu, NULL);
    pthread_mutex_init(&a->grace_mu, NULL);
    pthread_mutex_init(&a->client_key_mu, NULL);
    a->issuer = strdup(cfg->issuer);
    a->audience = strdup(cfg->audience);
    if (a->issuer == NULL || a->audience == NULL) {
        *why = "out of memory";
        rc = AUTH_INTERNAL;
        goto fail;
    }
    a->cfg.issuer = a->issuer;
    a->cfg.audience = a->audience;

    if (a->hs256) {
        /* A raw secret has no kid of its own; a short digest names it so that a verifier
         * holding several secrets can still pick one, without revealing the secret. */
        unsigned char digest[crypto_hash_sha256_BYTES];
        char kid[6 + 8 + 1] = "",
                         b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        jwtd_key *raw = NULL;

        crypto_hash_sha256(digest, cfg->jwt_secret, cfg->jwt_secret_len);
        sodium_bin2base64(b64, sizeof b64, digest, sizeof digest,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        /* "hs256-..." as before HS384 and HS512 existed; "hs384-...", "hs512-..." beside it. */
        snprintf(kid, sizeof kid, "hs%s-%.8s", jwtd_alg_name(a->secret_alg) + 2, b64);
        if (jwtd_key_from_secret(cfg->jwt_secret, cfg->jwt_secret_len, 0, &raw) != JWTD_OK ||
            jwtd_key_with_kid(raw, kid, &a->secret_key) != JWTD_OK) {
            jwtd_key_free(raw);
            *why = "JWT_SECRET is not a usable HMAC key";
            rc = AUTH_INVALID_INPUT;
            goto fail;
        }
        jwtd_key_free(raw);
    }
    if ((rc = auth_pw_dummy_init(a)) != AUTH_OK) {
        *why = "password hashing failed (memory)";
        goto fail;
    }
    if ((rc = auth_keys_init(a, why)) != AUTH_OK)
        goto fail;
    if ((rc = auth_revs_init(a)) != AUTH_OK) {
        *why = "cannot load the access-token revocations from the store";
        goto fail;
    }
    if ((rc = auth_counter_key_init(a)) != AUTH_OK) {
        *why = "cannot read the key of the shared counters from the store";
        goto fail;
    }
    if ((rc = auth_threads_init(a)) != AUTH_OK) {
        *why = "cannot create thread-local storage";
        goto fail;
    }
    *out = a;
    return AUTH_OK;
fail:
    auth_keys_release(a->keys);
    auth_revs_release(a->revs);
    jwtd_key_free(a->secret_key);
    free(a->issuer);
    free(a->audience);
    free(a->grace);
    mutexes_destroy(a);
    sodium_memzero(a, sizeof *a);
    free(a);
    return rc;
}

/* The store's log hook relayed to the service's (the levels are the same numbers). */
static void store_log_relay(void *ctx, store_log_level level, const char *op, const char *msg)
{
    const auth_log *log = ctx;
    if (log->fn != NULL)
        log->fn(log->ctx, (auth_log_level)level, op, msg);
}

auth_err auth_open(const auth_config *cfg, const char *db_url, auth_open_mode mode, auth **out,
                   char *why, size_t whylen)
{
    const char *reason = NULL;
    auth_log *box;
    store *s = NULL;
    store_err se;
    auth_err rc;

    if (out != NULL)
        *out = NULL;
    if (cfg == NULL || db_url == NULL || out == NULL) {
        snprintf(why, whylen, "cannot start the auth service: missing argument");
        return AUTH_INVALID_INPUT;
    }
    if ((box = malloc(sizeof *box)) == NULL) {
        snprintf(why, whylen, "cannot start the auth service: out of memory");
        return AUTH_INTERNAL;
    }
    *box = cfg->log;
    se = store_open_with(db_url, &(store_log){store_log_relay, box},
                         &(store_options){.pool = cfg->store_pool}, &s);
    if (se != STORE_OK) {
        char where[256];
        store_location_safe(db_url, where, sizeof where);
        snprintf(why, whylen, "cannot open the database '%s': %s", where, store_err_name(se));
        free(box);
        return auth_from_store(se);
    }
    if (mode == AUTH_OPEN_LOOKUP) {
        auth *a = calloc(1, sizeof *a);
        if (a == NULL) {
            snprintf(why, whylen, "cannot start the auth service: out of memory");
            store_close(s);
            free(box);
            return AUTH_INTERNAL;
        }
        a->cfg = *cfg;
        a->cfg.jwt_secret = NULL;
        a->cfg.jwt_secret_len = 0;
        a->cfg.issuer = a->cfg.audience = NULL; /* borrowed: not kept */
        a->s = s;
        a->lookup = true;
        a->log_box = box;
        *out = a;
        return AUTH_OK;
    }
    rc = auth_new(cfg, s, out, &reason);
    if (rc != AUTH_OK) {
        snprintf(why, whylen, "cannot start the auth service: %s",
                 reason != NULL ? reason : auth_err_message(rc));
        store_close(s);
        free(box);
        return rc;
    }
    (*out)->log_box = box;
    return AUTH_OK;
}

bool auth_db_local_file(const char *db_url, char *path, size_t len)
{
    return store_local_file(db_url, path, len);
}

void auth_db_location_safe(const char *db_url, char *out, size_t len)
{
    store_location_safe(db_url, out, len);
}

/* Closes the store when auth_open opened it. */
static void store_release(auth *a)
{
    if (a->log_box == NULL)
        return;
    store_close(a->s);
    free(a->log_box);
    a->log_box = NULL;
}

void auth_free(auth *a)
{
    if (a == NULL)
        return;
    if (a->lookup) {
        store_release(a);
        free(a);
        return;
    }
    auth_sync_join(a);
    auth_threads_free(a);
    auth_grace_free(a);
    auth_keys_release(a->keys);
    auth_revs_release(a->revs);
    jwtd_key_free(a->secret_key);
    free(a->issuer);
    free(a->audience);
    free(a->grace);
    mutexes_destroy(a);
    store_release(a);
    sodium_memzero(a, sizeof *a);
    free(a);
}

auth_err auth_sync(auth *a)
{
    auth_err rk, rr;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    auth_grace_prune(a);
    rk = auth_keys_sync(a);
    rr = auth_revs_sync(a);
    return rk != AUTH_OK ? rk : rr;
}

void auth_pair_clear(auth_pair *p)
{
    if (p == NULL)
        return;
    /* Bearer credentials: do not leave them in freed memory. */
    if (p->access_token != NULL)
        sodium_memzero(p->access_token, strlen(p->access_token));
    if (p->refresh_token != NULL)
        sodium_memzero(p->refresh_token, strlen(p->refresh_token));
    free(p->access_token);
    free(p->refresh_token);
    memset(p, 0, sizeof *p);
}

bool auth_principal_has_role(const auth_principal *p, const char *role)
{
    if (p == NULL || role == NULL)
        return false;
    for (size_t i = 0; i < p->nroles && i < STORE_MAX_ROLES; i++) {
        if (strcmp(p->roles[i], role) == 0)
            return true;
    }
    return false;
}

void auth_stats_get(auth *a, auth_stats *out)
{
    auth_keys *k;
    auth_revs *r;

    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (!auth_serving(a))
        return;
    for (size_t i = 0; i <= AUTH_PW_BUCKETS; i++)
        out->pw_hashes[i] = atomic_load(&a->pw_hashes[i]);
    out->pw_hash_us = atomic_load(&a->pw_hash_us);
    out->logins_ok = atomic_load(&a->logins_ok);
    out->logins_failed = atomic_load(&a->logins_failed);
    out->registrations = atomic_load(&a->registrations);
    out->refreshes = atomic_load(&a->refreshes);
    out->refresh_reuse = atomic_load(&a->refresh_reuse);
    out->logouts = atomic_load(&a->logouts);
    for (size_t i = 0; i < AUTH_REV_COUNT; i++)
        out->revocations[i] = atomic_load(&a->revocations[i]);
    auth_threads_stats(a, out);
    k = auth_keys_acquire(a, NULL);
    out->signing_keys = jwtd_keyset_count(k->set);
    auth_keys_release(k);
    r = auth_revs_acquire(a, NULL);
    out->revoked_jtis = r->njtis;
    out->revoked_users = r->nusers;
    auth_revs_release(r);
}
