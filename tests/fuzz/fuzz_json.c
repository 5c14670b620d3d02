/* libFuzzer differential harness of jread (src/jose/jread.c), the in-place JSON reader of the
 * verify path, against what it replaced: jansson with JSON_REJECT_DUPLICATES and the same depth
 * bound (jose_json_parse). Both must accept or reject every input alike, as any value and as a
 * JOSE object, at the library's default depth and at a small one; for an accepted object every
 * top-level member must read the same: strings byte for byte, integers and reals exactly, the
 * rest (objects, arrays) equal as JSON once jansson parses the member's raw bytes.
 * One known difference, where jread keeps RFC 8259 and jansson 2.14 does not: jansson skips
 * one NUL byte that follows a number or a literal (its lexer puts the byte back, then takes
 * the NUL left in its one-character buffer for "nothing buffered"), so it accepts "123\0" and
 * {"a":1\0} (JSONTestSuite n_multidigit_number_then_00). jread refuses any NUL byte; for such
 * inputs the harness checks that jread refuses them and reads the input with those NULs made
 * spaces (the token before them has ended) exactly as jansson reads the input with them. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_DEPTH 3 /* a second bound, so the depth rule itself is compared */

/* Stops the run (a crash libFuzzer keeps) when the two readers disagree. */
static void agree(bool same, const char *what)
{
    if (!same) {
        fprintf(stderr, "fuzz_json: jread and jansson disagree: %s\n", what);
        abort();
    }
}

/* The items of the array member v against jansson's array: same count, same strings. */
static void compare_array(const jread_value *v, const json_t *ref)
{
    jread_value item;
    size_t pos = 0, i = 0;
    char buf[256];

    while (jread_array_next(v, &pos, &item)) {
        const json_t *r = json_array_get(ref, i++);
        agree(r != NULL, "array length");
        if (item.type == JREAD_STRING) {
            size_t n = jread_string(&item, buf, sizeof buf);
            agree(json_is_string(r) && json_string_length(r) == n, "array string length");
            if (n < sizeof buf)
                agree(memcmp(buf, json_string_value(r), n) == 0, "array string bytes");
        }
    }
    agree(i == json_array_size(ref), "array length");
}

/* Member v (named key) of the accepted object against jansson's value r. */
static void compare_value(const jread_doc *d, const char *key, const jread_value *v,
                          const json_t *r)
{
    jread_value again;
    json_t *sub;
    char *s;
    size_t n;
    double a, b;

    agree(jread_get(d, key, &again) && again.json == v->json, "lookup by name");
    switch (v->type) {
    case JREAD_STRING:
        agree(json_is_string(r), "string type");
        n = jread_string(v, NULL, 0);
        agree(n == json_string_length(r), "string length");
        s = malloc(n + 1);
        agree(s != NULL, "malloc");
        agree(jread_string(v, s, n + 1) == n, "string length again");
        agree(memcmp(s, json_string_value(r), n) == 0, "string bytes");
        agree(jread_string_eq(v, json_string_value(r), n), "string_eq");
        free(s);
        break;
    case JREAD_INTEGER:
        agree(json_is_integer(r) && jread_int(v) == (int64_t)json_integer_value(r), "integer");
        break;
    case JREAD_REAL:
        a = jread_real(v);
        b = json_real_value(r);
        agree(json_is_real(r) && a == b && signbit(a) == signbit(b), "real");
        break;
    case JREAD_TRUE: agree(json_is_true(r), "true"); break;
    case JREAD_FALSE: agree(json_is_false(r), "false"); break;
    case JREAD_NULL: agree(json_is_null(r), "null"); break;
    case JREAD_OBJECT:
    case JREAD_ARRAY:
        sub = json_loadb(v->json, v->json_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        agree(sub != NULL && json_equal(sub, r), "container as JSON");
        json_decref(sub);
        if (v->type == JREAD_ARRAY)
            compare_array(v, r);
        break;
    default: agree(false, "type");
    }
}

/* Every member of the object both accepted: same names, same values. */
static void compare_object(const jread_doc *d, const json_t *ref)
{
    jread_value v;
    const char *raw;
    size_t raw_len;
    bool esc;

    agree(d->n == json_object_size(ref), "member count");
    for (size_t i = 0; i < d->n; i++) {
        agree(jread_member_at(d, i, &v, &raw, &raw_len, &esc), "member_at");
        char *key = malloc(raw_len + 1);
        agree(key != NULL, "malloc");
        size_t key_len = jread_unescape(raw, raw_len, key);
        const json_t *r = json_object_getn(ref, key, key_len);
        agree(r != NULL, "member name");
        compare_value(d, key, &v, r);
        free(key);
    }
}

/* A copy of data[0..size) with the NUL bytes that follow a number or a literal outside strings
 * (the ones jansson skips) made spaces; NULL when there is none. */
static char *space_skipped_nuls(const char *data, size_t size)
{
    bool in_string = false, dropped = false;
    char *out = malloc(size + 1);
    size_t k = 0;

    agree(out != NULL, "malloc");
    for (size_t i = 0; i < size; i++) {
        char c = data[i], prev = ' ';
        if (i > 0)
            prev = data[i - 1];
        if (in_string) {
            if (c == '\\' && i + 1 < size)
                out[k++] = data[i++];
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '\0' && ((prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z'))) {
            dropped = true;
            out[k++] = ' ';
            continue;
        }
        out[k++] = data[i];
    }
    if (!dropped) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t depths[] = {JWTD_DEFAULT_MAX_JSON_DEPTH, SMALL_DEPTH};
    char *nul_free = NULL;
    jread_doc d;

    if (memchr(data, '\0', size) != NULL) {
        agree(jread_check(buf, size, JREAD_PARSER_MAX_DEPTH) != 0, "a NUL byte refused");
        if ((nul_free = space_skipped_nuls(buf, size)) != NULL)
            buf = nul_free;
    }
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        json_t *ref = jose_json_parse((const char *)data, size, depths[i]);
        agree((ref != NULL) == (jread_check(buf, size, depths[i]) == 0), "accept (any value)");
        agree(json_is_object(ref) == (jread_parse(&d, buf, size, depths[i]) == 0),
              "accept (object)");
        if (json_is_object(ref))
            compare_object(&d, ref);
        json_decref(ref);
    }
    free(nul_free);
    return 0;
}
