/* The per-thread cache of encoded signing headers (signcache.c) must be invisible: every
 * signature carries exactly the header its arguments describe, across more variants than
 * the cache has slots, and a header that cannot be built is refused every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jwtd/jwtd.h"

#define VARIANTS 24 /* three times the cache's slots */
#define ROUNDS 3

static const char secret[] = "signcache-test-secret-0123456789abcdef-0123456789abcdef-01234567";

static void header_of(const char *tok, char **header)
{
    char *claims = NULL;
    assert_int_equal(jwtd_insecure_decode(tok, strlen(tok), header, &claims), JWTD_OK);
    jwtd_free(claims);
}

static void test_variants_survive_eviction(void **state)
{
    jwtd_key *key = NULL;

    (void)state;
    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < VARIANTS; i++) {
            char typ[16], kid[16], extra[32], want[160], *tok = NULL, *hdr = NULL;
            jwtd_header h = {.typ = typ, .kid = kid, .extra_json = extra};
            jwtd_alg alg = i % 2 ? JWTD_ALG_HS256 : JWTD_ALG_HS512;

            snprintf(typ, sizeof typ, "t%d", i % 5);
            snprintf(kid, sizeof kid, "k%d", i);
            snprintf(extra, sizeof extra, "{\"n\":%d}", i % 3);
            assert_int_equal(jwtd_sign_payload(key, alg, &h, "{}", 2, &tok), JWTD_OK);
            header_of(tok, &hdr);
            snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\",\"n\":%d}",
                     jwtd_alg_name(alg), typ, kid, i % 3);
            assert_string_equal(hdr, want);
            jwtd_free(hdr);
            jwtd_free(tok);
        }
    }
    jwtd_key_free(key);
}

/* Absent and empty members are different headers and must never share a cache entry. */
static void test_absent_differs_from_empty(void **state)
{
    jwtd_key *key = NULL;
    jwtd_header with_empty = {.typ = "", .kid = "k"}, without = {.kid = "k"};
    char *a = NULL, *b = NULL, *ha = NULL, *hb = NULL;

    (void)state;
    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jwtd_sign_payload(key, JWTD_ALG_HS256, &with_empty, "{}", 2, &a), JWTD_OK);
        assert_int_equal(jwtd_sign_payload(key, JWTD_ALG_HS256, &without, "{}", 2, &b), JWTD_OK);
        header_of(a, &ha);
        header_of(b, &hb);
        assert_string_equal(ha, "{\"alg\":\"HS256\",\"typ\":\"\",\"kid\":\"k\"}");
        assert_string_equal(hb, "{\"alg\":\"HS256\",\"kid\":\"k\"}");
        jwtd_free(ha);
        jwtd_free(hb);
        jwtd_free(a);
        jwtd_free(b);
    }
    jwtd_key_free(key);
}

/* A refused header is refused on every call, before and after valid ones fill the cache. */
static void test_refused_header_never_cached(void **state)
{
    jwtd_key *key = NULL;
    jwtd_header bad = {.extra_json = "{\"alg\":\"none\"}"}, good = {.typ = "JWT"};
    char *tok = NULL;

    (void)state;
    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(jwtd_sign_payload(key, JWTD_ALG_HS256, &bad, "{}", 2, &tok),
                         JWTD_ERR_INVALID_ARGUMENT);
        assert_null(tok);
        assert_int_equal(jwtd_sign_payload(key, JWTD_ALG_HS256, &good, "{}", 2, &tok), JWTD_OK);
        jwtd_free(tok);
        tok = NULL;
    }
    jwtd_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variants_survive_eviction),
        cmocka_unit_test(test_absent_differs_from_empty),
        cmocka_unit_test(test_refused_header_never_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
