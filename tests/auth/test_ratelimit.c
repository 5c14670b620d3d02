/* src/auth/ratelimit: the token buckets (burst, refill, Retry-After, separate kinds and keys),
 * the lockout arithmetic and flow (threshold, exponential back-off and its cap, no bypass while
 * locked, reset on success, case folding, forgetting), the fixed memory bound under a key
 * spray, the clock hook (every test moves a fake clock, never sleeps), and exact counting
 * under concurrent callers. The lockout's begin/end attempts: familiar addresses escape the
 * global lock and have their own (identifier, address) counter, the in-flight budget (no
 * parallel burst, one guess per lock, also from threads), the "neither" outcome, and the
 * eviction rule that passes over running locks. Usage: test_ratelimit (no database needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/ratelimit.h"

/* The ways of one set in src/auth/ratelimit.c (WAYS): any RATELIMIT_WAYS keys fit in any set. */
#define RATELIMIT_WAYS 8u

static int64_t fake_now = 1700000000;

static int64_t test_now(void) { return fake_now; }

static bool take(auth_limiter *l, unsigned kind, const char *key, const auth_rate *r,
                 int64_t *retry)
{
    return auth_limiter_take(l, kind, key, strlen(key), r, retry);
}

static void test_bucket_burst_and_refill(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(4096, test_now);
    assert_non_null(l);
    const auth_rate r = {20, 60}; /* one request per 3 s on average */
    int64_t retry = -1;
    for (int i = 0; i < 20; i++)
        assert_true(take(l, 1, "192.0.2.1", &r, &retry));
    assert_false(take(l, 1, "192.0.2.1", &r, &retry));
    assert_int_equal(retry, 3);
    /* Refused requests take nothing: the wait does not grow. */
    assert_false(take(l, 1, "192.0.2.1", &r, &retry));
    assert_int_equal(retry, 3);
    /* Other keys and other kinds have their own buckets. */
    assert_true(take(l, 1, "192.0.2.2", &r, NULL));
    assert_true(take(l, 2, "192.0.2.1", &r, NULL));
    /* The clock hook: 2 s later still nothing, 3 s later exactly one request. */
    fake_now += 2;
    assert_false(take(l, 1, "192.0.2.1", &r, &retry));
    assert_int_equal(retry, 1);
    fake_now += 1;
    assert_true(take(l, 1, "192.0.2.1", &r, NULL));
    assert_false(take(l, 1, "192.0.2.1", &r, &retry));
    assert_int_equal(retry, 3);
    /* A full period later the whole burst is back, and never more than the burst. */
    fake_now += 3600;
    for (int i = 0; i < 20; i++)
        assert_true(take(l, 1, "192.0.2.1", &r, NULL));
    assert_false(take(l, 1, "192.0.2.1", &r, &retry));
    assert_true(retry >= 1);
    auth_limiter_free(l);
}

static void test_bucket_retry_after_long_period(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_rate r = {1, 3600};
    int64_t retry = 0;
    assert_true(take(l, 7, "k", &r, &retry));
    assert_false(take(l, 7, "k", &r, &retry));
    assert_int_equal(retry, 3600);
    fake_now += 3599;
    assert_false(take(l, 7, "k", &r, &retry));
    assert_int_equal(retry, 1);
    fake_now += 1;
    assert_true(take(l, 7, "k", &r, &retry));
    /* Binary keys: only the bytes count. */
    const unsigned char a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    assert_true(auth_limiter_take(l, 7, a, sizeof a, &r, NULL));
    assert_false(auth_limiter_take(l, 7, a, sizeof a, &r, NULL));
    assert_true(auth_limiter_take(l, 7, b, sizeof b, &r, NULL));
    auth_limiter_free(l);
}

/* However many keys arrive, the table keeps its size; full (refilled) buckets are reused
 * without counting as evictions, live ones are evicted only when the table is full. */
static void test_memory_bound(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(1000, test_now);
    assert_non_null(l);
    size_t cap = auth_limiter_capacity(l);
    assert_true(cap >= AUTH_LIMITER_MIN_ENTRIES && cap <= 1000);
    assert_int_equal(cap & (cap - 1), 0);
    const auth_rate r = {5, 60};
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "spray-%d", i);
        assert_true(take(l, 1, key, &r, NULL)); /* a new key always gets a fresh bucket */
    }
    assert_int_equal(auth_limiter_capacity(l), cap);
    assert_true(auth_limiter_entries(l) <= cap);
    assert_true(auth_limiter_entries(l) > cap / 2);
    uint64_t evicted = auth_limiter_evictions(l);
    assert_true(evicted >= 100000 - cap);
    /* A minute later every bucket is full again: they no longer matter, and new keys take
     * their places without counting an eviction. Where the keyed hash sends a new key is
     * random, so only what holds for any placement is asserted: the first WAYS (8) new keys
     * cannot fill any set, so they evict nothing; after that each new key is either one more
     * entry or exactly one eviction of another new key (128 keys in 64 sets of 8 ways put 9
     * in one set about once in 70 runs), never of a slot that no longer mattered. */
    fake_now += 61;
    assert_int_equal(auth_limiter_entries(l), 0);
    for (size_t i = 0; i < cap / 4; i++) {
        snprintf(key, sizeof key, "later-%zu", i);
        assert_true(take(l, 1, key, &r, NULL));
        size_t added = i + 1;
        uint64_t now_evicted = auth_limiter_evictions(l) - evicted;
        if (added <= RATELIMIT_WAYS)
            assert_int_equal(now_evicted, 0);
        assert_int_equal(auth_limiter_entries(l) + now_evicted, added);
    }
    auth_limiter_free(l);
}

static void test_lockout_duration(void **state)
{
    (void)state;
    const auth_lockout p = {5, 1, 900};
    assert_int_equal(auth_lockout_duration(&p, 0), 0);
    assert_int_equal(auth_lockout_duration(&p, 4), 0);
    assert_int_equal(auth_lockout_duration(&p, 5), 1);
    assert_int_equal(auth_lockout_duration(&p, 6), 2);
    assert_int_equal(auth_lockout_duration(&p, 7), 4);
    assert_int_equal(auth_lockout_duration(&p, 14), 512);
    assert_int_equal(auth_lockout_duration(&p, 15), 900); /* 1024 capped */
    assert_int_equal(auth_lockout_duration(&p, 66), 900);
    assert_int_equal(auth_lockout_duration(&p, 67), 900);
    assert_int_equal(auth_lockout_duration(&p, INT64_MAX), 900); /* no overflow */
    const auth_lockout q = {1, 86400, 7 * 86400};
    assert_int_equal(auth_lockout_duration(&q, 1), 86400);
    assert_int_equal(auth_lockout_duration(&q, 3), 4 * 86400);
    assert_int_equal(auth_lockout_duration(&q, 4), 7 * 86400);
    const auth_lockout same = {3, 10, 10};
    assert_int_equal(auth_lockout_duration(&same, 2), 0);
    assert_int_equal(auth_lockout_duration(&same, 3), 10);
    assert_int_equal(auth_lockout_duration(&same, 40), 10);
}

/* One whole attempt of ident from addr (NULL: none): false when begin refuses it. */
static bool attempt(auth_limiter *l, const char *ident, const char *addr, const auth_lockout *p,
                    auth_login_outcome outcome, int64_t *retry)
{
    auth_lockout_attempt a;
    if (!auth_lockout_begin(l, ident, strlen(ident), addr, addr ? strlen(addr) : 0, p, &a, retry))
        return false;
    auth_lockout_end(l, &a, outcome, p);
    return true;
}

/* The identifier's global counter, through the server's begin/end: locked when begin
 * refuses (nothing in flight here), and an attempt that begins ends counting nothing. */
static bool locked(auth_limiter *l, const char *ident, const auth_lockout *p, int64_t *retry)
{
    return !attempt(l, ident, NULL, p, AUTH_LOGIN_NEITHER, retry);
}

/* A wrong password (a locked counter refuses it before it could count). */
static void fail_login(auth_limiter *l, const char *ident, const auth_lockout *p)
{
    attempt(l, ident, NULL, p, AUTH_LOGIN_FAILURE, NULL);
}

/* A right password (a locked counter refuses it: it lifts nothing). */
static void succeed_login(auth_limiter *l, const char *ident, const auth_lockout *p)
{
    attempt(l, ident, NULL, p, AUTH_LOGIN_SUCCESS, NULL);
}

static void test_lockout_flow(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_lockout p = {5, 10, 60};
    int64_t retry = 0;
    for (int i = 0; i < 4; i++) {
        fail_login(l, "Alice", &p);
        assert_false(locked(l, "alice", &p, NULL));
    }
    fail_login(l, "ALICE", &p); /* the 5th, whatever the case: locked for base */
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 10);
    assert_false(locked(l, "bob", &p, NULL)); /* other accounts unaffected */
    assert_false(locked(l, "alice@example.com", &p, NULL));
    /* A right password while locked is refused: it lifts nothing. */
    succeed_login(l, "alice", &p);
    assert_true(locked(l, "alice", &p, &retry));
    /* Failures while locked are not counted (they never reach a password check). */
    fail_login(l, "alice", &p);
    fake_now += 9;
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 1);
    fake_now += 1;
    assert_false(locked(l, "alice", &p, NULL));
    /* The 6th failure doubles the lock, the 7th doubles it again, the cap holds after. */
    fail_login(l, "alice", &p);
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 20);
    fake_now += 20;
    fail_login(l, "alice", &p);
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 40);
    fake_now += 40;
    fail_login(l, "alice", &p);
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 60);
    /* A success resets the count: 4 failures, a success, 4 failures lock nothing. */
    for (int i = 0; i < 4; i++)
        fail_login(l, "dave", &p);
    succeed_login(l, "Dave", &p);
    for (int i = 0; i < 4; i++)
        fail_login(l, "dave", &p);
    assert_false(locked(l, "dave", &p, NULL));
    fail_login(l, "dave", &p);
    assert_true(locked(l, "dave", &p, &retry));
    assert_int_equal(retry, 10);
    auth_limiter_free(l);
}

/* Failures are forgotten lockout-max after the last one: a slow trickle never locks. */
static void test_lockout_forgets(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_lockout p = {3, 1, 30};
    fail_login(l, "carol", &p);
    fail_login(l, "carol", &p);
    fake_now += 29;
    fail_login(l, "carol", &p); /* the 3rd within 30 s of the 2nd: locked */
    assert_true(locked(l, "carol", &p, NULL));
    fake_now += 31;
    fail_login(l, "carol", &p); /* 31 s after the last one: counted from 1 again */
    fail_login(l, "carol", &p);
    assert_false(locked(l, "carol", &p, NULL));
    auth_limiter_free(l);
}

/* Lockout entries are bounded like buckets: spraying identifiers keeps the table's size. */
static void test_lockout_memory_bound(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(512, test_now);
    assert_non_null(l);
    const auth_lockout p = {5, 1, 900};
    char ident[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(ident, sizeof ident, "user%d", i);
        fail_login(l, ident, &p);
    }
    assert_int_equal(auth_limiter_capacity(l), 512);
    assert_true(auth_limiter_entries(l) <= 512);
    auth_limiter_free(l);
}

#define THREAD_BURST 200000
#define THREAD_TRIES 80000 /* per thread: 4 threads ask for more than the burst */

typedef struct worker_arg {
    auth_limiter *l;
    int allowed;
} worker_arg;

static void *hammer(void *p)
{
    worker_arg *w = p;
    const auth_rate r = {THREAD_BURST, 86400};
    for (int i = 0; i < THREAD_TRIES; i++)
        if (auth_limiter_take(w->l, 3, "shared", 6, &r, NULL))
            w->allowed++;
    return NULL;
}

/* Four threads on one key: exactly the burst is allowed, no more, no less (without the
 * shard locks, lost updates let more through). */
static void test_threads_exact(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    pthread_t t[4];
    worker_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_arg){l, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += w[i].allowed;
    }
    assert_int_equal(total, THREAD_BURST);
    auth_limiter_free(l);
}

static const char ADDR_A[] = "A-address", ADDR_B[] = "B-address", ADDR_C[] = "C-address",
                  ADDR_D[] = "D-address";

static bool familiar(auth_limiter *l, const char *ident, const char *addr)
{
    return auth_lockout_familiar(l, ident, strlen(ident), addr, strlen(addr));
}

/* Alice logged in from C once. Others lock her account from A and B: any new address (D, or
 * none) gets 429 even with her password, C does not. A guesser at C is locked on C's own
 * counter, which leaves the global one as it was. */
static void test_familiar_address(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_lockout p = {5, 10, 60};
    int64_t retry = 0;
    assert_false(familiar(l, "alice", ADDR_C));
    assert_true(attempt(l, "alice", ADDR_C, &p, AUTH_LOGIN_SUCCESS, NULL));
    assert_true(familiar(l, "alice", ADDR_C));
    assert_true(familiar(l, "ALICE", ADDR_C)); /* case-folded */
    assert_false(familiar(l, "alice", ADDR_A));
    assert_false(familiar(l, "bob", ADDR_C));
    /* A failure does not make an address familiar. */
    assert_true(attempt(l, "alice", ADDR_A, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_false(familiar(l, "alice", ADDR_A));
    for (int i = 0; i < 4; i++)
        assert_true(attempt(l, "alice", i % 2 ? ADDR_A : ADDR_B, &p, AUTH_LOGIN_FAILURE, NULL));
    /* Locked for every unfamiliar address, and without an address. */
    assert_false(attempt(l, "alice", ADDR_D, &p, AUTH_LOGIN_SUCCESS, &retry));
    assert_int_equal(retry, 10);
    assert_false(attempt(l, "alice", NULL, &p, AUTH_LOGIN_SUCCESS, &retry));
    assert_false(attempt(l, "alice", ADDR_A, &p, AUTH_LOGIN_FAILURE, &retry));
    assert_true(locked(l, "alice", &p, &retry));
    /* Not for C: her right password works, and leaves the global lock alone. */
    assert_true(attempt(l, "alice", ADDR_C, &p, AUTH_LOGIN_SUCCESS, NULL));
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 10);
    /* A guesser at C: C's own counter locks after 5, the global one does not move. */
    fake_now += 5;
    for (int i = 0; i < 5; i++)
        assert_true(attempt(l, "alice", ADDR_C, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_false(attempt(l, "alice", ADDR_C, &p, AUTH_LOGIN_SUCCESS, &retry));
    assert_int_equal(retry, 10);
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 5); /* the global lock, unchanged */
    fake_now += 5;
    assert_false(locked(l, "alice", &p, NULL));
    assert_false(attempt(l, "alice", ADDR_C, &p, AUTH_LOGIN_SUCCESS, &retry));
    assert_int_equal(retry, 5);
    /* The global count is still 5 (C's failures were not added): the 6th locks for 20. */
    assert_true(attempt(l, "alice", ADDR_A, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_true(locked(l, "alice", &p, &retry));
    assert_int_equal(retry, 20);
    /* Familiar addresses are forgotten after AUTH_FAMILIAR_SECONDS without a success. */
    fake_now += AUTH_FAMILIAR_SECONDS;
    assert_false(familiar(l, "alice", ADDR_C));
    auth_limiter_free(l);
}

/* A success from an unfamiliar address resets the global count, one from a familiar address
 * only its own. */
static void test_familiar_counters_reset(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_lockout p = {3, 10, 60};
    assert_true(attempt(l, "dan", ADDR_C, &p, AUTH_LOGIN_SUCCESS, NULL));
    for (int i = 0; i < 2; i++) {
        assert_true(attempt(l, "dan", ADDR_A, &p, AUTH_LOGIN_FAILURE, NULL));
        assert_true(attempt(l, "dan", ADDR_C, &p, AUTH_LOGIN_FAILURE, NULL));
    }
    assert_true(attempt(l, "dan", ADDR_C, &p, AUTH_LOGIN_SUCCESS, NULL)); /* C: reset */
    assert_true(attempt(l, "dan", ADDR_A, &p, AUTH_LOGIN_FAILURE, NULL)); /* global: 3rd */
    assert_true(locked(l, "dan", &p, NULL));
    for (int i = 0; i < 2; i++)
        assert_true(attempt(l, "dan", ADDR_C, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_true(attempt(l, "dan", ADDR_C, &p, AUTH_LOGIN_SUCCESS, NULL)); /* 2 < 3: open */
    fake_now += 10;
    assert_true(attempt(l, "dan", ADDR_B, &p, AUTH_LOGIN_SUCCESS, NULL)); /* global: reset */
    for (int i = 0; i < 2; i++)
        assert_true(attempt(l, "dan", ADDR_A, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_false(locked(l, "dan", &p, NULL));
    auth_limiter_free(l);
}

/* Attempts in flight count against the failures left: with 3 left, a 4th parallel attempt
 * is refused (Retry-After 1); when a lock ends, one guess, not a burst; "neither" ends an
 * attempt without counting; a second end is a no-op. */
static void test_begin_end_budget(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    const auth_lockout p = {3, 10, 60};
    auth_lockout_attempt a[4];
    int64_t retry = 0;
    for (int i = 0; i < 3; i++)
        assert_true(auth_lockout_begin(l, "bob", 3, ADDR_A, 9, &p, &a[i], NULL));
    assert_false(auth_lockout_begin(l, "bob", 3, ADDR_B, 9, &p, &a[3], &retry));
    assert_int_equal(retry, 1);
    /* "neither" frees its place and counts nothing; ending twice changes nothing. */
    auth_lockout_end(l, &a[0], AUTH_LOGIN_NEITHER, &p);
    auth_lockout_end(l, &a[0], AUTH_LOGIN_NEITHER, &p);
    assert_true(auth_lockout_begin(l, "bob", 3, ADDR_B, 9, &p, &a[0], NULL));
    assert_false(auth_lockout_begin(l, "bob", 3, ADDR_B, 9, &p, &a[3], &retry));
    for (int i = 0; i < 3; i++)
        auth_lockout_end(l, &a[i], AUTH_LOGIN_FAILURE, &p);
    assert_true(locked(l, "bob", &p, &retry));
    assert_int_equal(retry, 10);
    assert_false(auth_lockout_begin(l, "bob", 3, ADDR_B, 9, &p, &a[3], &retry));
    assert_int_equal(retry, 10);
    /* The lock ends: exactly one guess may be in flight, and it locks for twice as long. */
    fake_now += 10;
    assert_true(auth_lockout_begin(l, "bob", 3, ADDR_A, 9, &p, &a[0], NULL));
    assert_false(auth_lockout_begin(l, "bob", 3, ADDR_B, 9, &p, &a[1], &retry));
    assert_int_equal(retry, 1);
    auth_lockout_end(l, &a[0], AUTH_LOGIN_FAILURE, &p);
    assert_true(locked(l, "bob", &p, &retry));
    assert_int_equal(retry, 20);
    /* After neither outcomes, the failures left are still the policy's. */
    for (int i = 0; i < 5; i++)
        assert_true(attempt(l, "erin", NULL, &p, AUTH_LOGIN_NEITHER, NULL));
    for (int i = 0; i < 2; i++)
        assert_true(attempt(l, "erin", NULL, &p, AUTH_LOGIN_FAILURE, NULL));
    assert_false(locked(l, "erin", &p, NULL));
    /* A success ending while others are in flight keeps their places. */
    for (int i = 0; i < 2; i++)
        assert_true(auth_lockout_begin(l, "fay", 3, NULL, 0, &p, &a[i], NULL));
    auth_lockout_end(l, &a[0], AUTH_LOGIN_SUCCESS, &p); /* 3 left, 1 still in flight */
    assert_true(auth_lockout_begin(l, "fay", 3, NULL, 0, &p, &a[0], NULL));
    assert_true(auth_lockout_begin(l, "fay", 3, NULL, 0, &p, &a[2], NULL));
    assert_false(auth_lockout_begin(l, "fay", 3, NULL, 0, &p, &a[3], NULL));
    for (int i = 0; i < 3; i++)
        auth_lockout_end(l, &a[i], AUTH_LOGIN_FAILURE, &p);
    assert_true(locked(l, "fay", &p, NULL));
    auth_limiter_free(l);
}

#define GUESSERS 8

typedef struct guesser_arg {
    auth_limiter *l;
    pthread_barrier_t *start, *decided;
    bool allowed;
} guesser_arg;

/* Begins one attempt when all start together, holds it until all have asked, then fails. */
static void *guess(void *p)
{
    guesser_arg *g = p;
    const auth_lockout pol = {5, 10, 60};
    auth_lockout_attempt a;
    pthread_barrier_wait(g->start);
    g->allowed = auth_lockout_begin(g->l, "frank", 5, NULL, 0, &pol, &a, NULL);
    pthread_barrier_wait(g->decided);
    if (g->allowed)
        auth_lockout_end(g->l, &a, AUTH_LOGIN_FAILURE, &pol);
    return NULL;
}

/* Eight threads guess at once, each holding its attempt open (as Argon2 would): exactly
 * five (the failures before the lock) get through, then the account is locked. */
static void test_begin_threads(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(0, test_now);
    assert_non_null(l);
    pthread_barrier_t start, decided;
    assert_int_equal(pthread_barrier_init(&start, NULL, GUESSERS), 0);
    assert_int_equal(pthread_barrier_init(&decided, NULL, GUESSERS), 0);
    pthread_t t[GUESSERS];
    guesser_arg g[GUESSERS];
    for (int i = 0; i < GUESSERS; i++) {
        g[i] = (guesser_arg){l, &start, &decided, false};
        assert_int_equal(pthread_create(&t[i], NULL, guess, &g[i]), 0);
    }
    int allowed = 0;
    for (int i = 0; i < GUESSERS; i++) {
        pthread_join(t[i], NULL);
        allowed += g[i].allowed;
    }
    assert_int_equal(allowed, 5);
    int64_t retry = 0;
    const auth_lockout p = {5, 10, 60}; /* the guessers' policy */
    assert_true(locked(l, "frank", &p, &retry));
    assert_int_equal(retry, 10);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&decided);
    auth_limiter_free(l);
}

/* A spray of new identifiers (each one failure, so each entry would matter as long as a
 * lock) does not evict a running lock: the smallest table, one set per shard, 20000 keys. */
static void test_eviction_spares_locks(void **state)
{
    (void)state;
    auth_limiter *l = auth_limiter_new(512, test_now);
    assert_non_null(l);
    const auth_lockout p = {5, 900, 900};
    for (int i = 0; i < 5; i++)
        fail_login(l, "grace", &p);
    assert_true(locked(l, "grace", &p, NULL));
    fake_now += 1; /* the spray's entries now expire after grace's */
    char ident[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(ident, sizeof ident, "spray%d", i);
        fail_login(l, ident, &p);
    }
    assert_true(auth_limiter_evictions(l) > 0);
    int64_t retry = 0;
    assert_true(locked(l, "grace", &p, &retry));
    assert_int_equal(retry, 899);
    /* When every way holds a running lock, one is evicted all the same (the bound holds). */
    const auth_lockout p1 = {1, 900, 900};
    uint64_t before = auth_limiter_evictions(l);
    for (int i = 0; i < 20000; i++) {
        snprintf(ident, sizeof ident, "lock%d", i);
        fail_login(l, ident, &p1);
    }
    assert_true(auth_limiter_evictions(l) > before);
    assert_true(auth_limiter_entries(l) <= 512);
    auth_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_burst_and_refill),
        cmocka_unit_test(test_bucket_retry_after_long_period),
        cmocka_unit_test(test_memory_bound),
        cmocka_unit_test(test_lockout_duration),
        cmocka_unit_test(test_lockout_flow),
        cmocka_unit_test(test_lockout_forgets),
        cmocka_unit_test(test_lockout_memory_bound),
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_familiar_address),
        cmocka_unit_test(test_familiar_counters_reset),
        cmocka_unit_test(test_begin_end_budget),
        cmocka_unit_test(test_begin_threads),
        cmocka_unit_test(test_eviction_spares_locks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
