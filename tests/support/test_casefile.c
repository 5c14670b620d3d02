/* unit.casefile: the case-file library of tests/cli and tests/http (casefile.h) on a fixed
 * document: every operator passing and failing, malformed lines failing with a reason (a check
 * that cannot be read must not pass), dotted paths, and a case file split into sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "casefile.h"

static const char doc_text[] = "{\"user\":{\"name\":\"alice\",\"roles\":[\"admin\",\"user\"],"
                               "\"id\":7,\"score\":1.5,\"ok\":true,\"gone\":null},"
                               "\"list\":[],\"0\":\"a key of digits\"}";

/* One check line and whether it passes; reason: a word the failure message must hold. */
static const struct {
    const char *line;
    bool pass;
    const char *reason;
} checks[] = {
    {"user.name = \"alice\"", true, NULL},
    {"user.name = \"bob\"", false, "expected \"bob\""},
    {"user.name != \"bob\"", true, NULL},
    {"user.name != \"alice\"", false, "expected not"},
    {"user.roles.0 = \"admin\"", true, NULL},
    {"user.roles.1 = \"user\"", true, NULL},
    {"user.roles.2 !", true, NULL},
    {"user.roles.-1 !", true, NULL}, /* no sign: not an index, so nothing there */
    {"user.roles.+0 !", true, NULL},
    {"0 = \"a key of digits\"", true, NULL}, /* digits are a member name in an object */
    {"user.id : integer", true, NULL},
    {"user.id : number", true, NULL},
    {"user.id : string", false, "expected type string"},
    {"user.score : real", true, NULL},
    {"user.ok : boolean", true, NULL},
    {"user.ok : true", true, NULL},
    {"user.gone : null", true, NULL},
    {"user.roles : array", true, NULL},
    {". : object", true, NULL},
    {"user.id : interger", false, "unknown type"},
    {"user.name ~ ^al", true, NULL},
    {"user.name ~ ^bo", false, "matching"},
    {"user.id ~ 7", false, "expected a string"},
    {"user.name ~ (", false, "bad regex"},
    {"user.roles # 2", true, NULL},
    {"user # 6", true, NULL},
    {"list # 0", true, NULL},
    {"user.roles # 3", false, "has 2 members"},
    {"user.name # 5", false, "array or object"},
    {"user.roles # two", false, "bad count"},
    {"user.missing !", true, NULL},
    {"user.name !", false, "present"},
    {"user.missing = 1", false, "absent"},
    {"user.name ! \"alice\"", false, "no operand"}, /* was read as "absent" by tests/cli */
    {"user.name =", false, "an operand"},
    {"user.name == \"alice\"", false, "unknown operator"},
    {"user.name = alice", false, "not JSON"},
    {"user..name = \"alice\"", false, "bad path"},
    {"user. !", false, "bad path"},
    {"user.name", false, "bad json check"},
};

static void test_checks(void **state)
{
    (void)state;
    char why[CASEFILE_MAX_WHY];
    json_t *doc = casefile_json_load(doc_text, strlen(doc_text), why);
    assert_non_null(doc);
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        why[0] = '\0';
        bool pass = casefile_json_check(doc, checks[i].line, why);
        if (pass != checks[i].pass || (!pass && strstr(why, checks[i].reason) == NULL))
            fail_msg("'%s': %s, reason '%s' (expected %s%s)", checks[i].line,
                     pass ? "passes" : "fails", why, checks[i].pass ? "a pass" : "a failure: ",
                     checks[i].pass ? "" : checks[i].reason);
    }
    json_decref(doc);
}

static void test_not_json(void **state)
{
    (void)state;
    char why[CASEFILE_MAX_WHY] = "";
    assert_null(casefile_json_load("{\"a\":1,\"a\":2}", 13, why)); /* duplicate keys */
    assert_non_null(strstr(why, "duplicate"));
    json_t *s = casefile_json_load("\"just a string\"", 15, why);
    assert_non_null(s);
    assert_true(casefile_json_check(s, ". = \"just a string\"", why));
    json_decref(s);
    assert_false(casefile_json_check(NULL, ". : object", why));
    assert_non_null(strstr(why, "not JSON"));
}

static void test_sections(void **state)
{
    (void)state;
    char path[] = "/tmp/casefile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# a description\n--- info\nkeywords\n--- stdout nonewline\nhello\n\n"
                        "--- exit\n0";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    casefile cf;
    char why[CASEFILE_MAX_WHY] = "";
    assert_int_equal(casefile_load(&cf, path, why), 0);
    assert_int_equal(cf.n, 3);
    assert_string_equal(cf.sec[0].name, "info");
    assert_string_equal(cf.sec[0].text, "keywords\n");
    assert_string_equal(cf.sec[1].name, "stdout");
    assert_string_equal(cf.sec[1].arg, "nonewline");
    assert_string_equal(cf.sec[1].text, "hello\n\n");
    assert_int_equal(cf.sec[1].line, 4);
    assert_true(casefile_has_word(cf.sec[1].arg, "nonewline"));
    assert_false(casefile_has_word(cf.sec[1].arg, "newline"));
    assert_string_equal(casefile_find(&cf, "exit")->text, "0");
    assert_null(casefile_find(&cf, "stdin"));
    casefile_free(&cf);

    /* A file without sections, and one that cannot be read, are refused with a reason. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# only a description\n", f);
    fclose(f);
    assert_int_equal(casefile_load(&cf, path, why), -1);
    assert_non_null(strstr(why, "no sections"));
    casefile_free(&cf);
    unlink(path);
    assert_int_equal(casefile_load(&cf, path, why), -1);
    assert_non_null(strstr(why, "cannot read"));
    casefile_free(&cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
