/* jread: the strict in-place JSON reader of JOSE headers and claims (see jread.h). The checks
 * follow jansson 2.14's decoder decision for decision, so that replacing jansson on the verify
 * path changes no accept or reject: tests/unit/test_jread.c runs JSONTestSuite and
 * tests/fuzz/fuzz_json.c compares the two on arbitrary input. */
#include "jread.h"
#include "jwrite.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
#define SMALL_OBJECT 16 /* names compared pairwise up to this many, sorted beyond */
#define REAL_DIGITS 800 /* significant digits kept: more than a double's correct rounding needs */
#define REAL_EXP_CLAMP 1000000 /* decimal exponents beyond this give 0 or infinity anyway */

/* ---- Characters, escapes, UTF-8 ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The value of one hex digit, or -1. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code unit of the 4 hex digits at s, or -1. */
static int32_t hex4(const char *s)
{
    int32_t u = 0;

    for (int i = 0; i < 4; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        u = u * 16 + d;
    }
    return u;
}

/* UTF-8 of the code point u (< 0x110000) into out: the byte count. */
static size_t utf8_put(int32_t u, unsigned char out[4])
{
    uint32_t c = (uint32_t)u;

    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | (c >> 6));
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (c >> 12));
        out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (c >> 18));
    out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* The escape at s (s[0] is the backslash, avail bytes readable): its UTF-8 into out and the
 * byte count, *used set to the escape's length; 0 if jansson refuses it (an unknown escape,
 * bad hex, \u0000 without JSON_ALLOW_NUL, a lone or reversed surrogate). */
static size_t escape_at(const char *s, size_t avail, unsigned char out[4], size_t *used)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    int32_t u, lo;

    if (avail < 2)
        return 0;
    if (s[1] != 'u') {
        hit = s[1] != '\0' ? strchr(from, s[1]) : NULL;
        if (hit == NULL)
            return 0;
        out[0] = (unsigned char)to[hit - from];
        *used = 2;
        return 1;
    }
    if (avail < 6 || (u = hex4(s + 2)) < 0)
        return 0;
    *used = 6;
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (avail < 12 || s[6] != '\\' || s[7] != 'u' || (lo = hex4(s + 8)) < 0xDC00 || lo > 0xDFFF)
            return 0;
        u = ((u - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
        *used = 12;
    } else if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF)) {
        return 0;
    }
    return utf8_put(u, out);
}

/* The length of the well-formed UTF-8 sequence at s (avail bytes readable) that starts with
 * a byte >= 0x80, or 0: no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v;

    if (c < 0xC2 || c > 0xF4)
        return 0;
    n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    v = c & (n == 2 ? 0x1Fu : n == 3 ? 0x0Fu : 0x07u);
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)))
        return 0;
    if (n == 4 && (v < 0x10000 || v > 0x10FFFF))
        return 0;
    return n;
}

/* ---- Unescaping checked strings ---- */

/* Reads the unescaped bytes of a checked string's raw text one at a time. */
typedef struct jr_cursor {
    const char *s;
    size_t n, i;
    unsigned char buf[4];
    size_t bn, bi;
} jr_cursor;

/* The next unescaped byte, or -1 at the end. */
static int cursor_next(jr_cursor *c)
{
    size_t used = 0;

    if (c->bi < c->bn)
        return c->buf[c->bi++];
    if (c->i >= c->n)
        return -1;
    if (c->s[c->i] != '\\')
        return (unsigned char)c->s[c->i++];
    c->bn = escape_at(c->s + c->i, c->n - c->i, c->buf, &used);
    if (c->bn == 0) /* not reached for checked text; end the string rather than loop */
        return -1;
    c->i += used;
    c->bi = 1;
    return c->buf[0];
}

/* Compares the unescaped raw texts a[0..an) and b[0..bn): <0, 0, >0 like memcmp. */
static int unescaped_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    jr_cursor ca = {.s = a, .n = an}, cb = {.s = b, .n = bn};
    int x, y;

    do {
        x = cursor_next(&ca);
        y = cursor_next(&cb);
    } while (x == y && x >= 0);
    return x - y;
}

/* True when the raw text raw[0..rn) unescapes to exactly the n bytes of s. */
static bool unescaped_eq(const char *raw, size_t rn, const char *s, size_t n)
{
    jr_cursor c = {.s = raw, .n = rn};
    int x;

    for (size_t i = 0; i < n; i++) {
        if ((x = cursor_next(&c)) < 0 || x != (unsigned char)s[i])
            return false;
    }
    return cursor_next(&c) < 0;
}

size_t jread_unescape(const char *s, size_t n, char *out)
{
    jr_cursor c = {.s = s, .n = n};
    size_t k = 0;
    int x;

    while ((x = cursor_next(&c)) >= 0)
        out[k++] = (char)x;
    out[k] = '\0';
    return k;
}

/* ---- The checking parser ---- */

/* A member name of an open object: raw text, unescaped length and hash. */
typedef struct jr_key {
    const char *raw;
    uint32_t raw_len, dlen, hash;
    bool escaped;
} jr_key;

typedef struct jr_parser {
    const char *b;
    size_t len, pos, depth, max_depth;
    jr_key *keys; /* stack, or heap once it outgrew stack */
    size_t nkeys, cap;
    jr_key *heap;
    jr_key stack[JREAD_KEY_STACK];
} jr_parser;

static void skip_ws(jr_parser *p)
{
    while (p->pos < p->len && is_ws(p->b[p->pos]))
        p->pos++;
}

/* The string whose opening quote is just before p->pos: checked, p->pos after its closing
 * quote, *escaped set; when k is not NULL, the name's raw text, unescaped length and hash. */
static int scan_string(jr_parser *p, jr_key *k, bool *escaped)
{
    const unsigned char *s = (const unsigned char *)p->b;
    size_t i = p->pos, start = i, dlen = 0, n, used = 0;
    uint32_t h = FNV_OFFSET;
    unsigned char tmp[4];

    *escaped = false;
    for (;;) {
        /* Plain runs a table read a byte: values need no length or hash, names get both. */
        if (k == NULL) {
            while (i < p->len && (jose_json_plain[s[i]] & JOSE_JSON_READ))
                i++;
        } else {
            size_t run = i;
            while (i < p->len && (jose_json_plain[s[i]] & JOSE_JSON_READ)) {
                h = (h ^ s[i]) * FNV_PRIME;
                i++;
            }
            dlen += i - run;
        }
        if (i >= p->len)
            return -1;
        unsigned c = s[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if ((n = escape_at(p->b + i, p->len - i, tmp, &used)) == 0)
                return -1;
            *escaped = true;
            i += used;
        } else {
            /* Not plain, not '"', '\\' or a control: a byte >= 0x80. */
            if ((n = utf8_seq(s + i, p->len - i)) == 0)
                return -1;
            memcpy(tmp, s + i, n);
            i += n;
        }
        dlen += n;
        if (k != NULL) {
            for (size_t j = 0; j < n; j++)
                h = (h ^ tmp[j]) * FNV_PRIME;
        }
    }
    if (k != NULL) {
        k->raw = p->b + start;
        k->raw_len = (uint32_t)(i - start);
        k->dlen = (uint32_t)dlen;
        k->hash = h;
        k->escaped = *escaped;
    }
    p->pos = i + 1;
    return 0;
}

/* The integer of the checked digits s[0..n) (optional '-'), if it fits int64_t (strtoll's
 * range, which is jansson's json_int_t): true and *out, else false. */
static bool int_of(const char *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;

    for (size_t i = neg ? 1 : 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (m > (lim - d) / 10)
            return false;
        m = m * 10 + d;
    }
    if (!neg)
        *out = (int64_t)m;
    else
        *out = m == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)m;
    return true;
}

/* A number at p->pos (RFC 8259 grammar): integers must fit int64_t, reals must be finite. */
static int scan_number(jr_parser *p, jread_type *t)
{
    const char *b = p->b;
    size_t i = p->pos, len = p->len;
    jread_value v;
    int64_t iv;

    if (i < len && b[i] == '-')
        i++;
    if (i >= len || !is_digit(b[i]))
        return -1;
    if (b[i] == '0') {
        if (++i < len && is_digit(b[i]))
            return -1;
    } else {
        while (i < len && is_digit(b[i]))
            i++;
    }
    *t = JREAD_INTEGER;
    if (i < len && b[i] == '.') {
        *t = JREAD_REAL;
        if (++i >= len || !is_digit(b[i]))
            return -1;
        while (i < len && is_digit(b[i]))
            i++;
    }
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        *t = JREAD_REAL;
        if (++i < len && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i >= len || !is_digit(b[i]))
            return -1;
        while (i < len && is_digit(b[i]))
            i++;
    }
    v = (jread_value){.type = *t, .json = b + p->pos, .json_len = i - p->pos};
    p->pos = i;
    if (*t == JREAD_INTEGER)
        return int_of(v.json, v.json_len, &iv) ? 0 : -1;
    double d = jread_real(&v);
    return d >= -DBL_MAX && d <= DBL_MAX ? 0 : -1;
}

/* A literal at p->pos. */
static int scan_literal(jr_parser *p, const char *word, size_t n)
{
    if (p->len - p->pos < n || memcmp(p->b + p->pos, word, n) != 0)
        return -1;
    p->pos += n;
    return 0;
}

/* Records name k of the open object (at most one allocation, when the stack is full: no
 * document of len bytes holds more than len / 4 names, each taking '"":' and a value). */
static int push_key(jr_parser *p, const jr_key *k)
{
    if (p->nkeys == p->cap) {
        size_t cap = p->len / 4 + 2;
        if (p->heap != NULL || cap <= p->cap || (p->heap = malloc(cap * sizeof *p->heap)) == NULL)
            return -1;
        memcpy(p->heap, p->keys, p->nkeys * sizeof *p->heap);
        p->keys = p->heap;
        p->cap = cap;
    }
    p->keys[p->nkeys++] = *k;
    return 0;
}

/* Orders names by hash, unescaped length, then unescaped bytes (qsort comparator). */
static int key_cmp(const void *va, const void *vb)
{
    const jr_key *a = va, *b = vb;

    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->dlen != b->dlen)
        return a->dlen < b->dlen ? -1 : 1;
    if (!a->escaped && !b->escaped)
        return memcmp(a->raw, b->raw, a->dlen);
    return unescaped_cmp(a->raw, a->raw_len, b->raw, b->raw_len);
}

/* 0 if the names of the object just closed (keys[start..nkeys)) are all different. */
static int keys_unique(const jr_parser *p, size_t start)
{
    jr_key *a = p->keys + start;
    size_t k = p->nkeys - start;

    if (k <= SMALL_OBJECT) {
        for (size_t i = 1; i < k; i++) {
            for (size_t j = 0; j < i; j++) {
                if (key_cmp(&a[i], &a[j]) == 0)
                    return -1;
            }
        }
        return 0;
    }
    qsort(a, k, sizeof *a, key_cmp);
    for (size_t i = 1; i < k; i++) {
        if (key_cmp(&a[i - 1], &a[i]) == 0)
            return -1;
    }
    return 0;
}

static int parse_value(jr_parser *p, jread_type *t, bool *escaped, jread_doc *d);

/* The object at p->pos; d (top level only) receives the index of its members. */
static int parse_object(jr_parser *p, jread_doc *d)
{
    size_t start = p->nkeys, key_off, voff;
    jread_type t = JREAD_NONE;
    bool kesc, vesc;
    jr_key k;

    if (++p->depth > p->max_depth)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->b[p->pos] == '}') {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        if (p->pos >= p->len || p->b[p->pos] != '"')
            return -1;
        key_off = p->pos++;
        if (scan_string(p, &k, &kesc) != 0 || push_key(p, &k) != 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->len || p->b[p->pos] != ':')
            return -1;
        p->pos++;
        skip_ws(p);
        voff = p->pos;
        if (parse_value(p, &t, &vesc, NULL) != 0)
            return -1;
        if (d != NULL) {
            if (d->n < JREAD_MAX_INDEX) {
                d->idx[d->n] = (jread_member){.key_off = (uint32_t)(key_off + 1),
                                              .key_len = k.raw_len,
                                              .val_off = (uint32_t)voff,
                                              .val_len = (uint32_t)(p->pos - voff),
                                              .type = (uint8_t)t,
                                              .key_escaped = kesc,
                                              .val_escaped = vesc};
            } else if (d->n == JREAD_MAX_INDEX) {
                d->rest_off = key_off;
            }
            d->n++;
        }
        skip_ws(p);
        if (p->pos < p->len && p->b[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->b[p->pos] == '}')
            break;
        return -1;
    }
    p->pos++;
    if (keys_unique(p, start) != 0)
        return -1;
    p->nkeys = start;
    p->depth--;
    return 0;
}

/* The array at p->pos. */
static int parse_array(jr_parser *p)
{
    jread_type t;
    bool esc;

    if (++p->depth > p->max_depth)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->b[p->pos] == ']') {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        if (parse_value(p, &t, &esc, NULL) != 0)
            return -1;
        skip_ws(p);
        if (p->pos < p->len && p->b[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->b[p->pos] == ']')
            break;
        return -1;
    }
    p->pos++;
    p->depth--;
    return 0;
}

/* Any value at p->pos (white space already skipped): its type, and for a string whether it
 * holds escapes. d is passed to a top-level object only. */
static int parse_value(jr_parser *p, jread_type *t, bool *escaped, jread_doc *d)
{
    *escaped = false;
    if (p->pos >= p->len)
        return -1;
    switch (p->b[p->pos]) {
    case '{': *t = JREAD_OBJECT; return parse_object(p, d);
    case '[': *t = JREAD_ARRAY; return parse_array(p);
    case '"':
        *t = JREAD_STRING;
        p->pos++;
        return scan_string(p, NULL, escaped);
    case 't': *t = JREAD_TRUE; return scan_literal(p, "true", 4);
    case 'f': *t = JREAD_FALSE; return scan_literal(p, "false", 5);
    case 'n': *t = JREAD_NULL; return scan_literal(p, "null", 4);
    default: return scan_number(p, t);
    }
}

/* One whole document: a value (an object when d is given) and nothing but white space. */
static int parse_document(const char *buf, size_t len, size_t max_depth, jread_doc *d)
{
    jr_parser *p, local;
    jread_type t = JREAD_NONE;
    bool esc;
    int rc;

    if (buf == NULL || len > JREAD_MAX_BYTES)
        return -1;
    p = &local;
    p->b = buf;
    p->len = len;
    p->pos = 0;
    p->depth = 0;
    p->max_depth = max_depth < JREAD_PARSER_MAX_DEPTH ? max_depth : JREAD_PARSER_MAX_DEPTH;
    p->keys = p->stack;
    p->nkeys = 0;
    p->cap = JREAD_KEY_STACK;
    p->heap = NULL;
    skip_ws(p);
    if (d != NULL && (p->pos >= len || buf[p->pos] != '{'))
        return -1;
    rc = parse_value(p, &t, &esc, d);
    skip_ws(p);
    if (p->pos != len)
        rc = -1;
    free(p->heap);
    return rc;
}

int jread_check(const char *buf, size_t len, size_t max_depth)
{
    return parse_document(buf, len, max_depth, NULL);
}

int jread_parse(jread_doc *d, const char *buf, size_t len, size_t max_depth)
{
    d->buf = buf;
    d->len = len;
    d->n = 0;
    d->rest_off = 0;
    if (parse_document(buf, len, max_depth, d) != 0) {
        d->n = 0;
        return -1;
    }
    return 0;
}

/* ---- Reading checked documents ---- */

/* The end of the raw text of the checked string whose text starts at s[i] (after the quote). */
static size_t string_end(const char *s, size_t i)
{
    while (s[i] != '"')
        i += s[i] == '\\' ? 2 : 1;
    return i;
}

/* The checked value at b[i] (b holds len bytes): *v filled; returns the offset after it. */
static size_t value_at(const char *b, size_t len, size_t i, jread_value *v)
{
    size_t start = i, depth = 0;
    char c = b[i];

    v->escaped = false;
    if (c == '"') {
        i = string_end(b, i + 1) + 1;
        v->type = JREAD_STRING;
        v->escaped = memchr(b + start, '\\', i - start) != NULL;
    } else if (c == '{' || c == '[') {
        v->type = c == '{' ? JREAD_OBJECT : JREAD_ARRAY;
        do {
            c = b[i++];
            if (c == '"')
                i = string_end(b, i) + 1;
            else if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']')
                depth--;
        } while (depth > 0);
    } else {
        while (i < len && b[i] != ',' && b[i] != '}' && b[i] != ']' && !is_ws(b[i]))
            i++;
        v->type = c == 't'   ? JREAD_TRUE
                  : c == 'f' ? JREAD_FALSE
                  : c == 'n' ? JREAD_NULL
                  : memchr(b + start, '.', i - start) != NULL ||
                          memchr(b + start, 'e', i - start) != NULL ||
                          memchr(b + start, 'E', i - start) != NULL
                      ? JREAD_REAL
                      : JREAD_INTEGER;
    }
    v->json = b + start;
    v->json_len = i - start;
    return i;
}

static size_t skip_ws_at(const char *b, size_t len, size_t i)
{
    while (i < len && is_ws(b[i]))
        i++;
    return i;
}

/* The member whose name's opening quote is at d->buf[pos]: *v and its name's raw text; returns
 * the offset of the next member's opening quote, or 0 after the last. */
static size_t member_walk(const jread_doc *d, size_t pos, jread_value *v, const char **key,
                          size_t *key_len, bool *key_escaped)
{
    size_t kend = string_end(d->buf, pos + 1);

    *key = d->buf + pos + 1;
    *key_len = kend - pos - 1;
    *key_escaped = memchr(*key, '\\', *key_len) != NULL;
    pos = skip_ws_at(d->buf, d->len, kend + 1) + 1; /* past ':' */
    pos = value_at(d->buf, d->len, skip_ws_at(d->buf, d->len, pos), v);
    pos = skip_ws_at(d->buf, d->len, pos);
    if (d->buf[pos] != ',')
        return 0;
    return skip_ws_at(d->buf, d->len, pos + 1);
}

bool jread_next(const jread_doc *d, jread_iter *it, jread_value *out, const char **key,
                size_t *key_len, bool *key_escaped)
{
    const jread_member *m;

    if (it->i >= d->n)
        return false;
    if (it->i >= JREAD_MAX_INDEX) {
        it->pos = member_walk(d, it->pos, out, key, key_len, key_escaped);
    } else {
        m = &d->idx[it->i];
        *key = d->buf + m->key_off;
        *key_len = m->key_len;
        *key_escaped = m->key_escaped;
        *out = (jread_value){.type = (jread_type)m->type,
                             .escaped = m->val_escaped,
                             .json = d->buf + m->val_off,
                             .json_len = m->val_len};
        it->pos = d->rest_off;
    }
    it->i++;
    return true;
}

bool jread_member_at(const jread_doc *d, size_t i, jread_value *out, const char **key,
                     size_t *key_len, bool *key_escaped)
{
    jread_iter it = {i < JREAD_MAX_INDEX ? i : JREAD_MAX_INDEX, d->rest_off};

    if (i >= d->n)
        return false;
    while (jread_next(d, &it, out, key, key_len, key_escaped)) {
        if (it.i == i + 1)
            return true;
    }
    return false;
}

/* True when the raw name text key[0..key_len) unescapes to name[0..n). */
static bool key_is(const char *key, size_t key_len, bool escaped, const char *name, size_t n)
{
    if (!escaped)
        return key_len == n && memcmp(key, name, n) == 0;
    return unescaped_eq(key, key_len, name, n);
}

bool jread_get(const jread_doc *d, const char *name, jread_value *out)
{
    size_t n = strlen(name), key_len, indexed = d->n < JREAD_MAX_INDEX ? d->n : JREAD_MAX_INDEX;
    jread_iter it = {JREAD_MAX_INDEX, d->rest_off};
    const char *key;
    bool esc;

    /* The index first, by length before bytes: a plain name's raw length is its length, and
     * an escaped one's is at least that (every escape is longer than what it stands for).
     * Names are unique (duplicates were refused), so the first match is the member. */
    for (size_t i = 0; i < indexed; i++) {
        const jread_member *m = &d->idx[i];
        if (m->key_escaped ? m->key_len < n : m->key_len != n)
            continue;
        if (key_is(d->buf + m->key_off, m->key_len, m->key_escaped, name, n)) {
            *out = (jread_value){.type = (jread_type)m->type,
                                 .escaped = m->val_escaped,
                                 .json = d->buf + m->val_off,
                                 .json_len = m->val_len};
            return true;
        }
    }
    if (d->n <= JREAD_MAX_INDEX)
        return false;
    while (jread_next(d, &it, out, &key, &key_len, &esc)) {
        if (key_is(key, key_len, esc, name, n))
            return true;
    }
    return false;
}

size_t jread_string(const jread_value *v, char *out, size_t cap)
{
    const char *s = v->json + 1;
    size_t n = v->json_len - 2, k = 0;
    jr_cursor c = {.s = s, .n = n};
    int x;

    if (!v->escaped) {
        if (n < cap) {
            memcpy(out, s, n);
            out[n] = '\0';
        }
        return n;
    }
    if (n < cap)
        return jread_unescape(s, n, out);
    while ((x = cursor_next(&c)) >= 0) {
        if (k + 1 < cap)
            out[k] = (char)x;
        k++;
    }
    if (k < cap)
        out[k] = '\0';
    return k;
}

bool jread_string_eq(const jread_value *v, const char *s, size_t n)
{
    if (!v->escaped)
        return v->json_len - 2 == n && memcmp(v->json + 1, s, n) == 0;
    return unescaped_eq(v->json + 1, v->json_len - 2, s, n);
}

int64_t jread_int(const jread_value *v)
{
    int64_t i = 0;

    (void)int_of(v->json, v->json_len, &i);
    return i;
}

/* strtod of the significant digits written as "[-]DIGITSeEXP": no decimal point, so no
 * locale can change the result; digits beyond REAL_DIGITS become one sticky '1', which keeps
 * the rounding exact (a double never needs more than 767 significant digits to round). */
double jread_real(const jread_value *v)
{
    char tmp[REAL_DIGITS + 32];
    const char *s = v->json, *end = v->json + v->json_len;
    size_t k = 0, d0;
    long long e10 = 0, ex = 0;
    bool sticky = false, eneg = false;

    if (s < end && *s == '-')
        tmp[k++] = *s++;
    d0 = k;
    for (; s < end && is_digit(*s); s++) {
        if (k == d0 && *s == '0')
            continue;
        if (k - d0 < REAL_DIGITS)
            tmp[k++] = *s;
        else {
            e10++;
            sticky |= *s != '0';
        }
    }
    if (s < end && *s == '.') {
        for (s++; s < end && is_digit(*s); s++) {
            if (k == d0 && *s == '0') {
                e10--;
            } else if (k - d0 < REAL_DIGITS) {
                tmp[k++] = *s;
                e10--;
            } else {
                sticky |= *s != '0';
            }
        }
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            eneg = *s++ == '-';
        for (; s < end && is_digit(*s); s++) {
            if (ex < REAL_EXP_CLAMP)
                ex = ex * 10 + (*s - '0');
        }
    }
    if (k == d0) {
        tmp[k++] = '0';
    } else if (sticky) {
        tmp[k++] = '1';
        e10--;
    }
    e10 += eneg ? -ex : ex;
    if (e10 > REAL_EXP_CLAMP)
        e10 = REAL_EXP_CLAMP;
    if (e10 < -REAL_EXP_CLAMP)
        e10 = -REAL_EXP_CLAMP;
    (void)snprintf(tmp + k, sizeof tmp - k, "e%lld", e10);
    return strtod(tmp, NULL);
}

bool jread_array_next(const jread_value *v, size_t *pos, jread_value *item)
{
    size_t i = skip_ws_at(v->json, v->json_len, *pos == 0 ? 1 : *pos);

    if (v->type != JREAD_ARRAY || i >= v->json_len || v->json[i] == ']')
        return false;
    i = skip_ws_at(v->json, v->json_len, value_at(v->json, v->json_len, i, item));
    if (i < v->json_len && v->json[i] == ',')
        i++;
    *pos = i;
    return true;
}
