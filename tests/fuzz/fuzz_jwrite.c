/* libFuzzer differential harness of the claims writer (src/jose/jwrite.c) against jansson.
 * The input is parsed by jansson (JSON_REJECT_DUPLICATES); when it is an object:
 *  - the writer handles it exactly when the reference below says it should (every string and
 *    member name printable ASCII but '"' and '\\', no real, nesting within
 *    JOSE_JWRITE_MAX_DEPTH), and then gives json_dumpb's size (JSON_COMPACT |
 *    JSON_PRESERVE_ORDER) with buffers of every kind (room to spare, exact, short, none) and its
 *    bytes whenever they fit, never writing past the buffer;
 *  - the claims path (jwtd_claims_from_json, then jose_claims_dumpb, writer or fallback) gives
 *    the bytes of jwtd_claims_json (jansson) for every object the library accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jwrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define SLACK 8
#define CANARY 0x5a

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_jwrite: %s\n", what);
    abort();
}

static bool plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* The reference: whether the writer must handle v at nesting level depth (outer object 1). */
static bool ref_handled(const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return plain(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL: return true;
    case JSON_ARRAY: {
        if (depth > JOSE_JWRITE_MAX_DEPTH)
            return false;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!ref_handled(json_array_get(v, i), depth + 1))
                return false;
        }
        return true;
    }
    case JSON_OBJECT: {
        if (depth > JOSE_JWRITE_MAX_DEPTH)
            return false;
        for (void *it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!plain(json_object_iter_key(it), json_object_iter_key_len(it)) ||
                !ref_handled(json_object_iter_value(it), depth + 1))
                return false;
        }
        return true;
    }
    default: return false;
    }
}

/* The writer with cap bytes of room against json_dumpb's want[want_len]. */
static void writer_with(const json_t *obj, const char *want, size_t want_len, size_t cap,
                        bool handled)
{
    char *buf = malloc(cap + SLACK);
    size_t n;

    if (buf == NULL)
        fail("malloc");
    memset(buf, CANARY, cap + SLACK);
    n = jose_jwrite_object(obj, buf, cap);
    if (!handled) {
        if (n != 0)
            fail("handled what the reference says it must not");
    } else {
        if (n != want_len)
            fail("size differs from json_dumpb's");
        if (cap >= want_len && memcmp(buf, want, want_len) != 0)
            fail("bytes differ from json_dumpb's");
        if (json_dumpb(obj, NULL, 0, FLAGS) != n)
            fail("json_dumpb's size without a buffer differs");
    }
    for (size_t i = cap; i < cap + SLACK; i++) {
        if ((unsigned char)buf[i] != CANARY)
            fail("wrote past the buffer");
    }
    free(buf);
}

/* The library's claims path for the same bytes, when jwtd_claims_from_json takes them. */
static void claims_path(const uint8_t *data, size_t size)
{
    jwtd_claims *c = NULL;
    char *want = NULL, stack[512];
    size_t n;

    if (jwtd_claims_from_json((const char *)data, size, &c) != JWTD_OK)
        return;
    if (jwtd_claims_json(c, &want) != JWTD_OK)
        fail("jwtd_claims_json");
    n = jose_claims_dumpb(c, stack, sizeof stack);
    if (n != strlen(want))
        fail("jose_claims_dumpb's size differs from jwtd_claims_json's");
    if (n <= sizeof stack && memcmp(stack, want, n) != 0)
        fail("jose_claims_dumpb's bytes differ from jwtd_claims_json's");
    jwtd_free(want);
    jwtd_claims_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *obj;
    char *want;
    size_t want_len;
    bool handled;

    if (size > 16384)
        return 0;
    obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(obj) && (want_len = json_dumpb(obj, NULL, 0, FLAGS)) != 0) {
        if ((want = malloc(want_len)) == NULL || json_dumpb(obj, want, want_len, FLAGS) != want_len)
            fail("json_dumpb");
        handled = ref_handled(obj, 1);
        writer_with(obj, want, want_len, want_len + 1, handled);
        writer_with(obj, want, want_len, want_len, handled);
        writer_with(obj, want, want_len, want_len - 1, handled);
        writer_with(obj, want, want_len, size % (want_len + 1), handled);
        writer_with(obj, want, want_len, 0, handled);
        free(want);
    }
    json_decref(obj);
    claims_path(data, size);
    return 0;
}
