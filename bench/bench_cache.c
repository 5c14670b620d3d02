/* bench_cache: hit rate of the verified-token cache (src/auth/verify.c) against its memory, for
 * the sizing of issue 11 (docs/BENCHMARKS.md, "Many distinct tokens"). Real auth_verify_access
 * calls on one thread over U distinct live tokens (machine-client tokens, HS256), requests drawn
 * uniformly, Zipf-distributed (s = 1: a few users make most requests) or in rotation (each token
 * in turn: the wrk workload of scripts/bench-server.sh, the worst case of an LRU cache), for
 * several token_cache sizes. Hit rate and memory are exact; ns/verify is one thread's wall time.
 * Also the ways of recognising a token that the design weighed: a keyed SipHash-128 of the token
 * (what is kept), a keyed BLAKE2b-256 of it, and a short hash of its tail plus a constant-time
 * compare of a copy.
 * Usage: bench_cache [--quick]. Figures only: it fails only when it cannot set up. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "auth/auth.h"
#include "store/store.h"

#define SECRET "bench-cache-secret-bench-cache-secret-0123"

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_cache: %s\n", what);
    exit(1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) /* xorshift64*: the same sequence every run */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static double rng_unit(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

enum dist { UNIFORM, ZIPF, ROTATION };
static const char *const dist_names[] = {"uniform", "zipf-1.0", "rotation"};

/* n request indexes into U tokens. Zipf ranks are spread over the tokens by a permutation. */
static void draw(enum dist d, size_t users, size_t *out, size_t n)
{
    double *cdf = NULL;
    size_t *perm = NULL;

    if (d == ZIPF) {
        double sum = 0;

        if ((cdf = malloc(users * sizeof *cdf)) == NULL ||
            (perm = malloc(users * sizeof *perm)) == NULL)
            die("out of memory");
        for (size_t i = 0; i < users; i++) {
            sum += 1.0 / (double)(i + 1);
            cdf[i] = sum;
            perm[i] = i;
        }
        for (size_t i = users - 1; i > 0; i--) {
            size_t j = (size_t)(rng() % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < users; i++)
            cdf[i] /= sum;
    }
    for (size_t k = 0; k < n; k++) {
        if (d == UNIFORM) {
            out[k] = (size_t)(rng() % users);
        } else if (d == ROTATION) {
            out[k] = k % users;
        } else {
            double u = rng_unit();
            size_t lo = 0, hi = users - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            out[k] = perm[lo];
        }
    }
    free(cdf);
    free(perm);
}

typedef struct tokens {
    char **t;
    size_t *len;
    size_t n;
} tokens;

static auth *open_auth(store *s, size_t slots)
{
    auth_config cfg;
    const char *why = NULL;
    auth *a = NULL;

    auth_config_defaults(&cfg);
    cfg.jwt_secret = (const unsigned char *)SECRET;
    cfg.jwt_secret_len = strlen(SECRET);
    cfg.access_ttl = 3600;
    cfg.token_cache = slots;
    if (auth_new(&cfg, s, &a, &why) != AUTH_OK)
        die(why != NULL ? why : "auth_new failed");
    return a;
}

static void issue(auth *a, size_t n, tokens *out)
{
    auth_client c;
    auth_access acc;

    if (auth_client_add(a, "bench.cache", NULL, 0, SECRET, strlen(SECRET), NULL, &c) != AUTH_OK)
        die("auth_client_add failed");
    out->t = calloc(n, sizeof *out->t);
    out->len = calloc(n, sizeof *out->len);
    if (out->t == NULL || out->len == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        memset(&acc, 0, sizeof acc);
        if (auth_client_issue(a, &c, &acc) != AUTH_OK ||
            (out->t[i] = strdup(acc.access_token)) == NULL)
            die("auth_client_issue failed");
        out->len[i] = strlen(out->t[i]);
        auth_access_clear(&acc);
    }
    out->n = n;
}

/* Runs warm, then the n requests of idx three times; returns the hit rate (%) of the three
 * and in *ns the median ns per verify of the passes. */
static double run(auth *a, const tokens *tk, const size_t *idx, size_t warm, size_t n, double *ns)
{
    auth_principal p;
    auth_stats s0, s1;
    double pass[3];

    for (size_t k = 0; k < warm; k++)
        if (auth_verify_access(a, tk->t[idx[k]], tk->len[idx[k]], &p) != AUTH_OK)
            die("a token was refused");
    auth_stats_get(a, &s0);
    for (int r = 0; r < 3; r++) {
        double t0 = now_ns();
        for (size_t k = warm; k < warm + n; k++)
            if (auth_verify_access(a, tk->t[idx[k]], tk->len[idx[k]], &p) != AUTH_OK)
                die("a token was refused");
        pass[r] = (now_ns() - t0) / (double)n;
    }
    *ns = fmax(fmin(pass[0], pass[1]), fmin(fmax(pass[0], pass[1]), pass[2]));
    auth_stats_get(a, &s1);
    uint64_t h = s1.token_cache_hits - s0.token_cache_hits,
             m = s1.token_cache_misses - s0.token_cache_misses;
    return h + m > 0 ? 100.0 * (double)h / (double)(h + m) : 0;
}

/* The cost of recognising one token of len bytes, both ways (ns, best of 5 rounds). */
static void recognise_cost(const char *tok, size_t len)
{
    unsigned char key[crypto_generichash_KEYBYTES], mac[32], skey[crypto_shorthash_KEYBYTES],
        sh[crypto_shorthash_BYTES];
    char *copy = malloc(len);
    const size_t rounds = 200000;
    unsigned char sh16[crypto_shorthash_siphashx24_BYTES],
        skey16[crypto_shorthash_siphashx24_KEYBYTES];
    double best_b = 1e18, best_c = 1e18, best_m = 1e18, best_s = 1e18;
    volatile unsigned sink = 0;

    if (copy == NULL)
        die("out of memory");
    memcpy(copy, tok, len);
    randombytes_buf(key, sizeof key);
    randombytes_buf(skey, sizeof skey);
    randombytes_buf(skey16, sizeof skey16);
    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();
        for (size_t i = 0; i < rounds; i++) {
            crypto_generichash(mac, sizeof mac, (const unsigned char *)tok, len, key, sizeof key);
            sink += (unsigned)(CRYPTO_memcmp(mac, key, sizeof mac) == 0);
        }
        double t1 = now_ns();
        for (size_t i = 0; i < rounds; i++) {
            size_t tail = len < 32 ? len : 32;
            crypto_shorthash(sh, (const unsigned char *)tok + len - tail, tail, skey);
            sink += (unsigned)sh[0] + (unsigned)(CRYPTO_memcmp(copy, tok, len) == 0);
        }
        double t2 = now_ns();
        for (size_t i = 0; i < rounds; i++) {
            char *m = malloc(len);
            if (m == NULL)
                die("out of memory");
            memcpy(m, tok, len);
            sink += (unsigned char)m[0];
            free(m);
        }
        double t3 = now_ns();
        for (size_t i = 0; i < rounds; i++) {
            crypto_shorthash_siphashx24(sh16, (const unsigned char *)tok, len, skey16);
            sink += (unsigned)(CRYPTO_memcmp(sh16, skey16, sizeof sh16) == 0);
        }
        double t4 = now_ns();
        best_s = fmin(best_s, (t4 - t3) / (double)rounds);
        best_b = fmin(best_b, (t1 - t0) / (double)rounds);
        best_c = fmin(best_c, (t2 - t1) / (double)rounds);
        best_m = fmin(best_m, (t3 - t2) / (double)rounds);
    }
    printf("recognising a %zu-byte token (ns, best of 5 x %zu):\n"
           "  keyed BLAKE2b-256 of the token + 32-byte CRYPTO_memcmp          %6.0f\n"
           "  SipHash-2-4 of its last 32 bytes + CRYPTO_memcmp of a copy (old) %6.0f\n"
           "  malloc + copy + free of that copy (the old miss)                 %6.0f\n"
           "  keyed SipHash-128 of the token + 16-byte CRYPTO_memcmp (kept)    %6.0f%s\n",
           len, rounds, best_b, best_c, best_m, best_s, sink == 12345 ? " " : "");
    free(copy);
}

int main(int argc, char **argv)
{
    static const size_t users_list[] = {1000, 10000, 100000};
    static const size_t slots_list[] = {0, 256, 1024, 4096, 8192, 16384, 65536};
    const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const size_t n_users = quick ? 2 : 3, measured = quick ? 20000 : 100000;
    char dir[] = "/tmp/jwtd-bench-cache-XXXXXX", path[64];
    size_t max_users = users_list[n_users - 1], *idx;
    tokens tk;
    store *s = NULL;
    auth *a;

    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        die("set-up failed");
    snprintf(path, sizeof path, "%s/jwtd.db", dir);
    if (store_open(path, NULL, &s) != STORE_OK)
        die("store_open failed");
    a = open_auth(s, 0);
    issue(a, max_users, &tk);
    auth_free(a);

    printf("bench_cache: the verified-token cache of src/auth/verify.c, one thread, HS256 client "
           "tokens of ~%zu bytes; %zu bytes a slot (%u-way sets, LRU)\n",
           tk.len[0], auth_token_cache_slot_bytes(), AUTH_TOKEN_CACHE_WAYS);
    recognise_cost(tk.t[0], tk.len[0]);
    printf("\n%-9s %7s %7s %9s %7s %10s\n", "requests", "users", "slots", "MiB/loop", "hit %",
           "ns/verify");
    idx = malloc((3 * 65536 + 20000 + measured) * sizeof *idx);
    if (idx == NULL)
        die("out of memory");
    for (size_t u = 0; u < n_users; u++) {
        for (int d = UNIFORM; d <= ROTATION; d++) {
            for (size_t k = 0; k < sizeof slots_list / sizeof slots_list[0]; k++) {
                size_t slots = slots_list[k], users = users_list[u];
                size_t warm = 3 * (slots < users ? slots : users) + 20000;
                double ns, hit;

                if (quick && slots > 16384)
                    continue;
                draw((enum dist)d, users, idx, warm + measured);
                a = open_auth(s, slots);
                hit = run(a, &tk, idx, warm, measured, &ns);
                printf("%-9s %7zu %7zu %9.2f %7.1f %10.0f\n", dist_names[d], users, slots,
                       (double)(slots * auth_token_cache_slot_bytes()) / 1048576.0, hit, ns);
                fflush(stdout);
                auth_free(a);
            }
        }
    }
    free(idx);
    for (size_t i = 0; i < tk.n; i++)
        free(tk.t[i]);
    free(tk.t);
    free(tk.len);
    store_close(s);
    for (size_t i = 0; i < 3; i++) {
        static const char *const suffix[] = {"", "-wal", "-shm"};
        snprintf(path, sizeof path, "%s/jwtd.db%s", dir, suffix[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
