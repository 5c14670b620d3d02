/* Request parsing of jwtd serve, as tables: the Authorization Bearer header (RFC 6750),
 * the refresh cookie, the Content-Type of POST bodies, query numbers and which static
 * paths may be served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/reqparse.h"

static void test_bearer(void **state)
{
    static const struct {
        const char *header, *token; /* token NULL: refused */
    } cases[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER abc", "abc"},
        {"Bearer   abc  ", "abc"},
        {"Bearer\tabc", NULL}, /* RFC 6750: 1*SP, and a tab is not SP */
        {"Bearer \tabc", NULL},
        {"Bearer abc\t", "abc"}, /* trailing OWS */
        {"Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln",
         "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln"},
        {"Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="},
        {"Bearer", NULL},
        {"Bearer ", NULL},
        {"Bearer    ", NULL},
        {"Bearerabc", NULL},
        {"Basic YWxpY2U6aHVudGVyMg==", NULL},
        {"Token abc", NULL},
        {"Bearer a b", NULL},
        {"Bearer a,b", NULL},
        {"Bearer \"abc\"", NULL},
        {"Bearer =abc", NULL},
        {"Bearer ab=c", NULL},
        {"Bearer abc\r\n", NULL},
        {" Bearer abc", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *tok = NULL;
        size_t len = 0;
        bool ok = srv_parse_bearer(cases[i].header, strlen(cases[i].header), &tok, &len);
        if (cases[i].token == NULL) {
            if (ok)
                fail_msg("'%s' was accepted", cases[i].header);
        } else {
            if (!ok)
                fail_msg("'%s' was refused", cases[i].header);
            assert_int_equal(len, strlen(cases[i].token));
            assert_memory_equal(tok, cases[i].token, len);
        }
    }
    /* The length given is the end: bytes after it (a NUL inside the header) are not read. */
    const char *tok = NULL;
    size_t len = 0;
    assert_true(srv_parse_bearer("Bearer abc\0def", 10, &tok, &len));
    assert_int_equal(len, 3);
    assert_false(srv_parse_bearer("Bearer abc\0def", 14, &tok, &len));
}

static void test_cookie(void **state)
{
    static const struct {
        const char *header, *value; /* value NULL: not found */
    } cases[] = {
        {"jwtd_refresh=abc", "abc"},
        {"a=1; jwtd_refresh=abc; b=2", "abc"},
        {"a=1;jwtd_refresh=abc", "abc"},
        {"  jwtd_refresh=abc  ", "abc"},
        {"jwtd_refresh=\"abc\"", "abc"},
        {"jwtd_refresh=", ""},
        {"jwtd_refresh=first; jwtd_refresh=second", "first"},
        {"xjwtd_refresh=abc", NULL},
        {"jwtd_refresh2=abc", NULL},
        {"JWTD_REFRESH=abc", NULL},
        {"jwtd_refresh", NULL},
        {"a=1; b=2", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *v = NULL;
        size_t len = 0;
        bool found =
            srv_cookie_find(cases[i].header, strlen(cases[i].header), SRV_REFRESH_COOKIE, &v, &len);
        if (cases[i].value == NULL) {
            if (found)
                fail_msg("found a cookie in '%s'", cases[i].header);
        } else {
            if (!found)
                fail_msg("no cookie found in '%s'", cases[i].header);
            assert_int_equal(len, strlen(cases[i].value));
            assert_memory_equal(v, cases[i].value, len);
        }
    }
    /* A found value is only a token when it is a b64token (checked by the caller). */
    assert_true(srv_is_b64token("a.b.c", 5));
    assert_false(srv_is_b64token("a;b", 3));
    assert_false(srv_is_b64token("", 0));
}

static void test_content_type(void **state)
{
    static const struct {
        const char *value;
        bool json;
    } cases[] = {
        {"application/json", true},
        {"Application/JSON", true},
        {"application/json; charset=utf-8", true},
        {"application/json;charset=UTF-8", true},
        {" application/json ", true},
        {"application/json ; charset=utf-8", true},
        {"application/jsonp", false},
        {"application/json-patch+json", false},
        {"application/x-www-form-urlencoded", false},
        {"text/plain", false},
        {"text/json", false},
        {"application/", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (srv_is_json_content_type(cases[i].value, strlen(cases[i].value)) != cases[i].json)
            fail_msg("'%s' should %sbe JSON", cases[i].value, cases[i].json ? "" : "not ");
}

static void test_query(void **state)
{
    static const struct {
        const char *query, *key;
        int rc;
        int64_t value;
    } cases[] = {
        {"after=5&limit=10", "after", 1, 5},
        {"after=5&limit=10", "limit", 1, 10},
        {"limit=100", "limit", 1, 100},
        {"limit=0", "limit", -1, 0},
        {"limit=101", "limit", -1, 0},
        {"limit=abc", "limit", -1, 0},
        {"limit=-1", "limit", -1, 0},
        {"limit=", "limit", -1, 0},
        {"limit=99999999999999999999", "limit", -1, 0},
        {"xlimit=3", "limit", 0, 0},
        {"limitx=3", "limit", 0, 0},
        {"", "limit", 0, 0},
        {"limit=5&limit=7", "limit", -1, 0},
        {"limit", "limit", -1, 0},
        {"after=1&limit", "limit", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -7;
        int rc = srv_query_int(cases[i].query, strlen(cases[i].query), cases[i].key, 1, 100, &v);
        if (rc != cases[i].rc)
            fail_msg("'%s' key %s: %d, expected %d", cases[i].query, cases[i].key, rc, cases[i].rc);
        assert_int_equal(v, cases[i].rc == 1 ? cases[i].value : -7);
    }
    int64_t v = 0;
    assert_int_equal(srv_query_int(NULL, 0, "after", 0, 10, &v), 0);
    /* The raw value of ?role=NAME (GET /auth): bytes as sent, once. */
    const char *val = NULL;
    size_t n = 0;
    assert_int_equal(srv_query_value("x=1&role=admin", 14, "role", &val, &n), 1);
    assert_int_equal(n, 5);
    assert_memory_equal(val, "admin", 5);
    assert_int_equal(srv_query_value("role=a&role=b", 13, "role", &val, &n), -1);
    assert_int_equal(srv_query_value("role=", 5, "role", &val, &n), -1);
    assert_int_equal(srv_query_value("roles=a", 7, "role", &val, &n), 0);
}

static void test_web_paths(void **state)
{
    static const struct {
        const char *path, *type; /* type NULL: never served */
    } cases[] = {
        {"/index.html", "text/html; charset=utf-8"},
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "text/css; charset=utf-8"},
        {"/img/logo.svg", "image/svg+xml"},
        {"/favicon.ico", "image/x-icon"},
        {"/", NULL},
        {"/../etc/passwd", NULL},
        {"/a/../b.js", NULL},
        {"/..", NULL},
        {"/.git/config", NULL},
        {"/.env.js", NULL},
        {"//app.js", NULL},
        {"/dir/", NULL},
        {"/app.js/", NULL},
        {"/a%2e%2e/b.js", NULL},
        {"/a\\b.js", NULL},
        {"/server.c", NULL},
        {"/jwtd.db", NULL},
        {"/index.HTML", NULL},
        {"app.js", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = srv_web_content_type(cases[i].path, strlen(cases[i].path));
        if (cases[i].type == NULL && t != NULL)
            fail_msg("'%s' would be served", cases[i].path);
        if (cases[i].type != NULL && (t == NULL || strcmp(t, cases[i].type) != 0))
            fail_msg("'%s': type %s, expected %s", cases[i].path, t ? t : "none", cases[i].type);
    }
    char longpath[400];
    memset(longpath, 'a', sizeof longpath);
    longpath[0] = '/';
    static const char ext[] = ".js"; /* no NUL: the path goes by length */
    memcpy(longpath + sizeof longpath - (sizeof ext - 1), ext, sizeof ext - 1);
    assert_null(srv_web_content_type(longpath, sizeof longpath));
}

/* Every byte against the b64token grammar (RFC 6750 2.1): A-Z a-z 0-9 - . _ ~ + / and
 * trailing '='. */
static void test_b64token_bytes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        bool want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        char s[3] = {'a', (char)c, 'b'};
        if (srv_is_b64token(s, sizeof s) != want)
            fail_msg("byte %d: %s", c, want ? "refused" : "taken");
    }
    assert_true(srv_is_b64token("ab==", 4));
    assert_false(srv_is_b64token("a=b", 3));
    assert_false(srv_is_b64token("==", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),       cmocka_unit_test(test_cookie),
        cmocka_unit_test(test_content_type), cmocka_unit_test(test_query),
        cmocka_unit_test(test_web_paths),    cmocka_unit_test(test_b64token_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
