/* Password hashes: Argon2id PHC strings through libsodium with the configured parameters,
 * imported bcrypt hashes checked through libxcrypt, and the dummy hash that gives unknown
 * users the cost of a wrong password. Nothing here logs or returns a password or a hash. */
#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_internal.h"

#define ARGON2ID_PREFIX "$argon2id$"
#define ARGON2I_PREFIX "$argon2i$"
#define BCRYPT_LEN 60 /* "$2b$" cost "$" 22 salt chars 31 hash chars */

const double auth_pw_bucket_bounds[AUTH_PW_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25,  0.5,  1,     2.5,  5};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Counts one Argon2id run that began at start (now_us) in the histogram of auth_stats. */
static void pw_timed(auth *a, uint64_t start)
{
    uint64_t us = now_us() - start;
    size_t i = 0;
    while (i < AUTH_PW_BUCKETS && (double)us > auth_pw_bucket_bounds[i] * 1e6)
        i++;
    atomic_fetch_add(&a->pw_hashes[i], 1);
    atomic_fetch_add(&a->pw_hash_us, us);
}

/* An Argon2id hash with the configured cost, untimed. */
static auth_err pw_hash_raw(const auth *a, const char *password, size_t len,
                            char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str_alg(out, password, len, a->cfg.pwhash_opslimit, a->cfg.pwhash_memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return AUTH_INTERNAL; /* only memory can run out: the limits were checked */
    return AUTH_OK;
}

auth_err auth_pw_hash(auth *a, const char *password, size_t len, char out[crypto_pwhash_STRBYTES])
{
    uint64_t start = now_us();
    auth_err rc = pw_hash_raw(a, password, len, out);
    pw_timed(a, start);
    return rc;
}

auth_err auth_pw_dummy_init(auth *a)
{
    unsigned char random_password[32];
    auth_err rc;

    randombytes_buf(random_password, sizeof random_password);
    /* At start-up, not for a request: left out of the histogram. */
    rc = pw_hash_raw(a, (const char *)random_password, sizeof random_password, a->dummy_hash);
    sodium_memzero(random_password, sizeof random_password);
    return rc;
}

void auth_pw_dummy_verify(auth *a, const char *password, size_t len)
{
    /* The result is meaningless (the dummy's password is random and forgotten): only
     * the time it takes matters. volatile: the call must not be optimised away. */
    uint64_t start = now_us();
    volatile int ignored = crypto_pwhash_str_verify(a->dummy_hash, password, len);
    pw_timed(a, start);

    (void)ignored;
}

static bool is_bcrypt(const char *hash)
{
    return strncmp(hash, "$2b$", 4) == 0 || strncmp(hash, "$2a$", 4) == 0 ||
           strncmp(hash, "$2y$", 4) == 0;
}

static bool is_argon2(const char *hash)
{
    return strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) == 0 ||
           strncmp(hash, ARGON2I_PREFIX, strlen(ARGON2I_PREFIX)) == 0;
}

static bool bcrypt_verify(const char *password, const char *hash)
{
    /* struct crypt_data is ~32 KiB: on the heap, not on a worker's stack. crypt_rn keeps
     * no state outside it, so concurrent logins are safe. */
    struct crypt_data *cd = calloc(1, sizeof *cd);
    size_t hash_len = strlen(hash);
    const char *computed;
    bool ok = false;

    if (cd == NULL)
        return false;
    computed = crypt_rn(password, hash, cd, (int)sizeof *cd);
    if (computed != NULL && computed[0] != '*' && strlen(computed) == hash_len)
        ok = sodium_memcmp(computed, hash, hash_len) == 0;
    sodium_memzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

bool auth_pw_verify(auth *a, const char *password, size_t len, const char *hash, bool *rehash)
{
    *rehash = false;
    if (is_bcrypt(hash)) {
        /* bcrypt hashes come from imports only; they are replaced at the first login. */
        *rehash = bcrypt_verify(password, hash);
        return *rehash;
    }
    if (!is_argon2(hash) || strlen(hash) >= crypto_pwhash_STRBYTES) {
        auth_pw_dummy_verify(a, password, len);
        return false;
    }
    uint64_t start = now_us();
    int rc = crypto_pwhash_str_verify(hash, password, len);
    pw_timed(a, start);
    if (rc != 0)
        return false;
    *rehash =
        strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0 ||
        crypto_pwhash_str_needs_rehash(hash, a->cfg.pwhash_opslimit, a->cfg.pwhash_memlimit) != 0;
    return true;
}

static bool bcrypt_well_formed(const char *hash)
{
    static const char alphabet[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int cost;

    if (strlen(hash) != BCRYPT_LEN || hash[4] < '0' || hash[4] > '3' || hash[5] < '0' ||
        hash[5] > '9' || hash[6] != '$')
        return false;
    cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    for (size_t i = 7; i < BCRYPT_LEN; i++) {
        if (strchr(alphabet, hash[i]) == NULL)
            return false;
    }
    return true;
}

bool auth_pw_hash_importable(const char *hash)
{
    if (hash == NULL || strnlen(hash, STORE_MAX_HASH + 1) > STORE_MAX_HASH)
        return false;
    if (is_bcrypt(hash))
        return bcrypt_well_formed(hash);
    /* libsodium parses the PHC string; -1 means it could not. */
    return is_argon2(hash) && strlen(hash) < crypto_pwhash_STRBYTES &&
           crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_MIN,
                                          crypto_pwhash_MEMLIMIT_MIN) >= 0;
}
