/* jread, the in-place JSON reader of the verify path, against JSONTestSuite (every y_ file
 * accepted but the four JOSE refuses on purpose, every n_ file refused, every i_ file the
 * decision of the table below) and against the rules JOSE adds: member names unique after
 * unescaping at every level, the depth bound, exact integers, typed reads in place. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "jread.h"

#define SUITE_DIR JWTD_VECTORS_DIR "/jsontestsuite/test_parsing"
#define SUITE_MAX_FILE (1u << 20)

typedef struct decision {
    const char *file;
    bool accept;
    const char *why;
} decision;

/* y_ files JOSE refuses, as the library always has (jansson refuses them too). */
static const decision y_refused[] = {
    {"y_object_duplicated_key.json", false,
     "duplicate member names: RFC 7515 §4 and RFC 7519 §4 let a JOSE parser refuse them, and "
     "jwtd does, so that no two readers of one token see different values"},
    {"y_object_duplicated_key_and_value.json", false, "duplicate member names, even equal ones"},
    {"y_object_escaped_null_in_key.json", false,
     "\\u0000 refused (jansson without JSON_ALLOW_NUL): C callers would see a truncated name"},
    {"y_string_null_escape.json", false,
     "\\u0000 refused: a claim \"admin\\u0000x\" must never read as \"admin\" in C"},
};

/* Every i_ file: the decision (jansson's, kept) and why. */
static const decision i_decisions[] = {
    {"i_number_double_huge_neg_exp.json", true, "underflows to 0.0: finite, as strtod gives"},
    {"i_number_huge_exp.json", false, "real overflow to infinity"},
    {"i_number_neg_int_huge_exp.json", false, "real overflow to -infinity"},
    {"i_number_pos_double_huge_exp.json", false, "real overflow to infinity"},
    {"i_number_real_neg_overflow.json", false, "real overflow to -infinity"},
    {"i_number_real_pos_overflow.json", false, "real overflow to infinity"},
    {"i_number_real_underflow.json", true, "underflows to 0.0: finite"},
    {"i_number_too_big_neg_int.json", false, "integer below -2^63: never rounded"},
    {"i_number_too_big_pos_int.json", false, "integer above 2^63-1: never rounded"},
    {"i_number_very_big_negative_int.json", false, "integer below -2^63"},
    {"i_object_key_lone_2nd_surrogate.json", false, "escaped lone low surrogate"},
    {"i_string_1st_surrogate_but_2nd_missing.json", false, "escaped lone high surrogate"},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", false, "high surrogate, then no low one"},
    {"i_string_UTF-16LE_with_BOM.json", false, "not UTF-8"},
    {"i_string_UTF-8_invalid_sequence.json", false, "invalid UTF-8"},
    {"i_string_UTF8_surrogate_U+D800.json", false, "UTF-8 encoding of a surrogate"},
    {"i_string_incomplete_surrogate_and_escape_valid.json", false, "lone high surrogate"},
    {"i_string_incomplete_surrogate_pair.json", false, "lone low surrogate"},
    {"i_string_incomplete_surrogates_escape_valid.json", false, "two high surrogates"},
    {"i_string_invalid_lonely_surrogate.json", false, "lone high surrogate"},
    {"i_string_invalid_surrogate.json", false, "high surrogate followed by text"},
    {"i_string_invalid_utf-8.json", false, "byte 0xFF"},
    {"i_string_inverted_surrogates_U+1D11E.json", false, "low surrogate first"},
    {"i_string_iso_latin_1.json", false, "Latin-1 byte, not UTF-8"},
    {"i_string_lone_second_surrogate.json", false, "escaped lone low surrogate"},
    {"i_string_lone_utf8_continuation_byte.json", false, "UTF-8 continuation byte alone"},
    {"i_string_not_in_unicode_range.json", false, "code point above U+10FFFF"},
    {"i_string_overlong_sequence_2_bytes.json", false, "overlong UTF-8"},
    {"i_string_overlong_sequence_6_bytes.json", false, "6-byte UTF-8 form"},
    {"i_string_overlong_sequence_6_bytes_null.json", false, "6-byte UTF-8 form of NUL"},
    {"i_string_truncated-utf-8.json", false, "truncated UTF-8"},
    {"i_string_utf16BE_no_BOM.json", false, "UTF-16, not UTF-8"},
    {"i_string_utf16LE_no_BOM.json", false, "UTF-16, not UTF-8"},
    {"i_structure_500_nested_arrays.json", true,
     "within jansson's own bound of 2048 levels; refused at the JOSE default depth (16), see "
     "below"},
    {"i_structure_UTF-8_BOM_empty_object.json", false, "a byte order mark is not JSON"},
};

/* The decision listed for name in table, or NULL. */
static const decision *find(const decision *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].file, name) == 0)
            return &table[i];
    }
    return NULL;
}

/* The file's bytes (malloc'ed) and length. */
static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf = malloc(SUITE_MAX_FILE);

    assert_non_null(buf);
    snprintf(path, sizeof path, "%s/%s", SUITE_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, SUITE_MAX_FILE, f);
    fclose(f);
    return buf;
}

static void test_json_test_suite(void **state)
{
    size_t seen_y = 0, seen_n = 0, seen_i = 0, len;
    DIR *dir = opendir(SUITE_DIR);
    struct dirent *e;

    (void)state;
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        const char *name = e->d_name;
        const decision *dec = NULL;
        bool want;
        if (name[0] != 'y' && name[0] != 'n' && name[0] != 'i')
            continue;
        if (name[1] != '_')
            continue;
        char *buf = slurp(name, &len);
        bool got = jread_check(buf, len, JREAD_PARSER_MAX_DEPTH) == 0;
        if (name[0] == 'y') {
            dec = find(y_refused, sizeof y_refused / sizeof y_refused[0], name);
            want = dec == NULL;
            seen_y++;
        } else if (name[0] == 'n') {
            want = false;
            seen_n++;
        } else {
            dec = find(i_decisions, sizeof i_decisions / sizeof i_decisions[0], name);
            if (dec == NULL)
                fail_msg("%s: no stated decision", name);
            want = dec != NULL && dec->accept;
            seen_i++;
        }
        if (got != want)
            fail_msg("%s: %s, expected %s (%s)", name, got ? "accepted" : "refused",
                     want ? "accepted" : "refused", dec != NULL ? dec->why : "RFC 8259");
        /* As a JOSE header or claims: the same, and an object besides. */
        jread_doc d;
        bool obj = jread_parse(&d, buf, len, JREAD_PARSER_MAX_DEPTH) == 0;
        assert_true(!obj || got);
        free(buf);
    }
    closedir(dir);
    assert_true(seen_y >= 95 && seen_n >= 188 &&
                seen_i == sizeof i_decisions / sizeof i_decisions[0]);
}

/* i_structure_500_nested_arrays and deeper nesting at the library's bound. */
static void test_depth(void **state)
{
    char buf[64];
    size_t len;
    char *deep = slurp("i_structure_500_nested_arrays.json", &len);

    (void)state;
    assert_int_equal(jread_check(deep, len, JWTD_DEFAULT_MAX_JSON_DEPTH), -1);
    free(deep);
    /* {"d": 15 arrays}: 16 levels pass the default bound, 17 do not. */
    for (int levels = 15; levels <= 16; levels++) {
        int k = snprintf(buf, sizeof buf, "{\"d\":");
        for (int i = 0; i < levels; i++)
            buf[k++] = '[';
        for (int i = 0; i < levels; i++)
            buf[k++] = ']';
        buf[k++] = '}';
        jread_doc d;
        assert_int_equal(jread_parse(&d, buf, (size_t)k, JWTD_DEFAULT_MAX_JSON_DEPTH),
                         levels == 15 ? 0 : -1);
    }
}

typedef struct dup_case {
    const char *json;
    bool accept;
} dup_case;

/* Names are compared after unescaping, at every level, also past the stack of open names. */
static void test_duplicates(void **state)
{
    static const dup_case cases[] = {
        {"{\"a\":1,\"\\u0061\":2}", false},
        {"{\"\\u0061\":1,\"a\":2}", false},
        {"{\"\\u00e9\":1,\"\xc3\xa9\":2}", false},
        {"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", false},
        {"{\"a\\/b\":1,\"a/b\":2}", false},
        {"{\"x\":{\"a\":1,\"\\u0061\":2}}", false},
        {"{\"x\":[{\"k\":1},{\"k\":2,\"k\":3}]}", false},
        {"{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3}]}", true},
        {"{\"a\":1,\"A\":2,\"a \":3}", true},
    };
    char big[8192];
    jread_doc d;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = jread_parse(&d, cases[i].json, strlen(cases[i].json), 16);
        if (rc != (cases[i].accept ? 0 : -1))
            fail_msg("%s: %s", cases[i].json, rc == 0 ? "accepted" : "refused");
        /* jansson decides alike */
        json_t *ref = jose_json_parse(cases[i].json, strlen(cases[i].json), 16);
        assert_true((ref != NULL) == cases[i].accept);
        json_decref(ref);
    }
    /* 300 names (sorted, and beyond the 128 open names kept without allocating), then one
     * more spelled with an escape. */
    for (int with_dup = 0; with_dup <= 1; with_dup++) {
        size_t k = (size_t)snprintf(big, sizeof big, "{");
        for (int i = 0; i < 300; i++)
            k += (size_t)snprintf(big + k, sizeof big - k, "\"n%d\":%d,", i, i);
        k += (size_t)snprintf(big + k, sizeof big - k, "\"%s\":0}", with_dup ? "n\\u0037" : "m7");
        assert_int_equal(jread_parse(&d, big, k, 16), with_dup ? -1 : 0);
        if (!with_dup) {
            jread_value v;
            assert_int_equal(d.n, 301);
            assert_true(jread_get(&d, "n250", &v) && jread_int(&v) == 250);
            assert_true(jread_get(&d, "m7", &v) && jread_int(&v) == 0);
            assert_false(jread_get(&d, "n300", &v));
        }
    }
}

/* Typed reads of the members, in place. */
static void test_typed_reads(void **state)
{
    static const char json[] =
        "{\"s\":\"plain\",\"e\":\"caf\\u00e9 \\\"q\\\" "
        "\\ud83d\\ude00\",\"max\":9223372036854775807,"
        "\"min\":-9223372036854775808,\"r\":1.5e3,\"t\":true,\"f\":false,\"n\":null,"
        "\"aud\":[\"a\",\"b\\u0021\"],\"o\":{\"x\":[1,2]},\"k\\u0065y\":1}";
    static const char *const overflow[] = {"{\"i\":9223372036854775808}",
                                           "{\"i\":-9223372036854775809}", "{\"r\":1e309}",
                                           "{\"r\":-1.8e308}"};
    jread_doc d;
    jread_value v, item;
    char buf[64];
    size_t pos = 0;

    (void)state;
    assert_int_equal(jread_parse(&d, json, sizeof json - 1, 16), 0);
    assert_true(jread_get(&d, "s", &v) && v.type == JREAD_STRING && !v.escaped);
    assert_true(jread_string_eq(&v, "plain", 5));
    assert_true(jread_get(&d, "e", &v) && v.escaped);
    assert_int_equal(jread_string(&v, buf, sizeof buf),
                     strlen("caf\xc3\xa9 \"q\" \xf0\x9f\x98\x80"));
    assert_string_equal(buf, "caf\xc3\xa9 \"q\" \xf0\x9f\x98\x80");
    assert_true(jread_string_eq(&v, buf, strlen(buf)));
    assert_false(jread_string_eq(&v, buf, strlen(buf) - 1));
    assert_true(jread_string(&v, buf, 4) == strlen("caf\xc3\xa9 \"q\" \xf0\x9f\x98\x80"));
    assert_true(jread_get(&d, "max", &v) && v.type == JREAD_INTEGER && jread_int(&v) == INT64_MAX);
    assert_true(jread_get(&d, "min", &v) && jread_int(&v) == INT64_MIN);
    assert_true(jread_get(&d, "r", &v) && v.type == JREAD_REAL && jread_real(&v) == 1500.0);
    assert_true(jread_get(&d, "t", &v) && v.type == JREAD_TRUE);
    assert_true(jread_get(&d, "f", &v) && v.type == JREAD_FALSE);
    assert_true(jread_get(&d, "n", &v) && v.type == JREAD_NULL);
    assert_true(jread_get(&d, "aud", &v) && v.type == JREAD_ARRAY);
    assert_true(jread_array_next(&v, &pos, &item) && jread_string_eq(&item, "a", 1));
    assert_true(jread_array_next(&v, &pos, &item) && jread_string_eq(&item, "b!", 2));
    assert_false(jread_array_next(&v, &pos, &item));
    assert_true(jread_get(&d, "o", &v) && v.type == JREAD_OBJECT);
    assert_int_equal(v.json_len, strlen("{\"x\":[1,2]}"));
    assert_true(jread_get(&d, "key", &v) && jread_int(&v) == 1);
    assert_false(jread_get(&d, "k\\u0065y", &v));
    assert_false(jread_get(&d, "absent", &v));
    for (size_t i = 0; i < sizeof overflow / sizeof overflow[0]; i++)
        assert_int_equal(jread_parse(&d, overflow[i], strlen(overflow[i]), 16), -1);
    /* Top level must be an object; a NUL byte after a number is refused (jansson skips it). */
    assert_int_equal(jread_parse(&d, "[1]", 3, 16), -1);
    assert_int_equal(jread_parse(&d, "{\"a\":1\0}", 8, 16), -1);
}

/* Lookup by name compares the unescaped name: an escaped name longer in the text than the
 * name looked up still matches, a plain one of another length never does, and the members
 * past the index are found too. */
static void test_get_by_name(void **state)
{
    static const char json[] = "{\"\\u0073ub\":\"x\",\"su\":1,\"subs\":2,\"\\u00e9t\\u00e9\":3,"
                               "\"\\ud83d\\ude00\":4,\"a\\\"b\":5}";
    jread_doc d;
    jread_value v;

    (void)state;
    assert_int_equal(jread_parse(&d, json, sizeof json - 1, 16), 0);
    assert_true(jread_get(&d, "sub", &v) && jread_string_eq(&v, "x", 1));
    assert_true(jread_get(&d, "su", &v) && jread_int(&v) == 1);
    assert_true(jread_get(&d, "subs", &v) && jread_int(&v) == 2);
    assert_true(jread_get(&d, "\xc3\xa9t\xc3\xa9", &v) && jread_int(&v) == 3);
    assert_true(jread_get(&d, "\xf0\x9f\x98\x80", &v) && jread_int(&v) == 4);
    assert_true(jread_get(&d, "a\"b", &v) && jread_int(&v) == 5);
    assert_false(jread_get(&d, "s", &v));
    assert_false(jread_get(&d, "\\u0073ub", &v)); /* the raw text is not the name */
    assert_false(jread_get(&d, "\xc3\xa9t", &v));

    /* Past the index: 40 members, the last ones found by a scan. */
    char big[1024];
    size_t at = 0;
    big[at++] = '{';
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(big + at, sizeof big - at, "%s\"k%d\":%d", i ? "," : "", i, i);
    at += (size_t)snprintf(big + at, sizeof big - at, ",\"\\u006b40\":40}");
    assert_int_equal(jread_parse(&d, big, at, 16), 0);
    assert_true(jread_get(&d, "k0", &v) && jread_int(&v) == 0);
    assert_true(jread_get(&d, "k31", &v) && jread_int(&v) == 31);
    assert_true(jread_get(&d, "k39", &v) && jread_int(&v) == 39);
    assert_true(jread_get(&d, "k40", &v) && jread_int(&v) == 40);
    assert_false(jread_get(&d, "k41", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_test_suite), cmocka_unit_test(test_depth),
        cmocka_unit_test(test_duplicates),      cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_get_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
