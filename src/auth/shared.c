/* The limits' counters kept in the database, so that the instances sharing one database
 * count together (ratelimit.h, "Counters shared by the instances of one database"): the
 * account lockout and the per-IP windows. A counter's name is a keyed hash of what it counts
 * (an identifier, an address) under a key stored once in the database, so the database
 * holds no name or address that a login attempt typed and every instance derives the same
 * name. */
#include <stdio.h>
#include <string.h>

#include "auth_internal.h"
#include "ratelimit.h"

#define COUNTER_KEY_SETTING "counter_key"
#define KIND_LOCKOUT 0x4c4f434bu /* "LOCK" */
#define KIND_IP 0x49500000u      /* "IP" + the route's limit kind */

auth_err auth_db_key(auth *a, const char *setting, unsigned char *key, size_t len)
{
    unsigned char fresh[crypto_generichash_KEYBYTES_MAX];
    char proposed[2 * sizeof fresh + 1], stored[STORE_MAX_SETTING + 1];
    size_t bin_len = 0;
    auth_err rc;

    if (len > sizeof fresh)
        return AUTH_INTERNAL;
    randombytes_buf(fresh, len);
    sodium_bin2hex(proposed, sizeof proposed, fresh, len);
    rc = auth_from_store(store_setting_get_or_init(a->s, setting, proposed, stored, sizeof stored));
    if (rc == AUTH_OK &&
        (sodium_hex2bin(key, len, stored, strlen(stored), NULL, &bin_len, NULL) != 0 ||
         bin_len != len))
        rc = AUTH_INTERNAL; /* a value written by something else */
    sodium_memzero(fresh, sizeof fresh);
    sodium_memzero(proposed, sizeof proposed);
    sodium_memzero(stored, sizeof stored);
    return rc;
}

auth_err auth_counter_key_init(auth *a)
{
    auth_err rc = auth_db_key(a, COUNTER_KEY_SETTING, a->counter_key, sizeof a->counter_key);
    a->counter_key_set = rc == AUTH_OK;
    return rc;
}

bool auth_shared_limits(const auth *a)
{
    return auth_serving(a) && a->counter_key_set && store_shared(a->s);
}

/* The counter name of (kind, key): "c" and the keyed hash in hex. */
static void counter_name(const auth *a, unsigned kind, const void *key, size_t len, bool fold,
                         char out[2 + 2 * AUTH_KEYED_HASH_BYTES + 1])
{
    unsigned char h[AUTH_KEYED_HASH_BYTES];

    auth_keyed_hash(a->counter_key, sizeof a->counter_key, kind, key, len, fold, NULL, 0, h);
    out[0] = 'c';
    sodium_bin2hex(out + 1, 2 * AUTH_KEYED_HASH_BYTES + 1, h, sizeof h);
}

bool auth_shared_lockout_check(auth *a, const char *ident, size_t len, const auth_lockout *p,
                               int64_t *retry_after)
{
    char name[2 + 2 * AUTH_KEYED_HASH_BYTES + 1];
    int64_t failures = 0, until = 0, now;

    if (!auth_shared_limits(a) || ident == NULL || p == NULL)
        return true;
    now = auth_now(a);
    counter_name(a, KIND_LOCKOUT, ident, len, true, name);
    if (store_lockout_get(a->s, name, now, p->max, &failures, &until) != STORE_OK || until <= now)
        return true;
    if (retry_after != NULL)
        *retry_after = until - now;
    return false;
}

/* The lock a failure count sets, for the store's transaction (p is the policy). */
static int64_t lock_for(void *ctx, int64_t failures)
{
    return auth_lockout_duration(ctx, failures);
}

void auth_shared_lockout_end(auth *a, const char *ident, size_t len, const auth_lockout *p,
                             auth_login_outcome outcome)
{
    char name[2 + 2 * AUTH_KEYED_HASH_BYTES + 1];
    auth_lockout policy;

    if (!auth_shared_limits(a) || ident == NULL || p == NULL || outcome == AUTH_LOGIN_NEITHER)
        return;
    counter_name(a, KIND_LOCKOUT, ident, len, true, name);
    policy = *p;
    /* Errors are logged by the store; the login's answer is already decided. */
    if (outcome == AUTH_LOGIN_SUCCESS)
        (void)store_lockout_clear(a->s, name);
    else
        (void)store_lockout_fail(a->s, name, auth_now(a), p->max, lock_for, &policy, NULL, NULL);
}

bool auth_shared_take(auth *a, unsigned kind, const void *key, size_t len, const auth_rate *rate,
                      int64_t *retry_after)
{
    char name[2 + 2 * AUTH_KEYED_HASH_BYTES + 1];
    int64_t now, window, count = 0;

    if (!auth_shared_limits(a) || rate == NULL || rate->period < 1 || rate->burst < 1)
        return true;
    now = auth_now(a);
    window = now - now % rate->period;
    counter_name(a, KIND_IP | (kind & 0xffffu), key, len, false, name);
    if (store_hits_add(a->s, name, window, window + rate->period, &count) != STORE_OK ||
        count <= rate->burst)
        return true;
    if (retry_after != NULL)
        *retry_after = window + rate->period - now;
    return false;
}
