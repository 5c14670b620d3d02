/* The OAuth 2.0 input parsers of jwtd serve (src/server/form.c), as tables: percent-decoding
 * with '+' as a space, whole-form validity (bad escapes, repeated or empty names, too many
 * pairs), reading one parameter (found, absent, too long, a NUL byte), the form media type,
 * and client_secret_basic credentials (RFC 6749 section 2.3.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/form.h"

static void test_decode(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
        size_t out_len;
    } cases[] = {
        {"", "", 0},
        {"abc", "abc", 3},
        {"a+b", "a b", 3},
        {"a%20b", "a b", 3},
        {"%2B", "+", 1},
        {"%2b%2F%25", "+/%", 3},
        {"%00", "\0", 1}, /* decoded: the caller refuses NUL where it matters */
        {"caf%C3%A9", "caf\xc3\xa9", 5},
        {"%", NULL, 0},
        {"%2", NULL, 0},
        {"a%2", NULL, 0},
        {"%zz", NULL, 0},
        {"%g0", NULL, 0},
        {"%0g", NULL, 0},
        {"0123456789abcdef", NULL, 0}, /* 16 bytes do not fit 16 with the NUL */
        {"0123456789abcde", "0123456789abcde", 15},
        {"0123456789abcd%41", "0123456789abcdA", 15},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16];
        size_t n = 99;
        bool ok = srv_form_decode(cases[i].in, strlen(cases[i].in), out, sizeof out, &n);
        if (cases[i].out == NULL) {
            if (ok)
                fail_msg("'%s' was accepted", cases[i].in);
            continue;
        }
        if (!ok)
            fail_msg("'%s' was refused", cases[i].in);
        assert_int_equal(n, cases[i].out_len);
        assert_memory_equal(out, cases[i].out, n);
        assert_int_equal(out[n], '\0');
    }
}

static void test_valid(void **state)
{
    static const struct {
        const char *body;
        bool valid;
    } cases[] = {
        {"", true},
        {"a=1", true},
        {"a=1&b=2", true},
        {"a=1&&b=2&", true}, /* empty pairs are skipped */
        {"a", true},         /* a name without '=' has the empty value */
        {"a=", true},
        {"a=x%20y+z", true},
        {"a%5Fb=1&a_c=2", true},
        {"a=1&a=2", false},       /* RFC 6749 3.2: no repeats */
        {"a%5Fb=1&a_b=2", false}, /* the same name once decoded */
        {"=1", false},            /* an empty name */
        {"a=%", false},
        {"a=%4", false},
        {"a=%4x", false},
        {"a%=1", false},
        {"a%00=1", false}, /* a NUL in a name */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", false}, /* 65 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (srv_form_valid(cases[i].body, strlen(cases[i].body)) != cases[i].valid)
            fail_msg("'%s': expected %s", cases[i].body, cases[i].valid ? "valid" : "invalid");
    }
    /* At most SRV_FORM_MAX_PAIRS pairs. */
    char body[SRV_FORM_MAX_PAIRS * 8 + 16] = "";
    size_t at = 0;
    for (int i = 0; i < SRV_FORM_MAX_PAIRS; i++)
        at += (size_t)snprintf(body + at, sizeof body - at, "%sp%d=1", i > 0 ? "&" : "", i);
    assert_true(srv_form_valid(body, at));
    at += (size_t)snprintf(body + at, sizeof body - at, "&extra=1");
    assert_false(srv_form_valid(body, at));
}

static void test_get(void **state)
{
    static const char body[] = "grant_type=client_credentials&client_id=svc.a&secret=a+b%2Bc"
                               "&empty=&nul=x%00y&long=0123456789abcdef";
    char out[16];
    size_t n = 0;
    (void)state;
    assert_int_equal(srv_form_get(body, strlen(body), "client_id", out, sizeof out, &n), 1);
    assert_string_equal(out, "svc.a");
    assert_int_equal(n, 5);
    assert_int_equal(srv_form_get(body, strlen(body), "secret", out, sizeof out, &n), 1);
    assert_string_equal(out, "a b+c");
    assert_int_equal(srv_form_get(body, strlen(body), "empty", out, sizeof out, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(srv_form_get(body, strlen(body), "missing", out, sizeof out, &n), 0);
    assert_int_equal(srv_form_get(body, strlen(body), "nul", out, sizeof out, &n), -1);
    assert_int_equal(srv_form_get(body, strlen(body), "long", out, sizeof out, &n), -1);
    assert_int_equal(srv_form_get(body, strlen(body), "grant_type", out, sizeof out, &n), -1);
    assert_int_equal(srv_form_get(body, strlen(body), "client", out, sizeof out, &n), 0);
}

static void test_content_type(void **state)
{
    (void)state;
    static const char *const yes[] = {"application/x-www-form-urlencoded",
                                      "Application/X-WWW-Form-URLEncoded",
                                      "application/x-www-form-urlencoded; charset=UTF-8"};
    static const char *const no[] = {"application/json", "application/x-www-form-urlencodedx",
                                     "multipart/form-data", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(srv_is_form_content_type(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(srv_is_form_content_type(no[i], strlen(no[i])));
}

static void test_basic(void **state)
{
    static const struct {
        const char *header;
        int rc;
        const char *id, *secret;
    } cases[] = {
        /* svc.a:s3cret */
        {"Basic c3ZjLmE6czNjcmV0", 1, "svc.a", "s3cret"},
        {"basic c3ZjLmE6czNjcmV0", 1, "svc.a", "s3cret"},
        {"Basic   c3ZjLmE6czNjcmV0  ", 1, "svc.a", "s3cret"},
        /* svc.a:a+b%2Bc%3A -> "a b+c:" (the secret is form-encoded) */
        {"Basic c3ZjLmE6YStiJTJCYyUzQQ==", 1, "svc.a", "a b+c:"},
        /* svc.a:x:y -> the first ':' splits */
        {"Basic c3ZjLmE6eDp5", 1, "svc.a", "x:y"},
        /* svc.a: -> an empty secret */
        {"Basic c3ZjLmE6", 1, "svc.a", ""},
        {"Bearer abc", 0, NULL, NULL},
        {"Basicc3ZjLmE6czNjcmV0", 0, NULL, NULL},
        {"Basic", 0, NULL, NULL},
        {"Basic ", -1, NULL, NULL},
        {"Basic !!!!", -1, NULL, NULL},
        {"Basic c3ZjLmE", -1, NULL, NULL},          /* "svc.a" with no colon, unpadded */
        {"Basic c3ZjLmE=", -1, NULL, NULL},         /* no colon */
        {"Basic OnNlY3JldA==", -1, NULL, NULL},     /* ":secret": an empty id */
        {"Basic c3ZjLmE6JXp6", -1, NULL, NULL},     /* "svc.a:%zz" */
        {"Basic c3ZjLmE6YSUwMGI=", -1, NULL, NULL}, /* "svc.a:a%00b": a NUL */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[65], secret[257];
        size_t il = 0, sl = 0;
        int rc = srv_parse_basic(cases[i].header, strlen(cases[i].header), id, sizeof id, &il,
                                 secret, sizeof secret, &sl);
        if (rc != cases[i].rc)
            fail_msg("'%s': %d, expected %d", cases[i].header, rc, cases[i].rc);
        if (rc == 1) {
            assert_string_equal(id, cases[i].id);
            assert_string_equal(secret, cases[i].secret);
            assert_int_equal(il, strlen(cases[i].id));
            assert_int_equal(sl, strlen(cases[i].secret));
        }
    }
    /* An id longer than the buffer is refused, not cut. */
    char small[4], secret[16];
    size_t il = 0, sl = 0;
    assert_int_equal(srv_parse_basic("Basic c3ZjLmE6czNjcmV0", 22, small, sizeof small, &il, secret,
                                     sizeof secret, &sl),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode), cmocka_unit_test(test_valid),
        cmocka_unit_test(test_get),    cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_basic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
