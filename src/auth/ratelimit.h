/* Abuse limits of the auth service, with no HTTP in it: token buckets keyed by (kind, key)
 * (per-IP limits of the server's routes) and per-account lockout with exponential back-off,
 * with familiar addresses and atomic begin/end attempts.
 *
 * One auth_limiter is a fixed-size, set-associative table: its memory is allocated once by
 * auth_limiter_new and never grows, whatever keys arrive. A new key takes a free slot of its
 * set, else the slot of an entry that no longer matters (a bucket that has refilled, an
 * account whose failures are forgotten), else the entry that would matter the shortest time
 * (an eviction, counted), passing over entries holding a running lock or an attempt in flight
 * unless every way of the set holds one (so a flood of new keys does not free a locked
 * account). Keys are stored only as a keyed 128-bit BLAKE2b hash (random key
 * per table), so the table holds no user names or addresses and nobody can aim keys at one set.
 *
 * Thread-safe: the table is split into shards with one mutex each; any number of event loops
 * and workers may call it at once. Each call is O(ways) under one shard lock.
 *
 * The clock is the auth_config.now hook (Unix seconds; NULL: time()), so tests move time.
 * The counters live in this process; with a shared database the server also counts in it
 * (auth_shared_*, below), so that several instances behind one load balancer count together. */
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
 * "Alice" and "alice" are one account. Whether the account exists plays no part.
 *
 * Familiar addresses (like "smart lockout"): a successful login remembers (identifier,
 * client address) as familiar for AUTH_FAMILIAR_SECONDS (renewed by each success; the entry
 * may be evicted under memory pressure, the address is then new again). A login from a
 * familiar address is not subject to the identifier's global lock: it has its own counter,
 * keyed (identifier, address), with the same policy. Logins from other addresses (or with no
 * address) use the identifier's global counter. So others can lock the account for new
 * addresses (up to p->max at a time), never for an address the user logged in from before;
 * and a guesser sharing that address still gets the normal back-off on its counter. Every
 * key is a keyed hash: the table holds no identifier or address.
 *
 * One login attempt is auth_lockout_begin ... auth_lockout_end, atomic under the shard lock:
 * begin lets an attempt through only when its counter is not locked and fewer attempts are in
 * flight than the failures left before the next lock (max(1, after - failures)), so parallel
 * guesses cannot overshoot the policy (one guess per lock, no burst when a lock ends). */
#define AUTH_FAMILIAR_SECONDS (30 * 86400)

typedef enum auth_login_outcome {
    AUTH_LOGIN_SUCCESS, /* right password: resets the counter, marks the address familiar */
    AUTH_LOGIN_FAILURE, /* wrong password (or no such account): counts a failure */
    AUTH_LOGIN_NEITHER, /* neither (a store error): only ends the attempt */
} auth_login_outcome;

/* One attempt between begin and end (filled by begin; the caller only passes it on). */
typedef struct auth_lockout_attempt {
    uint64_t c0, c1; /* the counter used: global or (identifier, address) */
    uint64_t f0, f1; /* the familiar key of (identifier, address) */
    bool has_addr;   /* an address was given (else nothing is remembered) */
    bool familiar;   /* the address was familiar: c is the per-address counter */
    bool open;       /* begun and not yet ended */
} auth_lockout_attempt;

/* Begins one login attempt of ident from addr (addr_len bytes; NULL/0: unknown address, the
 * global counter). true: go ahead, and call auth_lockout_end(a) exactly once. false: refused
 * (locked, or the attempts in flight already use up the failures left), *retry_after (may be
 * NULL) receives the seconds, >= 1, to wait; nothing to end. */
bool auth_lockout_begin(auth_limiter *l, const char *ident, size_t len, const void *addr,
                        size_t addr_len, const auth_lockout *p, auth_lockout_attempt *a,
                        int64_t *retry_after);
/* Ends an attempt with its outcome; a second call on the same attempt does nothing. */
void auth_lockout_end(auth_limiter *l, auth_lockout_attempt *a, auth_login_outcome outcome,
                      const auth_lockout *p);
/* Whether (ident, addr) is familiar now (for tests and diagnostics). */
bool auth_lockout_familiar(auth_limiter *l, const char *ident, size_t len, const void *addr,
                           size_t addr_len);

/* The lock that failure number `failures` sets: 0 below p->after, else
 * min(p->base * 2^(failures - p->after), p->max), without overflow. */
int64_t auth_lockout_duration(const auth_lockout *p, int64_t failures);

/* The keyed BLAKE2b hash behind every key of the tables and of the shared counters:
 * (kind, key[, key2]) under hkey; with fold, key is ASCII lower-cased on the way; with key2
 * (an address after an identifier) the length of key goes in first, so no two pairs hash the
 * same input. */
#define AUTH_KEYED_HASH_BYTES 16
void auth_keyed_hash(const unsigned char *hkey, size_t hkey_len, unsigned kind, const void *key,
                     size_t len, bool fold, const void *key2, size_t len2,
                     unsigned char out[AUTH_KEYED_HASH_BYTES]);

/* ---- Counters shared by the instances of one database ----
 * With a database that several machines share (PostgreSQL: auth_health's `shared`), the
 * server keeps a second count of the same limits in the database, so that every instance
 * sees the others' requests. They run on workers, beside the store work of the request,
 * never on the verify path. What is exact and what is approximate is in docs/OPERATIONS.md.
 * Store errors let the request through: the request's own store work then answers 503. */
struct auth;
/* Whether this service keeps shared counters (its store is shared). */
bool auth_shared_limits(const struct auth *a);
/* The account lockout of ident (lower-cased) in the database: false with *retry_after when it
 * is locked now. */
bool auth_shared_lockout_check(struct auth *a, const char *ident, size_t len, const auth_lockout *p,
                               int64_t *retry_after);
/* Records an attempt's outcome there: a failure counts and may lock (p's policy), a success
 * forgets the failures. */
void auth_shared_lockout_end(struct auth *a, const char *ident, size_t len, const auth_lockout *p,
                             auth_login_outcome outcome);
/* One request of (kind, key) against rate in the database: a fixed window of rate->period
 * seconds admitting rate->burst requests. false with *retry_after (the rest of the window)
 * when it is full. */
bool auth_shared_take(struct auth *a, unsigned kind, const void *key, size_t len,
                      const auth_rate *rate, int64_t *retry_after);

/* The fixed capacity, the entries that still matter now, and the evictions so far. */
size_t auth_limiter_capacity(const auth_limiter *l);
size_t auth_limiter_entries(auth_limiter *l);
uint64_t auth_limiter_evictions(const auth_limiter *l);

#endif /* JWTD_AUTH_RATELIMIT_H */
