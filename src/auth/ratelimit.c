/* Token buckets and account lockout over one fixed-size table (ratelimit.h).
 *
 * Buckets use the generic cell rate algorithm: one number per key, the theoretical arrival
 * time (TAT) in microseconds. Each request adds the emission interval T = period / burst; a
 * request is refused when the TAT would then lie more than one period ahead of now. This is a
 * token bucket of `burst` tokens refilled at burst/period per second, without a refill loop. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth/ratelimit.h"

#define SHARDS 64u /* a power of two */
#define WAYS 8u    /* entries per set */
#define US INT64_C(1000000)
#define KIND_ACCOUNT 0xffffffffu  /* global lockout counter of an identifier */
#define KIND_FAMILIAR 0xfffffffeu /* (identifier, address) logged in successfully */
#define KIND_PAIR 0xfffffffdu     /* lockout counter of (identifier, familiar address) */
#define FOLD_CHUNK 64u

typedef struct entry {
    uint64_t k0, k1;  /* keyed hash of (kind, key); both 0: an empty slot */
    int64_t a;        /* bucket: TAT in microseconds; lockout: locked until (seconds) */
    int64_t expires;  /* seconds; from then on the entry is as good as absent */
    int64_t n;        /* lockout: failures */
    int32_t inflight; /* lockout: attempts begun and not ended */
    bool lock;        /* a lockout counter (a is a lock end), not a bucket or a familiar mark */
} entry;

typedef struct shard {
    pthread_mutex_t mu;
    entry *e; /* sets * WAYS */
} shard;

struct auth_limiter {
    int64_t (*now)(void);
    size_t sets; /* per shard, a power of two */
    unsigned char key[crypto_generichash_KEYBYTES];
    atomic_uint_least64_t evictions;
    shard shards[SHARDS];
};

static int64_t clock_now(const auth_limiter *l)
{
    return l->now != NULL ? l->now() : (int64_t)time(NULL);
}

auth_limiter *auth_limiter_new(size_t max_entries, int64_t (*now)(void))
{
    if (sodium_init() < 0)
        return NULL;
    auth_limiter *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->now = now;
    if (max_entries < AUTH_LIMITER_MIN_ENTRIES)
        max_entries = AUTH_LIMITER_MIN_ENTRIES;
    l->sets = 1;
    while (l->sets * 2 * SHARDS * WAYS <= max_entries)
        l->sets *= 2;
    randombytes_buf(l->key, sizeof l->key);
    atomic_init(&l->evictions, 0);
    for (size_t i = 0; i < SHARDS; i++) {
        l->shards[i].e = calloc(l->sets * WAYS, sizeof(entry));
        if (l->shards[i].e == NULL || pthread_mutex_init(&l->shards[i].mu, NULL) != 0) {
            free(l->shards[i].e);
            l->shards[i].e = NULL;
            auth_limiter_free(l);
            return NULL;
        }
    }
    return l;
}

void auth_limiter_free(auth_limiter *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < SHARDS; i++)
        if (l->shards[i].e != NULL) {
            pthread_mutex_destroy(&l->shards[i].mu);
            free(l->shards[i].e);
        }
    sodium_memzero(l->key, sizeof l->key);
    free(l);
}

size_t auth_limiter_capacity(const auth_limiter *l) { return SHARDS * l->sets * WAYS; }

uint64_t auth_limiter_evictions(const auth_limiter *l) { return atomic_load(&l->evictions); }

size_t auth_limiter_entries(auth_limiter *l)
{
    int64_t now = clock_now(l);
    size_t n = 0;
    for (size_t s = 0; s < SHARDS; s++) {
        pthread_mutex_lock(&l->shards[s].mu);
        for (size_t i = 0; i < l->sets * WAYS; i++) {
            const entry *e = &l->shards[s].e[i];
            if ((e->k0 | e->k1) != 0 && e->expires > now)
                n++;
        }
        pthread_mutex_unlock(&l->shards[s].mu);
    }
    return n;
}

void auth_keyed_hash(const unsigned char *hkey, size_t hkey_len, unsigned kind, const void *key,
                     size_t len, bool fold, const void *key2, size_t len2,
                     unsigned char out[AUTH_KEYED_HASH_BYTES])
{
    crypto_generichash_state st;
    unsigned char kb[4] = {(unsigned char)(kind >> 24), (unsigned char)(kind >> 16),
                           (unsigned char)(kind >> 8), (unsigned char)kind};
    crypto_generichash_init(&st, hkey, hkey_len, AUTH_KEYED_HASH_BYTES);
    crypto_generichash_update(&st, kb, sizeof kb);
    if (key2 != NULL) {
        unsigned char lb[8];
        for (size_t i = 0; i < 8; i++)
            lb[i] = (unsigned char)((uint64_t)len >> (8 * i));
        crypto_generichash_update(&st, lb, sizeof lb);
    }
    const unsigned char *p = key;
    if (!fold) {
        crypto_generichash_update(&st, p, len);
    } else {
        unsigned char chunk[FOLD_CHUNK];
        for (size_t off = 0; off < len; off += FOLD_CHUNK) {
            size_t n = len - off < FOLD_CHUNK ? len - off : FOLD_CHUNK;
            for (size_t i = 0; i < n; i++)
                chunk[i] = p[off + i] >= 'A' && p[off + i] <= 'Z' ? (unsigned char)(p[off + i] + 32)
                                                                  : p[off + i];
            crypto_generichash_update(&st, chunk, n);
        }
    }
    if (key2 != NULL)
        crypto_generichash_update(&st, key2, len2);
    crypto_generichash_final(&st, out, AUTH_KEYED_HASH_BYTES);
}

/* The table's hash of (kind, key[, key2]) as two words (auth_keyed_hash with its key). */
static void hash_key2(const auth_limiter *l, unsigned kind, const void *key, size_t len, bool fold,
                      const void *key2, size_t len2, uint64_t *k0, uint64_t *k1)
{
    unsigned char out[AUTH_KEYED_HASH_BYTES];
    auth_keyed_hash(l->key, sizeof l->key, kind, key, len, fold, key2, len2, out);
    memcpy(k0, out, 8);
    memcpy(k1, out + 8, 8);
    if ((*k0 | *k1) == 0)
        *k1 = 1; /* 0/0 marks an empty slot */
}

static void hash_key(const auth_limiter *l, unsigned kind, const void *key, size_t len, bool fold,
                     uint64_t *k0, uint64_t *k1)
{
    hash_key2(l, kind, key, len, fold, NULL, 0, k0, k1);
}

/* An entry that must not be evicted while another way can be: a running lock, or attempts
 * in flight (their end must find their counter). */
static bool pinned(const entry *e, int64_t now)
{
    return (e->lock && e->a > now) || e->inflight > 0;
}

/* Whether e is a better victim than v (v may be NULL). */
static bool better_victim(const entry *e, const entry *v, int64_t now)
{
    if (v == NULL)
        return true;
    bool ve = (v->k0 | v->k1) == 0, ee = (e->k0 | e->k1) == 0;
    if (ve || ee)
        return !ve;
    bool vp = pinned(v, now), ep = pinned(e, now);
    if (vp != ep)
        return vp;
    return e->expires < v->expires;
}

/* The entry of (k0, k1) in its locked shard, fresh (zeroed) when it was absent or no longer
 * mattered; create=false returns NULL instead of making one. The caller unlocks *sh. */
static entry *lookup(auth_limiter *l, uint64_t k0, uint64_t k1, int64_t now, bool create,
                     shard **sh)
{
    shard *s = &l->shards[k0 & (SHARDS - 1)];
    entry *set = &s->e[((k0 >> 32) & (l->sets - 1)) * WAYS];
    *sh = s;
    pthread_mutex_lock(&s->mu);
    entry *victim = NULL;
    for (size_t i = 0; i < WAYS; i++) {
        entry *e = &set[i];
        if (e->k0 == k0 && e->k1 == k1) {
            if (e->expires <= now) /* as good as absent: start over (attempts stay in flight) */
                e->a = e->n = 0;
            return e;
        }
        /* Prefer an empty slot, then one not pinned (no running lock, nothing in flight),
         * then one that no longer matters, then the one that would matter the shortest time. */
        if (better_victim(e, victim, now))
            victim = e;
    }
    if (!create)
        return NULL;
    if ((victim->k0 | victim->k1) != 0 && victim->expires > now)
        atomic_fetch_add(&l->evictions, 1);
    *victim = (entry){.k0 = k0, .k1 = k1, .expires = now};
    return victim;
}

bool auth_limiter_take(auth_limiter *l, unsigned kind, const void *key, size_t len,
                       const auth_rate *rate, int64_t *retry_after)
{
    uint64_t k0, k1;
    hash_key(l, kind, key, len, false, &k0, &k1);
    int64_t now = clock_now(l);
    int64_t now_us = now * US;
    int64_t window = rate->period * US;
    int64_t t = window / rate->burst;
    if (t < 1)
        t = 1;
    shard *s;
    entry *e = lookup(l, k0, k1, now, true, &s);
    int64_t tat = e->a > now_us ? e->a : now_us;
    bool ok = tat + t - now_us <= window;
    if (ok) {
        e->a = tat + t;
        e->expires = (e->a + US - 1) / US; /* the bucket is full again then */
    } else if (retry_after != NULL) {
        int64_t wait = (tat + t - now_us - window + US - 1) / US;
        *retry_after = wait < 1 ? 1 : wait;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int64_t auth_lockout_duration(const auth_lockout *p, int64_t failures)
{
    if (failures < p->after)
        return 0;
    int64_t k = failures - p->after;
    if (k >= 62 || p->base > (p->max >> k))
        return p->max;
    int64_t d = p->base << k;
    return d < p->max ? d : p->max;
}

/* One failure on a lockout counter, under its shard lock. A failure that raced with the one
 * that set the current lock changes nothing (begin/end make that impossible). */
static void count_failure(entry *e, const auth_lockout *p, int64_t now)
{
    e->lock = true;
    if (e->a <= now) {
        if (e->n < INT64_MAX)
            e->n++;
        int64_t d = auth_lockout_duration(p, e->n);
        if (d > 0)
            e->a = now + d;
        int64_t forget = now + p->max;
        e->expires = e->a > forget ? e->a : forget;
    }
}

/* One success on a lockout counter: forgets the failures unless a lock runs. */
static void count_success(entry *e, int64_t now)
{
    if (e->a > now)
        return;
    int32_t inflight = e->inflight;
    if (inflight == 0) {
        *e = (entry){0};
    } else { /* others still in flight: keep the slot for their end */
        e->a = e->n = 0;
        e->expires = now;
    }
}

static bool familiar_now(auth_limiter *l, uint64_t f0, uint64_t f1, int64_t now)
{
    shard *s;
    entry *e = lookup(l, f0, f1, now, false, &s);
    bool yes = e != NULL && !e->lock && e->expires > now;
    pthread_mutex_unlock(&s->mu);
    return yes;
}

bool auth_lockout_familiar(auth_limiter *l, const char *ident, size_t len, const void *addr,
                           size_t addr_len)
{
    if (addr == NULL)
        return false;
    uint64_t f0, f1;
    hash_key2(l, KIND_FAMILIAR, ident, len, true, addr, addr_len, &f0, &f1);
    return familiar_now(l, f0, f1, clock_now(l));
}

bool auth_lockout_begin(auth_limiter *l, const char *ident, size_t len, const void *addr,
                        size_t addr_len, const auth_lockout *p, auth_lockout_attempt *a,
                        int64_t *retry_after)
{
    int64_t now = clock_now(l);
    *a = (auth_lockout_attempt){0};
    a->has_addr = addr != NULL;
    if (a->has_addr) {
        hash_key2(l, KIND_FAMILIAR, ident, len, true, addr, addr_len, &a->f0, &a->f1);
        /* Familiarity needs no atomicity with the counter: it only picks the counter. */
        a->familiar = familiar_now(l, a->f0, a->f1, now);
    }
    if (a->familiar)
        hash_key2(l, KIND_PAIR, ident, len, true, addr, addr_len, &a->c0, &a->c1);
    else
        hash_key(l, KIND_ACCOUNT, ident, len, true, &a->c0, &a->c1);
    shard *s;
    entry *e = lookup(l, a->c0, a->c1, now, true, &s);
    e->lock = true;
    int64_t left = p->after - e->n;
    if (left < 1)
        left = 1;
    bool ok = false;
    if (e->a > now) {
        if (retry_after != NULL)
            *retry_after = e->a - now;
    } else if (e->inflight >= left || e->inflight == INT32_MAX) {
        if (retry_after != NULL)
            *retry_after = 1; /* an attempt in flight decides within a password check */
    } else {
        e->inflight++;
        ok = true;
    }
    pthread_mutex_unlock(&s->mu);
    a->open = ok;
    return ok;
}

void auth_lockout_end(auth_limiter *l, auth_lockout_attempt *a, auth_login_outcome outcome,
                      const auth_lockout *p)
{
    if (!a->open)
        return;
    a->open = false;
    int64_t now = clock_now(l);
    shard *s;
    entry *e = lookup(l, a->c0, a->c1, now, outcome == AUTH_LOGIN_FAILURE, &s);
    if (e != NULL) {
        if (e->inflight > 0)
            e->inflight--;
        if (outcome == AUTH_LOGIN_FAILURE)
            count_failure(e, p, now);
        else if (outcome == AUTH_LOGIN_SUCCESS)
            count_success(e, now);
        else if (e->inflight == 0 && e->n == 0 && e->a <= now)
            *e = (entry){0}; /* begin made it and nothing was counted: free the slot */
    }
    pthread_mutex_unlock(&s->mu);
    if (outcome == AUTH_LOGIN_SUCCESS && a->has_addr) {
        e = lookup(l, a->f0, a->f1, now, true, &s);
        e->lock = false;
        e->a = e->n = 0;
        e->expires = now + AUTH_FAMILIAR_SECONDS;
        pthread_mutex_unlock(&s->mu);
    }
}
