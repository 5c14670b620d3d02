/* Abuse limits of the auth service, with no HTTP in it: token buckets keyed by (kind, key)
 * (per-IP limits of the server's routes) and per-account lockout with exponential back-off.
 *
 * One auth_limiter is a fixed-size, set-associative table: its memory is allocated once by
 * auth_limiter_new and never grows, whatever keys arrive. A new key takes a free slot of its
 * set, else the slot of an entry that no longer matters (a bucket that has refilled, an
 * account whose failures are forgotten), else the entry that would matter the shortest time
 * (an eviction, counted). Keys are stored only as a keyed 128-bit BLAKE2b hash (random key
 * per table), so the table holds no user names or addresses and nobody can aim keys at one set.
 *
 * Thread-safe: the table is split into shards with one mutex each; any number of event loops
 * and workers may call it at once. Each call is O(ways) under one shard lock.
 *
 * The clock is the auth_config.now hook (Unix seconds; NULL: time()), so tests move time.
 * The counters live in this process: several instances behind one load balancer each count
 * on their own (moving them into the store for PostgreSQL deployments is a later step). */
#ifndef JWTD_AUTH_RATELIMIT_H
#define JWTD_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_RATE_MAX_BURST 1000000 /* requests per period */
#define AUTH_RATE_MAX_PERIOD 86400  /* seconds */
#define AUTH_LOCKOUT_MAX_AFTER 1000 /* failures before the first lock */
#define AUTH_LIMITER_MIN_ENTRIES 512u

/* A token bucket: up to burst requests at once, refilled evenly over period seconds (so
 * burst/period per second on average). */
typedef struct auth_rate {
    int64_t burst;  /* 1 .. AUTH_RATE_MAX_BURST */
    int64_t period; /* seconds, 1 .. AUTH_RATE_MAX_PERIOD */
} auth_rate;

/* Lockout: after `after` consecutive failures an account is locked for base seconds, and
 * every further failure (each possible only once the lock is over) doubles it, up to max:
 * failure number n >= after locks for min(base * 2^(n - after), max). Failures are forgotten
 * max seconds after the last one (and never before the lock ends); a success that is let
 * through (not locked) forgets them at once. */
typedef struct auth_lockout {
    int64_t after; /* 1 .. AUTH_LOCKOUT_MAX_AFTER */
    int64_t base;  /* seconds >= 1 */
    int64_t max;   /* seconds >= base */
} auth_lockout;

typedef struct auth_limiter auth_limiter;

/* A table of at most max_entries entries (rounded down to a power of two, at least
 * AUTH_LIMITER_MIN_ENTRIES); now as auth_config.now. NULL when out of memory. */
auth_limiter *auth_limiter_new(size_t max_entries, int64_t (*now)(void));
void auth_limiter_free(auth_limiter *l);

/* Takes one request from the bucket of (kind, key). true: allowed. false: refused, and
 * *retry_after (may be NULL) receives the whole seconds, >= 1, until one is allowed again. */
bool auth_limiter_take(auth_limiter *l, unsigned kind, const void *key, size_t len,
                       const auth_rate *rate, int64_t *retry_after);

/* Lockout of a login identifier (a username or an email), normalised by ASCII lower-casing:
 * "Alice" and "alice" are one account. Whether the account exists plays no part. */
/* true when locked now, with *retry_after (>= 1 s) until the lock ends. */
bool auth_lockout_check(auth_limiter *l, const char *ident, size_t len, int64_t *retry_after);
/* One failed login: counts it, and locks when the policy says so. */
void auth_lockout_failure(auth_limiter *l, const char *ident, size_t len, const auth_lockout *p);
/* One successful login: forgets the failures (not while a lock, set meanwhile, runs). */
void auth_lockout_success(auth_limiter *l, const char *ident, size_t len);
/* The lock that failure number `failures` sets: 0 below p->after, else
 * min(p->base * 2^(failures - p->after), p->max), without overflow. */
int64_t auth_lockout_duration(const auth_lockout *p, int64_t failures);

/* The fixed capacity, the entries that still matter now, and the evictions so far. */
size_t auth_limiter_capacity(const auth_limiter *l);
size_t auth_limiter_entries(auth_limiter *l);
uint64_t auth_limiter_evictions(const auth_limiter *l);

#endif /* JWTD_AUTH_RATELIMIT_H */
