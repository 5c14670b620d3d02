/* The claims writer (src/jose/jwrite.c) against jansson: for every object it handles, exactly
 * the bytes of json_dumpb(JSON_COMPACT | JSON_PRESERVE_ORDER) and the same size; for every
 * other (strings JSON escapes, non-ASCII, reals, keys needing escapes, deeper nesting) "not
 * handled", and the claims path (jose_claims_dumpb, jwtd_sign) still gives jansson's bytes.
 * Buffers of exactly the size, and one byte short, report the size as json_dumpb does and
 * never write past cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "jwrite.h"

#define FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define CANARY '#'
#define SLACK 16

/* json_dumpb's bytes of obj (malloc'd, NUL-terminated); *len gets their length. */
static char *jansson_bytes(const json_t *obj, size_t *len)
{
    size_t n = json_dumpb(obj, NULL, 0, FLAGS);
    char *out = malloc(n + 1);

    assert_true(n > 0);
    assert_non_null(out);
    assert_int_equal(json_dumpb(obj, out, n, FLAGS), n);
    out[n] = '\0';
    *len = n;
    return out;
}

/* The writer into a buffer of cap bytes followed by canaries: returns its result and checks
 * that nothing went past cap. */
static size_t write_into(const json_t *obj, char *buf, size_t cap)
{
    size_t n;

    memset(buf, CANARY, cap + SLACK);
    n = jose_jwrite_object(obj, buf, cap);
    for (size_t i = cap; i < cap + SLACK; i++) {
        if (buf[i] != CANARY)
            fail_msg("byte %zu past cap %zu written", i, cap);
    }
    return n;
}

/* The claims path for the same object: jose_claims_dumpb (writer or fallback) and a signed
 * token's payload must both be jansson's bytes. */
static void claims_path_same(const json_t *obj, const char *want, size_t want_len)
{
    jwtd_claims *c = NULL;
    jwtd_key *key = NULL;
    char *tok = NULL, *json = NULL, buf[4096];
    static const unsigned char secret[32] = "test-jwrite-secret-of-32-bytes!";
    size_t n;

    json = json_dumps(obj, FLAGS);
    assert_non_null(json);
    assert_int_equal(jwtd_claims_from_json(json, strlen(json), &c), JWTD_OK);
    free(json);
    n = jose_claims_dumpb(c, buf, sizeof buf);
    assert_int_equal(n, want_len);
    if (n <= sizeof buf)
        assert_memory_equal(buf, want, n);
    /* And inside a token (the stack buffer of jwtd_sign, or its heap fallback). */
    assert_int_equal(jwtd_key_from_secret(secret, sizeof secret, 0, &key), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_HS256, NULL, c, &tok), JWTD_OK);
    {
        const char *p = strchr(tok, '.') + 1, *e = strchr(p, '.');
        size_t plen = 0;
        unsigned char *payload = jose_b64url_decode_public_alloc(p, (size_t)(e - p), &plen);
        assert_non_null(payload);
        assert_int_equal(plen, want_len);
        assert_memory_equal(payload, want, plen);
        free(payload);
    }
    jwtd_free(tok);
    jwtd_key_free(key);
    jwtd_claims_free(c);
}

/* obj (stolen) through the writer: handled with jansson's bytes, or not handled; then
 * through the claims path when claims is set (jwtd_claims_from_json refuses "\u0000"). */
static void check_as(json_t *obj, bool handled, bool claims)
{
    size_t want_len = 0, n;
    char *want, *buf;

    assert_non_null(obj);
    want = jansson_bytes(obj, &want_len);
    buf = malloc(want_len + SLACK + 1);
    assert_non_null(buf);
    /* Room to spare, exactly enough, one byte short, none. */
    n = write_into(obj, buf, want_len + 1);
    if (!handled) {
        if (n != 0)
            fail_msg("handled, should not be: %s", want);
    } else {
        if (n != want_len || memcmp(buf, want, want_len) != 0)
            fail_msg("jwrite %.*s (%zu)\njansson %s (%zu)", (int)(n <= want_len ? n : 0), buf, n,
                     want, want_len);
        assert_int_equal(write_into(obj, buf, want_len), want_len);
        assert_memory_equal(buf, want, want_len);
        /* One short: the size needed, as json_dumpb reports it (> cap: the caller's signal). */
        assert_int_equal(write_into(obj, buf, want_len - 1), want_len);
        assert_int_equal(json_dumpb(obj, buf, want_len - 1, FLAGS), want_len);
        assert_int_equal(write_into(obj, buf, 0), want_len);
    }
    if (claims)
        claims_path_same(obj, want, want_len);
    free(buf);
    free(want);
    json_decref(obj);
}

static void check(json_t *obj, bool handled) { check_as(obj, handled, true); }

static json_t *one(const char *key, json_t *v)
{
    json_t *o = json_object();
    assert_non_null(o);
    assert_int_equal(json_object_set_new(o, key, v), 0);
    return o;
}

/* v nested in `levels` arrays/objects (alternating), as the member "x" of the outer object. */
static json_t *nested(int levels, json_t *v)
{
    for (int i = 0; i < levels; i++) {
        json_t *c = i % 2 == 0 ? json_array() : json_object();
        if (json_is_array(c))
            json_array_append_new(c, v);
        else
            json_object_set_new(c, "k", v);
        v = c;
    }
    return one("x", v);
}

static void test_scalars(void **state)
{
    (void)state;
    check(json_object(), true);
    check(one("n", json_integer(0)), true);
    check(one("n", json_integer(-1)), true);
    check(one("n", json_integer(-1000000007)), true);
    check(one("n", json_integer(INT64_MAX)), true);
    check(one("n", json_integer(INT64_MIN)), true);
    check(one("n", json_integer(INT64_MIN + 1)), true);
    check(one("t", json_true()), true);
    check(one("f", json_false()), true);
    check(one("z", json_null()), true);
    check(one("", json_string("")), true);
    check(one("s", json_string(" !#$%&'()*+,-./:;<=>?@[]^_`{|}~azAZ09")), true);
    check(one("url", json_string("https://auth.example.com/a/b")), true); /* '/' as it is */
    check(json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[sss], s:b, s:n}", "iss",
                    "https://auth.example.com", "sub", "user-8f14e45fceea167a", "aud", "api", "exp",
                    (json_int_t)1796619251, "iat", (json_int_t)1796618351, "jti",
                    "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "roles", "admin", "user", "x", "ok", 1,
                    "none"),
          true);
}

static void test_nesting(void **state)
{
    (void)state;
    check(one("a", json_array()), true);
    check(one("o", json_object()), true);
    check(json_pack("{s:[i,[b,{s:n}],{}], s:{s:{s:[]}}}", "a", 1, 0, "k", "o", "p", "q"), true);
    /* The outer object is level 1: JOSE_JWRITE_MAX_DEPTH levels in all are written. */
    check(nested(JOSE_JWRITE_MAX_DEPTH - 1, json_integer(7)), true);
    check(nested(JOSE_JWRITE_MAX_DEPTH - 1, json_array()), false);
    check(nested(JOSE_JWRITE_MAX_DEPTH, json_integer(7)), false);
    check(nested(JOSE_JWRITE_MAX_DEPTH + 3, json_string("deep")), false);
}

static void test_not_handled(void **state)
{
    static const char *const strings[] = {
        "a\"b",  "a\\b", "a\nb",        "\x01",         "\x1f",
        "tab\t", "\x7f", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    (void)state;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        check(one("s", json_string(strings[i])), false);
        check(one(strings[i], json_integer(1)), false); /* as a key */
        check(one("a", json_pack("[ss]", "ok", strings[i])), false);
        check(one("o", one(strings[i], json_true())), false);
        /* After members that were written: the whole falls back. */
        check(json_pack("{s:s, s:i, s:s}", "iss", "x", "n", 5, "late", strings[i]), false);
    }
    check_as(one("nul", json_stringn("a\0b", 3)), false, false); /* a NUL inside a string */
    check(one("r", json_real(1.5)), false);
    check(one("r", json_real(0.0)), false);
    check(one("r", json_real(-1e300)), false);
    check(json_pack("{s:i, s:[i,f]}", "a", 1, "b", 2, 0.25), false);
}

/* Objects larger than jwtd_sign's stack buffer go through its heap fallback. */
static void test_large(void **state)
{
    static char big[5000];
    (void)state;
    memset(big, 'a', sizeof big - 1);
    check(one("big", json_string(big)), true);
    big[4000] = '"';
    check(one("big", json_string(big)), false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_not_handled),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
