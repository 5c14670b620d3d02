/* The flat JSON writer of the hot path (srv_jflat, replies.c) against jansson: for every value
 * it takes, the same bytes as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) of the same
 * object; every value JSON would escape (or that is not ASCII), and a body over the buffer,
 * fail it, so that the caller answers with jansson. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/replies.h"

/* The body srv_jflat_reply answered, NUL-terminated (owned by resp). */
static const char *reply_of(srv_jflat *w, http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (!srv_jflat_reply(w, resp, 200))
        return NULL;
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->body_len, strlen(resp->body));
    return resp->body;
}

static void same_as_jansson(const char *name, const char *role, int64_t a, int64_t b, size_t nroles)
{
    static const char roles[3][AUTH_MAX_ROLE + 1] = {"admin", "user", "a_b-c9"};
    srv_jflat w;
    srv_jflat_init(&w);
    srv_jflat_str(&w, "user", name);
    if (role != NULL)
        srv_jflat_str(&w, "role", role);
    else
        srv_jflat_null(&w, "role");
    srv_jflat_strs(&w, "roles", roles, nroles);
    srv_jflat_int(&w, "iat", a);
    srv_jflat_int(&w, "exp", b);
    http_response resp;
    const char *got = reply_of(&w, &resp);
    assert_non_null(got);

    json_t *arr = json_array();
    for (size_t i = 0; i < nroles; i++)
        json_array_append_new(arr, json_string(roles[i]));
    json_t *doc = json_pack("{s:s, s:o, s:o, s:I, s:I}", "user", name, "role",
                            role != NULL ? json_string(role) : json_null(), "roles", arr, "iat",
                            (json_int_t)a, "exp", (json_int_t)b);
    assert_non_null(doc);
    char *want = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    assert_non_null(want);
    if (strcmp(got, want) != 0)
        fail_msg("flat %s\njansson %s", got, want);
    free(want);
    http_response_clear(&resp);
}

static void test_same_bytes(void **state)
{
    (void)state;
    same_as_jansson("alice", "user", 0, 1, 1);
    same_as_jansson("A.b_c-9", NULL, -1, 9, 0);
    same_as_jansson(" !#$%&'()*+,-./:;<=>?@[]^_`{|}~", "admin", INT64_MIN, INT64_MAX, 3);
    same_as_jansson("", "", 1796618351, 1796619251, 2);
    same_as_jansson("x", "y", -1000000007, 10, 3);
}

static void test_refuses_what_json_escapes(void **state)
{
    (void)state;
    static const char *const bad[] = {"a\"b", "a\\b", "a\nb",        "\x01",
                                      "\x1f", "\x7f", "caf\xc3\xa9", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_jflat w;
        srv_jflat_init(&w);
        srv_jflat_str(&w, "user", bad[i]);
        srv_jflat_int(&w, "iat", 1);
        http_response resp;
        if (reply_of(&w, &resp) != NULL)
            fail_msg("value %zu taken: %s", i, resp.body);
        assert_null(resp.body);
        /* A bad role in the array as well. */
        char roles[1][AUTH_MAX_ROLE + 1] = {""};
        snprintf(roles[0], sizeof roles[0], "%s", bad[i]);
        srv_jflat_init(&w);
        srv_jflat_strs(&w, "roles", roles, 1);
        assert_null(reply_of(&w, &resp));
    }
}

static void test_overflow_fails(void **state)
{
    (void)state;
    char big[SRV_JFLAT_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    srv_jflat w;
    srv_jflat_init(&w);
    srv_jflat_str(&w, "user", big);
    http_response resp;
    assert_null(reply_of(&w, &resp));
    /* Just fits: '{' "k":"..." '}' */
    size_t room = SRV_JFLAT_MAX - sizeof("{\"k\":\"\"}") + 1;
    big[room] = '\0';
    srv_jflat_init(&w);
    srv_jflat_str(&w, "k", big);
    const char *got = reply_of(&w, &resp);
    assert_non_null(got);
    assert_int_equal(strlen(got), SRV_JFLAT_MAX);
    http_response_clear(&resp);
    big[room] = 'a';
    big[room + 1] = '\0';
    srv_jflat_init(&w);
    srv_jflat_str(&w, "k", big);
    assert_null(reply_of(&w, &resp));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes),
        cmocka_unit_test(test_refuses_what_json_escapes),
        cmocka_unit_test(test_overflow_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
