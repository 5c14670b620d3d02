/* The compact JSON writer of the hot paths (jwrite.h). It escapes nothing: what would need
 * escaping is not handled, and the caller falls back to jansson. */
#include <string.h>

#include "jwrite.h"

/* The bytes a JSON string holds as they are (jwrite.h): JOSE_JSON_WRITE for those written between
 * quotes unescaped (printable ASCII but '"' and '\\'), JOSE_JSON_READ for those jread takes as they
 * are in a string (the same, and DEL, which jansson also writes raw but the writers leave to it).
 * A table, as every signed claim, every GET /me member and every string of a verified token goes
 * through it. */
const unsigned char jose_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00-0f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10-1f */
    3, 3, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 20-2f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 30-3f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 40-4f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3, 3, /* 50-5f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 60-6f */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, /* 70-7f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80-8f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90-9f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0-af */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0-bf */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0-cf */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0-df */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0-ef */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0-ff */
};

void jose_jw_init(jose_jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->ok = true;
}

void jose_jw_put(jose_jw *w, const char *s, size_t n)
{
    /* Stored only while everything so far fits: len may pass cap, the bytes never do. */
    if (w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Writes c when it fits (the single bytes of the syntax). */
static void put_char(jose_jw *w, char c)
{
    if (w->len < w->cap)
        w->buf[w->len] = c;
    w->len++;
}

static void quoted(jose_jw *w, const char *s, size_t n)
{
    put_char(w, '"');
    jose_jw_put(w, s, n);
    put_char(w, '"');
}

void jose_jw_string(jose_jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char all = JOSE_JSON_WRITE;

    for (size_t i = 0; i < n; i++)
        all &= jose_json_plain[u[i]];
    if ((all & JOSE_JSON_WRITE) == 0)
        w->ok = false;
    else
        quoted(w, s, n);
}

void jose_jw_cstring(jose_jw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (jose_json_plain[*p] & JOSE_JSON_WRITE)
        p++;
    if (*p != '\0')
        w->ok = false;
    else
        quoted(w, s, (size_t)(p - (const unsigned char *)s));
}

void jose_jw_int(jose_jw *w, int64_t value)
{
    char digits[20]; /* INT64_MIN: a sign and 19 digits */
    size_t at = sizeof digits;
    /* The magnitude as unsigned, so that INT64_MIN has one too. */
    uint64_t u = value < 0 ? 0u - (uint64_t)value : (uint64_t)value;

    do {
        digits[--at] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0);
    if (value < 0)
        digits[--at] = '-';
    jose_jw_put(w, digits + at, sizeof digits - at);
}

/* v at nesting level depth (the outer object is 1): as jansson's do_dump, compact. */
static void value(jose_jw *w, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING: jose_jw_string(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: jose_jw_int(w, (int64_t)json_integer_value(v)); break;
    case JSON_TRUE: jose_jw_put(w, "true", 4); break;
    case JSON_FALSE: jose_jw_put(w, "false", 5); break;
    case JSON_NULL: jose_jw_put(w, "null", 4); break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (depth > JOSE_JWRITE_MAX_DEPTH) {
            w->ok = false;
            return;
        }
        put_char(w, '[');
        for (size_t i = 0; i < n && w->ok; i++) {
            if (i > 0)
                put_char(w, ',');
            value(w, json_array_get(v, i), depth + 1);
        }
        put_char(w, ']');
        break;
    }
    case JSON_OBJECT: {
        void *it = json_object_iter((json_t *)v);
        if (depth > JOSE_JWRITE_MAX_DEPTH) {
            w->ok = false;
            return;
        }
        put_char(w, '{');
        for (bool first = true; it != NULL && w->ok; first = false) {
            if (!first)
                put_char(w, ',');
            jose_jw_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
            put_char(w, ':');
            value(w, json_object_iter_value(it), depth + 1);
            it = json_object_iter_next((json_t *)v, it);
        }
        put_char(w, '}');
        break;
    }
    default: w->ok = false; /* JSON_REAL: jansson's %.17g and its own rules */
    }
}

size_t jose_jwrite_object(const json_t *obj, char *buf, size_t cap)
{
    jose_jw w;

    if (!json_is_object(obj))
        return 0;
    jose_jw_init(&w, buf, cap);
    value(&w, obj, 1);
    return w.ok ? w.len : 0;
}
