/* The caller-owned header cache (jwtd_cache, src/jose/cache.c) must be invisible: every
 * signature carries exactly the header its arguments describe, across more variants than the
 * cache has slots; a header that cannot be built is refused every time; a header cached under
 * one Validation is judged afresh under another; two caches never see each other's entries;
 * the signature contexts it keeps per key sign and verify exactly as the plain calls, across
 * more (key, alg, operation) than it has slots, and outlive the keys they were made for;
 * and, since libjwtd keeps no per-thread state, the shared library can be unloaded and loaded
 * again while threads that used it are still alive. */
#include <dlfcn.h>
#include <pthread.h>

#include "testutil.h"

#define VARIANTS 24 /* three times the cache's slots */
#define ROUNDS 3
#define THREADS 4
#define THREAD_ROUNDS 200
#define DLOPEN_CYCLES 3

static const char secret[] = "signcache-test-secret-0123456789abcdef-0123456789abcdef-01234567";

static jwtd_key *secret_key(void)
{
    jwtd_key *key = NULL;

    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    return key;
}

static jwtd_claims *empty_claims(void)
{
    jwtd_claims *c = NULL;

    assert_int_equal(jwtd_claims_from_json("{}", 2, &c), JWTD_OK);
    return c;
}

static void header_of(const char *tok, char **header)
{
    char *claims = NULL;
    assert_int_equal(jwtd_insecure_decode(tok, strlen(tok), header, &claims), JWTD_OK);
    jwtd_free(claims);
}

/* Signs with cache and checks the protected header is exactly want. */
static void sign_expect(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg, const jwtd_header *h,
                        const char *want)
{
    jwtd_claims *c = empty_claims();
    char *tok = NULL, *hdr = NULL;

    assert_int_equal(jwtd_sign_cached(cache, key, alg, h, c, &tok), JWTD_OK);
    header_of(tok, &hdr);
    assert_string_equal(hdr, want);
    jwtd_free(hdr);
    jwtd_free(tok);
    jwtd_claims_free(c);
}

static void test_variants_survive_eviction(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_cache *cache = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < VARIANTS; i++) {
            char typ[16], kid[16], extra[32], want[160];
            jwtd_header h = {.typ = typ, .kid = kid, .extra_json = extra};
            jwtd_alg alg = i % 2 ? JWTD_ALG_HS256 : JWTD_ALG_HS512;

            snprintf(typ, sizeof typ, "t%d", i % 5);
            snprintf(kid, sizeof kid, "k%d", i);
            snprintf(extra, sizeof extra, "{\"n\":%d}", i % 3);
            snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\",\"n\":%d}",
                     jwtd_alg_name(alg), typ, kid, i % 3);
            sign_expect(cache, key, alg, &h, want);
        }
    }
    jwtd_cache_free(cache);
    jwtd_key_free(key);
}

/* Absent and empty members are different headers and must never share a cache entry. */
static void test_absent_differs_from_empty(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_header with_empty = {.typ = "", .kid = "k"}, without = {.kid = "k"};
    jwtd_cache *cache = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    for (int i = 0; i < 2; i++) {
        sign_expect(cache, key, JWTD_ALG_HS256, &with_empty,
                    "{\"alg\":\"HS256\",\"typ\":\"\",\"kid\":\"k\"}");
        sign_expect(cache, key, JWTD_ALG_HS256, &without, "{\"alg\":\"HS256\",\"kid\":\"k\"}");
    }
    jwtd_cache_free(cache);
    jwtd_key_free(key);
}

/* A refused header is refused on every call, before and after valid ones fill the cache. */
static void test_refused_header_never_cached(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_header bad = {.extra_json = "{\"alg\":\"none\"}"}, good = {.typ = "JWT"};
    jwtd_claims *c = empty_claims();
    jwtd_cache *cache = NULL;
    char *tok = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(jwtd_sign_cached(cache, key, JWTD_ALG_HS256, &bad, c, &tok),
                         JWTD_ERR_INVALID_ARGUMENT);
        assert_null(tok);
        assert_int_equal(jwtd_sign_cached(cache, key, JWTD_ALG_HS256, &good, c, &tok), JWTD_OK);
        jwtd_free(tok);
        tok = NULL;
    }
    jwtd_cache_free(cache);
    jwtd_claims_free(c);
    jwtd_key_free(key);
}

/* A header that passed under one Validation is judged again under another (entries are keyed
 * by the Validation's identity, which a new one at a freed one's address does not share). */
static void test_header_judged_per_validation(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_keyset *set = tu_set1(key);
    jwtd_header h = {.typ = "JWT"};
    jwtd_claims *c = empty_claims();
    jwtd_validation *hs256 = tu_validation(JWTD_ALG_HS256), *typ_at, *hs512;
    jwtd_cache *cache = NULL;
    jwtd_error err;
    char *tok = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "exp", TU_NOW + 60), JWTD_OK);
    assert_int_equal(jwtd_sign_cached(cache, key, JWTD_ALG_HS256, &h, c, &tok), JWTD_OK);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, hs256, NULL, &err), JWTD_OK);
    jwtd_validation_free(hs256);
    hs512 = tu_validation(JWTD_ALG_HS512);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, hs512, NULL, &err),
                     JWTD_ERR_INVALID_ALGORITHM);
    typ_at = tu_validation(JWTD_ALG_HS256);
    assert_int_equal(jwtd_validation_set_typ(typ_at, "at+jwt"), JWTD_OK);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, typ_at, NULL, &err),
                     JWTD_ERR_INVALID_TYPE);
    /* A change to a Validation in use is seen too. */
    assert_int_equal(jwtd_validation_set_typ(typ_at, "JWT"), JWTD_OK);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, typ_at, NULL, &err), JWTD_OK);
    jwtd_free(tok);
    jwtd_validation_free(hs512);
    jwtd_validation_free(typ_at);
    jwtd_claims_free(c);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    jwtd_cache_free(cache);
}

/* A token verified through a cache keeps its header after the cache is gone. */
static void test_token_outlives_cache(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_keyset *set = tu_set1(key);
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    jwtd_header h = {.typ = "JWT", .kid = "k1"};
    jwtd_claims *c = empty_claims();
    jwtd_token *t1 = NULL, *t2 = NULL;
    jwtd_cache *cache = NULL;
    const char *kid = NULL;
    char *tok = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "exp", TU_NOW + 60), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_HS256, &h, c, &tok), JWTD_OK);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, v, &t1, NULL), JWTD_OK);
    assert_int_equal(jwtd_verify_cached(cache, tok, strlen(tok), set, v, &t2, NULL), JWTD_OK);
    jwtd_cache_free(cache);
    assert_int_equal(jwtd_token_header_string(t1, "kid", &kid), JWTD_OK);
    assert_string_equal(kid, "k1");
    assert_int_equal(jwtd_token_header_string(t2, "typ", &kid), JWTD_OK);
    assert_string_equal(kid, "JWT");
    jwtd_token_free(t1);
    jwtd_token_free(t2);
    jwtd_free(tok);
    jwtd_validation_free(v);
    jwtd_claims_free(c);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
}

/* Through a cache: sign, verify, a forged signature refused, the plain calls agree; 6 algs, so
 * 12 (key, alg, operation) against 4 slots. Deterministic signatures equal the plain ones. */
static void test_signature_contexts(void **state)
{
    static const jwtd_alg algs[] = {JWTD_ALG_HS256, JWTD_ALG_HS384, JWTD_ALG_RS256,
                                    JWTD_ALG_PS256, JWTD_ALG_ES256, JWTD_ALG_ES384};
    enum { N = sizeof algs / sizeof algs[0] };
    jwtd_key *keys[N];
    jwtd_keyset *sets[N];
    jwtd_validation *vs[N];
    jwtd_claims *c = empty_claims();
    jwtd_cache *cache = NULL;

    (void)state;
    assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "exp", TU_NOW + 60), JWTD_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(jwtd_key_generate(algs[i], &keys[i]), JWTD_OK);
        sets[i] = tu_set1(keys[i]);
        vs[i] = tu_validation(algs[i]);
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < N; i++) {
            char *tok = NULL, *plain = NULL, *sig;
            size_t len;
            bool deterministic =
                algs[i] == JWTD_ALG_HS256 || algs[i] == JWTD_ALG_HS384 || algs[i] == JWTD_ALG_RS256;

            assert_int_equal(jwtd_sign_cached(cache, keys[i], algs[i], NULL, c, &tok), JWTD_OK);
            assert_int_equal(jwtd_sign(keys[i], algs[i], NULL, c, &plain), JWTD_OK);
            if (deterministic)
                assert_string_equal(tok, plain);
            len = strlen(tok);
            assert_int_equal(jwtd_verify_cached(cache, tok, len, sets[i], vs[i], NULL, NULL),
                             JWTD_OK);
            assert_int_equal(jwtd_verify(tok, len, sets[i], vs[i], NULL, NULL), JWTD_OK);
            assert_int_equal(
                jwtd_verify_cached(cache, plain, strlen(plain), sets[i], vs[i], NULL, NULL),
                JWTD_OK);
            /* The signature's first character changed (its top 6 bits: no padding hides it). */
            sig = strrchr(tok, '.') + 1;
            sig[0] = sig[0] == 'A' ? 'B' : 'A';
            assert_int_equal(jwtd_verify_cached(cache, tok, len, sets[i], vs[i], NULL, NULL),
                             JWTD_ERR_INVALID_SIGNATURE);
            jwtd_free(tok);
            jwtd_free(plain);
        }
    }
    /* The cache holds references to the last keys it used: freeing them first is fine. */
    for (size_t i = 0; i < N; i++) {
        jwtd_keyset_free(sets[i]);
        jwtd_key_free(keys[i]);
        jwtd_validation_free(vs[i]);
    }
    jwtd_cache_free(cache);
    jwtd_claims_free(c);
}

static void test_cache_arguments(void **state)
{
    (void)state;
    assert_int_equal(jwtd_cache_new(NULL), JWTD_ERR_INVALID_ARGUMENT);
    jwtd_cache_free(NULL);
}

/* ---- Two caches, two threads: each signs and verifies its own headers ---- */
typedef struct worker {
    int id;
    const jwtd_key *key;
    const jwtd_keyset *set;
    const jwtd_validation *v;
    int failures;
} worker;

static void *worker_run(void *p)
{
    worker *w = p;
    jwtd_claims *c = NULL;
    jwtd_cache *cache = NULL;

    if (jwtd_cache_new(&cache) != JWTD_OK ||
        jwtd_claims_from_json("{\"exp\":1700000060}", 18, &c) != JWTD_OK)
        w->failures++;
    for (int i = 0; i < THREAD_ROUNDS && w->failures == 0; i++) {
        char kid[32], *tok = NULL;
        const char *got = NULL;
        jwtd_header h = {.kid = kid};
        jwtd_token *t = NULL;

        /* Each thread its own kids, more of them than slots, so entries keep moving. */
        snprintf(kid, sizeof kid, "w%d-%d", w->id, i % 11);
        if (jwtd_sign_cached(cache, w->key, JWTD_ALG_HS256, &h, c, &tok) != JWTD_OK ||
            jwtd_verify_cached(cache, tok, strlen(tok), w->set, w->v, &t, NULL) != JWTD_OK ||
            jwtd_token_header_string(t, "kid", &got) != JWTD_OK || strcmp(got, kid) != 0)
            w->failures++;
        jwtd_token_free(t);
        jwtd_free(tok);
    }
    jwtd_claims_free(c);
    jwtd_cache_free(cache);
    return NULL;
}

static void test_caches_do_not_interfere(void **state)
{
    jwtd_key *key = secret_key();
    jwtd_keyset *set = tu_set1(key);
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    pthread_t tid[THREADS];
    worker w[THREADS];

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.id = i, .key = key, .set = set, .v = v};
        assert_int_equal(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
}

/* ---- The shared library unloaded while a thread that used it lives on ---- */
/* Before, libjwtd kept its caches behind thread keys whose destructors lived in the
 * library: a thread that used it and exited after dlclose ran unmapped code. */
typedef struct lib_api {
    jwtd_err (*key_from_secret)(const void *, size_t, unsigned, jwtd_key **);
    void (*key_free)(jwtd_key *);
    jwtd_err (*claims_from_json)(const char *, size_t, jwtd_claims **);
    void (*claims_free)(jwtd_claims *);
    jwtd_err (*cache_new)(jwtd_cache **);
    void (*cache_free)(jwtd_cache *);
    jwtd_err (*sign)(jwtd_cache *, const jwtd_key *, jwtd_alg, const jwtd_header *,
                     const jwtd_claims *, char **);
    jwtd_err (*verify)(jwtd_cache *, const char *, size_t, const jwtd_keyset *,
                       const jwtd_validation *, jwtd_token **, jwtd_error *);
    jwtd_err (*keyset_new)(jwtd_key *const *, size_t, jwtd_keyset **);
    void (*keyset_free)(jwtd_keyset *);
    jwtd_err (*validation_new)(jwtd_validation **);
    jwtd_err (*allow_alg)(jwtd_validation *, jwtd_alg);
    jwtd_err (*require_exp)(jwtd_validation *, bool);
    void (*validation_free)(jwtd_validation *);
    void (*token_free)(jwtd_token *);
    void (*free)(void *);
} lib_api;

typedef struct lib_user {
    const lib_api *api;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool used, may_exit;
    int failures;
} lib_user;

/* Signs and verifies once through the loaded library, then waits for leave to exit. */
static void *lib_user_run(void *p)
{
    lib_user *u = p;
    const lib_api *api = u->api;
    jwtd_key *key = NULL;
    jwtd_keyset *set = NULL;
    jwtd_claims *c = NULL;
    jwtd_validation *v = NULL;
    jwtd_cache *cache = NULL;
    jwtd_token *t = NULL;
    jwtd_header h = {.typ = "JWT"};
    char *tok = NULL;

    if (api->key_from_secret(secret, strlen(secret), 0, &key) != JWTD_OK ||
        api->keyset_new(&key, 1, &set) != JWTD_OK ||
        api->claims_from_json("{}", 2, &c) != JWTD_OK || api->validation_new(&v) != JWTD_OK ||
        api->allow_alg(v, JWTD_ALG_HS256) != JWTD_OK || api->require_exp(v, false) != JWTD_OK ||
        api->cache_new(&cache) != JWTD_OK ||
        api->sign(cache, key, JWTD_ALG_HS256, &h, c, &tok) != JWTD_OK ||
        api->verify(cache, tok, strlen(tok), set, v, &t, NULL) != JWTD_OK ||
        api->verify(NULL, tok, strlen(tok), set, v, NULL, NULL) != JWTD_OK)
        u->failures++;
    api->token_free(t);
    api->free(tok);
    api->cache_free(cache);
    api->validation_free(v);
    api->claims_free(c);
    api->keyset_free(set);
    api->key_free(key);

    pthread_mutex_lock(&u->mu);
    u->used = true;
    pthread_cond_broadcast(&u->cv);
    while (!u->may_exit)
        pthread_cond_wait(&u->cv, &u->mu);
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

#define LOAD(field, name)                                                                          \
    do {                                                                                           \
        *(void **)&api.field = dlsym(lib, name);                                                   \
        assert_non_null(api.field);                                                                \
    } while (0)

static void test_dlclose_with_live_threads(void **state)
{
    (void)state;
    for (int cycle = 0; cycle < DLOPEN_CYCLES; cycle++) {
        void *lib = dlopen(JWTD_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
        lib_user u = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
        lib_api api;
        pthread_t tid;

        assert_non_null(lib);
        LOAD(key_from_secret, "jwtd_key_from_secret");
        LOAD(key_free, "jwtd_key_free");
        LOAD(claims_from_json, "jwtd_claims_from_json");
        LOAD(claims_free, "jwtd_claims_free");
        LOAD(cache_new, "jwtd_cache_new");
        LOAD(cache_free, "jwtd_cache_free");
        LOAD(sign, "jwtd_sign_cached");
        LOAD(verify, "jwtd_verify_cached");
        LOAD(keyset_new, "jwtd_keyset_new");
        LOAD(keyset_free, "jwtd_keyset_free");
        LOAD(validation_new, "jwtd_validation_new");
        LOAD(allow_alg, "jwtd_validation_allow_alg");
        LOAD(require_exp, "jwtd_validation_require_exp");
        LOAD(validation_free, "jwtd_validation_free");
        LOAD(token_free, "jwtd_token_free");
        LOAD(free, "jwtd_free");
        u.api = &api;
        assert_int_equal(pthread_create(&tid, NULL, lib_user_run, &u), 0);
        pthread_mutex_lock(&u.mu);
        while (!u.used)
            pthread_cond_wait(&u.cv, &u.mu);
        pthread_mutex_unlock(&u.mu);

        assert_int_equal(dlclose(lib), 0);
        pthread_mutex_lock(&u.mu);
        u.may_exit = true;
        pthread_cond_broadcast(&u.cv);
        pthread_mutex_unlock(&u.mu);
        assert_int_equal(pthread_join(tid, NULL), 0); /* its exit runs no libjwtd code */
        assert_int_equal(u.failures, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variants_survive_eviction),
        cmocka_unit_test(test_absent_differs_from_empty),
        cmocka_unit_test(test_refused_header_never_cached),
        cmocka_unit_test(test_header_judged_per_validation),
        cmocka_unit_test(test_token_outlives_cache),
        cmocka_unit_test(test_signature_contexts),
        cmocka_unit_test(test_cache_arguments),
        cmocka_unit_test(test_caches_do_not_interfere),
        cmocka_unit_test(test_dlclose_with_live_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
