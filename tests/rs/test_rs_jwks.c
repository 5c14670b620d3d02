/* Unit tests of libjwtd-rs's remote JWKS against a real HTTP server on 127.0.0.1
 * (jwks_server.c): max-age and its bounds, the unknown-kid refetch limit, the last good set
 * kept across failures, the limits (body size, key count, secrets), URL and redirect rules,
 * RFC 8414 discovery, and many threads at once. The cache runs on a test clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jwtd/jwtd.h>
#include <jwtd/jwtd_rs.h>

#include "jwks_server.h"

#define THREADS 8
#define CALLS_PER_THREAD 25

static int64_t test_now_ms; /* the test clock; only the main thread moves it */

/* The test clock of every cache here. */
static int64_t test_clock(void *arg)
{
    (void)arg;
    return __atomic_load_n(&test_now_ms, __ATOMIC_SEQ_CST);
}

/* Moves the test clock by seconds. */
static void advance(int64_t seconds)
{
    __atomic_add_fetch(&test_now_ms, seconds * 1000, __ATOMIC_SEQ_CST);
}

typedef struct fixture {
    jwks_server *srv;
    char base[64];
    char url[128];
    jwtd_rs_jwks_options opt;
} fixture;

/* A public JWKS of n fresh Ed25519 keys (caller frees with jwtd_free); its first kid in kid. */
static char *make_jwks(size_t n, char kid[JWTD_MAX_KID_BYTES])
{
    jwtd_key **keys = calloc(n, sizeof *keys);
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &keys[i]), JWTD_OK);
    if (kid != NULL)
        snprintf(kid, JWTD_MAX_KID_BYTES, "%s", jwtd_key_kid(keys[0]));
    jwtd_keyset *set = NULL;
    assert_int_equal(jwtd_keyset_new(keys, n, &set), JWTD_OK);
    char *json = NULL;
    assert_int_equal(jwtd_keyset_public_jwks(set, &json), JWTD_OK);
    jwtd_keyset_free(set);
    for (size_t i = 0; i < n; i++)
        jwtd_key_free(keys[i]);
    free(keys);
    return json;
}

/* A JWKS text of JWTD_MAX_JWKS_KEYS + 1 keys (libjwtd builds no such set, so it is spliced
 * from two); caller frees with free. */
static char *make_jwks_over_limit(void)
{
    char *most = make_jwks(JWTD_MAX_JWKS_KEYS, NULL);
    char *one = make_jwks(1, NULL);
    static const char open[] = "{\"keys\":[";
    assert_memory_equal(one, open, sizeof open - 1);
    size_t most_len = strlen(most) - 2; /* without the closing "]}" */
    size_t len = most_len + 1 + strlen(one) - (sizeof open - 1) + 1;
    char *json = malloc(len);
    assert_non_null(json);
    snprintf(json, len, "%.*s,%s", (int)most_len, most, one + sizeof open - 1);
    jwtd_free(most);
    jwtd_free(one);
    return json;
}

/* Serves a fresh one-key JWKS with cache_control; its kid in kid (may be NULL). */
static void serve_one(fixture *f, const char *cache_control, char kid[JWTD_MAX_KID_BYTES])
{
    char *json = make_jwks(1, kid);
    jwks_server_set(f->srv, 200, json, cache_control);
    jwtd_free(json);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->srv = jwks_server_start(f->base, sizeof f->base);
    assert_non_null(f->srv);
    snprintf(f->url, sizeof f->url, "%s/jwks.json", f->base);
    jwtd_rs_jwks_options_init(&f->opt);
    f->opt.allow_http = true;
    f->opt.min_ttl = 10;
    f->opt.max_ttl = 3600;
    f->opt.default_ttl = 300;
    f->opt.refetch_interval = 30;
    f->opt.clock = test_clock;
    test_now_ms = 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    jwks_server_stop(f->srv);
    free(f);
    return 0;
}

/* A get that must succeed; returns the set's first kid's presence check helper. */
static bool get_has_kid(jwtd_rs_jwks *j, const char *kid)
{
    jwtd_keyset *set = NULL;
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_OK);
    bool has = jwtd_keyset_find(set, kid, strlen(kid)) != NULL;
    jwtd_keyset_free(set);
    return has;
}

/* The lifetime each Cache-Control gives (min 10, max 3600, default 300): at ttl - 1 s the
 * set is still used, at ttl it is fetched again. */
static void cache_control_lifetimes(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *cache_control;
        int64_t ttl;
    } cases[] = {
        {"max-age=60", 60},
        {"public, max-age=120", 120},
        {"max-age=3", 10},        /* raised to min_ttl */
        {"max-age=999999", 3600}, /* lowered to max_ttl */
        {NULL, 300},              /* none: default */
        {"no-store", 10},         /* refetched as often as we allow, no more */
        {"no-cache, max-age=600", 10},
        {"max-age=abc", 300}, /* unparseable: ignored */
        {"s-maxage=50", 300},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        serve_one(f, cases[i].cache_control, NULL);
        jwtd_rs_jwks *j = NULL;
        assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
        unsigned before = jwks_server_fetches(f->srv);
        jwtd_keyset *set = NULL;
        assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_OK);
        jwtd_keyset_free(set);
        advance(cases[i].ttl - 1);
        assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_OK);
        jwtd_keyset_free(set);
        if (jwks_server_fetches(f->srv) != before + 1)
            fail_msg("%s: fetched again before %lld s", cases[i].cache_control,
                     (long long)cases[i].ttl);
        advance(1);
        assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_OK);
        jwtd_keyset_free(set);
        if (jwks_server_fetches(f->srv) != before + 2)
            fail_msg("%s: not fetched again at %lld s", cases[i].cache_control,
                     (long long)cases[i].ttl);
        jwtd_rs_jwks_free(j);
    }
}

/* An unknown kid makes one fetch per refetch_interval, however many tokens name one. */
static void unknown_kid_refetch_is_rate_limited(void **state)
{
    fixture *f = *state;
    char kid1[JWTD_MAX_KID_BYTES], kid2[JWTD_MAX_KID_BYTES];
    serve_one(f, "max-age=3600", kid1);
    jwtd_rs_jwks *j = NULL;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    jwtd_keyset *seen = NULL;
    assert_int_equal(jwtd_rs_jwks_get(j, &seen), JWTD_RS_OK);
    assert_int_equal(jwks_server_fetches(f->srv), 1);

    /* Within the interval of the first fetch: garbage kids fetch nothing. */
    for (int i = 0; i < 100; i++) {
        jwtd_keyset *set = NULL;
        assert_int_equal(jwtd_rs_jwks_refresh(j, seen, &set), JWTD_RS_OK);
        assert_ptr_equal(set, seen);
        jwtd_keyset_free(set);
    }
    assert_int_equal(jwks_server_fetches(f->srv), 1);

    /* The issuer rotates; once the interval passed, one fetch finds the new key. */
    serve_one(f, "max-age=3600", kid2);
    advance(30);
    jwtd_keyset *newer = NULL;
    assert_int_equal(jwtd_rs_jwks_refresh(j, seen, &newer), JWTD_RS_OK);
    assert_int_equal(jwks_server_fetches(f->srv), 2);
    assert_non_null(jwtd_keyset_find(newer, kid2, strlen(kid2)));
    /* A caller still holding the old set gets the newer one without a fetch. */
    jwtd_keyset *again = NULL;
    assert_int_equal(jwtd_rs_jwks_refresh(j, seen, &again), JWTD_RS_OK);
    assert_ptr_equal(again, newer);
    for (int i = 0; i < 100; i++) {
        jwtd_keyset *set = NULL;
        assert_int_equal(jwtd_rs_jwks_refresh(j, newer, &set), JWTD_RS_OK);
        jwtd_keyset_free(set);
    }
    assert_int_equal(jwks_server_fetches(f->srv), 2);
    jwtd_keyset_free(again);
    jwtd_keyset_free(newer);
    jwtd_keyset_free(seen);
    jwtd_rs_jwks_free(j);
}

/* Failures (status 500, garbage, a closed port) keep the last good set, are retried once per
 * interval, and the next good answer replaces it. */
static void failing_fetch_keeps_last_good_set(void **state)
{
    fixture *f = *state;
    char kid1[JWTD_MAX_KID_BYTES], kid2[JWTD_MAX_KID_BYTES];
    serve_one(f, "max-age=60", kid1);
    jwtd_rs_jwks *j = NULL;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    assert_true(get_has_kid(j, kid1));

    jwks_server_set(f->srv, 500, "{\"error\":\"down\"}", NULL);
    advance(60);
    assert_true(get_has_kid(j, kid1));
    jwtd_rs_jwks_stats st;
    jwtd_rs_jwks_stats_get(j, &st);
    assert_int_equal(st.fetches, 2);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.last_error, JWTD_RS_ERR_FETCH);
    advance(29); /* stale, but the failed try was too recent */
    assert_true(get_has_kid(j, kid1));
    assert_int_equal(jwks_server_fetches(f->srv), 2);

    jwks_server_set(f->srv, 200, "{\"keys\": not json", NULL);
    advance(1);
    assert_true(get_has_kid(j, kid1));
    jwtd_rs_jwks_stats_get(j, &st);
    assert_int_equal(st.last_error, JWTD_RS_ERR_INVALID_JWKS);
    assert_int_equal(jwks_server_fetches(f->srv), 3);

    serve_one(f, "max-age=60", kid2);
    advance(30);
    assert_true(get_has_kid(j, kid2));
    jwtd_rs_jwks_stats_get(j, &st);
    assert_int_equal(st.last_error, JWTD_RS_OK);
    assert_string_equal(st.last_reason, "");
    jwtd_rs_jwks_free(j);

    /* Nothing was ever fetched: the error comes back, and no retry before the interval. */
    jwks_server_set(f->srv, 503, "", NULL);
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    jwtd_keyset *set = NULL;
    unsigned before = jwks_server_fetches(f->srv);
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_FETCH);
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_FETCH);
    assert_null(set);
    assert_int_equal(jwks_server_fetches(f->srv), before + 1);
    jwtd_rs_jwks_free(j);
}

/* A JWKS past the limits is refused, before and after a good one (which stays). */
static void jwks_past_the_limits_is_refused(void **state)
{
    fixture *f = *state;
    char kid1[JWTD_MAX_KID_BYTES];
    jwtd_rs_jwks_options small = f->opt;
    small.max_keys = 3;
    small.max_body_bytes = 4096;

    serve_one(f, "max-age=60", kid1);
    jwtd_rs_jwks *j = NULL;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &small, &j), JWTD_RS_OK);
    assert_true(get_has_kid(j, kid1));

    static const struct {
        size_t keys;
        jwtd_rs_err want;
    } grown[] = {{4, JWTD_RS_ERR_INVALID_JWKS}, {40, JWTD_RS_ERR_TOO_LARGE}};
    for (size_t i = 0; i < sizeof grown / sizeof grown[0]; i++) {
        char *json = make_jwks(grown[i].keys, NULL);
        jwks_server_set(f->srv, 200, json, "max-age=60");
        jwtd_free(json);
        advance(60);
        assert_true(get_has_kid(j, kid1));
        jwtd_rs_jwks_stats st;
        jwtd_rs_jwks_stats_get(j, &st);
        assert_int_equal(st.last_error, grown[i].want);
    }
    jwtd_rs_jwks_free(j);

    /* libjwtd's own limits, with the default options: 257 keys, and more than 1 MiB. */
    char *json = make_jwks_over_limit();
    jwks_server_set(f->srv, 200, json, NULL);
    free(json);
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    jwtd_keyset *set = NULL;
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_INVALID_JWKS);
    jwtd_rs_jwks_free(j);

    size_t big = JWTD_MAX_KEY_BYTES + 16;
    char *padded = malloc(big + 1);
    assert_non_null(padded);
    memset(padded, ' ', big);
    memcpy(padded, "{\"keys\":[]}", 11);
    padded[big] = '\0';
    jwks_server_set(f->srv, 200, padded, NULL);
    free(padded);
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_TOO_LARGE);
    jwtd_rs_jwks_free(j);

    /* A published secret would let anyone sign: refused. */
    jwks_server_set(f->srv, 200,
                    "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"s\","
                    "\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NTY3OA\"}]}",
                    NULL);
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_INVALID_JWKS);
    jwtd_rs_jwks_free(j);
}

/* Only https:// by default; http:// only when allowed; redirects stay on the scheme; bad
 * options are refused; errors never hold the URL. */
static void urls_options_and_redirects(void **state)
{
    fixture *f = *state;
    jwtd_rs_jwks *j = NULL;
    jwtd_rs_jwks_options strict;
    jwtd_rs_jwks_options_init(&strict);
    assert_int_equal(jwtd_rs_jwks_new(f->url, &strict, &j), JWTD_RS_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_rs_jwks_new(f->url, NULL, &j), JWTD_RS_ERR_INVALID_ARGUMENT);
    static const char *const refused[] = {"file:///etc/passwd", "ftp://127.0.0.1/jwks", "https://",
                                          "jwks.json", ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(jwtd_rs_jwks_new(refused[i], &f->opt, &j), JWTD_RS_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_rs_jwks_new("https://issuer.example/jwks.json", &strict, &j), JWTD_RS_OK);
    jwtd_rs_jwks_free(j);
    jwtd_rs_jwks_options bad = f->opt;
    bad.max_keys = JWTD_MAX_JWKS_KEYS + 1;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &bad, &j), JWTD_RS_ERR_INVALID_ARGUMENT);
    bad = f->opt;
    bad.min_ttl = bad.max_ttl + 1;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &bad, &j), JWTD_RS_ERR_INVALID_ARGUMENT);

    char kid[JWTD_MAX_KID_BYTES], url[256];
    serve_one(f, NULL, kid);
    snprintf(url, sizeof url, "%s/redirect", f->base);
    jwks_server_set_redirect(f->srv, f->url);
    assert_int_equal(jwtd_rs_jwks_new(url, &f->opt, &j), JWTD_RS_OK);
    assert_true(get_has_kid(j, kid));
    jwtd_rs_jwks_free(j);

    jwks_server_set_redirect(f->srv, "file:///etc/passwd");
    assert_int_equal(jwtd_rs_jwks_new(url, &f->opt, &j), JWTD_RS_OK);
    jwtd_keyset *set = NULL;
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_FETCH);
    jwtd_rs_jwks_free(j);

    /* Credentials in a URL never reach an error text. */
    snprintf(url, sizeof url, "http://user:s3cretpw@127.0.0.1:1/jwks.json?token=s3cretq");
    assert_int_equal(jwtd_rs_jwks_new(url, &f->opt, &j), JWTD_RS_OK);
    assert_int_equal(jwtd_rs_jwks_get(j, &set), JWTD_RS_ERR_FETCH);
    jwtd_rs_jwks_stats st;
    jwtd_rs_jwks_stats_get(j, &st);
    assert_true(st.last_reason[0] != '\0');
    assert_null(strstr(st.last_reason, "s3cret"));
    assert_null(strstr(st.last_reason, "127.0.0.1"));
    jwtd_rs_jwks_free(j);
    assert_string_equal(jwtd_rs_err_name(JWTD_RS_ERR_TOO_LARGE), "TooLarge");
    assert_string_equal(jwtd_rs_err_name(JWTD_RS_ERR_COUNT), "Unknown");
}

/* RFC 8414: the metadata's jwks_uri is used when its issuer is the one expected. */
static void discovery_from_metadata(void **state)
{
    fixture *f = *state;
    char kid[JWTD_MAX_KID_BYTES], meta_url[256], doc[512];
    serve_one(f, NULL, kid);
    snprintf(meta_url, sizeof meta_url, "%s/.well-known/oauth-authorization-server", f->base);
    snprintf(doc, sizeof doc, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", f->base, f->url);
    jwks_server_set_metadata(f->srv, doc);
    jwtd_rs_jwks *j = NULL;
    assert_int_equal(jwtd_rs_jwks_from_metadata(meta_url, f->base, &f->opt, &j), JWTD_RS_OK);
    assert_true(get_has_kid(j, kid));
    jwtd_rs_jwks_free(j);
    assert_int_equal(jwtd_rs_jwks_from_metadata(meta_url, NULL, &f->opt, &j), JWTD_RS_OK);
    jwtd_rs_jwks_free(j);

    assert_int_equal(jwtd_rs_jwks_from_metadata(meta_url, "https://other.example", &f->opt, &j),
                     JWTD_RS_ERR_METADATA);
    assert_null(j);
    static const char *const bad_docs[] = {
        "{\"issuer\":\"I\",\"jwks_uri\":\"file:///etc/passwd\"}",
        "{\"issuer\":\"I\"}",
        "{\"issuer\":\"I\",\"jwks_uri\":42}",
        "{\"issuer\":\"I\",\"issuer\":\"I\",\"jwks_uri\":\"http://127.0.0.1:1/\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        jwks_server_set_metadata(f->srv, bad_docs[i]);
        assert_int_equal(jwtd_rs_jwks_from_metadata(meta_url, "I", &f->opt, &j),
                         JWTD_RS_ERR_METADATA);
    }
    jwks_server_set_metadata(f->srv, NULL);
    assert_int_equal(jwtd_rs_jwks_from_metadata(meta_url, "I", &f->opt, &j), JWTD_RS_ERR_FETCH);
}

typedef struct worker {
    jwtd_rs_jwks *jwks;
    const char *kid;
    int failures;
} worker;

/* A thread of the concurrency test: gets, checks and refreshes the set over and over. */
static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        jwtd_keyset *set = NULL, *newer = NULL;
        if (jwtd_rs_jwks_get(w->jwks, &set) != JWTD_RS_OK ||
            jwtd_keyset_find(set, w->kid, strlen(w->kid)) == NULL)
            w->failures++;
        if (jwtd_rs_jwks_refresh(w->jwks, set, &newer) != JWTD_RS_OK)
            w->failures++;
        jwtd_keyset_free(newer);
        jwtd_keyset_free(set);
    }
    return NULL;
}

/* Several threads start at once on an empty, slow cache: one fetch serves them all (and the
 * unknown-kid refreshes they ask for add at most one, the interval allowing one). */
static void concurrent_callers_share_one_fetch(void **state)
{
    fixture *f = *state;
    char kid[JWTD_MAX_KID_BYTES];
    serve_one(f, "max-age=3600", kid);
    jwks_server_set_delay_ms(f->srv, 200);
    jwtd_rs_jwks *j = NULL;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &f->opt, &j), JWTD_RS_OK);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.jwks = j, .kid = kid, .failures = 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(jwks_server_fetches(f->srv), 1);
    assert_int_equal(jwks_server_max_in_flight(f->srv), 1);
    jwks_server_set_delay_ms(f->srv, 0);
    jwtd_rs_jwks_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cache_control_lifetimes, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_refetch_is_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_fetch_keeps_last_good_set, setup, teardown),
        cmocka_unit_test_setup_teardown(jwks_past_the_limits_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(urls_options_and_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(discovery_from_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_callers_share_one_fetch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
