/* jread: the strict in-place JSON reader of JOSE headers and claims. One pass over the bytes
 * checks them exactly as jansson with JSON_REJECT_DUPLICATES does (RFC 8259 grammar, UTF-8,
 * no \u0000, no lone surrogate, 64-bit integers, finite reals, member names unique after
 * unescaping at every level) plus a nesting bound, builds no tree and allocates nothing
 * (except once, for objects with more than JREAD_KEY_STACK names open at a time). Values are
 * then read in place: typed, unescaped on demand, or as their raw JSON bytes. */
#ifndef JWTD_JOSE_JREAD_H
#define JWTD_JOSE_JREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JREAD_MAX_INDEX 32  /* top-level members indexed; later ones are found by a scan */
#define JREAD_KEY_STACK 128 /* open member names checked without allocating */
#define JREAD_PARSER_MAX_DEPTH                                                                     \
    2048 /* jansson's own nesting bound, kept whatever the caller asks                             \
          */
#define JREAD_MAX_BYTES                                                                            \
    (UINT32_C(1) << 30) /* larger documents are refused (offsets are 32-bit)                       \
                         */

typedef enum jread_type {
    JREAD_NONE = 0, /* absent */
    JREAD_OBJECT,
    JREAD_ARRAY,
    JREAD_STRING,
    JREAD_INTEGER, /* no fraction, no exponent: exact in int64_t */
    JREAD_REAL,    /* a fraction or an exponent: a finite double */
    JREAD_TRUE,
    JREAD_FALSE,
    JREAD_NULL
} jread_type;

/* A value inside a checked document: its whole JSON text (a string with its quotes). */
typedef struct jread_value {
    jread_type type;
    bool escaped; /* a string holding at least one backslash escape */
    const char *json;
    size_t json_len;
} jread_value;

/* One top-level member, as offsets into the document (so a copy of the bytes can be read with
 * the same index): the name between its quotes, and the value's JSON text. */
typedef struct jread_member {
    uint32_t key_off, key_len, val_off, val_len;
    uint8_t type; /* jread_type */
    bool key_escaped, val_escaped;
} jread_member;

/* A checked top-level object. buf may be pointed at an identical copy of the bytes. */
typedef struct jread_doc {
    const char *buf;
    size_t len;
    size_t n;        /* members in all */
    size_t rest_off; /* n > JREAD_MAX_INDEX: where the first member not indexed starts */
    jread_member idx[JREAD_MAX_INDEX];
} jread_doc;

/* Checks buf as one JSON value of any kind, nested at most max_depth deep ({} and [] are 1):
 * 0 if jansson (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) would accept it, else -1. */
int jread_check(const char *buf, size_t len, size_t max_depth);
/* The same check, for a top-level object, and the index of its members: 0 or -1. */
int jread_parse(jread_doc *d, const char *buf, size_t len, size_t max_depth);

/* A walk over the members of a document in order: start with {0, 0}. */
typedef struct jread_iter {
    size_t i, pos;
} jread_iter;

/* The member called name (compared after unescaping): true and *out filled, or false. */
bool jread_get(const jread_doc *d, const char *name, jread_value *out);
/* The next member of the walk: its value and its name's raw text; false after the last. */
bool jread_next(const jread_doc *d, jread_iter *it, jread_value *out, const char **key,
                size_t *key_len, bool *key_escaped);
/* Member i (0 <= i < d->n) in document order: its value, and its name's raw text. */
bool jread_member_at(const jread_doc *d, size_t i, jread_value *out, const char **key,
                     size_t *key_len, bool *key_escaped);

/* A string's unescaped length, and its bytes written to out when that length is < cap (then
 * NUL-terminated). Returns the length, whatever cap is. */
size_t jread_string(const jread_value *v, char *out, size_t cap);
/* True when the string v unescapes to exactly the n bytes of s. */
bool jread_string_eq(const jread_value *v, const char *s, size_t n);
/* The integer of a JREAD_INTEGER value. */
int64_t jread_int(const jread_value *v);
/* The double of a JREAD_REAL (or JREAD_INTEGER) value, rounded as strtod rounds it. */
double jread_real(const jread_value *v);
/* The next item of the array v after *pos (start with *pos = 0): true and *item, or false. */
bool jread_array_next(const jread_value *v, size_t *pos, jread_value *item);

/* Unescapes the string whose raw text (between the quotes) is s[0..n) into out, which holds
 * at least n + 1 bytes; NUL-terminates it. Returns the unescaped length. */
size_t jread_unescape(const char *s, size_t n, char *out);

#endif /* JWTD_JOSE_JREAD_H */
